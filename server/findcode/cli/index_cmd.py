"""`findcode index / search / status / reindex / gc`: the index from a terminal or a script.

Every command works on one or more roots (default: the current directory) and the index
folder findcode keeps for each under the user cache directory (`--index-dir` moves it).
Progress goes to stderr, results to stdout, so `--json` output pipes cleanly. Exit codes:
0 done (a search that finds nothing is done too), 1 a failure the message explains (no index,
corrupt or read-only index, missing model), 2 bad usage, 130 interrupted.

A root that another findcode process is indexing (a running server, another `findcode index`)
is not indexed twice: `index` and `search` use what that process has stored so far, and say so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from findcode.cli.arguments import index_dir_option, int_between
from findcode.config import SEARCH_MODES, Settings, settings_from_options
from findcode.engine import Engine
from findcode.errors import FindcodeError, IndexBusyError
from findcode.indexer import (
    PAUSE_MARK,
    SWITCH_MARK,
    WAITING_MARK,
    read_mark,
    switching_message,
    waiting_message,
)
from findcode.indexer import Progress as IndexProgress
from findcode.roots import index_dir_for, reset_index
from findcode.search import clean_query, path_spec
from findcode.store import DB_NAME, DB_NAMES, Store
from findcode.symbols import KINDS
from findcode.vector_cache import describe
from findcode.vectors import kept_files

_stderr = Console(stderr=True, highlight=False)
# -k: enough for any reader; beyond it, ranking and snippets cost time for nothing.
MAX_RESULTS = 1000


def register(subparsers: argparse._SubParsersAction) -> None:
    common = index_dir_option()
    # For the commands that embed: where vectors made elsewhere may already be.
    embeds = argparse.ArgumentParser(add_help=False, parents=[common])
    embeds.add_argument(
        "--cache-dir",
        type=Path,
        help="a folder of vector cache files (`findcode cache export`) to use before embedding",
    )

    # The model that embeds: the local default, or a serving engine (README: "Team and large
    # repositories"); batch size, concurrency and the rest are settings of the server only.
    embedding = argparse.ArgumentParser(add_help=False)
    embedding.add_argument(
        "--embedding-url",
        metavar="URL",
        help="an OpenAI-compatible embeddings server, e.g. http://gpu-box:8000/v1 (default: the "
        "local model)",
    )
    embedding.add_argument(
        "--embedding-model", metavar="NAME", help="the model's name on that server"
    )
    embedding.add_argument(
        "--embedding-key-env",
        metavar="VAR",
        help="the environment variable holding the server's API key (the key itself is never "
        "an argument)",
    )
    embedding.add_argument(
        "--embedding-dimensions",
        metavar="N",
        type=int_between(1, 65536),
        help="vector dimensions (Matryoshka models: fewer is a smaller index; default: the "
        "model's own)",
    )

    index = subparsers.add_parser(
        "index",
        parents=[embeds, embedding],
        help="index (or update the index of) one or more folders",
    )
    index.add_argument("roots", nargs="*", type=Path, metavar="ROOT", help="default: .")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.set_defaults(func=_index)

    search = subparsers.add_parser(
        "search", parents=[embeds, embedding], help="search by meaning (updates the index first)"
    )
    search.add_argument("query", help="what the code does, or names in it")
    search.add_argument(
        "--root", action="append", type=Path, dest="roots", help="folder to search (default: .)"
    )
    search.add_argument(
        "-k",
        "--limit",
        type=int_between(1, MAX_RESULTS),
        default=10,
        help=f"results (default 10, at most {MAX_RESULTS})",
    )
    search.add_argument("--lang", action="append", dest="languages", help="only this language")
    search.add_argument("--path", action="append", dest="paths", help="only paths matching GLOB")
    search.add_argument("--kind", action="append", dest="kinds", choices=KINDS)
    search.add_argument("--mode", choices=SEARCH_MODES, default="hybrid")
    search.add_argument("--json", action="store_true", help="print results as JSON")
    search.set_defaults(func=_search)

    status = subparsers.add_parser("status", parents=[common], help="what the index holds")
    status.add_argument("roots", nargs="*", type=Path, metavar="ROOT", help="default: .")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)

    reindex = subparsers.add_parser(
        "reindex",
        parents=[embeds, embedding],
        help="drop the index and build it again (fixes corruption); stored vectors are reused",
    )
    reindex.add_argument("roots", nargs="*", type=Path, metavar="ROOT", help="default: .")
    reindex.add_argument(
        "--drop-vectors",
        action="store_true",
        help="drop the stored vectors too, so every symbol is embedded again",
    )
    reindex.add_argument("--json", action="store_true", help="print the summary as JSON")
    reindex.set_defaults(func=_reindex)

    gc = subparsers.add_parser(
        "gc",
        parents=[common],
        help="drop stored vectors that no symbol uses any more, and those of other models",
    )
    gc.add_argument("roots", nargs="*", type=Path, metavar="ROOT", help="default: .")
    gc.set_defaults(func=_gc)


def _roots(args: argparse.Namespace) -> list[Path]:
    roots = [Path(r) for r in (args.roots or [Path.cwd()])]
    for root in roots:
        if not root.exists():
            raise FindcodeError(f"{root} does not exist")
    return [root.resolve() for root in roots]


def _settings(args: argparse.Namespace) -> Settings:
    # A command someone waits for in a terminal indexes at the priority it was started with
    # (`nice` lowers it): at idle priority it would wait for as long as anything else runs.
    # The server's background indexer is the one that gives way.
    return Settings(
        index_dir=args.index_dir.resolve() if args.index_dir else None,
        cache_dir=args.cache_dir.resolve() if getattr(args, "cache_dir", None) else None,
        watch=False,
        low_priority=False,
    )


def _engine_settings(args: argparse.Namespace) -> Settings:
    """The settings of a command that embeds: `_settings` and the embedding server, if any."""
    flags = {
        "url": args.embedding_url,
        "model": args.embedding_model,
        "apiKeyEnv": args.embedding_key_env,
        "dimensions": args.embedding_dimensions,
    }
    options = {key: value for key, value in flags.items() if value is not None}
    if not options:
        return _settings(args)
    settings, problems = settings_from_options({"embedding": options}, _settings(args))
    if problems:  # a typo must not quietly index with another model
        raise FindcodeError(
            "; ".join(problems).replace("findcode option 'embedding'", "--embedding")
        )
    return settings


def _log(level: str, message: str) -> None:
    if level in ("warning", "error"):
        _stderr.print(f"findcode: {level}: {message}", markup=False, soft_wrap=True)


def _run_indexing(
    roots: list[Path], settings: Settings, *, quiet: bool
) -> tuple[Engine, dict[str, object]]:
    """Start an engine on `roots`, wait for the index to be current; the caller closes it."""
    started = time.monotonic()
    bar = _ProgressBar(enabled=not quiet and _stderr.is_terminal)
    engine = Engine(roots, settings, on_progress=bar.update, on_log=_log)
    try:
        with bar:
            engine.start()
            engine.wait_idle()
    except BaseException:
        engine.close()
        raise
    for root, searchable, stored, pid in engine.indexed_elsewhere():
        print(
            f"findcode: {root}: indexing in progress in another process: {searchable} of "
            f"{stored} symbols searchable{f' (pid {pid})' if pid else ''}",
            file=sys.stderr,
        )
    status = engine.status()
    summary: dict[str, object] = {
        "roots": [str(r) for r in roots],
        "files": status["files"],
        "symbols": status["symbols"],
        "embedded": engine.embedded_count,
        "skipped": engine.skipped,
        "seconds": round(time.monotonic() - started, 3),
        "indexPaths": status["indexPaths"],
        "lastError": status["lastError"],
    }
    return engine, summary


def _print_summary(summary: dict[str, object]) -> None:
    skipped = summary["skipped"]
    assert isinstance(skipped, dict)
    print(
        f"indexed {summary['files']} files, {summary['symbols']} symbols "
        f"({summary['embedded']} embedded) in {summary['seconds']:.1f}s"
    )
    if skipped:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        print(f"skipped: {reasons}")
    for path in summary["indexPaths"]:  # type: ignore[attr-defined]
        print(f"index: {path}")


def _index(args: argparse.Namespace) -> int:
    engine, summary = _run_indexing(_roots(args), _engine_settings(args), quiet=args.json)
    engine.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 1 if summary["lastError"] else 0


def _reindex(args: argparse.Namespace) -> int:
    roots = _roots(args)
    settings = _settings(args)
    for root in roots:
        # Without trusting the store to open: reindex is how a corrupt index gets fixed.
        reset_index(root, settings.index_dir, keep_vectors=not args.drop_vectors)
    return _index(args)


def _search(args: argparse.Namespace) -> int:
    # An empty query or a bad --path glob fails before any indexing work.
    clean_query(args.query)
    path_spec(tuple(args.paths or ()))
    engine, _ = _run_indexing(_roots(args), _engine_settings(args), quiet=args.json)
    try:
        outcome = engine.search(
            args.query,
            limit=args.limit,
            mode=args.mode,
            paths=args.paths,
            languages=args.languages,
            kinds=args.kinds,
        )
    finally:
        engine.close()
    if args.json:
        results = [
            {**dataclasses.asdict(hit), "path": str(hit.path), "root": str(hit.root)}
            for hit in outcome.hits
        ]
        index = {
            "state": outcome.state,
            "indexed": outcome.indexed_files,
            "total": outcome.total_files,
        }
        payload = {
            "results": results,
            "closeMatches": sum(not hit.weak for hit in outcome.hits),
            "index": index,
            "tookMs": round(outcome.took_ms, 3),
        }
        print(json.dumps(payload, indent=2))
        return 0
    close = [hit for hit in outcome.hits if not hit.weak]
    weak = [hit for hit in outcome.hits if hit.weak]
    if not outcome.hits:
        print("no results")
    elif not close:
        print("no close match; the nearest code:")
    for hit in close + weak:
        if weak and close and hit is weak[0]:
            print("-- weak matches --")
        print(
            f"{hit.path}:{hit.start_line}:{hit.start_col}  {hit.kind} {hit.qualified_name}"
            f"  ({hit.relevance:.2f})"
        )
        for line in hit.snippet.splitlines():
            print(f"    {line}")
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    reports: list[dict[str, Any]] = []
    for root in _roots(args):
        directory = index_dir_for(root, settings.index_dir)
        if not (directory / DB_NAME).exists():
            raise FindcodeError(f"{root} has no index yet; run `findcode index {root}`")
        store = Store(directory, create=False)
        try:
            store.check()  # a damaged page must not pass for a healthy index
            key = store.meta("embed_key") or ""
            counts = store.counts(key)
            holder = store.lease_holder()
            report: dict[str, Any] = {
                "root": str(root),
                "index": str(directory),
                "model": key.split("/")[0],
                "dims": int(store.meta("dims") or 0),
                "schemaVersion": store.schema_version,
                "generation": store.generation,
                **counts,
                "bytes": sum(p.stat().st_size for p in directory.iterdir() if p.is_file()),
                "paused": _marked(directory, PAUSE_MARK, holder),
                "waiting": _waiting(directory, holder),
                "switching": _switching(directory, holder, store),
            }
        finally:
            store.close()
        reports.append(report)
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
        return 0
    for report in reports:
        print(
            f"{report['root']}: {report['files']} files, {report['symbols']} symbols, "
            f"{report['vectors']} vectors, {report['pending']} waiting for a vector"
        )
        if report["paused"]:
            why = "by you" if report["paused"] == "user" else "on battery"
            print(f"  indexing paused {why} in the findcode server (findcode.resume resumes it)")
        for state in ("waiting", "switching"):
            if report[state]:
                print(f"  {report[state]}")
        print(f"  model {report['model']} ({report['dims']} dims)")
        print(f"  index {report['index']} ({report['bytes'] / 1e6:.1f} MB)")
    return 0


def _waiting(directory: Path, holder: int | None) -> str | None:
    """Why the server indexing this folder waits to embed (its server is unreachable)."""
    mark = _marked(directory, WAITING_MARK, holder)
    if mark is None:
        return None
    retry_at, _, detail = mark.partition(" ")
    try:
        return waiting_message(max(0.0, float(retry_at) - time.time()), detail)
    except ValueError:
        return None


def _switching(directory: Path, holder: int | None, store: Store) -> str | None:
    """The server's switch to another model, with its progress read from the store."""
    mark = _marked(directory, SWITCH_MARK, holder)
    if mark is None:
        return None
    key, _, name = mark.partition(" ")
    counts = store.counts(key)
    done = counts["symbols"] - counts["pending"]
    return switching_message(name or key, done, counts["symbols"])


