"""The Language Server: thin LSP handlers over the engine (pygls 2).

Every request and notification findcode answers is handled in this file, in one function
named after its method. The handlers only translate: wire parameters in, engine calls, wire
results out (shapes in protocol.py). The engine's lifecycle (start after `initialized`, folder
and settings changes, shutdown) belongs to host.py, which applies them one after another;
requests that need the engine await it there and run the search on the loop's executor, never
on pygls' thread pool, whose threads also read stdin.

Every request gets an answer: one whose params cannot be read (pygls would drop it without a
word) is answered InvalidParams naming the field, and one sent before `initialize` is answered
ServerNotInitialized.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.json_rpc import RPCMessage, RPCRequest
from pygls.uris import from_fs_path, to_fs_path

from findcode import __version__, protocol, transport
from findcode.config import OPTION_NAMES, Settings, settings_from_options
from findcode.engine import Engine, Hit, SearchOutcome
from findcode.errors import FindcodeError, QueryError
from findcode.host import EngineHost, log_folder
from findcode.lsp_progress import IndexingProgress

log = logging.getLogger("findcode.lsp")

T = TypeVar("T")
WORKSPACE_SYMBOL_LIMIT = 50
SYMBOL_KINDS = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "interface": types.SymbolKind.Interface,
    "module": types.SymbolKind.Module,
    "file": types.SymbolKind.File,
}


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: a valid request the server cannot answer now (no model, no index)."""

    CODE = -32803


@attrs.define
class _Refused:
    """A request answered with `error` before any handler sees it."""

    id: Any
    error: JsonRpcException


class FindcodeProtocol(LanguageServerProtocol):
    """pygls' protocol, answering the requests pygls itself would leave unanswered."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        if not ("jsonrpc" in data and "method" in data and "id" in data):
            return super().structure_message(data)
        method = data["method"]
        kind = self.get_message_type(method)
        if kind is None and "params" not in data:
            data = {**data, "params": None}  # JSON-RPC lets a request leave its params out
        try:
            return self._converter.structure(data, kind or JsonRPCRequestMessage)
        except Exception as error:
            return _Refused(data["id"], JsonRpcInvalidParams(_params_problem(method, error)))

    def handle_message(self, message: RPCMessage) -> None:
        if isinstance(message, _Refused):
            self._send_response(message.id, None, message.error.to_response_error())
            return
        method = getattr(message, "method", types.INITIALIZE)  # responses have none
        if not cast(FindcodeServer, self._server).initialized and method not in (
            types.INITIALIZE,
            types.EXIT,
        ):
            if isinstance(message, RPCRequest):
                refusal = JsonRpcServerNotInitialized(f"{method}: send initialize first")
                self._send_response(message.id, None, refusal.to_response_error())
            return  # a notification before initialize is dropped, as LSP says
        super().handle_message(message)


def _params_problem(method: str, error: Exception) -> str:
    """What is wrong with a request's params, naming the field ("params.query")."""
    if isinstance(error, cattrs.ClassValidationError):
        problems = [p.replace(" @ .", ": ") for p in cattrs.transform_error(error, path="")]
        return f"{method}: bad params ({'; '.join(problems)})"
    return f"{method}: bad params ({error})"


class FindcodeServer(LanguageServer):
    """The server's state: settings as the client gave them, and the engine's host."""

    def __init__(self) -> None:
        super().__init__(
            "findcode",
            __version__,
            # Unsaved edits are searchable (overlay.py): pygls keeps each open document's text
            # from the edits, and the handlers read it from there.
            types.TextDocumentSyncKind.Incremental,
            protocol_cls=FindcodeProtocol,
        )
        self.settings = Settings()  # the latest the client gave; the host applies them in turn
        self.init_settings = Settings()  # from initializationOptions, before any pulled config
        self.initialized = False  # the `initialize` request has been answered
        self.supports_configuration = False
        self.indexing_progress = IndexingProgress(self)
        self.host = EngineHost(self.indexing_progress, self._failed)
        self.loop: asyncio.AbstractEventLoop | None = None

    def on_loop(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the event loop: pygls writes to the client from there only."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn)

    def show(self, kind: types.MessageType, message: str) -> None:
        self.on_loop(
            lambda: self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        )

    def _failed(self, message: str) -> None:
        """The engine could not start, or could not switch models (the message says which)."""
        self.show(types.MessageType.Error, message)

    def stop_engine(self) -> None:
        """The connection is gone: stop the worker and save the index, on this thread."""
        self.host.close_now()


server = FindcodeServer()


# -- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: FindcodeServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    ls.initialized = True  # requests from now on wait for the engine, not fail
    ls.init_settings, warnings = settings_from_options(_plain(params.initialization_options))
    ls.settings = ls.init_settings
    capabilities = params.capabilities
    ls.indexing_progress.enabled = bool(
        capabilities.window and capabilities.window.work_done_progress
    )
    ls.supports_configuration = bool(
        capabilities.workspace and capabilities.workspace.configuration
    )
    ls.host.change_roots(_roots(params))
    _log_to_file(ls.settings)
    for warning in warnings:
        log.warning(warning)
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=warning)
        )


