"""The Language Server: thin LSP handlers over the engine (pygls 2).

Every request and notification findcode answers is handled in this file, in one function
named after its method. The handlers only translate: wire parameters in, engine calls, wire
results out (shapes in protocol.py). The engine starts on its own thread after `initialized`
(loading the model can take a moment, building it on first use longer), indexes in the
background and never blocks a request. Requests that need the engine are coroutines: they
wait for it on the event loop (`ready_engine`) and run the search on the loop's executor,
never on pygls' thread pool, whose threads also read stdin.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from findcode import __version__, protocol
from findcode.config import OPTION_NAMES, Settings, settings_from_options
from findcode.engine import Engine, Hit, SearchOutcome
from findcode.errors import FindcodeError, QueryError
from findcode.lsp_progress import IndexingProgress
from findcode.roots import index_base
from findcode.watcher import Watcher

log = logging.getLogger("findcode.lsp")

# How long a request waits for the engine to load its model before it gives up.
ENGINE_START_WAIT_S = 120.0
# Settings whose change needs a new engine: another model, other files, another index.
ENGINE_SETTINGS = ("model", "index_dir", "exclude", "languages", "max_file_bytes", "threads")
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


class FindcodeServer(LanguageServer):
    """The server's state: settings, workspace roots, the engine and the watcher."""

    def __init__(self) -> None:
        super().__init__("findcode", __version__, types.TextDocumentSyncKind.None_)
        self.settings = Settings()
        self.init_settings = Settings()  # from initializationOptions, before any pulled config
        self.roots: list[Path] = []
        self.engine: Engine | None = None
        self.engine_error: str | None = None
        self.initialized = False  # the `initialize` request has been answered
        self.supports_configuration = False
        self.progress = IndexingProgress(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._watcher: Watcher | None = None
        self._engine_ready = threading.Event()
        self._engine_lock = threading.Lock()

    # -- talking to the client from any thread

    def on_loop(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the event loop: pygls writes to the client from there only."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn)

    def show(self, kind: types.MessageType, message: str) -> None:
        self.on_loop(
            lambda: self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        )

    # -- the engine's lifecycle

    def start_engine(self) -> None:
        """(Re)start the engine off the event loop; requests wait for it to be ready."""
        self._engine_ready.clear()
        threading.Thread(target=self._start_engine, name="findcode-start", daemon=True).start()

    def _start_engine(self) -> None:
        with self._engine_lock:
            self._stop_engine()
            engine = Engine(
                self.roots,
                self.settings,
                on_progress=lambda p: self.on_loop(lambda: self.progress.update(p)),
                on_log=_engine_log,
            )
            try:
                engine.start()
            except FindcodeError as error:
                self.engine_error = str(error)
                log.error("findcode cannot start: %s", error)
                self.show(types.MessageType.Error, f"findcode cannot start: {error}")
                self._engine_ready.set()
                return
            self.engine, self.engine_error = engine, None
            log.info("indexing %s", ", ".join(map(str, self.roots)) or "no folder")
            if self.settings.watch:
                self._start_watcher(engine)
            self._engine_ready.set()

    def _start_watcher(self, engine: Engine) -> None:
        # The index folders (and server.log) all live under one base, which may be in a root.
        ignore = [index_base(self.settings.index_dir)]
        watcher = Watcher(self.settings, lambda paths: engine.notify_changed(paths), ignore=ignore)
        try:
            watcher.start(self.roots)
        except OSError as error:  # inotify limits, a vanished folder: saves still work
            log.warning("cannot watch the workspace for outside changes: %s", error)
            return
        self._watcher = watcher

    def _stop_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def _stop_engine(self) -> None:
        self._stop_watcher()
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def stop_engine(self) -> None:
        """Stop the worker and save the index (shutdown, exit, a vanished client)."""
        with self._engine_lock:
            self._stop_engine()
        self._engine_ready.set()

    async def ready_engine(self) -> Engine:
        """The running engine, once it has started; waits without holding a thread.

        pygls reads stdin on its own thread pool, so a handler that blocked a pool thread
        while the engine loads could starve the reader and deadlock the server.
        """
        if not self.initialized:
            raise JsonRpcServerNotInitialized("findcode has not been initialized yet")
        deadline = time.monotonic() + ENGINE_START_WAIT_S
        while not self._engine_ready.is_set():
            if time.monotonic() > deadline:
                raise RequestFailed("findcode is still loading its model; try again in a moment")
            await asyncio.sleep(0.05)
        if self.engine is None:
            raise RequestFailed(self.engine_error or "findcode is not running")
        return self.engine

    def apply_settings(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        if any(getattr(old, name) != getattr(settings, name) for name in ENGINE_SETTINGS):
            log.info("settings changed: restarting the engine")
            self.start_engine()
        elif old.watch != settings.watch and self.engine is not None:
            with self._engine_lock:
                self._stop_watcher()
                if settings.watch and self.engine is not None:
                    self._start_watcher(self.engine)

    def add_roots(self, added: Sequence[Path], removed: Sequence[Path]) -> None:
        for root in removed:
            if root in self.roots:
                self.roots.remove(root)
                if self.engine is not None:
                    self.engine.remove_root(root)
                if self._watcher is not None:
                    self._watcher.remove_root(root)
        for root in added:
            if root not in self.roots:
                self.roots.append(root)
                if self.engine is not None:
                    self.engine.add_root(root)
                if self._watcher is not None:
                    self._watcher.add_root(root)


server = FindcodeServer()


# -- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: FindcodeServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    ls.initialized = True  # requests from now on wait for the engine, not fail
    ls.roots = _roots(params)
    ls.init_settings, warnings = settings_from_options(_plain(params.initialization_options))
    ls.settings = ls.init_settings
    capabilities = params.capabilities
    ls.progress.enabled = bool(capabilities.window and capabilities.window.work_done_progress)
    ls.supports_configuration = bool(
        capabilities.workspace and capabilities.workspace.configuration
    )
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
    ls.start_engine()


@server.feature(types.SHUTDOWN)
def shutdown(ls: FindcodeServer, params: None) -> None:
    ls.stop_engine()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: FindcodeServer, params: types.DidChangeConfigurationParams
) -> None:
    if ls.supports_configuration:
        settings = await _pulled_settings(ls)
    else:
        section = params.settings.get("findcode") if isinstance(params.settings, dict) else None
        settings = _settings_over(ls, ls.init_settings, _plain(section))
    await asyncio.to_thread(ls.apply_settings, settings)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(
    ls: FindcodeServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    ls.add_roots(
        _folder_paths(f.uri for f in params.event.added),
        _folder_paths(f.uri for f in params.event.removed),
    )


# -- keeping the index current


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: FindcodeServer, params: types.DidSaveTextDocumentParams) -> None:
    _changed(ls, params.text_document.uri, urgent=True)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FindcodeServer, params: types.DidOpenTextDocumentParams) -> None:
    # An unchanged file costs one stat; a file the index has not reached yet goes first.
    _changed(ls, params.text_document.uri, urgent=True)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: FindcodeServer, params: types.DidChangeWatchedFilesParams) -> None:
    if ls.engine is not None:
        paths = [Path(p) for p in (to_fs_path(c.uri) for c in params.changes) if p]
        ls.engine.notify_changed(paths)


