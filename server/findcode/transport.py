"""Socket transports for `findcode serve`: a Unix socket or TCP, one checked client at a time.

pygls' own `start_tcp` hands every connection to its one protocol object unchecked: anyone on
the machine could connect and read code back, a second connection got the first one's replies,
an empty connection stopped the server and an HTTP request ran as LSP. So findcode accepts
connections itself and reads each one's first message before pygls sees a byte. It must be a
framed `initialize` request, with `initializationOptions.token` when the server has a token
(always over TCP; a Unix socket's 0600 file mode already limits it to its owner). The token is
removed and the message handed to pygls' `start_io` over the socket, so handlers, settings and
logs never see it. Any other connection gets one JSON-RPC error and is closed; while a client
is served, later ones are refused. The server ends with its client, as it does over stdio:
pygls' state (initialized, shut down) and LSP's `exit` are one session's.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pygls.server import JsonRPCServer

from findcode import protocol
from findcode.errors import FindcodeError

log = logging.getLogger("findcode.transport")

# An editor sends `initialize` as soon as it connects; a connection that has not sent a whole
# one by then is closed, so a silent or trickling peer cannot hold the door.
FIRST_MESSAGE_TIMEOUT_S = 10.0
# A refused second client gets its answer quickly; its message is read only to echo its id.
BUSY_READ_TIMEOUT_S = 2.0
# LSP defines two headers (Content-Length, Content-Type); a real initialize is tens of KB.
MAX_HEADER_LINES = 4
MAX_HEADER_BYTES = 1024
MAX_FIRST_MESSAGE_BYTES = 1 << 20
HEADERS = (b"content-length", b"content-type")
# After refusing, the peer's unread bytes are drained (bounded) before closing: closing with
# unread data sends a reset, which can destroy the error answer before the peer reads it.
DRAIN_S = 1.0
DRAIN_BYTES = 1 << 20
# How often the refusing thread looks up from accept() to see whether the session is over.
ACCEPT_POLL_S = 0.5
# The refusing thread's longest turn: reading a first message, then answering and draining.
REFUSER_JOIN_S = ACCEPT_POLL_S + BUSY_READ_TIMEOUT_S + 2 * DRAIN_S
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 1024
# Ctrl-C and SIGTERM: during a session they also close the client's socket.
_STOPS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Listener:
    """A listening socket and what admits a client to it."""

    sock: socket.socket
    address: str  # for people: "127.0.0.1:2087" or the socket's path
    token: str | None  # None: a Unix socket without --token-file, where the file mode suffices
    token_file: Path | None  # where the token is, named in the answer to a wrong one
    # Files this server made (the socket, a generated token): removed when it ends.
    created: list[Path] = field(default_factory=list)

    def close(self) -> None:
        self.sock.close()
        for path in self.created:
            with contextlib.suppress(OSError):
                path.unlink()


class Refused(Exception):
    """A connection findcode will not serve: the JSON-RPC error it gets before it is closed."""

    def __init__(self, code: int, message: str, msg_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.msg_id = code, message, msg_id


def listen_tcp(host: str, port: int, *, token_file: Path | None, token_dir: Path) -> Listener:
    """Listen on TCP; clients must send the token from `token_file`, or a new one in `token_dir`."""
    given = _read_token(token_file) if token_file is not None else None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as error:
        raise FindcodeError(f"--tcp {host}:{port}: cannot listen: {_reason(error)}") from None
    bound_port = sock.getsockname()[1]
    address = f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"
    if given is not None:
        return Listener(sock, address, given, token_file)
    path = token_dir / f"serve-{bound_port}.token"
    try:
        token = _write_token(path)
    except OSError as error:
        sock.close()
        raise FindcodeError(
            f"cannot write the token file {path}: {_reason(error)}; give one with --token-file"
        ) from None
    return Listener(sock, address, token, path, [path])


def listen_unix(path: Path, *, token_file: Path | None) -> Listener:
    """Listen on a Unix socket that only its owner can open (mode 0600 from the start)."""
    token = _read_token(token_file) if token_file is not None else None
    _clear_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The umask makes bind() create the file 0600: a chmod afterwards would leave a moment in
    # which anyone could connect. No other thread runs yet, so nothing else sees this umask.
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
        sock.listen()
    except OSError as error:
        sock.close()
        raise FindcodeError(f"--socket {path}: cannot listen: {_reason(error)}") from None
    finally:
        os.umask(previous)
    return Listener(sock, str(path), token, token_file, [path])


def serve(server: JsonRPCServer, listener: Listener) -> None:
    """Serve the first client that may connect, until it leaves; refuse all others meanwhile."""
    try:
        log.info("listening on %s", listener.address)
        if _reaches_other_machines(listener.sock):
            log.warning(
                "other machines can connect: the token and the code cross the network unencrypted"
            )
        if listener.token_file is not None:
            log.info(
                "clients send the token in %s as initializationOptions.%s",
                listener.token_file,
                protocol.TOKEN_OPTION,
            )
        conn, first = _first_client(listener)
        stop = threading.Event()
        refuser = threading.Thread(
            target=_refuse_others, args=(listener.sock, stop), name="findcode-refuse", daemon=True
        )
        refuser.start()
        try:
            with conn, _interrupts_end(conn):
                conn.settimeout(None)
                reader = io.BufferedReader(_SocketReader(conn, first))
                server.start_io(reader, io.BufferedWriter(_SocketWriter(conn)))
        finally:
            stop.set()
            refuser.join(REFUSER_JOIN_S)
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM before a client came: a normal end, as over stdio
    finally:
        listener.close()


def _first_client(listener: Listener) -> tuple[socket.socket, bytes]:
    """The first connection whose first message passes, and that message without the token."""
    while True:
        conn, _ = listener.sock.accept()
        try:
            received = _receive_first(conn, FIRST_MESSAGE_TIMEOUT_S)
            if received is None:
                log.debug("a connection closed without sending anything")
                conn.close()
                continue
            body, rest = received
            return conn, _checked(body, listener) + rest
        except Refused as refused:
            log.warning("refused a connection: %s", refused.message)
            _refuse(conn, refused)


def _refuse_others(sock: socket.socket, stop: threading.Event) -> None:
    """While a client is served, answer every other connection "busy" and close it."""
    sock.settimeout(ACCEPT_POLL_S)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        msg_id = None
        try:
            received = _receive_first(conn, BUSY_READ_TIMEOUT_S)
            if received is not None:
                msg_id = _message_id(received[0])
        except Refused:
            pass  # not even LSP: it is refused all the same
        log.warning("refused a second client: this server already has one")
        _refuse(conn, Refused(protocol.REFUSED, protocol.MESSAGE_BUSY, msg_id))


def _receive_first(conn: socket.socket, timeout: float) -> tuple[bytes, bytes] | None:
    """The body of the first framed message and the bytes after it; None: closed, nothing sent.

    Raises Refused for anything that is not Content-Length framing, or that takes too long.
    """
    incoming = _Incoming(conn, timeout)
    try:
        length = None
        for number in range(MAX_HEADER_LINES + 1):
            line = incoming.line()
            if not line and number == 0:
                return None
            if not line:
                raise _not_lsp("the connection closed inside the headers")
            if line == b"\r\n":
                break
            name, colon, value = line.partition(b":")
            name = name.strip().lower()
            if not line.endswith(b"\r\n") or not colon or name not in HEADERS:
                raise _not_lsp(f"got {_shown(line)} where a header was expected")
            if name == b"content-length":
                length = _length(value)
        else:
            raise _not_lsp("too many header lines")
        if length is None:
            raise _not_lsp("no Content-Length header")
        body = incoming.exactly(length)
    except TimeoutError:
        raise Refused(protocol.REFUSED, protocol.MESSAGE_TIMEOUT.format(seconds=timeout)) from None
    except OSError:
        return None  # reset by the peer: nobody is left to answer
    if len(body) < length:
        raise _not_lsp("the connection closed inside the message")
    return body, incoming.rest()


def _checked(body: bytes, listener: Listener) -> bytes:
    """The first message re-framed without its token, if it is `initialize` and may pass."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise _not_lsp("the body is not JSON") from None
    if not isinstance(message, dict):
        raise Refused(protocol.REFUSED, protocol.MESSAGE_NOT_INITIALIZE)
    msg_id = _id_of(message)
    if message.get("method") != "initialize" or msg_id is None:
        raise Refused(protocol.REFUSED, protocol.MESSAGE_NOT_INITIALIZE, msg_id)
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = options.pop(protocol.TOKEN_OPTION, None) if isinstance(options, dict) else None
    if listener.token is not None and not _same(given, listener.token):
        message = protocol.MESSAGE_BAD_TOKEN.format(where=listener.token_file)
        raise Refused(protocol.REFUSED, message, msg_id)
    return _frame(message)


