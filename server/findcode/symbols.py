"""Cut a source file into symbols: the units findcode embeds, indexes and returns.

A symbol is a definition a person would search for by what it does: a function, a method, a
class, an interface, a module or namespace. What counts as one in each language is written
down in grammars/<lang>/tags.scm (tree-sitter queries with the official capture names); this
module runs those queries and turns the matches into `Symbol` records with qualified names,
1-based positions, a signature, the doc text and a stable body hash.

Files with no symbols, and text in languages we have no grammar for, become `file` chunks of
a few dozen lines each, so every file stays searchable.

This is the only module that imports tree_sitter / tree_sitter_languages: their APIs move
between releases, and keeping them behind one door keeps the upgrade to one file.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import threading
import warnings
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path, PurePath

from tree_sitter import Language, Node, Parser, Query
from tree_sitter_languages import get_language

LANGUAGES = (
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
    "c_sharp",
    "ruby",
    "php",
    "kotlin",
)

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cs": "c_sharp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
}

KINDS = ("function", "method", "class", "interface", "module", "file")

# Lines per `file` chunk: long enough to carry context, short enough for the embedder's budget.
FILE_CHUNK_LINES = 60
_SIGNATURE_MAX_CHARS = 240

# When a node matches several patterns (a Kotlin interface is also a class_declaration), the
# more specific kind wins.
_KIND_PRECEDENCE = {"interface": 0, "module": 1, "class": 2, "method": 3, "function": 4}
_METHOD_SCOPES = frozenset({"class", "interface"})


@dataclass(frozen=True, slots=True)
class Symbol:
    path: str
    language: str
    kind: str
    name: str
    qualified_name: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    signature: str
    doc: str
    code: str
    # The vector cache key: identical code moved elsewhere (rename, branch switch) hashes the
    # same and is never embedded twice, so path and position stay out of it.
    body_hash: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for part in (
            self.language,
            self.kind,
            self.qualified_name,
            self.signature,
            self.doc,
            self.code,
        ):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        object.__setattr__(self, "body_hash", digest.hexdigest())


def language_for_path(path: str | Path) -> str | None:
    """The tree-sitter language for a file name, or None when we have no grammar for it."""
    return _EXTENSIONS.get(PurePath(path).suffix.lower())


def extract_symbols(path: str, text: str, language: str | None = None) -> list[Symbol]:
    """All symbols of one file, in source order; `file` chunks when there are none."""
    if language is None:
        language = language_for_path(path)
    if language not in LANGUAGES:
        return _file_chunks(path, text, "text")
    data = text.encode("utf-8", "surrogatepass")
    symbols = _Extraction(path, language, text, data).run()
    return symbols or _file_chunks(path, text, language)


@cache
def _language(language: str) -> Language:
    with warnings.catch_warnings():
        # tree-sitter-languages 1.10.2 builds Language(path, name), deprecated in 0.21.
        warnings.simplefilter("ignore", FutureWarning)
        return get_language(language)


@cache
def _query(language: str) -> Query:
    source = files("findcode.grammars").joinpath(language, "tags.scm").read_text("utf-8")
    return _language(language).query(source)


# A Parser holds mutable state and must not parse on two threads at once (the indexer's worker
# and a request handler may both extract), so each thread keeps its own, per language.
_parsers = threading.local()


def _parser(language: str) -> Parser:
    per_thread: dict[str, Parser] = _parsers.__dict__.setdefault("by_language", {})
    parser = per_thread.get(language)
    if parser is None:
        parser = Parser()
        parser.set_language(_language(language))
        per_thread[language] = parser
    return parser


@dataclass(slots=True)
class _Definition:
    node: Node
    kind: str
    name_node: Node
    doc_nodes: list[Node]
    qualified_name: str = ""


class _Extraction:
    """One file's walk from query matches to Symbols."""

    def __init__(self, path: str, language: str, text: str, data: bytes) -> None:
        self.path = path
        self.language = language
        self.data = data
        self.ascii = text.isascii()
        self._line_starts: list[int] | None = None

    def run(self) -> list[Symbol]:
        tree = _parser(self.language).parse(self.data)
        definitions = self._definitions(_query(self.language).matches(tree.root_node))
        ordered = sorted(definitions.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte))
        symbols = []
        for definition in ordered:
            scope = self._scope(definition, definitions)
            definition.qualified_name, kind, name = self._qualify(definition, scope)
            symbols.append(self._symbol(definition, kind, name))
        return symbols

    def _definitions(self, matches: list) -> dict[int, _Definition]:
        found: dict[int, _Definition] = {}
        for _pattern, captures in matches:
            for capture, node in captures.items():
                if not capture.startswith("definition."):
                    continue
                kind = capture.removeprefix("definition.")
                name_node = captures.get("name")
                if name_node is None or isinstance(node, list):
                    continue
                docs = captures.get("doc", [])
                docs = docs if isinstance(docs, list) else [docs]
                known = found.get(node.id)
                if known is None:
                    found[node.id] = _Definition(node, kind, name_node, docs)
                    continue
                if _KIND_PRECEDENCE[kind] < _KIND_PRECEDENCE[known.kind]:
                    known.kind = kind
                if len(docs) > len(known.doc_nodes):
                    known.doc_nodes = docs
        return found

    def _scope(
        self, definition: _Definition, definitions: dict[int, _Definition]
    ) -> tuple[_Definition | None, list[str], bool]:
        """The enclosing definition and the names of scopes that are not symbols themselves."""
        extra: list[str] = []
        in_impl = False
        parent = definition.node.parent
        while parent is not None:
            enclosing = definitions.get(parent.id)
            if enclosing is not None:
                return enclosing, extra, in_impl
            if parent.type == "impl_item":  # Rust: methods belong to the implemented type
                type_node = parent.child_by_field_name("type")
                if type_node is not None:
                    extra.insert(0, _base_type_name(self._text(type_node)))
                    in_impl = True
            parent = parent.parent
        return None, extra, in_impl

    def _qualify(
        self, definition: _Definition, scope: tuple[_Definition | None, list[str], bool]
    ) -> tuple[str, str, str]:
        """(qualified name, kind, name): the kind turns to "method" inside a class-like scope."""
        enclosing, extra, in_impl = scope
        name = self._text(definition.name_node)
        parts = [enclosing.qualified_name] if enclosing is not None else []
        parts += extra
        kind = definition.kind
        receiver = self._go_receiver(definition.node)
        if receiver:
            parts.append(receiver)
        out_of_line = False
        if "::" in name:  # C++ out-of-line `Widget::draw`, Ruby `class Outer::Inner`
            *qualifiers, name = name.split("::")
            parts += [q.split("<", 1)[0] for q in qualifiers if q]
            out_of_line = self.language == "cpp"
        if kind in ("function", "method"):
            in_class = enclosing is not None and (
                enclosing.kind in _METHOD_SCOPES
                or (self.language == "ruby" and enclosing.kind == "module")
            )
            is_method = in_class or in_impl or bool(receiver) or out_of_line
            kind = "method" if is_method else "function"
        return ".".join([*parts, name]), kind, name

    def _go_receiver(self, node: Node) -> str:
        if self.language != "go" or node.type != "method_declaration":
            return ""
        receiver = node.child_by_field_name("receiver")
        if receiver is None:
            return ""
        names = [n for n in _descendants(receiver) if n.type == "type_identifier"]
        return self._text(names[0]) if names else ""

    def _symbol(self, definition: _Definition, kind: str, name: str) -> Symbol:
        node = definition.node
        start_line, start_col = self._position(node.start_point)
        end_line, end_col = self._position(node.end_point)
        return Symbol(
            path=self.path,
            language=self.language,
            kind=kind,
            name=name,
            qualified_name=definition.qualified_name,
            start_line=start_line,
            start_col=start_col,
            end_line=end_line,
            end_col=end_col,
            signature=self._signature(node),
            doc=self._doc(definition),
            code=self._text(node),
        )

    def _position(self, point: tuple[int, int]) -> tuple[int, int]:
        row, byte_col = point
        if self.ascii:
            return row + 1, byte_col + 1
        if self._line_starts is None:
            starts = [0]
            index = self.data.find(b"\n")
            while index != -1:
                starts.append(index + 1)
                index = self.data.find(b"\n", index + 1)
            self._line_starts = starts
        line_start = self._line_starts[row]
        chars = self.data[line_start : line_start + byte_col].decode("utf-8", "replace")
        return row + 1, len(chars) + 1

    def _text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def _signature(self, node: Node) -> str:
        body = node.child_by_field_name("body")
        # Ruby's body starts after any comment under the header, so its first line is enough.
        if body is not None and body.start_byte > node.start_byte and self.language != "ruby":
            head = self.data[node.start_byte : body.start_byte].decode("utf-8", "replace")
        else:
            head = self._text(node).split("\n", 1)[0]
        signature = " ".join(head.split())
        return signature[:_SIGNATURE_MAX_CHARS]

    def _doc(self, definition: _Definition) -> str:
        nodes = definition.doc_nodes or _comments_before(definition.node)
        if not nodes:
            return ""
        if nodes[0].type == "string" or nodes[0].type == "string_content":
            return _clean_docstring(self._text(nodes[0]))
        # The query captures every comment before the definition; only the run that touches
        # it (no blank line in between) documents it.
        run = [nodes[-1]]
        # The comment is a sibling of the definition or of what wraps it (export, template).
        anchor = definition.node
        parent = nodes[-1].parent
        while anchor.parent is not None and parent is not None and anchor.parent.id != parent.id:
            anchor = anchor.parent
        if anchor.parent is None:  # no common parent: the comment sits inside an earlier node
            anchor = definition.node
        if nodes[-1].end_point[0] < anchor.start_point[0] - 1 and not _attached(nodes[-1], anchor):
            return ""
        for node in reversed(nodes[:-1]):
            if node.end_point[0] < run[0].start_point[0] - 1:
                break
            run.insert(0, node)
        lines = [line.rstrip() for node in run for line in _strip_comment(self._text(node))]
        doc = inspect.cleandoc("\n".join(lines))
        if self.language == "c_sharp":
            doc = inspect.cleandoc(_XML_TAG.sub("", _XML_REFERENCE.sub(r"\1", doc)))
        return doc


