"""The custom LSP surface of findcode: method and command names and result shapes.

The VS Code extension (editors/vscode/src/common/protocol.ts) and the Neovim client
(editors/nvim/lua/findcode/protocol.lua) mirror this file; change them together.
Positions on the wire are LSP positions: 0-based lines, 0-based UTF-16 character offsets.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

SEARCH = "findcode/search"
SIMILAR = "findcode/similar"
STATUS = "findcode/status"

COMMAND_SEARCH = "findcode.search"  # arguments: [query: str] or [SearchParams]
COMMAND_REINDEX = "findcode.reindex"  # arguments: none; drops the index and rebuilds it
COMMAND_STATUS = "findcode.status"  # arguments: none; answers Status
# Arguments: none; answer Status. A pause holds until resumed: through a settings change and
# the engine restart it causes, but not a restart of the server.
COMMAND_PAUSE = "findcode.pause"
COMMAND_RESUME = "findcode.resume"
COMMANDS = (COMMAND_SEARCH, COMMAND_REINDEX, COMMAND_STATUS, COMMAND_PAUSE, COMMAND_RESUME)

Mode = Literal["hybrid", "semantic", "lexical"]
# Waiting for an unreachable embedding server is "indexing" (its reason in Status.waiting).
IndexState = Literal["starting", "indexing", "idle", "paused", "error"]
# Why indexing is paused: the user's findcode.pause, or pauseOnBattery on battery power.
PauseReason = Literal["user", "battery"]
MAX_LIMIT = 200
# LSP's integer bound (its `uinteger` is 0..2^31-1): a line or limit past it is InvalidParams.
MAX_INTEGER = 2**31 - 1

# `findcode serve --tcp/--socket` (server/findcode/transport.py). A client proves it may connect
# with initializationOptions.token in its first message, `initialize`; the server removes the
# token before anything else reads the options. A connection the server will not serve gets one
# of these JSON-RPC errors (id null when none could be read), then is closed. Neither editor
# client connects to a socket today, so protocol.ts and protocol.lua have no copy of these.
TOKEN_OPTION = "token"
NOT_LSP = -32700  # JSON-RPC ParseError: no Content-Length framing, or a body that is not JSON
REFUSED = -32600  # JSON-RPC InvalidRequest: not `initialize` first, a bad token, or busy
MESSAGE_NOT_LSP = "findcode: not a Language Server message ({detail}); the server speaks LSP only"
MESSAGE_NOT_INITIALIZE = "findcode: the first message must be the initialize request"
MESSAGE_TIMEOUT = "findcode: no complete initialize request within {seconds:g} s"
MESSAGE_BAD_TOKEN = (
    "findcode: initializationOptions.token is missing or wrong; send the token from {where}"
)
MESSAGE_BUSY = (
    "findcode: this server already has a client; start another `findcode serve` for this one"
)


class Position(TypedDict):
    line: int
    character: int


class Range(TypedDict):
    start: Position
    end: Position


class SearchParams(TypedDict):
    query: str
    limit: NotRequired[int]  # default: searchDefaults.limit (20), at most MAX_LIMIT
    paths: NotRequired[list[str]]  # gitignore-style globs, relative to a workspace root
    languages: NotRequired[list[str]]  # e.g. ["python", "go"]
    kinds: NotRequired[list[str]]  # function, method, class, interface, module, file
    mode: NotRequired[Mode]


class TextDocumentIdentifier(TypedDict):
    uri: str


class SimilarParams(TypedDict):
    textDocument: TextDocumentIdentifier
    position: NotRequired[Position]  # the symbol around this position
    range: NotRequired[Range]  # or exactly this selection
    limit: NotRequired[int]


class SearchResult(TypedDict):
    uri: str
    range: Range
    name: str
    qualifiedName: str
    kind: str
    language: str
    score: float  # the mode's own ranking score: compare only within one response
    relevance: float  # calibrated, 0..1, one scale for search and similar
    weak: bool  # below the server's threshold: probably not what was asked for
    snippet: str


class IndexSummary(TypedDict):
    state: IndexState
    indexed: int  # files whose symbols are all searchable (parsed and embedded)
    total: int  # files known to the index, done or pending


class SearchResponse(TypedDict):
    results: list[SearchResult]
    closeMatches: int  # results that are not weak; 0 with results: "no close match"
    index: IndexSummary
    tookMs: float


class ModelInfo(TypedDict):
    name: str
    path: str  # the model file, or the embedding server's URL
    dims: int
    quantization: str


class Status(TypedDict):
    state: IndexState
    roots: list[str]
    files: int
    symbols: int
    vectors: int
    pending: int  # files queued or symbols waiting for a vector
    embedded: int  # symbols embedded since the server started (the cache misses)
    model: ModelInfo
    indexPaths: list[str]
    lastError: str | None
    paused: PauseReason | None  # with state "paused"
    # Embedding waits for an unreachable server ("embedding server unreachable: retrying in
    # 30 s (...)"); parsing and lexical search go on. None when it does not wait.
    waiting: str | None
    # A change of model in progress ("re-embedding for <model>: 3,200/20,000 symbols"): searches
    # answer with `model`, the old one, until it ends. None when no switch runs.
    switching: str | None
