"""`findcode` command line: one sub-command module each, registered here.

Exit codes a script can rely on: 0 success, 1 a failure the message explains (bad index,
missing model, nothing found is NOT a failure), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from findcode import __version__
from findcode.cli import cache_cmd, eval_cmd, index_cmd, model_cmd, serve_cmd, symbols_cmd
from findcode.errors import FindcodeError

COMMAND_MODULES = (index_cmd, cache_cmd, symbols_cmd, model_cmd, serve_cmd, eval_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="findcode", description="Find code by meaning.")
    parser.add_argument("--version", action="version", version=f"findcode {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything findcode creates (index folders and files, server.log, the built model) is its
    # user's alone: the index holds the code it indexes.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        if not sys.stdout.closed:  # `serve` over stdio ends with pygls closing it
            sys.stdout.flush()  # inside the try: a closed pipe is found here, not at exit
        return code
    except BrokenPipeError:
        # The reader stopped early (`findcode status | head -1`) and has what it wanted.
        # Python would try stdout again at exit and print the error; it writes nowhere now.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except FindcodeError as error:
        print(f"findcode: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("findcode: interrupted", file=sys.stderr)
        return 130
