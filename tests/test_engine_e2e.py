"""The engine end to end: the real default model, tree-sitter, hnswlib and files on disk.

Counts of embedded symbols come from the engine's counter (cache misses), never from timing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading

import hnswlib
import numpy as np
import pytest
from findcode import engine as engine_module
from findcode.config import Settings
from findcode.documents import document_text
from findcode.engine import Engine
from findcode.errors import IndexCorruptError, QueryError
from findcode.roots import index_dir_for
from findcode.vectors import HEADER_NAME, HEADER_VERSION, INDEX_NAME, VectorIndex, _fingerprint
from index_support import Recorder, copy_repo, open_engine, run_git

FIXTURE_SYMBOLS = 24


def names(outcome) -> list[str]:
    return [hit.qualified_name for hit in outcome.hits]


QUERIES = [
    ("retry a failed http request with exponential backoff", "fetch_with_retry"),
    ("edit distance between two strings", "levenshtein_distance"),
    ("write a file to a temp file then rename it into place", "BlobStore.WriteAtomic"),
    ("evict the least recently used entry when the cache is full", "LruCache.put"),
    ("wait until events stop arriving before calling the function", "debounce"),
    ("human readable size in kilobytes", "formatBytes"),
    ("sha256 hash of a file", "FileChecksum"),
    ("make a url slug from a title", "slugify"),
]


def test_natural_language_queries_find_the_function_in_the_top_3(repo, tmp_path, embedder):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        status = engine.status()
        assert status["files"] == 6
        assert status["symbols"] == status["vectors"] == FIXTURE_SYMBOLS
        assert status["pending"] == 0 and status["state"] == "idle"
        assert engine.embedded_count == FIXTURE_SYMBOLS
        for query, expected in QUERIES:
            outcome = engine.search(query, limit=3)
            assert expected in names(outcome), (query, names(outcome))
            assert outcome.state == "idle"
            assert outcome.indexed_files == outcome.total_files == 6
        hit = engine.search("levenshtein edit distance", limit=1).hits[0]
        assert hit.path == repo / "text" / "slugify.py"
        assert hit.rel == "text/slugify.py" and hit.root == repo.resolve()
        assert (hit.start_line, hit.start_col, hit.end_line) == (14, 1, 23)
        assert hit.kind == "function" and hit.language == "python"
        assert hit.snippet.startswith("def levenshtein_distance(a: str, b: str) -> int:")
    finally:
        engine.close()


def test_unchanged_tree_embeds_nothing_and_loads_the_saved_vectors(repo, tmp_path, embedder):
    open_engine([repo], tmp_path / "index", embedder).close()
    log = Recorder()
    engine = open_engine([repo], tmp_path / "index", embedder, log)
    try:
        assert engine.embedded_count == 0
        assert log.warnings() == []  # the hnswlib file matched: no rebuild
        assert "fetch_with_retry" in names(engine.search("retry with backoff", limit=3))
    finally:
        engine.close()


def test_searches_answer_by_words_while_the_vector_index_loads(
    repo, tmp_path, embedder, monkeypatch
):
    """Loading a large vector index takes seconds (10^6 vectors): it happens on the indexer's
    thread, so the engine starts at once and a search answers by words meanwhile, then by
    meaning once it is loaded."""
    index_dir = tmp_path / "index"
    open_engine([repo], index_dir, embedder).close()
    release = threading.Event()
    load = VectorIndex.load

    def slow_load(self, *args, **kwargs):
        assert release.wait(30)
        return load(self, *args, **kwargs)

    monkeypatch.setattr(VectorIndex, "load", slow_load)
    engine = Engine([repo], Settings(index_dir=index_dir, watch=False), embedder=embedder)
    engine.start()
    try:
        outcome = engine.search("fetch_with_retry", limit=3)
        assert names(outcome)[0] == "fetch_with_retry" and outcome.state == "indexing"
        assert engine.search("retry with backoff", limit=3, mode="semantic").hits == []
        release.set()
        assert engine.wait_idle(60) and engine.embedded_count == 0
        found = engine.search("retry with backoff", limit=3, mode="semantic")
        assert "fetch_with_retry" in names(found)
    finally:
        release.set()
        engine.close()


def test_one_changed_function_embeds_exactly_one_symbol(repo, tmp_path, embedder):
    open_engine([repo], tmp_path / "index", embedder).close()
    source = repo / "text" / "slugify.py"
    text = source.read_text()
    changed = text.replace(
        'return "-".join(words)', 'return "_".join(word for word in words if word)'
    )
    assert changed != text
    source.write_text(changed)
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        assert engine.embedded_count == 1
        hit = engine.search("slugify title", limit=1, mode="lexical").hits[0]
        assert hit.qualified_name == "slugify" and "_" in (repo / hit.rel).read_text()
        # The same again through a save notification on the running engine.
        source.write_text(changed.replace("width: int = 72", "width: int = 80"))
        engine.notify_changed([source], urgent=True)
        assert engine.wait_idle(60)
        assert engine.embedded_count == 2
        assert engine.status()["symbols"] == FIXTURE_SYMBOLS
    finally:
        engine.close()


def test_renamed_file_embeds_nothing_and_moves_its_results(repo, tmp_path, embedder):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        before = engine.embedded_count
        old = repo / "storage" / "lru.rs"
        new = repo / "storage" / "cache" / "recent.rs"
        new.parent.mkdir()
        old.rename(new)
        engine.notify_changed([old, new])
        assert engine.wait_idle(60)
        assert engine.embedded_count == before
        hits = engine.search("least recently used cache eviction", limit=3).hits
        assert {hit.rel for hit in hits if hit.language == "rust"} == {"storage/cache/recent.rs"}
        assert engine.status()["symbols"] == FIXTURE_SYMBOLS
    finally:
        engine.close()


def test_deleted_file_leaves_results_and_the_vector_index(repo, tmp_path, embedder):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        (index,) = engine._worker.roots()
        doomed = engine.search("go", limit=50, languages=["go"]).hits
        assert {h.qualified_name for h in doomed} == {
            "FileChecksum",
            "BlobStore",
            "BlobStore.WriteAtomic",
            "BlobStore.Remove",
        }
        rows = [index.store.symbols_at(h.rel, h.start_line, h.end_line)[0] for h in doomed]
        key = engine._worker.embed_key
        labels = list(index.store.vector_ids(key, [row.body_hash for row in rows]).values())
        assert len(set(labels)) == 4 and all(label in index.vectors for label in labels)
        (repo / "storage" / "checksum.go").unlink()
        engine.notify_changed([repo / "storage" / "checksum.go"])
        assert engine.wait_idle(60)
        for mode in ("hybrid", "semantic", "lexical"):
            outcome = engine.search("write a blob atomically with a checksum", limit=50, mode=mode)
            assert not [h for h in outcome.hits if h.rel == "storage/checksum.go"], mode
        assert not any(label in index.vectors for label in labels)
        assert len(index.vectors) == engine.status()["symbols"] == FIXTURE_SYMBOLS - 4
    finally:
        engine.close()


def test_git_checkout_there_and_back_embeds_nothing_the_second_time(tmp_path, embedder):
    repo = copy_repo(tmp_path, git=True)
    run_git(repo, "checkout", "-q", "-b", "feature")
    http = repo / "net" / "http_client.py"
    http.write_text(http.read_text().replace("timeout=10", "timeout=30"))
    (repo / "text" / "slugify.py").unlink()
    (repo / "web" / "clamp.ts").write_text(
        "/** Limit a number to the range [lo, hi]. */\n"
        "export function clamp(value: number, lo: number, hi: number): number {\n"
        "  return Math.min(hi, Math.max(lo, value));\n}\n"
    )
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "feature")
    run_git(repo, "checkout", "-q", "main")

    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        first = engine.embedded_count
        run_git(repo, "checkout", "-q", "feature")
        engine.scan()
        assert engine.wait_idle(60)
        assert engine.embedded_count - first == 2  # fetch_with_retry and clamp
        assert "clamp" in names(engine.search("limit a number to a range", limit=3))
        after_feature = engine.embedded_count
        run_git(repo, "checkout", "-q", "main")
        engine.scan()
        assert engine.wait_idle(60)
        assert engine.embedded_count == after_feature  # everything was seen before
        assert "levenshtein_distance" in names(engine.search("edit distance", limit=3))
        assert "clamp" not in names(engine.search("limit a number to a range", limit=5))
        run_git(repo, "checkout", "-q", "feature")
        engine.scan()
        assert engine.wait_idle(60)
        assert engine.embedded_count == after_feature
    finally:
        engine.close()


def test_modes_filters_and_bad_queries(repo, tmp_path, embedder):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        lexical = engine.search("levenshtein", mode="lexical", limit=5)
        assert names(lexical)[0] == "levenshtein_distance"
        camel = engine.search("write atomic", mode="lexical", limit=3)
        assert names(camel)[0] == "BlobStore.WriteAtomic"  # camelCase split into words
        semantic = engine.search("how far apart two words are", mode="semantic", limit=3)
        assert "levenshtein_distance" in names(semantic)
        only_go = engine.search("remove a file", languages=["go"], limit=10)
        assert only_go.hits and {h.language for h in only_go.hits} == {"go"}
        classes = engine.search("cache", kinds=["class"], limit=10)
        assert classes.hits and {h.kind for h in classes.hits} == {"class"}
        storage = engine.search("cache", paths=["storage/"], limit=10)
        assert storage.hits and all(h.rel.startswith("storage/") for h in storage.hits)
        not_py = engine.search("retry", paths=["*", "!*.py"], limit=10, mode="lexical")
        assert all(not h.rel.endswith(".py") for h in not_py.hits)
        long = engine.search("retry the http request " * 500, limit=3)  # 11,500 characters
        assert "fetch_with_retry" in names(long)
        for bad in ("", "   \n\t"):
            with pytest.raises(QueryError, match="empty"):
                engine.search(bad)
        with pytest.raises(QueryError, match="mode"):
            engine.search("x", mode="fuzzy")
        with pytest.raises(QueryError, match="language"):
            engine.search("x", languages=["cobol"])
        with pytest.raises(QueryError, match="kind"):
            engine.search("x", kinds=["variable"])
    finally:
        engine.close()


def test_similar_finds_related_code_but_not_itself(repo, tmp_path, embedder):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        outcome = engine.similar(repo / "storage" / "lru.rs", 30)  # inside LruCache.put
        assert outcome.hits
        assert "LruCache.put" not in names(outcome)
        assert "LruCache.get" in names(outcome)[:3]
        with pytest.raises(QueryError):
            engine.similar(tmp_path / "elsewhere.py", 1)
    finally:
        engine.close()


def write_old_format(directory, ids: np.ndarray, stored: np.ndarray) -> None:
    """The vector file as findcode wrote it before the graph-only format (header v2): hnswlib's
    own save_index of the stored vectors, float32 vectors and all."""
    hnsw = directory / INDEX_NAME
    header = json.loads((directory / HEADER_NAME).read_text())
    old = hnswlib.Index(space="cosine", dim=stored.shape[1])
    old.init_index(max_elements=1024, M=16, ef_construction=200, allow_replace_deleted=True)
    old.add_items(stored, ids)
    old.save_index(str(hnsw))
    header = {key: header[key] for key in ("generation", "count", "model", "dims")}
    header.update(version=2, capacity=1024, deleted=[], size=hnsw.stat().st_size)
    header["fingerprint"] = _fingerprint(hnsw)
    (directory / HEADER_NAME).write_text(json.dumps(header))


@pytest.mark.parametrize("damage", ["truncated", "emptied", "garbage", "deleted", "header"])
def test_damaged_vector_index_is_rebuilt_from_the_store(repo, tmp_path, embedder, damage):
    index_dir = tmp_path / "index"
    open_engine([repo], index_dir, embedder).close()
    hnsw = index_dir_for(repo, index_dir) / INDEX_NAME
    if damage == "truncated":
        os.truncate(hnsw, hnsw.stat().st_size // 2)
    elif damage == "emptied":
        hnsw.write_bytes(b"")
    elif damage == "garbage":
        hnsw.write_bytes(os.urandom(hnsw.stat().st_size))
    elif damage == "deleted":
        hnsw.unlink()
    else:
        (hnsw.parent / HEADER_NAME).write_text("{not json")
    log = Recorder()
    engine = open_engine([repo], index_dir, embedder, log)
    try:
        (warning,) = log.warnings()
        assert "rebuilding the vector index" in warning
        assert engine.embedded_count == 0
        (index,) = engine._worker.roots()
        assert len(index.vectors) == FIXTURE_SYMBOLS
        query = "retry a failed http request with exponential backoff"
        assert "fetch_with_retry" in names(engine.search(query, limit=3, mode="semantic"))
    finally:
        engine.close()
    # Saved again, in today's format: the next start loads it without a word.
    assert json.loads((hnsw.parent / HEADER_NAME).read_text())["version"] == HEADER_VERSION
    log = Recorder()
    open_engine([repo], index_dir, embedder, log).close()
    assert not log.warnings()


def test_a_vector_file_of_an_earlier_format_is_rebuilt_not_re_embedded(repo, tmp_path, embedder):
    """hnswlib's own file (header v2), as findcode wrote it when labels were symbol ids: the
    next start rebuilds the graph from the stored vectors with a warning, embeds nothing,
    answers, and writes it in today's format."""
    index_dir = tmp_path / "index"
    engine = open_engine([repo], index_dir, embedder)
    try:
        (index,) = engine._worker.roots()
        ids, stored = index.store.used_vectors(engine._worker.embed_key)
    finally:
        engine.close()
    write_old_format(index.directory, ids, stored)
    log = Recorder()
    engine = open_engine([repo], index_dir, embedder, log)
    try:
        assert len(log.warnings()) == 1 and "version is 2" in log.warnings()[0]
        assert engine.embedded_count == 0
        (index,) = engine._worker.roots()
        assert len(index.vectors) == FIXTURE_SYMBOLS
        query = "retry a failed http request with exponential backoff"
        assert "fetch_with_retry" in names(engine.search(query, limit=3, mode="semantic"))
        assert json.loads((index.directory / HEADER_NAME).read_text())["version"] == (
            HEADER_VERSION
        )
    finally:
        engine.close()