def _marked(directory: Path, name: str, holder: int | None) -> str | None:
    """The text of a mark the server indexing this folder left; None if there is none, or its
    server is gone (a mark left by a killed server)."""
    mark = read_mark(directory, name)
    if mark is None or mark[0] != holder:
        return None
    try:
        os.kill(mark[0], 0)  # signal 0: is the process alive (and ours to signal)
    except ProcessLookupError:
        return None
    except OSError:
        pass  # alive, another user's
    return mark[1]


def _gc(args: argparse.Namespace) -> int:
    settings = _settings(args)
    for root in _roots(args):
        directory = index_dir_for(root, settings.index_dir)
        if not (directory / DB_NAME).exists():
            raise FindcodeError(f"{root} has no index yet; run `findcode index {root}`")
        store = Store(directory, create=False)
        try:
            if not store.take_lease():
                pid = store.lease_holder()
                raise IndexBusyError(
                    f"another findcode process{f' (pid {pid})' if pid else ''} is indexing "
                    f"{root}: run gc when it has finished"
                )
            key = store.meta("embed_key")  # the model the index embeds with: always kept
            before = store.vector_keys()
            size = _db_bytes(directory)
            removed = store.gc(key)
            store.compact()
            kept = kept_files(directory)  # other models' vector indexes: their vectors are gone
            size += sum(path.stat().st_size for path in kept)
            for path in kept:
                path.unlink()
            freed = size - _db_bytes(directory)
        finally:
            store.close()
        # With no model recorded (never indexed), only unused vectors go.
        others = {k: n for k, n in before.items() if key and k != key}
        dropped = ", ".join(f"{n} of {describe(k)}" for k, n in sorted(others.items()))
        unused = removed - sum(others.values())
        print(
            f"{root}: dropped {unused} unused vectors"
            + (f" and the vectors of models no longer used ({dropped})" if others else "")
            + f"; freed {max(freed, 0) / 1e6:.1f} MB"
        )
    return 0


def _db_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in (directory / n for n in DB_NAMES) if p.is_file())


class _ProgressBar:
    """A rich bar fed from the indexer thread: files while parsing, symbols while embedding."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=_stderr,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=None, detail="")

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.stop()

    def update(self, event: IndexProgress) -> None:
        if not self.enabled:
            return
        eta = f"ETA {event.eta_s:.0f}s" if event.eta_s else ""
        detail = event.waiting or (
            f"files {event.files_done}/{event.files_total}  "
            f"symbols {event.symbols_done}/{event.symbols_total}  "
            f"{event.rate:.0f}/s {eta}"
        )
        if event.phase == "embedding":
            done, total = event.symbols_done, event.symbols_total
        else:
            done, total = event.files_done, event.files_total
        self._progress.update(
            self._task, description=event.phase, completed=done, total=total or None, detail=detail
        )