@server.feature(types.INITIALIZED)
async def initialized(ls: FindcodeServer, params: types.InitializedParams) -> None:
    if ls.supports_configuration:
        ls.settings = await _pulled_settings(ls)
    ls.host.start(ls.settings)


@server.feature(types.SHUTDOWN)
async def shutdown(ls: FindcodeServer, params: None) -> None:
    await ls.host.stop()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: FindcodeServer, params: types.DidChangeConfigurationParams
) -> None:
    if ls.supports_configuration:
        settings = await _pulled_settings(ls)
    else:
        section = params.settings.get("findcode") if isinstance(params.settings, dict) else None
        settings = _settings_over(ls, ls.init_settings, _plain(section))
    ls.settings = settings
    ls.host.change_settings(settings)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(
    ls: FindcodeServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    ls.host.change_roots(
        _folder_paths(f.uri for f in params.event.added),
        _folder_paths(f.uri for f in params.event.removed),
    )


# -- keeping the index current


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: FindcodeServer, params: types.DidSaveTextDocumentParams) -> None:
    path = to_fs_path(params.text_document.uri)
    if path:
        ls.host.buffer_saved(Path(path))


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: FindcodeServer, params: types.DidChangeTextDocumentParams) -> None:
    # pygls has applied the edits to its copy of the document before this runs.
    uri = params.text_document.uri
    path = to_fs_path(uri)
    if path:
        ls.host.buffer_changed(Path(path), lambda: _buffer_text(ls, uri))


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: FindcodeServer, params: types.DidCloseTextDocumentParams) -> None:
    path = to_fs_path(params.text_document.uri)
    if path:
        ls.host.buffer_closed(Path(path))


def _buffer_text(ls: FindcodeServer, uri: str) -> str | None:
    """An open document's text as the client has it now; None once it is closed."""
    document = ls.workspace.text_documents.get(unquote(uri))
    return document.source if document is not None else None


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FindcodeServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = to_fs_path(uri)
    if path:
        # An unchanged file costs one stat; a file the index has not reached yet goes first.
        ls.host.notify_changed([Path(path)], urgent=True)
        # A buffer restored with unsaved edits is searched as it stands; a clean one is parsed
        # ahead of its first edit.
        ls.host.buffer_changed(Path(path), lambda: _buffer_text(ls, uri))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: FindcodeServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.host.notify_changed([Path(p) for p in (to_fs_path(c.uri) for c in params.changes) if p])


# -- requests