def test_copies_of_a_function_share_one_vector_and_are_all_found(repo, tmp_path, embedder):
    """hnswlib holds each distinct vector once (duplicates cost HNSW recall, and memory): a
    copied file adds symbols but no element and no embedding, a search finds every copy, tied,
    and the element leaves with the last copy only."""
    original, copy = repo / "net" / "http_client.py", repo / "mirror" / "http_client.py"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        (index,) = engine._worker.roots()
        in_file = engine.status()["symbols"] - FIXTURE_SYMBOLS  # the copy's symbols
        assert in_file >= 4
        assert len(index.vectors) == engine.embedded_count == FIXTURE_SYMBOLS
        query = "retry a failed http request with exponential backoff"
        first, second = engine.search(query, limit=2, mode="semantic").hits
        assert {first.rel, second.rel} == {"net/http_client.py", "mirror/http_client.py"}
        assert first.qualified_name == second.qualified_name == "fetch_with_retry"
        assert first.cosine == second.cosine
        original.unlink()
        engine.notify_changed([original])
        assert engine.wait_idle(60)
        assert len(index.vectors) == FIXTURE_SYMBOLS  # the copy still uses every vector
        (hit,) = engine.search(query, limit=1, mode="semantic").hits
        assert (hit.rel, hit.qualified_name) == ("mirror/http_client.py", "fetch_with_retry")
        copy.unlink()
        engine.notify_changed([copy])
        assert engine.wait_idle(60)
        assert len(index.vectors) == FIXTURE_SYMBOLS - in_file
        assert "fetch_with_retry" not in names(engine.search(query, limit=5, mode="semantic"))
    finally:
        engine.close()


