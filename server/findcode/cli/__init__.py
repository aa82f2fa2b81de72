"""`findcode` command line: one sub-command module each, registered here.

Exit codes a script can rely on: 0 success, 1 a failure the message explains (bad index,
missing model, nothing found is NOT a failure), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from findcode import __version__
from findcode.cli import eval_cmd, index_cmd, model_cmd, serve_cmd, symbols_cmd
from findcode.errors import FindcodeError

COMMAND_MODULES = (index_cmd, symbols_cmd, model_cmd, serve_cmd, eval_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="findcode", description="Find code by meaning.")
    parser.add_argument("--version", action="version", version=f"findcode {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FindcodeError as error:
        print(f"findcode: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("findcode: interrupted", file=sys.stderr)
        return 130
