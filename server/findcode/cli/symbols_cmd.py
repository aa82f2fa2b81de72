"""`findcode symbols PATH [--json]`: what findcode sees in a file or a tree.

The quickest way to check why something is (not) found, and the output to attach to a bug
report: the same walk and the same parser the index uses, without a model or an index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from findcode.config import Settings
from findcode.errors import FindcodeError
from findcode.symbols import Symbol, extract_symbols
from findcode.workspace import SkipFile, read_source, walk


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "symbols",
        help="print the symbols findcode finds in a file or a folder",
        description="Print the symbols (functions, methods, classes, ...) of a file or a tree, "
        "as the index would see them: path:line kind qualified_name, or a JSON list.",
    )
    parser.add_argument("path", type=Path, help="a file or a folder")
    parser.add_argument("--json", action="store_true", help="print a JSON list of symbols")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target: Path = args.path
    if not target.exists():
        raise FindcodeError(f"{target}: no such file or folder")
    settings = Settings()
    result = walk([target], settings)
    symbols: list[Symbol] = []
    skipped = result.skipped.copy()
    for source in result.files:
        try:
            text = read_source(source.path, settings.max_file_bytes)
        except SkipFile as skip:
            skipped[skip.reason] += 1
            continue
        shown = _display_path(target, source.path)
        symbols.extend(extract_symbols(shown, text))
    try:
        _print(symbols, args.json)
    except BrokenPipeError:
        # `findcode symbols . | head` closed the pipe: the reader has what it wanted.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not args.json:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        summary = f"{len(symbols)} symbols in {len(result.files)} files"
        print(summary + (f" (skipped: {reasons})" if reasons else ""), file=sys.stderr)
    return 0


def _print(symbols: list[Symbol], as_json: bool) -> None:
    if as_json:
        json.dump([asdict(symbol) for symbol in symbols], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for symbol in symbols:
            print(f"{symbol.path}:{symbol.start_line}\t{symbol.kind}\t{symbol.qualified_name}")
    sys.stdout.flush()


def _display_path(target: Path, path: Path) -> str:
    """Paths as the user typed the target, so they can be clicked or pasted back."""
    if target.is_dir():
        return (target / path.relative_to(target.resolve())).as_posix()
    return target.as_posix()
