"""Shared vector cache benchmark: a fresh clone with CI's vectors against indexing from scratch.

    python -m bench.cache_bench [--symbols 20000] [--json PATH] [--normal-priority]

A stdlib tree (bench/index_bench.py's `build_tree`) is indexed cold with the real model, its
vectors exported (`findcode cache export`), and then two fresh clones of the tree (copies at
other paths: new index folders, new mtimes) are indexed, each until every symbol has a vector:

- imported: `findcode cache import` into the clone's index first (its time counted), then index
- cacheDir: the export in a folder named by the `cacheDir` setting, nothing imported

Each time is printed beside the cold time of the same run, as a ratio, with the budget of the
issue (< 1/20 of the cold time), and beside `uptime`'s load: the machines are shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.model import resolve_model_path
from findcode.roots import index_dir_for
from findcode.store import Store
from findcode.vector_cache import export_vectors, import_vectors

from bench.index_bench import build_tree
from bench.options import add_normal_priority
from bench.report import publish

BUDGET_RATIO = 1 / 20
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "cache_bench"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def index_until_embedded(root: Path, settings: Settings, embedder: Embedder) -> dict[str, float]:
    """Index `root` until every symbol has a vector: (seconds, symbols, embedded)."""
    engine = Engine([root], settings, embedder=embedder)
    started = time.perf_counter()
    engine.start()
    engine.wait_idle()
    seconds = time.perf_counter() - started
    (index,) = engine._worker.roots()
    counts = index.store.counts(engine._worker.embed_key)
    embedded = engine.embedded_count
    engine.close()
    assert counts["pending"] == 0, f"{counts['pending']} symbols of {root} have no vector"
    return {"seconds": seconds, "symbols": counts["symbols"], "embedded": embedded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    add_normal_priority(parser)
    args = parser.parse_args(argv)

    shutil.rmtree(args.workdir, ignore_errors=True)
    tree = args.workdir / "tree"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} stdlib files, {symbols} symbols in {tree}")
    embedder = Embedder(resolve_model_path(None))
    index_dir = args.workdir / "index"
    settings = Settings(index_dir=index_dir, watch=False, low_priority=not args.normal_priority)

    say("cold index from scratch (the long part)...")
    cold = index_until_embedded(tree, settings, embedder)
    say(f"  {cold}")

    key = f"{embedder.model_id}/{DOCUMENT_FORM_VERSION}"
    store = Store(index_dir_for(tree, index_dir))
    started = time.perf_counter()
    shared = args.workdir / "shared"
    shared.mkdir()
    info = export_vectors(store, key, shared / "main.sqlite")
    export_s = time.perf_counter() - started
    store.close()
    cache_bytes = info.path.stat().st_size

    clone = args.workdir / "clone-imported"
    shutil.copytree(tree, clone)
    started = time.perf_counter()
    store = Store(index_dir_for(clone, index_dir))
    assert store.take_lease()
    _, added = import_vectors(store, key, info.path)
    store.close()
    import_s = time.perf_counter() - started
    imported = index_until_embedded(clone, settings, embedder)
    imported["import_seconds"] = import_s
    imported["seconds"] += import_s
    say(f"imported clone: {imported} ({added} vectors imported)")

    clone = args.workdir / "clone-cachedir"
    shutil.copytree(tree, clone)
    cache_dir = index_until_embedded(clone, settings.replace(cache_dir=shared), embedder)
    say(f"cacheDir clone: {cache_dir}")
    embedder.close()
    load = os.getloadavg()

    figures = {
        "files": files,
        "symbols": cold["symbols"],
        "cold": cold,
        "export_seconds": export_s,
        "cache_file_bytes": cache_bytes,
        "raw_vectors_bytes": info.count * info.dims * 4,
        "imported": imported,
        "cache_dir": cache_dir,
        "budget_ratio": BUDGET_RATIO,
        "load": load,
    }
    rows = [
        f"cache benchmark: {cold['symbols']} symbols in {files} stdlib files, model "
        f"{embedder.model_id}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        "",
        "| to every symbol with a vector | time | embedded | baseline (same run) | ratio "
        "| budget |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| from scratch | {cold['seconds']:.1f} s | {cold['embedded']} | — | 1 | — |",
    ]
    for name, run in (
        ("fresh clone, cache imported", imported),
        ("fresh clone, cacheDir", cache_dir),
    ):
        rows.append(
            f"| {name} | {run['seconds']:.1f} s | {run['embedded']} | scratch "
            f"{cold['seconds']:.1f} s | {run['seconds'] / cold['seconds']:.3f} "
            f"| < {BUDGET_RATIO:.3f} |"
        )
    rows += [
        "",
        f"import alone {import_s:.2f} s; export {export_s:.2f} s; cache file "
        f"{cache_bytes / 1e6:.1f} MB for {info.count} vectors (raw float32 "
        f"{figures['raw_vectors_bytes'] / 1e6:.1f} MB)",
    ]
    publish(rows, figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