def _changed(ls: FindcodeServer, uri: str, *, urgent: bool) -> None:
    path = to_fs_path(uri)
    if path and ls.engine is not None:
        ls.engine.notify_changed([Path(path)], urgent=urgent)


# -- requests


@server.feature(protocol.SEARCH)
async def search(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    return await _search(ls, _plain(params))


@server.feature(protocol.SIMILAR)
async def similar(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    fields = _object(_plain(params), "findcode/similar")
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
    engine = await ls.ready_engine()
    return await _answer(lambda: engine.similar(Path(path), line, end_line, limit=limit))


@server.feature(protocol.STATUS)
def status(ls: FindcodeServer, params: Any) -> protocol.Status:
    return _status(ls)


@server.feature(types.WORKSPACE_SYMBOL)
async def workspace_symbol(
    ls: FindcodeServer, params: types.WorkspaceSymbolParams
) -> list[types.SymbolInformation]:
    if not params.query.strip():
        return []  # an empty query asks for everything, which is no search at all
    engine = await ls.ready_engine()
    outcome = await _outcome(lambda: engine.search(params.query, limit=WORKSPACE_SYMBOL_LIMIT))
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
    (await ls.ready_engine()).reindex()
    log.info("re-indexing every folder from scratch")


@server.command(protocol.COMMAND_STATUS)
def command_status(ls: FindcodeServer, *args: Any) -> protocol.Status:
    return _status(ls)


# -- helpers: parameters in, results out


async def _search(ls: FindcodeServer, params: Any) -> protocol.SearchResponse:
    fields = _object(params, "findcode/search")
    query = fields.get("query")
    if not isinstance(query, str):
        raise JsonRpcInvalidParams("findcode/search needs a `query` string")
    defaults = ls.settings.search_defaults
    mode = fields.get("mode", defaults.mode)  # its value is checked with the filters'
    limit = _limit(fields.get("limit"), defaults.limit)
    filters = {name: _strings(fields.get(name), name) for name in ("paths", "languages", "kinds")}
    engine = await ls.ready_engine()
    return await _answer(lambda: engine.search(query, limit=limit, mode=mode, **filters))


async def _answer(run: Callable[[], SearchOutcome]) -> protocol.SearchResponse:
    outcome = await _outcome(run)
    return {
        "results": [_result(hit) for hit in outcome.hits],
        "index": {
            "state": outcome.state,  # type: ignore[typeddict-item]
            "indexed": outcome.indexed_files,
            "total": outcome.total_files,
        },
        "tookMs": round(outcome.took_ms, 1),
    }


async def _outcome(run: Callable[[], SearchOutcome]) -> SearchOutcome:
    """Run a search on the loop's executor (not pygls' pool, whose threads read stdin)."""
    try:
        return await asyncio.to_thread(run)
    except QueryError as error:
        raise JsonRpcInvalidParams(str(error)) from None
    except FindcodeError as error:
        raise RequestFailed(str(error)) from None


def _result(hit: Hit) -> protocol.SearchResult:
    return {
        "uri": from_fs_path(str(hit.path)),
        "range": _range_json(hit),
        "name": hit.name,
        "qualifiedName": hit.qualified_name,
        "kind": hit.kind,
        "language": hit.language,
        "score": hit.score,
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
    if ls.engine is not None:
        return ls.engine.status()  # type: ignore[return-value]
    return {
        "state": "error" if ls.engine_error else "starting",
        "roots": [str(root) for root in ls.roots],
        "files": 0,
        "symbols": 0,
        "vectors": 0,
        "pending": 0,
        "embedded": 0,
        "model": {"name": ls.settings.model or "", "path": "", "dims": 0, "quantization": ""},
        "indexPaths": [],
        "lastError": ls.engine_error,
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
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JsonRpcInvalidParams(f"limit must be a positive integer, not {value!r}")
    return min(value, protocol.MAX_LIMIT)


def _line(position: dict[str, Any]) -> int:
    line = position.get("line")
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise JsonRpcInvalidParams(f"a position's line must be a number >= 0, not {line!r}")
    return line


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


def _engine_log(level: str, message: str) -> None:
    number = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.getLogger("findcode.engine").log(number, message)


def _log_to_file(settings: Settings) -> None:
    folder = index_base(settings.index_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
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


def run(*, tcp: tuple[str, int] | None = None, log_level: str = "info") -> None:
    """Serve until the client says exit or goes away; the index is saved either way."""
    configure_logging(log_level)
    try:
        if tcp is None:
            server.start_io()
        else:
            server.start_tcp(*tcp)
    finally:
        server.stop_engine()
