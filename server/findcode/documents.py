"""The text that stands for a symbol when it is embedded: one function, easy to tune.

The vector cache is keyed by the symbol's body hash, so the text may use only the fields that
hash covers (language, kind, qualified name, signature, doc, code) and never the path or the
position: moving a file must not change its vectors. Change anything here and bump
DOCUMENT_FORM_VERSION, which is part of the cache key, so old vectors are not reused.
"""

from __future__ import annotations

import re

from findcode.symbols import Symbol

# d2: a class as its outline, a Python docstring once, code cut at 600 characters.
# d3: code cut at 400 characters (README "Cold indexing").
DOCUMENT_FORM_VERSION = "d3"


def embed_key(model_id: str) -> str:
    """The key a model's vectors are stored under: its id and the document form it read."""
    return f"{model_id}/{DOCUMENT_FORM_VERSION}"


# The model reads at most a few hundred tokens; characters beyond this never reach it, and
# cutting here keeps the tokenizer's work proportional to what is used.
MAX_CHARS = 2400
MAX_DOC_CHARS = 600
# A function's code beyond its first lines changes its vector little and costs a token per
# ~3.5 characters (bench/cold_bench.py). bench/quality's hand-written queries set the cut: at
# 400 they lose 0.006 of hybrid MRR@10 against 600, at 300 0.018 (the mined ones gain).
MAX_CODE_CHARS = 400

# What opens a line of a class body that is no member: closing brackets, comments, decorators.
_NOT_MEMBERS = ("{", "}", ")", "]", "#", "//", "/*", "*", "@")
# A string literal opening a line (a docstring, or one line of a longer string).
_STRING = re.compile(r"[rRuUbBfF]{0,2}[\"']")
# A Python header (up to the colon ending its line) and the docstring right under it.
_DOCSTRING = re.compile(
    r"(?s)\A.*?:[ \t]*\n"  # the header, to the first line ending in a colon
    r"([ \t]*[rRuUbB]{0,2}(\"\"\"|'''|\"|').*?\2[ \t]*(?:\n|\Z))"  # the docstring's lines
)

_IDENTIFIER_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


# An identifier, or a dotted path of them ("_.forEach", "self.max_retries").
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_COMPOUND = re.compile(r"[_.]|[a-z][A-Z]|[A-Z]{2}[a-z]")


def split_identifiers(text: str) -> str:
    """Every compound identifier in `text` as words: 'call _.forEach on maxRetries' ->
    'call for each on max retries'; plain words stay as they are.

    The query form: a small English model reads words, and camelCase or dotted names reach
    its tokenizer as fragments. (Splitting the code's identifiers in documents too was
    measured and lost on two corpora of four, so documents keep their code as written.)
    """
    return _DOTTED.sub(
        lambda m: split_identifier(m.group()) if _COMPOUND.search(m.group()) else m.group(),
        text,
    )


def split_identifier(name: str) -> str:
    """'HTTPClient.retry_request' -> 'http client retry request': words the model knows."""
    return " ".join(part.lower() for part in _IDENTIFIER_PARTS.findall(name))


def document_text(symbol: Symbol) -> str:
    """Name words first (what a query names), then the doc (what it means), then the code.

    Tokens are what indexing costs (the model's work grows with them), so none is spent
    twice: a Python docstring is the doc already, and a class's methods are symbols of their
    own, so a class reads as its outline (member signatures and fields), not its whole body.
    """
    lines = [f"{symbol.kind} {split_identifier(symbol.qualified_name)}".strip()]
    code = symbol.code.strip()
    signature = symbol.signature.strip()
    # The code usually starts with the signature (over several lines, maybe); repeating it
    # only spends tokens.
    if signature and not " ".join(code[: 2 * len(signature)].split()).startswith(signature):
        lines.append(signature)
    doc = symbol.doc.strip()
    if doc:
        lines.append(doc[:MAX_DOC_CHARS])
    if symbol.kind == "class":
        head, _, body = code.partition("\n")
        lines.append(head)
        lines.extend(outline(body))
    elif code:
        if doc and symbol.language == "python":
            code = without_docstring(code)
        lines.append(code[:MAX_CODE_CHARS])
    return "\n".join(line for line in lines if line)[:MAX_CHARS]


def outline(body: str) -> list[str]:
    """The lines of a class body at its outermost indentation: member signatures and fields,
    without their bodies (deeper lines), strings, comments, decorators or closing brackets."""
    lines = body.split("\n")
    # The first member's indentation (a lone bracket or a comment may sit elsewhere).
    level = next((_indent(line) for line in lines if _is_member(line.strip())), 0)
    kept: list[str] = []
    quote: str | None = None  # inside a triple-quoted string that this quote opened
    for line in lines:
        text = line.strip()
        inside = quote is not None
        for mark in ('"""', "'''"):
            if quote in (None, mark) and text.count(mark) % 2:
                quote = None if quote == mark else mark
        if not inside and _indent(line) == level and _is_member(text):
            kept.append(text)
    return kept


def _is_member(text: str) -> bool:
    return bool(text) and not text.startswith(_NOT_MEMBERS) and not _STRING.match(text)


def without_docstring(code: str) -> str:
    """A Python function's code without its docstring (the document holds it as the doc)."""
    found = _DOCSTRING.match(code)
    return code[: found.start(1)] + code[found.end() :] if found else code


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