@server.feature(protocol.SEARCH)
async def search(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    return await _search(ls, _plain(params))


@server.feature(protocol.SIMILAR)
async def similar(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    fields = _object(_plain(params), "findcode/similar params")
    document = _object(fields.get("textDocument"), "textDocument")
    uri = _string(document.get("uri"), "textDocument.uri")
    path = to_fs_path(uri)
    if not path:
        raise JsonRpcInvalidParams(f"{uri} is not a file URI")
    limit = _limit(fields.get("limit"), ls.settings.search_defaults.limit)
    if fields.get("range") is not None:
        selection = _object(fields["range"], "range")
        start = _line(_object(selection.get("start"), "range.start"))
        end_position = _object(selection.get("end"), "range.end")
        end = _line(end_position)
        if end_position.get("character") == 0 and end > start:
            end -= 1  # a selection of whole lines ends at column 0 of the next line
        line, end_line = start + 1, max(start, end) + 1
    else:
        line, end_line = _line(_object(fields.get("position"), "position")) + 1, None
    return _response(
        await _with_engine(ls, lambda e: e.similar(Path(path), line, end_line, limit=limit))
    )


@server.feature(protocol.STATUS)
def status(ls: FindcodeServer, params: Any) -> protocol.Status:
    return _status(ls)


@server.feature(types.WORKSPACE_SYMBOL)
async def workspace_symbol(
    ls: FindcodeServer, params: types.WorkspaceSymbolParams
) -> list[types.SymbolInformation]:
    if not params.query.strip():
        return []  # an empty query asks for everything, which is no search at all
    outcome = await _with_engine(ls, lambda e: e.search(params.query, limit=WORKSPACE_SYMBOL_LIMIT))
    return [
        types.SymbolInformation(
            name=hit.name,
            kind=SYMBOL_KINDS.get(hit.kind, types.SymbolKind.Function),
            location=types.Location(uri=from_fs_path(str(hit.path)), range=_range(hit)),
            container_name=_container(hit),
        )
        for hit in outcome.hits
    ]


@server.command(protocol.COMMAND_SEARCH)
async def command_search(ls: FindcodeServer, *args: Any) -> protocol.SearchResponse:
    if len(args) != 1:
        raise JsonRpcInvalidParams("findcode.search takes one argument: a query or SearchParams")
    argument = _plain(args[0])
    return await _search(ls, {"query": argument} if isinstance(argument, str) else argument)


@server.command(protocol.COMMAND_REINDEX)
async def command_reindex(ls: FindcodeServer, *args: Any) -> None:
    await _with_engine(ls, lambda e: e.reindex())
    log.info("re-indexing every folder from scratch")


@server.command(protocol.COMMAND_STATUS)
def command_status(ls: FindcodeServer, *args: Any) -> protocol.Status:
    return _status(ls)


@server.command(protocol.COMMAND_PAUSE)
def command_pause(ls: FindcodeServer, *args: Any) -> protocol.Status:
    ls.host.pause()
    log.info("indexing paused")
    return _status(ls)


@server.command(protocol.COMMAND_RESUME)
def command_resume(ls: FindcodeServer, *args: Any) -> protocol.Status:
    ls.host.resume()
    log.info("indexing resumed")
    return _status(ls)


# -- helpers: parameters in, results out


async def _search(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    if params is None:
        raise JsonRpcInvalidParams("findcode/search needs params with a `query` string")
    fields = _object(params, "findcode/search params")
    query = fields.get("query")
    if not isinstance(query, str):
        raise JsonRpcInvalidParams("findcode/search needs a `query` string")
    defaults = ls.settings.search_defaults
    mode = fields.get("mode", defaults.mode)  # its value is checked with the filters'
    limit = _limit(fields.get("limit"), defaults.limit)
    filters = {name: _strings(fields.get(name), name) for name in ("paths", "languages", "kinds")}
    return _response(
        await _with_engine(ls, lambda e: e.search(query, limit=limit, mode=mode, **filters))
    )


async def _with_engine(ls: FindcodeServer, work: Callable[[Engine], T]) -> T:
    """Run `work` once the engine is ready, on the loop's executor (not pygls' pool, whose
    threads read stdin); the engine stays open until it returns, even through a restart."""
    try:
        async with ls.host.engine() as engine:
            return await asyncio.to_thread(work, engine)
    except QueryError as error:
        raise JsonRpcInvalidParams(str(error)) from None
    except FindcodeError as error:
        raise RequestFailed(str(error)) from None


def _response(outcome: SearchOutcome) -> protocol.SearchResponse:
    return {
        "results": [_result(hit) for hit in outcome.hits],
        "closeMatches": sum(not hit.weak for hit in outcome.hits),
        "index": {
            "state": outcome.state,  # type: ignore[typeddict-item]
            "indexed": outcome.indexed_files,
            "total": outcome.total_files,
        },
        "tookMs": round(outcome.took_ms, 1),
    }


def _result(hit: Hit) -> protocol.SearchResult:
    return {
        "uri": from_fs_path(str(hit.path)),
        "range": _range_json(hit),
        "name": hit.name,
        "qualifiedName": hit.qualified_name,
        "kind": hit.kind,
        "language": hit.language,
        "score": hit.score,
        "relevance": hit.relevance,
        "weak": hit.weak,
        "snippet": hit.snippet,
    }


def _range_json(hit: Hit) -> protocol.Range:
    # Symbols count 1-based lines and code points; LSP counts 0-based lines and UTF-16 units,
    # which differ only past U+FFFF.
    return {
        "start": {"line": hit.start_line - 1, "character": hit.start_col - 1},
        "end": {"line": hit.end_line - 1, "character": hit.end_col - 1},
    }


def _range(hit: Hit) -> types.Range:
    wire = _range_json(hit)
    return types.Range(start=types.Position(**wire["start"]), end=types.Position(**wire["end"]))


def _container(hit: Hit) -> str | None:
    prefix, _, _ = hit.qualified_name.rpartition(".")
    return prefix or hit.rel


def _status(ls: FindcodeServer) -> protocol.Status:
    engine = ls.host.running()
    if engine is not None:
        try:
            return engine.status()  # type: ignore[return-value]
        except FindcodeError as error:
            raise RequestFailed(str(error)) from None
    return {
        "state": "error" if ls.host.error else "starting",
        "roots": [str(root) for root in ls.host.roots],
        "files": 0,
        "symbols": 0,
        "vectors": 0,
        "pending": 0,
        "embedded": 0,
        "model": {"name": ls.settings.model or "", "path": "", "dims": 0, "quantization": ""},
        "indexPaths": [],
        "lastError": ls.host.error,
        "paused": "user" if ls.host.paused else None,
        "waiting": None,
        "switching": None,
    }


def _plain(value: Any) -> Any:
    """pygls hands custom methods' params over as namedtuples; make them JSON-shaped again."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise JsonRpcInvalidParams(f"{name} is missing")
    if not isinstance(value, dict):
        raise JsonRpcInvalidParams(f"{name} must be an object")
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise JsonRpcInvalidParams(f"{name} must be a string")
    return value


def _strings(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise JsonRpcInvalidParams(f"{name} must be a list of strings")
    return value


def _limit(value: Any, default: int) -> int:
    if value is None:
        return min(default, protocol.MAX_LIMIT)
    if not _whole(value, 1):
        raise JsonRpcInvalidParams(
            f"limit must be a whole number from 1 to {protocol.MAX_INTEGER}, not {value!r}"
        )
    return min(value, protocol.MAX_LIMIT)


def _line(position: dict[str, Any]) -> int:
    line = position.get("line")
    if not _whole(line, 0):
        raise JsonRpcInvalidParams(
            f"a position's line must be a whole number from 0 to {protocol.MAX_INTEGER}, "
            f"not {line!r}"
        )
    return cast(int, line)


def _whole(value: Any, least: int) -> bool:
    """An LSP integer: JSON has no bounds, but LSP's are 32 bits (and SQLite's 64)."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and least <= value <= protocol.MAX_INTEGER
    )


def _roots(params: types.InitializeParams) -> list[Path]:
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    roots = _folder_paths(uris)
    if not roots and params.root_path:
        roots = _folder_paths([from_fs_path(params.root_path)])
    return roots


def _folder_paths(uris: Any) -> list[Path]:
    paths: list[Path] = []
    for uri in uris:
        path = to_fs_path(uri)
        if not path or not Path(path).is_dir():
            log.warning("workspace folder %s is not a local folder; not indexed", uri)
            continue
        resolved = Path(path).resolve()
        if resolved not in paths:
            paths.append(resolved)
    return paths


async def _pulled_settings(ls: FindcodeServer) -> Settings:
    """workspace/configuration's `findcode` section, over the initializationOptions."""
    try:
        answer = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="findcode")])
        )
    except Exception as error:  # a client that cannot answer keeps the initial settings
        log.warning("workspace/configuration failed: %s", error)
        return ls.settings
    log.debug("workspace/configuration answered %r", answer)
    section = answer[0] if isinstance(answer, list | tuple) and answer else None
    return _settings_over(ls, ls.init_settings, _plain(section))