def test_corrupt_store_says_to_reindex(repo, tmp_path, embedder):
    index_dir = tmp_path / "index"
    open_engine([repo], index_dir, embedder).close()
    db = index_dir_for(repo, index_dir) / "index.sqlite3"
    db.write_bytes(b"this is not a database" * 1000)
    from findcode.config import Settings
    from findcode.engine import Engine

    engine = Engine([repo], Settings(index_dir=index_dir), embedder=embedder)
    with pytest.raises(IndexCorruptError, match="findcode reindex"):
        engine.start()


def test_int8_vectors_keep_the_top_results_of_a_real_search(repo, tmp_path, embedder):
    """Stored vectors are int8 with a scale (store schema v5), and the hnswlib index holds their
    directions (so its file need not hold vectors). Exact search over them ranks like exact
    search over the embedder's float32 vectors, and an index rebuilt from them (the next start
    after any mismatch) answers with the same top five as the one built while indexing."""
    index_dir = tmp_path / "index"
    engine = open_engine([repo], index_dir, embedder)
    try:
        before = {query: names(engine.search(query, limit=5)) for query, _ in QUERIES}
        (index,) = engine._worker.roots()
        ids, stored = index.store.used_vectors(engine._worker.embed_key)
        users = dict(index.store.symbols_of_vectors(ids))  # vector id -> a symbol with it
        rows = index.store.symbols(users.values())
        exact = embedder.embed_documents(
            [document_text(rows[users[int(i)]].as_symbol()) for i in ids]
        )
    finally:
        engine.close()
    for query, _ in QUERIES:
        q = embedder.embed_query(query)
        # Up to quantisation noise: near-ties (cosines within ~0.005) may swap places.
        int8_top, float32_top = np.argsort(-(stored @ q)), np.argsort(-(exact @ q))
        assert int8_top[0] == float32_top[0]
        assert set(int8_top[:5]) <= set(float32_top[:6])
    (index_dir_for(repo, index_dir) / INDEX_NAME).unlink()  # rebuilt from the int8 vectors
    log = Recorder()
    engine = open_engine([repo], index_dir, embedder, log)
    try:
        assert "rebuilding the vector index" in log.warnings()[0]
        assert engine.embedded_count == 0
        after = {query: names(engine.search(query, limit=5)) for query, _ in QUERIES}
    finally:
        engine.close()
    for query, _ in QUERIES:
        assert after[query][0] == before[query][0]
        assert set(after[query][:3]) <= set(before[query])


