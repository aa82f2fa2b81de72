"""`findcode serve [--tcp HOST:PORT] [--log-level LEVEL]`: the Language Server editors start."""

from __future__ import annotations

import argparse
import signal

from findcode.errors import FindcodeError

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Language Server (stdio by default)",
        description="Run the findcode Language Server. Editors start it; it speaks LSP on "
        "stdin/stdout unless --tcp is given.",
    )
    parser.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen on TCP instead of stdio; HOST defaults to 127.0.0.1 (this machine only)",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    parser.set_defaults(func=run)


def tcp_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise FindcodeError(f"--tcp {value}: expected HOST:PORT or PORT, e.g. 127.0.0.1:2087")
    return host or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    # Imported here: pygls and the model load only for the command that needs them.
    from findcode import lsp

    tcp = tcp_address(args.tcp) if args.tcp else None
    # SIGTERM (an editor closing, a service manager) ends the server like Ctrl-C: the worker
    # stops between two batches and the index is saved.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    lsp.run(tcp=tcp, log_level=args.log_level)
    return 0