_XML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_XML_REFERENCE = re.compile(r'<(?:see|paramref|typeparamref)\s+\w+="([^"]+)"\s*/>')
_STRING_PREFIX = re.compile(r"^[rRuUbBfF]*")


def _attached(comment: Node, node: Node) -> bool:
    """True when only attributes (Rust #[...], decorators) separate a comment from `node`."""
    sibling = comment.next_named_sibling
    line = comment.end_point[0]
    while sibling is not None and sibling.id != node.id:
        if "attribute" not in sibling.type or sibling.start_point[0] > line + 1:
            return False
        line = sibling.end_point[0]
        sibling = sibling.next_named_sibling
    return sibling is not None and node.start_point[0] <= line + 1


def _comments_before(node: Node) -> list[Node]:
    """Comments right before `node` in document order, wherever the grammar put them.

    Some grammars attach a leading comment to the wrong node (Kotlin hands a KDoc to the
    import list above it, Ruby to the module header before a body), where a sibling pattern
    in tags.scm cannot reach it.
    """
    found: list[Node] = []
    current = node
    while True:
        previous = current.prev_sibling
        while previous is None and current.parent is not None and current.parent.parent:
            current = current.parent
            previous = current.prev_sibling
        while previous is not None and "comment" not in previous.type and previous.children:
            previous = previous.children[-1]
        if previous is None or "comment" not in previous.type:
            return found
        found.insert(0, previous)
        current = previous