def _same(given: object, token: str) -> bool:
    """Constant-time: the time taken says nothing about how much of a guess was right."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
    )


def _message_id(body: bytes) -> int | str | None:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return _id_of(message) if isinstance(message, dict) else None


def _id_of(message: dict[str, Any]) -> int | str | None:
    msg_id = message.get("id")
    valid = isinstance(msg_id, int | str) and not isinstance(msg_id, bool)
    return msg_id if valid else None


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _refuse(conn: socket.socket, refused: Refused) -> None:
    """Send the error, let the peer read it, close."""
    answer = {
        "jsonrpc": "2.0",
        "id": refused.msg_id,
        "error": {"code": refused.code, "message": refused.message},
    }
    with conn:
        try:
            conn.settimeout(DRAIN_S)
            conn.sendall(_frame(answer))
            conn.shutdown(socket.SHUT_WR)
            deadline, drained = time.monotonic() + DRAIN_S, 0
            while drained < DRAIN_BYTES and (remaining := deadline - time.monotonic()) > 0:
                conn.settimeout(remaining)
                chunk = conn.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass  # the peer is gone or silent: closing is all that is left


def _not_lsp(detail: str) -> Refused:
    return Refused(protocol.NOT_LSP, protocol.MESSAGE_NOT_LSP.format(detail=detail))


def _shown(line: bytes) -> str:
    return repr(line[:60].rstrip(b"\r\n").decode("utf-8", "replace"))


def _length(value: bytes) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_FIRST_MESSAGE_BYTES:
        raise _not_lsp(f"Content-Length {_shown(text)}: expected 0 to {MAX_FIRST_MESSAGE_BYTES}")
    return int(text)


class _Incoming:
    """A connection's first bytes, read against one deadline (a socket timeout is per read)."""

    def __init__(self, conn: socket.socket, timeout: float) -> None:
        self._conn = conn
        self._deadline = time.monotonic() + timeout
        self._pending = bytearray()

    def line(self) -> bytes:
        """One line with its end, or what came before the stream ended or grew too long."""
        while (end := self._pending.find(b"\n", 0, MAX_HEADER_BYTES)) < 0:
            if len(self._pending) >= MAX_HEADER_BYTES or not self._receive():
                end = min(len(self._pending), MAX_HEADER_BYTES) - 1
                break
        return self._take(end + 1)

    def exactly(self, size: int) -> bytes:
        while len(self._pending) < size and self._receive():
            pass
        return self._take(size)

    def rest(self) -> bytes:
        return self._take(len(self._pending))

    def _receive(self) -> bool:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._conn.settimeout(remaining)
        chunk = self._conn.recv(65536)
        self._pending += chunk
        return bool(chunk)

    def _take(self, size: int) -> bytes:
        taken = bytes(self._pending[:size])
        del self._pending[:size]
        return taken