def _settings_over(ls: FindcodeServer, base: Settings, section: Any) -> Settings:
    if not isinstance(section, dict):
        return base
    # A client's settings section also holds the client's own settings (its launch command,
    # its UI): only findcode's option names are read from it, and only they are checked.
    known = {key: value for key, value in section.items() if key in OPTION_NAMES}
    settings, warnings = settings_from_options(known, base)
    for warning in warnings:
        log.warning(warning)
        ls.show(types.MessageType.Warning, warning)
    return settings


# -- logging: window/logMessage and a file beside the indexes


_MESSAGE_TYPES = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class _ClientLog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        kind = _MESSAGE_TYPES.get(record.levelno, types.MessageType.Log)
        message = self.format(record)
        server.on_loop(
            lambda: server.window_log_message(types.LogMessageParams(type=kind, message=message))
        )


def _log_to_file(settings: Settings) -> None:
    folder = log_folder(settings)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / "server.log", encoding="utf-8")
    except OSError as error:
        log.warning("cannot write the log file in %s: %s", folder, error)
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("findcode").addHandler(handler)


class _AnsweredErrors(logging.Filter):
    """pygls logs a traceback for every error answer; a bad parameter is not a server fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(
            error, JsonRpcInvalidParams | RequestFailed | JsonRpcServerNotInitialized
        )


def configure_logging(level: str) -> None:
    findcode_log = logging.getLogger("findcode")
    findcode_log.setLevel(level.upper())
    findcode_log.propagate = False
    client = _ClientLog()
    client.setFormatter(logging.Formatter("%(message)s"))
    findcode_log.addHandler(client)
    # pygls logs every message it sends at INFO; only its problems are worth a line on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_AnsweredErrors())


def run(*, listener: transport.Listener | None = None, log_level: str = "info") -> None:
    """Serve until the client says exit or goes away; the index is saved either way.

    Without a listener the client is the parent process on stdin/stdout; with one, the first
    client that passes the transport's checks (token, one at a time).
    """
    configure_logging(log_level)
    try:
        if listener is None:
            server.start_io()
        else:
            # Whoever runs a socket server reads its address, token file and refusals here.
            stderr = logging.StreamHandler()
            stderr.setFormatter(logging.Formatter("findcode: %(message)s"))
            transport.log.addHandler(stderr)
            transport.serve(server, listener)
    finally:
        server.stop_engine()