def _strip_comment(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("/*"):
        text = text.removeprefix("/**").removeprefix("/*").removesuffix("*/")
        lines = text.split("\n")
        return [re.sub(r"^\s*\*(?!/) ?", "", line) for line in lines]
    for marker in ("///", "//!", "//", "#"):
        if text.startswith(marker):
            return [text[len(marker) :].removeprefix(" ")]
    return [text]


def _clean_docstring(literal: str) -> str:
    body = _STRING_PREFIX.sub("", literal)
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
            body = body[len(quote) : -len(quote)]
            break
    return inspect.cleandoc(body)


def _base_type_name(text: str) -> str:
    """`Cache<K, V>` -> `Cache`, `&'a mut Foo` -> `Foo`, `crate::x::Foo` -> `Foo`."""
    text = text.split("<", 1)[0]
    text = text.split("::")[-1]
    return text.replace("&", "").replace("mut ", "").strip().split()[-1] if text.strip() else text


def _descendants(node: Node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _file_chunks(path: str, text: str, language: str) -> list[Symbol]:
    if not text.strip():
        return []
    name = PurePath(path).name
    # Only "\n" ends a line here, as in tree-sitter and editors; str.splitlines would also
    # split on form feeds and U+2028 and shift every line number after them.
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    chunks = []
    for first in range(0, len(lines), FILE_CHUNK_LINES):
        window = lines[first : first + FILE_CHUNK_LINES]
        code = "".join(window)
        if not code.strip():
            continue
        last_line = window[-1].rstrip("\r\n")
        chunks.append(
            Symbol(
                path=path,
                language=language,
                kind="file",
                name=name,
                qualified_name=name,
                start_line=first + 1,
                start_col=1,
                end_line=first + len(window),
                end_col=len(last_line) + 1,
                signature=window[0].strip()[:_SIGNATURE_MAX_CHARS],
                doc="",
                code=code,
            )
        )
    return chunks
