"""document_text: what the model reads for a symbol."""

from __future__ import annotations

import dataclasses

from findcode.documents import (
    MAX_CHARS,
    MAX_CODE_CHARS,
    document_text,
    split_identifier,
    split_identifiers,
)
from findcode.symbols import Symbol, extract_symbols


def make_symbol(**changes: object) -> Symbol:
    fields = {
        "path": "pkg/http/client.py",
        "language": "python",
        "kind": "method",
        "name": "retry_request",
        "qualified_name": "HTTPClient.retry_request",
        "start_line": 10,
        "start_col": 5,
        "end_line": 20,
        "end_col": 1,
        "signature": "def retry_request(self, url, attempts=3):",
        "doc": "Send a GET request, retrying with exponential backoff.",
        "code": (
            "def retry_request(self, url, attempts=3):\n    for i in range(attempts):\n        pass"
        ),
    }
    fields.update(changes)
    return Symbol(**fields)  # type: ignore[arg-type]


def test_split_identifier() -> None:
    assert split_identifier("HTTPClient.retry_request") == "http client retry request"
    assert split_identifier("parseJSONResponse2") == "parse json response 2"
    assert split_identifier("Server.Start") == "server start"
    assert split_identifier("__init__") == "init"
    assert split_identifier("") == ""


def test_split_identifiers_in_a_query() -> None:
    assert split_identifiers("call _.forEach on maxRetries") == "call for each on max retries"
    assert split_identifiers("read self.config_path via HTTPServer") == (
        "read self config path via http server"
    )
    assert split_identifiers("retry a request with backoff") == "retry a request with backoff"


def test_document_holds_name_words_doc_and_code_once() -> None:
    text = document_text(make_symbol())
    lines = text.split("\n")
    assert lines[0] == "method http client retry request"
    assert "exponential backoff" in lines[1]
    assert text.count("def retry_request(self, url, attempts=3):") == 1
    assert text.endswith("pass")


def test_signature_kept_when_the_code_does_not_start_with_it() -> None:
    text = document_text(make_symbol(code="    body only", signature="fn start(&self)"))
    assert "fn start(&self)" in text and "body only" in text


def test_path_and_position_do_not_matter() -> None:
    one = make_symbol()
    moved = dataclasses.replace(one, path="elsewhere/x.py", start_line=99, end_line=120)
    assert moved.body_hash == one.body_hash
    assert document_text(moved) == document_text(one)
    assert "client.py" not in document_text(one)


def test_long_symbols_are_cut() -> None:
    huge = make_symbol(code="x = 1\n" * 10_000, doc="word " * 5_000)
    text = document_text(huge)
    assert len(text) <= MAX_CHARS
    assert text.startswith("method http client retry request")


def test_real_extracted_symbol() -> None:
    source = 'def read_config(path):\n    """Load the TOML settings."""\n    return 1\n'
    (symbol,) = [s for s in extract_symbols("a.py", source) if s.name == "read_config"]
    text = document_text(symbol)
    assert text.startswith("function read config")
    assert "Load the TOML settings." in text


CLASS_SOURCE = '''
@dataclass
class RetryPolicy(Base):
    """How a request is retried.

    With exponential backoff.
    """

    attempts: int = 3
    banner = """several
lines"""

    @property
    def delay(self) -> float:
        """Seconds before the next try."""
        return self.base_delay * 2**self.tries

    # Called by the client.
    def run(self, fn, tries=3):
        for _ in range(tries):
            fn()
'''


def test_a_class_reads_as_its_outline_not_its_body() -> None:
    symbols = {s.name: s for s in extract_symbols("retry.py", CLASS_SOURCE)}
    text = document_text(symbols["RetryPolicy"])
    assert text.split("\n") == [
        "class retry policy",
        "How a request is retried.",
        "",
        "With exponential backoff.",
        "class RetryPolicy(Base):",
        "attempts: int = 3",
        'banner = """several',
        "def delay(self) -> float:",
        "def run(self, fn, tries=3):",
    ]
    # Its methods' bodies are in their own documents.
    assert "base_delay" in document_text(symbols["delay"])


def test_a_braced_class_outline_keeps_members_not_brackets_or_comments() -> None:
    source = (
        "/** A client. */\nclass Client extends Base {\n  // the url\n  constructor(url) {\n"
        "    this.url = url;\n  }\n  async send(data) {\n    return post(this.url, data);\n  }\n}\n"
    )
    (client,) = [s for s in extract_symbols("client.js", source) if s.kind == "class"]
    assert document_text(client).split("\n")[-3:] == [
        "class Client extends Base {",
        "constructor(url) {",
        "async send(data) {",
    ]


def test_a_python_docstring_is_read_once() -> None:
    source = (
        "def read_config(path: str,\n                encoding='utf-8') -> dict:\n"
        '    """Load the TOML settings.\n\n    Missing keys get defaults.\n    """\n'
        "    return toml.load(path)\n"
    )
    (symbol,) = extract_symbols("a.py", source)
    text = document_text(symbol)
    assert text.count("Load the TOML settings.") == 1
    assert text.count("encoding='utf-8'") == 1  # a signature over two lines is not repeated
    assert text.endswith("    return toml.load(path)")


def test_a_docstring_like_string_stays_when_the_doc_is_a_comment() -> None:
    symbol = make_symbol(
        language="go", doc="Start runs it.", code='func Start() {\n\t"literal"\n}', signature=""
    )
    assert '"literal"' in document_text(symbol)


def test_long_code_is_cut_to_its_first_lines() -> None:
    code = "def retry_request(self, url, attempts=3):\n" + "    step()\n" * 500
    text = document_text(make_symbol(code=code, doc=""))
    assert len(text) < MAX_CODE_CHARS + 100
    assert "def retry_request" in text
