# ruff: noqa: E501  (the expected docs are long strings; one row per symbol reads best)
"""extract_symbols on one realistic file per language: the exact symbols, and their fields.

The fixtures under tests/fixtures/langs/ are written for these tests (not copied); each
expected row is (kind, qualified name, first line, last line, doc).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from findcode.symbols import FILE_CHUNK_LINES, LANGUAGES, extract_symbols, language_for_path

FIXTURES = Path(__file__).parent / "fixtures" / "langs"

EXPECTED = {
    "Downloader.kt": [
        (
            "interface",
            "ProgressListener",
            9,
            11,
            "Receives progress updates while a download runs.",
        ),
        ("method", "ProgressListener.onProgress", 10, 10, ""),
        (
            "class",
            "Downloader",
            18,
            60,
            "Downloads files with retries and reports progress.\n\n@property maxAttempts how many times a failed download is tried",
        ),
        ("method", "Downloader.addListener", 21, 23, ""),
        (
            "method",
            "Downloader.download",
            28,
            38,
            "Download [url] into [target], retrying on I/O errors.",
        ),
        ("method", "Downloader.copy", 40, 54, ""),
        (
            "method",
            "Downloader.backoffMillis",
            58,
            58,
            "Exponential backoff: 200 ms, 400 ms, 800 ms, ...",
        ),
        ("class", "Checksums", 62, 68, ""),
        ("method", "Checksums.sha256", 63, 67, ""),
        ("class", "DownloadResult", 70, 70, ""),
        ("function", "formatSize", 73, 77, 'Human-readable size: 1536 -> "1.5 KiB".'),
    ],
    "InvoiceService.java": [
        (
            "interface",
            "InvoiceRepository",
            12,
            16,
            "Where invoices are kept. Implementations must be safe to call from several threads.",
        ),
        ("method", "InvoiceRepository.findById", 13, 13, ""),
        ("method", "InvoiceRepository.save", 15, 15, ""),
        (
            "class",
            "InvoiceService",
            23,
            82,
            "Creates invoices, applies tax and discounts, and marks them paid.\n\n@author billing-team",
        ),
        ("method", "InvoiceService.InvoiceService", 28, 30, ""),
        (
            "method",
            "InvoiceService.totalWithTax",
            38,
            44,
            "Total of the invoice lines plus VAT, rounded to cents.\n\n@param invoice the invoice to price\n@return the amount the customer pays",
        ),
        (
            "method",
            "InvoiceService.markPaid",
            47,
            52,
            "Mark the invoice paid; fails when it does not exist.",
        ),
        ("method", "InvoiceService.overdue", 54, 62, ""),
        ("class", "InvoiceService.Status", 65, 73, "Lifecycle of an invoice."),
        ("method", "InvoiceService.Status.isFinal", 70, 72, ""),
        ("class", "InvoiceService.Line", 75, 75, ""),
        ("class", "InvoiceService.Invoice", 77, 81, ""),
        ("method", "InvoiceService.Invoice.withStatus", 78, 80, ""),
    ],
    "OrderQueue.cs": [
        ("module", "Shop.Fulfilment", 5, 76, ""),
        ("interface", "Shop.Fulfilment.IShipper", 10, 13, "Something that can ship an order."),
        ("method", "Shop.Fulfilment.IShipper.ShipAsync", 12, 12, ""),
        ("class", "Shop.Fulfilment.Order", 15, 15, ""),
        (
            "class",
            "Shop.Fulfilment.OrderQueue",
            20,
            67,
            "Orders waiting to be shipped, highest value first.",
        ),
        ("method", "Shop.Fulfilment.OrderQueue.OrderQueue", 25, 28, ""),
        (
            "method",
            "Shop.Fulfilment.OrderQueue.Enqueue",
            32,
            36,
            "Add an order; it is shipped on the next DrainAsync.\nThe order to queue.",
        ),
        (
            "method",
            "Shop.Fulfilment.OrderQueue.DrainAsync",
            42,
            54,
            "Ship every pending order; failed orders stay queued.\n\nHow many orders were shipped.",
        ),
        ("method", "Shop.Fulfilment.OrderQueue.PendingValue", 56, 66, ""),
        ("function", "Shop.Fulfilment.OrderQueue.PendingValue.Sum", 58, 63, ""),
        ("class", "Shop.Fulfilment.Money", 69, 75, ""),
        ("method", "Shop.Fulfilment.Money.ToString", 74, 74, ""),
    ],
    "SearchBox.tsx": [
        ("interface", "SearchBoxProps", 5, 9, ""),
        ("function", "SearchBox", 12, 28, "Text input that reports the query once typing pauses."),
        (
            "function",
            "Highlight",
            31,
            43,
            "Highlight every occurrence of `term` in `text` with <mark>.",
        ),
        ("class", "RecentQueries", 46, 60, "Keeps the list of recent queries in localStorage."),
        ("method", "RecentQueries.constructor", 47, 47, ""),
        ("method", "RecentQueries.load", 49, 52, ""),
        (
            "method",
            "RecentQueries.remember",
            55,
            59,
            "Put `query` first, drop duplicates, keep at most `limit`.",
        ),
    ],
    "UserRepository.php": [
        (
            "interface",
            "UserFinder",
            12,
            15,
            "Read access to users; implemented over SQL and in memory for tests.",
        ),
        ("method", "UserFinder.findByEmail", 14, 14, ""),
        ("class", "Timestamps", 17, 24, ""),
        ("method", "Timestamps.now", 20, 23, "Current time as an ISO 8601 string."),
        ("class", "UserRepository", 29, 57, "Stores users in the `users` table."),
        ("method", "UserRepository.__construct", 33, 35, ""),
        (
            "method",
            "UserRepository.findByEmail",
            42,
            48,
            "Look a user up by e-mail address, case-insensitively.\n\n@return array|null the row, or null when there is none",
        ),
        ("method", "UserRepository.create", 51, 56, "Insert a new user and return its id."),
        ("class", "Role", 59, 63, ""),
        (
            "function",
            "normalize_email",
            68,
            71,
            "Normalise an e-mail address before it is stored or compared.",
        ),
    ],
    "event_bus.js": [
        (
            "class",
            "EventBus",
            12,
            49,
            "A minimal publish/subscribe hub.\nListeners run in subscription order; a throwing listener does not stop the others.",
        ),
        ("method", "EventBus.constructor", 13, 16, ""),
        (
            "method",
            "EventBus.subscribe",
            19,
            27,
            "Register `handler` for `topic`; returns a function that unsubscribes it.",
        ),
        ("method", "EventBus.unsubscribe", 29, 35, ""),
        (
            "method",
            "EventBus.publish",
            38,
            48,
            "Deliver `payload` to every listener of `topic` and collect their errors.",
        ),
        (
            "function",
            "debounce",
            54,
            60,
            "Wrap `fn` so that bursts of calls collapse into one call after `waitMs` of quiet.",
        ),
        (
            "function",
            "formatBytes",
            63,
            72,
            'Format a byte count for the status bar: 1536 -> "1.5 KB".',
        ),
        ("function", "createBus", 74, 76, ""),
    ],
    "lru.rs": [
        ("class", "CacheError", 8, 11, "Errors the cache reports to callers."),
        ("interface", "Weighted", 14, 21, "Anything that can say how much memory it occupies."),
        ("method", "Weighted.weight", 16, 16, "Size in bytes."),
        ("method", "Weighted.is_empty", 18, 20, ""),
        (
            "class",
            "LruCache",
            25,
            30,
            "An LRU cache bounded by total weight rather than entry count.",
        ),
        ("method", "LruCache.new", 34, 36, "An empty cache holding at most `capacity` bytes."),
        ("method", "LruCache.get", 39, 46, "Look up `key` and mark it as recently used."),
        (
            "method",
            "LruCache.put",
            49,
            63,
            "Insert `value`, evicting the least recently used entries until it fits.",
        ),
        ("method", "LruCache.evict_oldest", 65, 76, ""),
        ("method", "Vec.weight", 80, 82, ""),
        ("module", "tests", 85, 97, ""),
        ("function", "tests.evicts_least_recently_used", 89, 96, ""),
    ],
    "markdown_renderer.rb": [
        (
            "module",
            "ReleaseNotes",
            6,
            57,
            "Renders the small subset of Markdown used in release notes.",
        ),
        ("class", "ReleaseNotes.Renderer", 8, 50, "Converts one Markdown document to HTML."),
        ("method", "ReleaseNotes.Renderer.initialize", 11, 14, ""),
        (
            "method",
            "ReleaseNotes.Renderer.to_html",
            17,
            19,
            "Render the whole document; blank lines separate paragraphs.",
        ),
        (
            "method",
            "ReleaseNotes.Renderer.from_file",
            22,
            24,
            "Build a renderer from a file on disk.",
        ),
        ("method", "ReleaseNotes.Renderer.blocks", 28, 30, ""),
        ("method", "ReleaseNotes.Renderer.render_block", 32, 42, ""),
        (
            "method",
            "ReleaseNotes.Renderer.inline",
            45,
            49,
            "Escape HTML, then turn `code` and **bold** into tags.",
        ),
        ("module", "ReleaseNotes.Helpers", 52, 56, ""),
        ("method", "ReleaseNotes.Helpers.slug", 53, 55, ""),
        ("class", "ReleaseNotes.Error", 59, 59, ""),
        ("function", "render_release_notes", 62, 64, "Command-line entry point."),
    ],
    "matrix.cpp": [
        ("module", "physics", 7, 63, ""),
        ("class", "physics.Matrix", 10, 31, "A dense row-major matrix of doubles."),
        ("method", "physics.Matrix.Matrix", 12, 12, ""),
        ("method", "physics.Matrix.at", 15, 20, "Element access with bounds checking."),
        ("method", "physics.Matrix.rows", 22, 22, ""),
        ("method", "physics.Matrix.cols", 23, 23, ""),
        (
            "method",
            "physics.Matrix.multiply",
            34,
            49,
            "Naive O(n^3) product; good enough for the 6x6 matrices of rigid bodies.",
        ),
        ("function", "physics.clamp", 53, 55, "Clamp `value` into [low, high]."),
        ("class", "physics.Vec3", 57, 61, ""),
        ("method", "physics.Vec3.dot", 60, 60, ""),
        ("function", "main", 65, 70, ""),
    ],
    "rate_limiter.py": [
        (
            "class",
            "RateLimitExceeded",
            14,
            15,
            "Raised when a caller asks not to wait and no token is available.",
        ),
        ("class", "Bucket", 19, 31, "A bucket of tokens that refills at a constant rate."),
        (
            "method",
            "Bucket.refill",
            27,
            31,
            "Add the tokens earned since the last refill, up to the capacity.",
        ),
        (
            "class",
            "RateLimiter",
            34,
            69,
            "Hands out tokens per key (host name, API key) from a bucket each.",
        ),
        ("method", "RateLimiter.__init__", 37, 42, ""),
        (
            "method",
            "RateLimiter.acquire",
            44,
            61,
            "Take one token for `key`; return how long the caller waited, in seconds.\n\nRaises RateLimitExceeded when `block` is false and the bucket is empty.",
        ),
        ("method", "RateLimiter._bucket", 63, 69, ""),
        (
            "function",
            "retry_with_backoff",
            72,
            85,
            "Call `call()` until it succeeds, doubling the delay after each failure.",
        ),
        ("function", "retry_with_backoff.delay_for", 75, 76, ""),
    ],
    "ring_buffer.c": [
        (
            "class",
            "ring_buffer",
            11,
            17,
            "A ring of bytes; head is where the next write goes, tail the next read.",
        ),
        ("class", "stats", 19, 22, ""),
        (
            "function",
            "ring_create",
            30,
            42,
            "Allocate a ring holding up to `capacity` bytes.\nReturns NULL when memory runs out.",
        ),
        ("function", "ring_destroy", 44, 50, ""),
        (
            "function",
            "ring_write",
            53,
            64,
            "Write up to `len` bytes; returns how many fit. Extra bytes count as overruns.",
        ),
        (
            "function",
            "ring_read",
            67,
            76,
            "Read up to `len` bytes into `dst`; returns how many were read.",
        ),
        ("function", "is_full", 78, 81, ""),
    ],
    "server.go": [
        ("interface", "Checker", 13, 16, "Checker reports whether one dependency is usable."),
        (
            "class",
            "Server",
            20,
            26,
            "Server answers /healthz and /readyz.\nIt caches check results for a short time so probes stay cheap.",
        ),
        ("class", "result", 28, 31, ""),
        ("function", "NewServer", 34, 41, "NewServer builds a Server listening on addr."),
        ("method", "Server.Start", 44, 50, "Start serves until Stop is called."),
        ("method", "Server.Stop", 53, 55, "Stop shuts the server down, waiting at most for ctx."),
        ("method", "Server.handleLive", 57, 59, ""),
        ("method", "Server.handleReady", 61, 67, ""),
        (
            "method",
            "Server.runChecks",
            70,
            85,
            "runChecks runs every checker whose cached result is stale.",
        ),
        ("method", "result.healthy", 87, 87, ""),
    ],
    "session_store.ts": [
        (
            "interface",
            "SessionBackend",
            6,
            10,
            "What a backend must provide: plain key/value with expiry.",
        ),
        ("method", "SessionBackend.get", 7, 7, ""),
        ("method", "SessionBackend.set", 8, 8, ""),
        ("method", "SessionBackend.delete", 9, 9, ""),
        ("interface", "Session", 12, 16, ""),
        (
            "class",
            "MemoryBackend",
            19,
            38,
            "Keeps sessions in process memory; for tests and single-node deployments.",
        ),
        ("method", "MemoryBackend.get", 22, 29, ""),
        ("method", "MemoryBackend.set", 31, 33, ""),
        ("method", "MemoryBackend.delete", 35, 37, ""),
        ("class", "Store", 40, 43, ""),
        ("method", "Store.ttl", 42, 42, "Seconds a session lives without activity."),
        ("class", "SessionStore", 45, 65, ""),
        ("method", "SessionStore.constructor", 46, 48, ""),
        ("method", "SessionStore.ttl", 50, 52, ""),
        ("method", "SessionStore.create", 55, 59, "Create a session for `userId` and persist it."),
        ("method", "SessionStore.load", 61, 64, ""),
        ("module", "Cookies", 67, 76, ""),
        (
            "function",
            "Cookies.serialize",
            69,
            75,
            "Serialise a session id into a Set-Cookie header value.",
        ),
        ("function", "parseCookie", 78, 84, ""),
    ],
}


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_every_language_has_a_fixture() -> None:
    covered = {language_for_path(name) for name in EXPECTED}
    assert covered == set(LANGUAGES)
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_symbols(name: str) -> None:
    text = load(name)
    symbols = extract_symbols(name, text)
    got = [(s.kind, s.qualified_name, s.start_line, s.end_line, s.doc) for s in symbols]
    assert got == EXPECTED[name]
    lines = text.split("\n")
    for symbol in symbols:
        assert symbol.path == name
        assert symbol.language == language_for_path(name)
        assert symbol.qualified_name.endswith(symbol.name)
        # code is exactly the source between the 1-based (line, col) start and end
        first = lines[symbol.start_line - 1][symbol.start_col - 1 :]
        assert first.startswith(symbol.code.split("\n")[0])
        last = lines[symbol.end_line - 1][: symbol.end_col - 1]
        if symbol.start_line == symbol.end_line:
            last = last[symbol.start_col - 1 :]
        assert symbol.code.split("\n")[-1] == last
        assert symbol.name in symbol.signature
        assert "\n" not in symbol.signature


def test_signatures_fields_and_hash() -> None:
    [bucket, refill] = [
        s for s in extract_symbols("r.py", load("rate_limiter.py")) if "Bucket" in s.qualified_name
    ]
    assert refill.signature == "def refill(self, now: float) -> None:"
    assert (refill.start_col, refill.end_col) == (5, 30)
    assert refill.code.startswith("def refill(self, now: float) -> None:\n")
    assert refill.code.endswith("self.updated_at = now")
    expected = hashlib.sha256()
    for part in ("python", "method", "Bucket.refill", refill.signature, refill.doc, refill.code):
        expected.update(part.encode() + b"\0")
    assert refill.body_hash == expected.hexdigest()
    # path and position stay out of the hash: moved code is not re-embedded
    moved = extract_symbols("elsewhere/x.py", "\n\n\n" + load("rate_limiter.py"))
    assert refill.body_hash in {s.body_hash for s in moved}
    assert bucket.body_hash not in {s.body_hash for s in moved if s.name != "Bucket"}
    go = {s.qualified_name: s for s in extract_symbols("s.go", load("server.go"))}
    assert go["Server.Start"].signature == "func (s *Server) Start() error"
    assert go["Server.Start"].name == "Start"


def test_columns_count_characters_not_bytes() -> None:
    text = "# ünïcödé ✓\nclass Café:\n    def naïve(self): return 'é'\n"
    [cls, method] = extract_symbols("u.py", text)
    assert (cls.name, cls.start_line, cls.start_col) == ("Café", 2, 1)
    assert (method.qualified_name, method.start_col, method.end_col) == ("Café.naïve", 5, 32)


def test_files_without_symbols_become_file_chunks() -> None:
    text = "".join(f"line {n}\n" for n in range(1, 131))
    chunks = extract_symbols("notes/CHANGES.txt", text)
    assert [(c.kind, c.language, c.name, c.start_line, c.end_line) for c in chunks] == [
        ("file", "text", "CHANGES.txt", 1, FILE_CHUNK_LINES),
        ("file", "text", "CHANGES.txt", FILE_CHUNK_LINES + 1, 2 * FILE_CHUNK_LINES),
        ("file", "text", "CHANGES.txt", 2 * FILE_CHUNK_LINES + 1, 130),
    ]
    assert chunks[0].code.startswith("line 1\n") and chunks[-1].code.endswith("line 130\n")
    script = extract_symbols("setup.py", "import sys\nprint(sys.argv)\n")
    assert [(c.kind, c.language, c.end_line) for c in script] == [("file", "python", 2)]
    assert extract_symbols("blank.md", "\n  \n") == []
    # a form feed is not a line break: line numbers follow "\n" only, like tree-sitter
    assert extract_symbols("f.txt", "a\x0cb\nc\n")[0].end_line == 2


def test_language_for_path() -> None:
    assert language_for_path("a/b/c.PY") == "python"
    assert language_for_path(Path("x.tsx")) == "tsx"
    assert language_for_path("lib.h") == "c"
    assert language_for_path("README.md") is None
    assert language_for_path("Makefile") is None


@pytest.mark.parametrize(
    ("name", "broken"),
    [
        ("x.js", "function ok() { return 1; }\nfunction broken( {\nfunction ok2() { return 2; }\n"),
        ("x.go", "package x\n\nfunc ok() int { return 1 }\n\nfunc broken( {\n"),
        ("x.rs", "fn ok() -> i32 { 1 }\n\nfn broken( {\n"),
        ("x.java", "class A {\n  int ok() { return 1; }\n  void broken( {\n}\n"),
    ],
)
def test_syntax_errors_never_raise_and_keep_intact_definitions(name: str, broken: str) -> None:
    names = {s.name for s in extract_symbols(name, broken)}
    assert "ok" in names


def test_garbage_and_wrong_language_never_raise() -> None:
    noise = "".join(chr(c) for c in range(1, 3000)) * 3
    for language in LANGUAGES:
        assert isinstance(extract_symbols("noise", noise, language), list)


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("gap.go", "package x\n\n// Licence header, not a doc.\n\nfunc F() {}\n"),
        ("gap.kt", "import a.b\n/** Stray. */\n\nclass K {}\n"),
        ("gap.rs", "/// Stray.\n\n#[derive(Debug)]\nstruct S {}\n"),
        ("gap.js", "// Stray.\n\nexport function f() {}\n"),
    ],
)
def test_comment_separated_by_a_blank_line_is_not_a_doc(name: str, source: str) -> None:
    [symbol] = extract_symbols(name, source)
    assert symbol.doc == ""


def test_doc_comment_forms() -> None:
    kotlin = extract_symbols("k.kt", "import a.b\n/** Kept. */\nclass K {}\n")
    assert [s.doc for s in kotlin] == ["Kept."]
    rust = extract_symbols(
        "r.rs", "/// One.\n/// Two.\n#[derive(Debug)]\n#[repr(C)]\nstruct S {}\n"
    )
    assert [s.doc for s in rust] == ["One.\nTwo."]
    python = extract_symbols("p.py", "# Why this exists.\ndef f():\n    pass\n")
    assert [s.doc for s in python] == ["Why this exists."]
    cpp = extract_symbols(
        "c.cpp", "/**\n * Star block.\n *   indented\n */\nint f() { return 0; }\n"
    )
    assert [s.doc for s in cpp] == ["Star block.\n  indented"]


def test_threads_extract_at_once_with_the_same_results() -> None:
    # the indexer's worker and a request handler may parse at the same time
    names = sorted(EXPECTED) * 8
    texts = {name: load(name) for name in EXPECTED}

    def rows(name: str) -> list[tuple]:
        return [
            (s.qualified_name, s.start_line, s.body_hash)
            for s in extract_symbols(name, texts[name])
        ]

    serial = [rows(name) for name in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(rows, names)) == serial
