"""Mine docstring -> function pairs from a repository, and hide each answer's doc.

A retrieval test needs questions whose answers are known. Well-documented code carries them:
the first sentence of a function's docstring or doc comment says what the function does in the
words a person would search with (CodeSearchNet's method). Left in place, though, the doc would
make every question trivial: the query's words would sit in the very text being indexed. So the
copy that gets indexed has each target's doc removed, and every other function stays as it is,
as a distractor. Positions are taken from the rewritten copy, so a result can be checked
against the range it really has there.

Pure: text in, text and pairs out. The bench (bench/quality) and `findcode eval` share it.
"""

from __future__ import annotations

import ast
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from findcode.config import Settings
from findcode.symbols import Symbol, extract_symbols
from findcode.workspace import SkipFile, is_test_path, read_source, walk

TARGET_KINDS = ("function", "method")
MIN_QUERY_WORDS = 3
MAX_QUERY_WORDS = 40

# Docs that say nothing about what the function does, or say it is going away.
_NOT_A_DESCRIPTION = re.compile(r"^(todo|fixme|xxx|hack|deprecated|nolint|noqa)\b", re.IGNORECASE)
# Where a doc's prose ends: JSDoc/Javadoc tags, Sphinx and Google/NumPy field sections.
_FIELD_LINE = re.compile(
    r"^\s*(@\w+|:\w+[^:]*:|(Args|Arguments|Returns|Raises|Yields|Example|Examples|Parameters|"
    r"Note|Notes)\s*:?\s*$|-{3,}\s*$)"
)
_SPHINX_ROLE = re.compile(r":[\w:]+:`~?([^`]+)`")
# A sentence ends at . ! ? before a capital, a quote or the end; "e.g. foo" does not end one.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(`])")


@dataclass(frozen=True, slots=True)
class Pair:
    """One question with a known answer: the query and where its target sits in the copy."""

    query: str
    rel: str
    qualified_name: str
    kind: str
    language: str
    start_line: int  # 1-based, inclusive, in the rewritten copy
    end_line: int
    doc: str  # the doc that was removed from the copy


@dataclass(frozen=True, slots=True)
class MinedRepository:
    """The pairs and the text to index: every file, with the targets' docs removed."""

    pairs: list[Pair]
    files: dict[str, str]
    candidates: int  # documented functions that could have been questions, before sampling


def query_from_doc(doc: str, name: str) -> str | None:
    """The first sentence of a doc as a person would type it, or None when it is no question.

    Markup a person would not type (Sphinx roles, backticks) goes; a leading repeat of the
    function's own name (the Go convention, "NoArgs returns an error ...") goes too, since it
    would hand lexical search the answer.
    """
    lines = []
    for line in doc.strip().splitlines():
        if not line.strip() or _FIELD_LINE.match(line):
            break
        lines.append(line.strip())
    text = _SPHINX_ROLE.sub(r"\1", " ".join(lines))
    text = text.replace("`", "").replace("**", "").strip()
    sentence = SENTENCE_END.split(text, maxsplit=1)[0].strip()
    words = sentence.split()
    if words and words[0].strip("*_.:,()") == name:
        words = words[1:]
    if len(words) < MIN_QUERY_WORDS or _NOT_A_DESCRIPTION.match(" ".join(words)):
        return None
    return " ".join(words[:MAX_QUERY_WORDS])


def read_repository(root: Path, settings: Settings | None = None) -> dict[str, str]:
    """Every file the index would read under `root`, by root-relative posix path."""
    settings = settings or Settings()
    files: dict[str, str] = {}
    for source in walk([root], settings).files:
        try:
            files[source.rel] = read_source(source.path, settings.max_file_bytes)
        except SkipFile:
            continue
    return files


def mine(
    files: Mapping[str, str], *, max_pairs: int | None = None, seed: int = 0
) -> MinedRepository:
    """Sample documented functions as questions and strip their docs from a copy of `files`.

    A query that two functions share is ambiguous and is left out. A target whose doc cannot
    be removed cleanly (a stub whose body is only its docstring, a doc sharing a line with
    code) is dropped, so every pair that comes out is checked: re-parsed, found again, and
    without its doc.
    """
    candidates: list[tuple[Symbol, str]] = []
    for rel in sorted(files):
        if is_test_path(rel):
            continue
        for symbol in extract_symbols(rel, files[rel]):
            if symbol.kind not in TARGET_KINDS or not symbol.doc:
                continue
            if symbol.name.lower().startswith("test"):
                continue
            query = query_from_doc(symbol.doc, symbol.name)
            if query is not None:
                candidates.append((symbol, query))
    counts = Counter(query.lower() for _symbol, query in candidates)
    unique = [(s, q) for s, q in candidates if counts[q.lower()] == 1]
    chosen = unique
    if max_pairs is not None and len(unique) > max_pairs:
        chosen = random.Random(seed).sample(unique, max_pairs)
    by_file: dict[str, list[tuple[Symbol, str]]] = defaultdict(list)
    for symbol, query in chosen:
        by_file[symbol.path].append((symbol, query))
    rewritten = dict(files)
    pairs: list[Pair] = []
    for rel, targets in sorted(by_file.items()):
        text, file_pairs = _rewrite(rel, files[rel], targets)
        rewritten[rel] = text
        pairs.extend(file_pairs)
    pairs.sort(key=lambda p: (p.rel, p.start_line))
    return MinedRepository(pairs=pairs, files=rewritten, candidates=len(unique))


