"""Mine query -> code pairs from the training sources with findcode's own parser and miner.

Each documented function or method becomes one record: the text findcode would embed for it
once its doc is removed (findcode.mining rewrites the files, findcode.documents forms the
text), and up to four queries, the ways people ask for code:

- doc: the doc's first sentence (what `findcode eval` and bench/quality ask);
- paragraph: the doc's whole first paragraph, when it says more than one sentence;
- name: the function's name as words ("read_header_line" -> "read header line");
- mix: keywords, the first sentence's content words plus the name's words, as typed in a hurry.

A record also holds `document_rest`, when its doc says more than its first sentence: the same
text with the rest of the doc put back. Code in a repository keeps its docs, so the model
also trains on documents whose doc is there, without the sentence it is asked by.

A record's code must not occur in bench/quality's corpora (doc or no doc), nor twice here.
5% of the records (by a hash of where they come from, so stable across runs) are held out
for validation, all query forms of one function together.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from findcode.config import Settings
from findcode.documents import document_text, split_identifier
from findcode.mining import SENTENCE_END, Pair, mine, query_from_doc, read_repository
from findcode.search import STOPWORDS
from findcode.symbols import Symbol, extract_symbols

from bench.quality.corpora import CORPORA
from bench.quality.fetch import fetch as fetch_corpus
from bench.train import CACHE
from bench.train.sources import Source, folders

MINED = CACHE / "mined"
# Bump when what a record holds changes, so older mined files are not reused.
MINE_VERSION = 3
FORMS = ("doc", "paragraph", "name", "mix")
VAL_PERCENT = 5
MAX_PARAGRAPH_WORDS = 64
MAX_MIX_WORDS = 7
# A doc's rest shorter than this adds too little to be worth a second document.
MIN_REST_WORDS = 6

# Javadoc inline tags: {@code x} -> x, {@link Foo#bar(int) label} -> label (else bar).
_JAVADOC_TAG = re.compile(r"\{@(?:code|literal|value)\s+([^{}]*)\}")
_JAVADOC_LINK = re.compile(r"\{@link(?:plain)?\s+([^\s{}]+)(?:\s+([^{}]+))?\}")
_JAVADOC_OTHER = re.compile(r"\{@\w+[^{}]*\}")
_HTML_TAG = re.compile(
    r"</?(?:p|code|i|b|em|strong|tt|a|pre|ul|ol|li|br|blockquote|var|sup|sub|h\d|table|"
    r"tr|td|th|dl|dt|dd|span|div|small|cite|dfn|kbd|samp)\b[^>]*>",
    re.IGNORECASE,
)
# Markdown links and doc links: [text](url), [`Foo`], [Foo][ref] -> the text ("a[i]" stays).
_MD_LINK = re.compile(r"(?<![\w\]])\[([^\[\]]+)\](?:\([^)]*\)|\[[^\]]*\])?")
_SPHINX_ROLE = re.compile(r":[\w:]+:`~?([^`]+)`")
# Where prose stops: tags, field lists, Markdown headings and fences, NumPy/Google sections.
_PROSE_END = re.compile(
    r"^\s*(@\w+|:\w+[^:]*:|#+\s|```|(Args|Arguments|Returns|Raises|Yields|Examples?|"
    r"Parameters|Notes?|Safety|Panics|Errors)\s*:?\s*$|-{3,}\s*$)"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Words that fill a doc sentence but that nobody types as a keyword.
_MIX_GLUE = frozenset(
    {"returns", "return", "reports", "whether", "given", "specified", "true", "false", "its"}
    | {"this", "that", "which", "if", "or", "any", "all", "one", "will", "should", "may"}
    | {"has", "have", "been", "can", "when", "then", "else"}
)
_SPACE = re.compile(r"\s+")


def clean_doc(doc: str) -> str:
    """The doc as prose: Javadoc tags, HTML, Markdown links and Sphinx roles as plain words."""
    text = _JAVADOC_TAG.sub(r"\1", doc)
    text = _JAVADOC_LINK.sub(lambda m: m.group(2) or m.group(1).split("#")[-1], text)
    text = _JAVADOC_OTHER.sub("", text)
    text = html.unescape(_HTML_TAG.sub("", text))
    text = _MD_LINK.sub(r"\1", text)
    return _SPHINX_ROLE.sub(r"\1", text)


def first_paragraph(doc: str, name: str) -> str | None:
    """The doc's first paragraph of prose, without a leading repeat of the name."""
    lines = []
    for line in doc.strip().splitlines():
        if not line.strip() or _PROSE_END.match(line):
            break
        lines.append(line.strip())
    words = " ".join(lines).replace("`", "").replace("**", "").split()
    if words and words[0].strip("*_.:,()") == name:
        words = words[1:]
    return " ".join(words[:MAX_PARAGRAPH_WORDS]) or None


