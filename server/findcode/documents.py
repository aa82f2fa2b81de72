"""The text that stands for a symbol when it is embedded: one function, easy to tune.

The vector cache is keyed by the symbol's body hash, so the text may use only the fields that
hash covers (language, kind, qualified name, signature, doc, code) and never the path or the
position: moving a file must not change its vectors. Change anything here and bump
DOCUMENT_FORM_VERSION, which is part of the cache key, so old vectors are not reused.
"""

from __future__ import annotations

import re

from findcode.symbols import Symbol

DOCUMENT_FORM_VERSION = "d1"

# The model reads at most a few hundred tokens; characters beyond this never reach it, and
# cutting here keeps the tokenizer's work proportional to what is used.
MAX_CHARS = 2400
MAX_DOC_CHARS = 600

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
    """Name words first (what a query names), then the doc (what it means), then the code."""
    lines = [f"{symbol.kind} {split_identifier(symbol.qualified_name)}".strip()]
    code = symbol.code.strip()
    signature = symbol.signature.strip()
    # The code usually starts with the signature; repeating it only spends tokens.
    if signature and not code.startswith(signature):
        lines.append(signature)
    doc = symbol.doc.strip()
    if doc:
        lines.append(doc[:MAX_DOC_CHARS])
    if code:
        lines.append(code)
    return "\n".join(lines)[:MAX_CHARS]
