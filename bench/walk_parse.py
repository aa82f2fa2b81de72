"""Walk + parse throughput: how fast findcode turns a tree into symbols.

    python -m bench.walk_parse [ROOT]

ROOT defaults to the Python standard library (site-packages left out: it is not the stdlib).
The budget (issue 2): the stdlib parsed in under 15 s on 2 cores. A shared machine's speed
varies run to run, so the same walk is also timed with a baseline in this process: reading
each file and running Python's own ast.parse on the .py files. The ratio to it says more than
the absolute seconds.
"""

from __future__ import annotations

import argparse
import ast
import sysconfig
import time
import warnings
from pathlib import Path

from findcode.config import Settings
from findcode.symbols import extract_symbols
from findcode.workspace import SkipFile, WalkResult, read_source, walk

BUDGET_SECONDS = 15.0


def findcode_pass(root: Path, settings: Settings) -> tuple[WalkResult, int, float]:
    """(walk result, symbols, seconds) for findcode's walk + read + tree-sitter parse."""
    started = time.perf_counter()
    result = walk([root], settings)
    symbols = 0
    for source in result.files:
        try:
            text = read_source(source.path, settings.max_file_bytes)
        except SkipFile:
            continue
        symbols += len(extract_symbols(source.rel, text))
    return result, symbols, time.perf_counter() - started


def baseline_pass(root: Path, settings: Settings) -> tuple[int, float]:
    """(definitions, seconds) for the same walk + read + ast.parse of the .py files."""
    started = time.perf_counter()
    result = walk([root], settings)
    definitions = 0
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for source in result.files:
        try:
            text = read_source(source.path, settings.max_file_bytes)
        except SkipFile:
            continue
        if source.rel.endswith(".py"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SyntaxWarning)
                    tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue  # the stdlib ships deliberately broken test files
            definitions += sum(isinstance(node, kinds) for node in ast.walk(tree))
    return definitions, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, help="a folder (default: the stdlib)")
    args = parser.parse_args(argv)
    if args.root is None:
        root = Path(sysconfig.get_paths()["stdlib"])
        settings = Settings(exclude=("site-packages/",))
    else:
        root, settings = args.root, Settings()
    definitions, baseline_seconds = baseline_pass(root, settings)
    result, symbols, seconds = findcode_pass(root, settings)
    files = len(result.files)
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.items()))
    verdict = "within" if seconds <= BUDGET_SECONDS else "OVER"
    print(f"root        {root}")
    print(f"files       {files} (skipped: {skipped or 'none'})")
    print(f"symbols     {symbols}")
    print(f"seconds     {seconds:.2f}   budget {BUDGET_SECONDS:.0f} s: {verdict} budget")
    print(f"files/s     {files / seconds:.0f}")
    print(f"symbols/s   {symbols / seconds:.0f}")
    print(
        f"baseline    walk + read + ast.parse of .py: {baseline_seconds:.2f} s, "
        f"{definitions} definitions; findcode/baseline time ratio {seconds / baseline_seconds:.2f}"
    )
    return 0 if seconds <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