def write_tree(files: Mapping[str, str], dest: Path) -> None:
    """Make `dest` hold exactly `files`; unchanged files keep their mtime (no re-indexing)."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {dest.joinpath(*PurePosixPath(rel).parts) for rel in files}
    for rel, text in files.items():
        path = dest.joinpath(*PurePosixPath(rel).parts)
        data = text.encode("utf-8", "surrogatepass")
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in sorted(dest.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _rewrite(rel: str, text: str, targets: Sequence[tuple[Symbol, str]]) -> tuple[str, list[Pair]]:
    """Remove the targets' doc lines from one file; return the new text and the checked pairs."""
    lines = text.split("\n")
    python_docs = _python_docstrings(text) if targets[0][0].language == "python" else None
    drop: set[int] = set()  # 0-based line numbers
    kept: list[tuple[Symbol, str]] = []
    for symbol, query in targets:
        if symbol.language == "python":
            span = _python_doc_span(symbol, python_docs or {})
        else:
            span = _comment_span(lines, symbol.start_line - 1)
        if span is None:
            continue
        drop.update(span)
        kept.append((symbol, query))
    new_text = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    return new_text, _locate(rel, text, new_text, kept)


def _python_docstrings(text: str) -> dict[tuple[str, int], tuple[ast.Expr, list[ast.stmt]]]:
    """(name, def line) -> (docstring expression, function body) for every documented def."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}  # Python 2 or broken: its functions stay as distractors only
    found: dict[tuple[str, int], tuple[ast.Expr, list[ast.stmt]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.body:
            continue
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            found[(node.name, node.lineno)] = (first, node.body)
    return found


def _python_doc_span(
    symbol: Symbol, docstrings: Mapping[tuple[str, int], tuple[ast.Expr, list[ast.stmt]]]
) -> Sequence[int] | None:
    """The lines of a def's docstring, if removing them leaves a function with a body."""
    matches = [
        (line, entry)
        for (name, line), entry in docstrings.items()
        if name == symbol.name and symbol.start_line <= line <= symbol.end_line
    ]
    if not matches:
        return None
    expr, body = min(matches, key=lambda m: m[0])[1]
    rest = body[1:]
    if not rest or all(_is_placeholder(stmt) for stmt in rest):
        return None  # a stub: without its docstring there is nothing left to find
    if expr.end_lineno is None or body[1].lineno <= expr.end_lineno:
        return None  # `"""doc"""; return x`: the doc shares its line with code
    return range(expr.lineno - 1, expr.end_lineno)


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _comment_span(lines: Sequence[str], start: int) -> list[int] | None:
    """The comment lines right above line `start` (0-based), across attributes/annotations."""
    span: list[int] = []
    i = start - 1
    while i >= 0:
        stripped = lines[i].strip()
        if stripped.endswith("*/"):
            j = i
            while j >= 0 and "/*" not in lines[j]:
                j -= 1
            if j < 0 or not lines[j].strip().startswith("/*"):
                break
            span.extend(range(j, i + 1))
            i = j - 1
        elif stripped.startswith(("//", "# ", "#\t")) or stripped == "#":
            span.append(i)
            i -= 1
        elif stripped.startswith(("#[", "@")) and not span:
            i -= 1  # Rust attributes, Java/TS annotations between the doc and the definition
        else:
            break
    return span or None


def _locate(
    rel: str, old_text: str, new_text: str, targets: Sequence[tuple[Symbol, str]]
) -> list[Pair]:
    """Find each target again in the rewritten text and check its doc is gone."""
    if not targets:
        return []

    def keyed(symbols: list[Symbol]) -> dict[tuple[str, str, int], Symbol]:
        seen: Counter[tuple[str, str]] = Counter()
        out = {}
        for symbol in symbols:
            key = (symbol.qualified_name, symbol.kind)
            out[(*key, seen[key])] = symbol
            seen[key] += 1
        return out

    key_of = {symbol: key for key, symbol in keyed(extract_symbols(rel, old_text)).items()}
    new = keyed(extract_symbols(rel, new_text))
    pairs = []
    for symbol, query in targets:
        key = key_of.get(symbol)
        found = new.get(key) if key is not None else None
        if found is None or _doc_survives(symbol.doc, found):
            continue
        pairs.append(
            Pair(
                query=query,
                rel=rel,
                qualified_name=symbol.qualified_name,
                kind=symbol.kind,
                language=symbol.language,
                start_line=found.start_line,
                end_line=found.end_line,
                doc=symbol.doc,
            )
        )
    return pairs


def _doc_survives(doc: str, symbol: Symbol) -> bool:
    first_line = doc.strip().splitlines()[0].strip()
    return first_line in symbol.doc or first_line in symbol.code
