"""`findcode serve [--socket PATH | --tcp [HOST:]PORT] [--token-file PATH]`: the Language Server.

Editors start it on stdio, where the only client is the parent process. The socket transports
(server/findcode/transport.py) serve one client that proves it may: a Unix socket by its 0600
file mode, TCP by a token the client sends in `initialize`.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from findcode.errors import FindcodeError

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Language Server (stdio by default)",
        description="Run the findcode Language Server. Editors start it; it speaks LSP on "
        "stdin/stdout unless --socket or --tcp is given. A socket server serves one client and "
        "ends with it.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--socket",
        metavar="PATH",
        type=Path,
        help="listen on a Unix domain socket created with mode 0600 (its owner only): the "
        "recommended way to connect an editor that does not start the server itself",
    )
    where.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen on TCP; HOST defaults to 127.0.0.1 (this machine only), PORT 0 picks a free "
        "one; clients send a token as initializationOptions.token",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        help="the token clients must send (a file only its owner can read); with --tcp the "
        "default is a new token in <index folder>/serve-PORT.token, removed when the server ends",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    parser.set_defaults(func=run)


def tcp_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise FindcodeError(f"--tcp {value}: expected HOST:PORT or PORT, e.g. 127.0.0.1:2087")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    # Imported here: pygls and the model load only for the command that needs them.
    from findcode import lsp, transport
    from findcode.roots import index_base

    if args.token_file is not None and not (args.tcp or args.socket):
        raise FindcodeError("--token-file goes with --tcp or --socket (stdio needs no token)")
    listener = None
    if args.socket is not None:
        listener = transport.listen_unix(args.socket.expanduser(), token_file=args.token_file)
    elif args.tcp:
        host, port = tcp_address(args.tcp)
        listener = transport.listen_tcp(
            host, port, token_file=args.token_file, token_dir=index_base(None)
        )
    # SIGTERM (an editor closing, a service manager) ends the server like Ctrl-C: the worker
    # stops between two batches and the index is saved.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    lsp.run(listener=listener, log_level=args.log_level)
    return 0