def query_forms(doc: str, name: str) -> dict[str, str]:
    """Every query form this doc and name give (see the module docstring)."""
    cleaned = clean_doc(doc)
    sentence = query_from_doc(cleaned, name)
    if sentence is None:
        return {}
    forms = {"doc": sentence}
    paragraph = first_paragraph(cleaned, name)
    if paragraph and len(paragraph.split()) > len(sentence.split()):
        forms["paragraph"] = paragraph
    name_words = split_identifier(name).split()
    if len(name_words) >= 2:
        forms["name"] = " ".join(name_words)
    content = [
        word
        for word in dict.fromkeys(w.lower() for w in _WORD.findall(sentence))
        if word not in STOPWORDS and word not in _MIX_GLUE and len(word) > 1
    ]
    keywords = [word for word in name_words if word not in STOPWORDS and word not in _MIX_GLUE]
    room = max(0, MAX_MIX_WORDS - len(keywords))
    mixed = list(dict.fromkeys(content[:room] + keywords))
    if len(mixed) >= 2 and " ".join(mixed) != forms.get("name"):
        forms["mix"] = " ".join(mixed[:MAX_MIX_WORDS])
    return forms


def doc_rest(doc: str) -> str | None:
    """The doc without its first sentence (what the doc query asks), as written, or None when
    too little is left: the first paragraph's other sentences and the paragraphs after it."""
    text = doc.strip()
    paragraph_end = re.search(r"\n\s*\n", text)
    first = text[: paragraph_end.start()] if paragraph_end else text
    sentence_end = SENTENCE_END.search(first)
    rest = text[sentence_end.end() if sentence_end else len(first) :].strip()
    return rest if len(rest.split()) >= MIN_REST_WORDS else None


def code_key(code: str) -> str:
    """The same code, whatever its whitespace: the key of both deduplications."""
    return hashlib.sha256(_SPACE.sub("", code).encode("utf-8", "surrogatepass")).hexdigest()


def is_validation(record_id: str) -> bool:
    """Held out or not, by a hash of where the function is: the same split on every run."""
    digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < VAL_PERCENT


def evaluation_keys() -> set[str]:
    """code_key of every symbol of bench/quality's corpora, as written and with docs removed."""
    path = CACHE / "evaluation-keys.txt"
    stamp = ",".join(f"{c.name}:{c.sha256}" for c in CORPORA)
    if path.is_file():
        first, *keys = path.read_text().splitlines()
        if first == stamp:
            return set(keys)
    found: set[str] = set()
    for corpus in CORPORA:
        files = read_repository(fetch_corpus(corpus))
        for text_of in (files, mine(files).files):
            found.update(_code_keys(text_of))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([stamp, *sorted(found)]) + "\n")
    return found


def _code_keys(files: Mapping[str, str]) -> Iterable[str]:
    for rel, text in files.items():
        for symbol in extract_symbols(rel, text):
            yield code_key(symbol.code)