def test_a_filtered_search_reads_its_candidates_not_every_symbol(
    repo, tmp_path, embedder, monkeypatch
):
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        (index,) = engine._worker.roots()
        listed = []
        every = index.store.filtered_ids
        monkeypatch.setattr(index.store, "filtered_ids", lambda *a: listed.append(a) or every(*a))
        only_go = engine.search("remove a file", languages=["go"], limit=5)
        assert only_go.hits and {h.language for h in only_go.hits} == {"go"}
        storage = engine.search("cache", paths=["storage/"], limit=5, mode="hybrid")
        assert storage.hits and all(h.rel.startswith("storage/") for h in storage.hits)
        assert listed == []  # the candidates sufficed: no list of every passing symbol
        # A filter that the best candidates miss, beyond what over-fetching may ask for (here
        # no more than the two wanted), falls back to searching only the symbols that pass.
        monkeypatch.setattr(engine_module, "OVERFETCH", 1)
        monkeypatch.setattr(engine_module, "OVERFETCH_CAP", 2)
        engine.ranking = dataclasses.replace(engine.ranking, candidates=2)
        query = "retry a failed http request with exponential backoff"
        elsewhere = engine.search(query, paths=["text/slugify.py"], limit=2, mode="semantic")
        assert listed and len(elsewhere.hits) == 2
        assert all(h.rel == "text/slugify.py" for h in elsewhere.hits)
    finally:
        engine.close()