class _SocketReader(io.RawIOBase):
    """What pygls reads: the checked first message (and what followed it), then the socket."""

    def __init__(self, conn: socket.socket, first: bytes) -> None:
        super().__init__()
        self._conn = conn
        self._pending = bytearray(first)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pending:
            size = min(len(buffer), len(self._pending))
            buffer[:size] = self._pending[:size]
            del self._pending[:size]
            return size
        try:
            return self._conn.recv_into(buffer)
        except OSError:
            return 0  # a reset ends the session like a close


class _SocketWriter(io.RawIOBase):
    """Where pygls writes. Its close (LSP `exit`) also ends the reads, so the session ends."""

    def __init__(self, conn: socket.socket) -> None:
        super().__init__()
        self._conn = conn

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._conn.sendall(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            _shut(self._conn)
        super().close()


@contextlib.contextmanager
def _interrupts_end(conn: socket.socket) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the session: pygls' shutdown waits for its blocked read to end."""

    def interrupt(signum: int, frame: object) -> None:
        _shut(conn)
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in _STOPS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _reaches_other_machines(sock: socket.socket) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    return not ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def _shut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _clear_stale(path: Path) -> None:
    """Remove a socket left by a server that is gone; refuse anything else at `path`."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise FindcodeError(f"--socket {path}: {_reason(error)}") from None
    if not stat.S_ISSOCK(mode):
        raise FindcodeError(f"--socket {path}: exists and is not a socket; choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        try:
            path.unlink()  # nobody listens: a server that ended without removing it
        except OSError as error:
            raise FindcodeError(
                f"--socket {path}: stale, cannot remove: {_reason(error)}"
            ) from None
        return
    except OSError as error:
        raise FindcodeError(
            f"--socket {path}: exists and cannot be checked: {_reason(error)}"
        ) from None
    finally:
        probe.close()
    raise FindcodeError(f"--socket {path}: another server is listening there")


def _read_token(path: Path) -> str:
    """A token file must be the owner's alone, like an ssh key."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise FindcodeError(f"--token-file {path}: not a regular file")
        if info.st_mode & 0o077:
            raise FindcodeError(
                f"--token-file {path}: other users have access (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); run chmod 600 {path}"
            )
        with path.open(encoding="utf-8") as file:
            text = file.read(MAX_TOKEN_CHARS + 1).strip()
    except (OSError, UnicodeDecodeError) as error:
        raise FindcodeError(f"--token-file {path}: cannot read it: {_reason(error)}") from None
    if not MIN_TOKEN_CHARS <= len(text) <= MAX_TOKEN_CHARS:
        raise FindcodeError(
            f"--token-file {path}: holds {len(text)} characters; a token has {MIN_TOKEN_CHARS} to "
            f"{MAX_TOKEN_CHARS} (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return text


def _write_token(path: Path) -> str:
    """A new token in a file created 0600 and moved into place whole."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(temporary, flags, 0o600), "w", encoding="utf-8") as file:
        file.write(token + "\n")
    os.replace(temporary, path)
    return token


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)