def read_source_files(source: Source) -> dict[str, str]:
    """Every file findcode would index in the source's folders, keyed `<folder>/<rel>`."""
    settings = Settings(exclude=source.exclude)
    files: dict[str, str] = {}
    for folder in folders(source):
        for rel, text in read_repository(folder, settings).items():
            files[f"{folder.name}/{rel}"] = text
    return files


def mine_source(source: Source, excluded_keys: set[str]) -> tuple[list[dict], dict]:
    """The source's records and a count of what was found, kept and dropped."""
    files = read_source_files(source)
    mined = mine(files)
    symbols: dict[str, dict[tuple[str, int], Symbol]] = {}
    records: list[dict] = []
    counts: Counter[str] = Counter(files=len(files), candidates=mined.candidates)
    for pair in mined.pairs:
        if pair.rel not in symbols:
            found = extract_symbols(pair.rel, mined.files[pair.rel])
            symbols[pair.rel] = {(s.qualified_name, s.start_line): s for s in found}
        symbol = symbols[pair.rel].get((pair.qualified_name, pair.start_line))
        record = _record(source, pair, symbol) if symbol is not None else None
        if record is None:
            counts["no queries"] += 1
        elif record["code_key"] in excluded_keys:
            counts["in evaluation corpora"] += 1
        else:
            records.append(record)
    return records, dict(counts)


def _record(source: Source, pair: Pair, symbol: Symbol) -> dict | None:
    forms = query_forms(pair.doc, symbol.name)
    if not forms:
        return None
    record_id = f"{source.name}:{pair.rel}:{pair.qualified_name}:{pair.start_line}"
    rest = doc_rest(pair.doc)
    return {
        "id": record_id,
        "source": source.name,
        "language": symbol.language,
        "rel": pair.rel,
        "name": symbol.name,
        "qualified_name": symbol.qualified_name,
        "kind": symbol.kind,
        "split": "val" if is_validation(record_id) else "train",
        "document": document_text(symbol),
        "document_rest": document_text(replace(symbol, doc=rest)) if rest else None,
        "code_key": code_key(symbol.code),
        "queries": forms,
    }


def mined_path(source: Source) -> Path:
    """The source's records, one JSON object a line (and its counts beside, as .json)."""
    return MINED / f"{source.name}.jsonl"


def mine_all(sources: Iterable[Source], *, force: bool = False) -> dict[str, dict]:
    """Mine every source not yet mined (or all with force); their counts by source."""
    stats: dict[str, dict] = {}
    excluded: set[str] | None = None
    MINED.mkdir(parents=True, exist_ok=True)
    for source in sources:
        path, meta_path = mined_path(source), mined_path(source).with_suffix(".json")
        stamp = {"version": MINE_VERSION, "sha256": source.sha256}
        if not force and path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            if meta.get("stamp") == stamp:
                stats[source.name] = meta["counts"]
                continue
        if excluded is None:
            _log("mine: bench/quality corpora (to leave their code out)")
            excluded = evaluation_keys()
        _log(f"mine: {source.name} ({source.package} {source.version})")
        records, counts = mine_source(source, excluded)
        counts["records"] = len(records)
        counts["val"] = sum(r["split"] == "val" for r in records)
        counts["with rest"] = sum(r["document_rest"] is not None for r in records)
        for form in FORMS:
            counts[f"form {form}"] = sum(form in r["queries"] for r in records)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        partial.replace(path)
        meta_path.write_text(json.dumps({"stamp": stamp, "counts": counts}, indent=1) + "\n")
        _log(f"mine: {source.name}: {json.dumps(counts)}")
        stats[source.name] = counts
    return stats


def load_records(sources: Iterable[Source]) -> list[dict]:
    """Every mined record, sources in order; a function whose code came earlier is dropped."""
    seen: set[str] = set()
    records = []
    for source in sources:
        if not mined_path(source).is_file():
            raise SystemExit(f"{source.name} is not mined yet: run `python -m bench.train mine`")
        with mined_path(source).open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record["code_key"] not in seen:
                    seen.add(record["code_key"])
                    records.append(record)
    return records


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
