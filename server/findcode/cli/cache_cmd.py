"""`findcode cache export / import`: a root's vectors in a file that another clone can use.

The workflow it serves: CI indexes the main branch and exports its vectors (one file, no code
in it); a developer imports that file into a fresh clone's index, or points the `cacheDir`
setting at a folder of such files, and the first index embeds only what changed since.

Which model: `--model` if given; else the one the root's index was built with; else the
default model (a fresh clone has no index yet). A file made with another model is refused.
Import writes the index, so it needs the writer lease: while a server or `findcode index` holds
the root, it says so and writes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from findcode.cli.arguments import index_dir_option
from findcode.documents import embed_key
from findcode.embedder import Embedder
from findcode.errors import FindcodeError, IndexBusyError
from findcode.model import resolve_model_path
from findcode.roots import index_dir_for
from findcode.store import DB_NAME, Store
from findcode.vector_cache import describe, export_vectors, import_vectors


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False, parents=[index_dir_option()])
    common.add_argument(
        "--model",
        help="the model the vectors are for (default: the index's own, else the built-in model)",
    )
    common.add_argument("--json", action="store_true", help="print the summary as JSON")

    cache = subparsers.add_parser(
        "cache", help="export a root's vectors to a file, or import such a file"
    )
    commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    export = commands.add_parser(
        "export",
        parents=[common],
        help="write the root's stored vectors to FILE (SQLite; body hashes and vectors, no code)",
    )
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument("root", nargs="?", type=Path, metavar="ROOT", help="default: .")
    export.set_defaults(func=_export)

    imports = commands.add_parser(
        "import",
        parents=[common],
        help="merge the vectors of FILE into each root's index (those it has are kept)",
    )
    imports.add_argument("file", type=Path, metavar="FILE")
    imports.add_argument("roots", nargs="*", type=Path, metavar="ROOT", help="default: .")
    imports.set_defaults(func=_import)


def _root(path: Path | None) -> Path:
    root = Path(path) if path is not None else Path.cwd()
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise FindcodeError(f"{root} {problem}")
    return root.resolve()


def _index_dir(args: argparse.Namespace) -> Path | None:
    return args.index_dir.resolve() if args.index_dir else None


def _embed_key(model: str | None, store: Store | None) -> str:
    """The key the vectors go under (see the module docstring for which model)."""
    recorded = store.meta("embed_key") if store is not None else None
    if model is None and recorded:
        return recorded
    # The model id is a digest of the file and its metadata: loading it is the one source.
    embedder = Embedder(resolve_model_path(model), threads=1)
    try:
        return embed_key(embedder.model_id)
    finally:
        embedder.close()


def _export(args: argparse.Namespace) -> int:
    root = _root(args.root)
    directory = index_dir_for(root, _index_dir(args))
    if not (directory / DB_NAME).exists():
        raise FindcodeError(f"{root} has no index yet; run `findcode index {root}`")
    store = Store(directory, create=False)
    try:
        info = export_vectors(store, _embed_key(args.model, store), args.file)
    finally:
        store.close()
    size = info.path.stat().st_size
    if args.json:
        summary = {
            "file": str(info.path),
            "root": str(root),
            "embedKey": info.embed_key,
            "dims": info.dims,
            "vectors": info.count,
            "bytes": size,
        }
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"exported {info.count} vectors of {describe(info.embed_key)} to {info.path} "
            f"({size / 1e6:.1f} MB)"
        )
    return 0


def _import(args: argparse.Namespace) -> int:
    roots = [_root(path) for path in args.roots or [None]]
    reports = []
    for root in roots:
        store = Store(index_dir_for(root, _index_dir(args)))
        try:
            if not store.take_lease():
                pid = store.lease_holder()
                raise IndexBusyError(
                    f"another findcode process{f' (pid {pid})' if pid else ''} is indexing "
                    f"{root}: stop it (or let it finish), then import again; nothing imported"
                )
            info, added = import_vectors(store, _embed_key(args.model, store), args.file)
        finally:
            store.close()
        reports.append({"root": str(root), "vectors": info.count, "imported": added})
        if not args.json:
            print(
                f"{root}: imported {added} of {info.count} vectors "
                f"({info.count - added} already there) from {args.file}"
            )
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
    return 0
