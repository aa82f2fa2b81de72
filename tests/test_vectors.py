"""The hnswlib cache: labels, deletes with slot reuse, growth, atomic save of the graph alone
(vectors come back from the store), and every kind of mismatch or damage that must make `load`
refuse (so the caller rebuilds from the store)."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import hnswlib
import numpy as np
import pytest
from findcode import vectors as vectors_module
from findcode.roots import index_dir_for, open_root
from findcode.store import Store, quantize
from findcode.symbols import extract_symbols
from findcode.vectors import HEADER_NAME, INDEX_NAME, MIN_CAPACITY, VectorIndex, _fingerprint

DIMS = 16


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    data = rng.standard_normal((n, DIMS)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_search_returns_labels_and_cosine(tmp_path, rng):
    index = VectorIndex(tmp_path, DIMS, "m")
    data = unit(rng, 50)
    index.add(list(range(100, 150)), data)
    hits = index.search(data[7], 3)
    # The index holds the int8 codes' direction (as stored), a hair away from the float32.
    assert hits[0][0] == 107 and hits[0][1] == pytest.approx(1.0, abs=1e-3)
    assert hits[1][1] <= hits[0][1]
    only_even = index.search(data[7], 5, allow=lambda label: label % 2 == 0)
    assert only_even and all(label % 2 == 0 for label, _ in only_even)
    few = index.search(data[7], 10, allow=lambda label: label in (101, 103))
    assert {label for label, _ in few} == {101, 103}  # fewer than k pass the filter


def test_deleted_labels_vanish_and_slots_are_reused(tmp_path, rng):
    index = VectorIndex(tmp_path, DIMS, "m")
    data = unit(rng, 20)
    index.add(list(range(20)), data)
    index.remove([3, 4])
    assert 3 not in index and len(index) == 18
    assert 3 not in [label for label, _ in index.search(data[3], 20)]
    index.add([50, 51], unit(rng, 2))
    assert len(index) == 20 and index._index.get_current_count() == 20  # reused, not grown
    index.add([50], unit(rng, 1))  # present already: ignored
    assert len(index) == 20


def test_grows_past_its_first_capacity(tmp_path, rng):
    index = VectorIndex(tmp_path, DIMS, "m")
    n = MIN_CAPACITY * 2 + 5
    data = unit(rng, n)
    for start in range(0, n, 300):
        index.add(list(range(start, min(n, start + 300))), data[start : start + 300])
    assert len(index) == n
    assert index.search(data[n - 1], 1)[0][0] == n - 1


def saved(tmp_path, rng, generation=3) -> tuple[VectorIndex, np.ndarray]:
    index = VectorIndex(tmp_path, DIMS, "m")
    data = unit(rng, 40)
    index.add(list(range(40)), data)
    index.remove([5])
    index.save(generation)
    return index, data


def store_of(data: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray]:
    """(ids, int8 codes) as Store.used_codes gives them: what `load` puts into the graph."""
    return np.asarray(ids, dtype=np.int64), quantize(data[list(ids)])[1]


LIVE = [i for i in range(40) if i != 5]


def test_save_and_load_round_trip(tmp_path, rng):
    _, data = saved(tmp_path, rng)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(*store_of(data, LIVE)) is None
    assert len(loaded) == 39 and 5 not in loaded
    assert loaded.search(data[9], 1)[0][0] == 9
    loaded.add([77], unit(rng, 1))  # the deleted slot is reusable after a load
    assert len(loaded) == 40


def copies_of_state(monkeypatch, tmp_path) -> Path:
    """Make every copy of hnswlib's state note the pid of the process that made it and
    whether the garbage collector could run meanwhile, in the file returned (a forked child's
    note lands there too)."""
    notes = tmp_path / "state-copies"
    copy = hnswlib.Index.__getstate__

    def noted(index):
        with notes.open("a") as out:
            out.write(f"{os.getpid()} {int(gc.isenabled())}\n")
        return copy(index)

    monkeypatch.setattr(hnswlib.Index, "__getstate__", noted)
    return notes


@pytest.mark.skipif(sys.platform != "linux", reason="the forked writer is Linux's")
def test_the_state_is_copied_by_a_child_process_not_by_the_server(tmp_path, rng, monkeypatch):
    """The copy holds the GIL for as long as it takes (seconds at 10^6 vectors): made in the
    server, it would stop every search; a forked child makes it in its own process."""
    index, data = saved(tmp_path, rng)
    (tmp_path / "notes").mkdir()
    notes = copies_of_state(monkeypatch, tmp_path / "notes")
    index.remove([9])
    index.save(4)
    notes_made = [line.split() for line in notes.read_text().splitlines()]
    assert notes_made and all(int(pid) != os.getpid() for pid, _ in notes_made)
    # The child collects nothing: a finalizer there (an embedder's) would wait on threads that
    # exist only in the server.
    assert all(collecting == "0" for _, collecting in notes_made)
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(*store_of(data, [i for i in LIVE if i != 9])) is None
    assert len(loaded) == 38 and not loaded.unsaved  # the file written is the index as saved
    assert json.loads((tmp_path / HEADER_NAME).read_text())["generation"] == 4


def test_where_fork_fails_the_server_writes_the_file_itself(tmp_path, rng, monkeypatch):
    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(vectors_module.os, "fork", no_fork)
    (tmp_path / "notes").mkdir()
    notes = copies_of_state(monkeypatch, tmp_path / "notes")
    _, data = saved(tmp_path, rng)
    assert {int(line.split()[0]) for line in notes.read_text().splitlines()} == {os.getpid()}
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(*store_of(data, LIVE)) is None
    assert loaded.search(data[9], 1)[0][0] == 9


@pytest.mark.skipif(sys.platform != "linux", reason="the forked writer is Linux's")
def test_a_writer_that_fails_raises_and_leaves_the_last_file(tmp_path, rng, monkeypatch):
    index, data = saved(tmp_path, rng)
    before = (tmp_path / INDEX_NAME).read_bytes(), (tmp_path / HEADER_NAME).read_bytes()

    def broken(state, dims):
        raise MemoryError("the child ran out of memory")

    monkeypatch.setattr(vectors_module, "_graph_sections", broken)
    index.remove([7])
    with pytest.raises(OSError, match="writing the vector index failed"):
        index.save(4)
    assert ((tmp_path / INDEX_NAME).read_bytes(), (tmp_path / HEADER_NAME).read_bytes()) == before
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(*store_of(data, LIVE)) is None


def test_a_reloaded_graph_answers_exactly_as_the_saved_index(tmp_path, rng):
    """The file holds no vectors: they come back from the store's int8 codes into the same
    slots, bit for bit, so every answer (labels and scores) is the one given before the save,
    deleted and reused slots included."""
    n, dims = 3000, 384
    data = rng.standard_normal((n, dims)).astype(np.float32)
    index = VectorIndex(tmp_path, dims, "m")
    for start in range(0, 2500, 500):
        index.add(list(range(start, start + 500)), data[start : start + 500])
    index.remove(range(0, 600, 3))  # marked deleted: walked through, never answered
    index.add(list(range(2500, n)), data[2500:])  # reuses the deleted slots
    index.remove(range(1000, 1100))
    queries = rng.standard_normal((100, dims)).astype(np.float32)
    before = [index.search(q, 20) for q in queries]
    filtered = [index.search(q, 5, allow=lambda label: label % 7 == 0) for q in queries[:10]]
    index.save(5)
    live = sorted(index._labels)
    loaded = VectorIndex(tmp_path, dims, "m")
    assert loaded.load(*store_of(data, live)) is None
    assert [loaded.search(q, 20) for q in queries] == before
    assert [loaded.search(q, 5, allow=lambda label: label % 7 == 0) for q in queries[:10]] == (
        filtered
    )
    for label in (3, 1234, 2999):
        assert np.array_equal(loaded.vector(label), index.vector(label))


def test_the_file_holds_the_graph_and_no_vectors(tmp_path, rng):
    """~150 bytes a vector (links, label, level) whatever the dims: the float32 vectors alone
    would be 1,536 bytes each at 384 dims. Deleted slots keep theirs (the store has none)."""
    n = 2000
    sizes = {}
    for dims in (16, 384):
        index = VectorIndex(tmp_path / str(dims), dims, "m")
        index.add(list(range(n)), np.random.default_rng(1).standard_normal((n, dims)))
        index.save(1)
        sizes[dims] = (tmp_path / str(dims) / INDEX_NAME).stat().st_size
    assert sizes[384] / n < 200
    assert abs(sizes[384] - sizes[16]) < 0.05 * sizes[16]  # links, not dims
    index.remove(range(10))
    index.save(2)
    grown = (tmp_path / "384" / INDEX_NAME).stat().st_size - sizes[384]
    assert grown == 10 * 384 * 4


def test_a_graph_of_deleted_slots_only_loads_for_an_empty_store(tmp_path, rng):
    index = VectorIndex(tmp_path, DIMS, "m")
    index.add(list(range(5)), unit(rng, 5))
    index.remove(range(5))
    index.save(2)
    loaded = VectorIndex(tmp_path, DIMS, "m")
    # An empty store's codes are (0, 0), as Store.used_codes returns them.
    assert loaded.load(np.zeros(0, np.int64), np.zeros((0, 0), np.int8)) is None
    assert len(loaded) == 0 and loaded.search(unit(rng, 1)[0], 3) == []
    loaded.add([9], unit(rng, 1))
    assert [label for label, _ in loaded.search(unit(rng, 1)[0], 3)] == [9]


def test_empty_store_without_files_loads(tmp_path):
    empty = np.zeros(0, dtype=np.int64), np.zeros((0, DIMS), dtype=np.int8)
    assert VectorIndex(tmp_path, DIMS, "m").load(*empty) is None


def write_old_format(directory, data, live=LIVE, deleted=(), generation=3) -> None:
    """The file and header as findcode wrote them before the graph-only format (v2): hnswlib's
    own save_index of a cosine index built from the store's vectors (its int8 codes times their
    scales, as Store.used_vectors gives them), float32 vectors included, deletes marked."""
    hnsw = directory / INDEX_NAME
    dims = data.shape[1]
    scales, codes = quantize(data)
    stored = codes * scales[:, None]
    labels = [*live, *deleted]
    capacity = max(MIN_CAPACITY, int(len(labels) * 1.5))
    old = hnswlib.Index(space="cosine", dim=dims)
    old.init_index(max_elements=capacity, M=16, ef_construction=200, allow_replace_deleted=True)
    old.add_items(stored[labels], labels)
    for label in deleted:
        old.mark_deleted(label)
    old.save_index(str(hnsw))
    header = {"version": 2, "generation": generation, "count": len(live), "model": "m"}
    header.update(dims=dims, capacity=capacity, deleted=sorted(deleted))
    header.update(size=hnsw.stat().st_size, fingerprint=_fingerprint(hnsw))
    (directory / HEADER_NAME).write_text(json.dumps(header))


def damage_behind_the_checksum(directory, offset: int, value: bytes) -> None:
    """Damage the checksum cannot see (it samples a large file; here the header is made to
    agree): the structure check must still refuse before hnswlib follows a bad link."""
    hnsw = directory / INDEX_NAME
    data = bytearray(hnsw.read_bytes())
    data[offset : offset + len(value)] = value
    hnsw.write_bytes(bytes(data))
    header = json.loads((directory / HEADER_NAME).read_text())
    header["fingerprint"] = _fingerprint(hnsw)
    (directory / HEADER_NAME).write_text(json.dumps(header))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("model", "model"),
        ("most vectors missing", "lacks"),
        ("dims", "dims"),
        ("truncated", "size"),
        ("emptied", "size"),
        ("garbage", "checksum"),
        ("fingerprint", "checksum"),
        ("deleted", "size"),
        ("no header", "header"),
        ("bad header", "header"),
        ("an earlier format", "version"),
        ("link to nowhere", "link to an element that does not exist"),
        ("too many links", "link list longer"),
        ("bad level", "length"),
    ],
)
def test_any_mismatch_or_damage_is_refused(tmp_path, rng, change, expected):
    _, data = saved(tmp_path, rng)
    hnsw = tmp_path / INDEX_NAME
    live, model, dims = list(LIVE), "m", DIMS
    row = 4 + 4 * 2 * 16 + 8  # a saved element: its level-0 links (2M), its label
    if change == "most vectors missing":
        live += range(100, 140)
        data = np.concatenate([data, unit(rng, 100)])
    elif change == "model":
        model = "other"
    elif change == "dims":
        dims = 8
    elif change == "truncated":
        os.truncate(hnsw, hnsw.stat().st_size // 3)
    elif change == "emptied":
        hnsw.write_bytes(b"")
    elif change == "garbage":
        size = hnsw.stat().st_size
        hnsw.write_bytes(np.random.default_rng(1).bytes(size))
    elif change == "fingerprint":
        header = json.loads((tmp_path / HEADER_NAME).read_text())
        (tmp_path / HEADER_NAME).write_text(json.dumps({**header, "fingerprint": "0" * 64}))
    elif change == "deleted":
        hnsw.unlink()
    elif change == "no header":
        (tmp_path / HEADER_NAME).unlink()
    elif change == "bad header":
        (tmp_path / HEADER_NAME).write_text(json.dumps([1, 2]))
    elif change == "an earlier format":  # v2: hnswlib's file, labels were symbol ids
        write_old_format(tmp_path, data)
    elif change == "link to nowhere":
        damage_behind_the_checksum(tmp_path, 4, (10**9).to_bytes(4, "little"))
    elif change == "too many links":
        damage_behind_the_checksum(tmp_path, 0, (99).to_bytes(2, "little"))
    else:
        damage_behind_the_checksum(tmp_path, 40 * row, (7).to_bytes(4, "little"))
    index = VectorIndex(tmp_path, dims, model)
    reason = index.load(*store_of(data, live))
    assert reason is not None and expected in reason
    assert len(index) == 0  # nothing half-loaded


def test_a_vector_back_in_use_gets_its_slot_back(tmp_path, rng):
    """Labels are vector ids, and a body's vector comes back when its code does (an undo, a
    checkout), while hnswlib may still hold its label deleted: it is undeleted, in memory and
    at open, never held twice (hnswlib finds an element by label, and would lose one)."""
    n, dims = 400, 64
    data = rng.standard_normal((n, dims)).astype(np.float32)
    index = VectorIndex(tmp_path, dims, "m")
    index.add(list(range(n)), data)
    index.remove([5, 6])
    index.add([5], data[5:6])  # back in memory
    assert 5 in index and index._index.get_current_count() == n
    assert index.search(data[5], 1)[0] == (5, pytest.approx(1.0, abs=1e-3))
    index.save(1)  # 6 deleted in the file
    live = [i for i in range(n) if i != 7]  # since: 7 removed, 6 back
    loaded = VectorIndex(tmp_path, dims, "m")
    assert loaded.load(*store_of(data, live)) is None
    assert 6 in loaded and 7 not in loaded and loaded._index.get_current_count() == n
    assert loaded.unsaved == 2 and loaded.search(data[6], 1)[0][0] == 6
    # 7's slot kept no vector (the file cuts out live ones): back now, it gets its vector.
    loaded.add([7], data[7:8])
    assert loaded.search(data[7], 1)[0] == (7, pytest.approx(1.0, abs=1e-3))
    rebuilt = VectorIndex(tmp_path / "rebuilt", dims, "m")
    rebuilt.rebuild(*store_of(data, range(n)))
    for q in [*rng.standard_normal((5, dims)).astype(np.float32), data[7]]:
        assert loaded.search(q, n) == rebuilt.search(q, n)
    loaded.save(2)
    reopened = VectorIndex(tmp_path, dims, "m")
    assert reopened.load(*store_of(data, range(n))) is None and reopened.unsaved == 0
    assert reopened.search(data[7], 3) == loaded.search(data[7], 3)


def test_opening_a_root_rebuilds_a_file_of_an_earlier_format_from_the_store(tmp_path):
    """A file whose labels were symbol ids (versions up to 3) is rebuilt from the stored
    vectors, once, with a warning, nothing embedded; copies of a function share one element."""
    root, base = tmp_path / "repo", tmp_path / "indexes"
    text = "".join(f"def handler_{n}(event):\n    return event + {n}\n\n\n" for n in range(80))
    store = Store(index_dir_for(root, base))
    store.take_lease()
    store.check_model("m", DIMS)
    found = extract_symbols("jobs.py", text)
    for rel in ("jobs.py", "vendor/jobs.py"):
        store.replace_file(
            rel, size=len(text), mtime_ns=1, content_hash="1", language="python", symbols=found
        )
    data = unit(np.random.default_rng(3), len(found))
    store.put_vectors("m", [(s.body_hash, v) for s, v in zip(found, data, strict=True)])
    write_old_format(store.directory, unit(np.random.default_rng(4), 200), list(range(160)))
    store.close()
    before = (store.directory / INDEX_NAME).read_bytes()
    early = open_root(root, base, "m", DIMS)
    assert len(early.vectors) == 0 and not early.vectors_loaded  # loaded by the caller
    early.close(save=True)  # never the empty graph over the file
    assert (store.directory / INDEX_NAME).read_bytes() == before
    warnings: list[str] = []
    index = open_root(root, base, "m", DIMS)
    try:
        index.sync_vectors(warnings.append)
        assert len(warnings) == 1 and "version is 2" in warnings[0]
        assert json.loads((index.directory / HEADER_NAME).read_text())["version"] == 4
        assert len(index.vectors) == len(found)  # 160 symbols, 80 distinct bodies
        label = index.store.vector_ids("m", [found[5].body_hash])[found[5].body_hash]
        assert index.vectors.search(data[5], 1)[0][0] == label
        assert len(index.store.symbols_of_vectors([label])) == 2
    finally:
        index.close(save=False)
    again: list[str] = []
    reopened = open_root(root, base, "m", DIMS)
    reopened.sync_vectors(again.append)
    reopened.close(save=False)
    assert again == [] and len(reopened.vectors) == len(found)


def test_a_file_behind_the_store_is_brought_up_to_date_not_rebuilt(tmp_path, rng):
    """Changes not yet written (the file is written once they reach RESAVE_FRACTION, or at
    close; or the process died): `load` marks deleted the symbols the store no longer has and
    inserts the ones the graph lacks, so it ranks every symbol as a rebuild does; they count as
    unsaved, and once written a reopen answers exactly the same."""
    n, dims = 1200, 64
    data = rng.standard_normal((n, dims)).astype(np.float32)
    index = VectorIndex(tmp_path, dims, "m")
    index.add(list(range(1000)), data[:1000])
    index.remove(range(0, 50))
    index.save(1)
    live = list(range(100, n))  # since: 50..99 removed, 1000..1199 added
    loaded = VectorIndex(tmp_path, dims, "m")
    assert loaded.load(*store_of(data, live)) is None
    assert loaded.unsaved == 50 + 200 and len(loaded) == len(live)
    assert 60 not in loaded and 1100 in loaded
    rebuilt = VectorIndex(tmp_path / "rebuilt", dims, "m")
    rebuilt.rebuild(*store_of(data, live))
    queries = [*rng.standard_normal((40, dims)).astype(np.float32), *data[40:1200:30]]
    for q in queries[::8]:
        assert loaded.search(q, len(live)) == rebuilt.search(q, len(live))
    assert all(loaded.search(data[i], 1)[0][0] == i for i in range(100, n, 25))
    answers = [loaded.search(q, 10) for q in queries]
    loaded.save(2)
    reopened = VectorIndex(tmp_path, dims, "m")
    assert reopened.load(*store_of(data, live)) is None and reopened.unsaved == 0
    assert [reopened.search(q, 10) for q in queries] == answers


def test_the_file_is_worth_writing_once_a_thousandth_of_the_index_changed(tmp_path, rng):
    """A write costs O(all symbols): it waits for RESAVE_FRACTION of them to change (added or
    removed), so its cost per changed symbol does not grow with the index."""
    index = VectorIndex(tmp_path, DIMS, "m")
    data = unit(rng, 3001)
    index.add(list(range(3000)), data[:3000])
    assert index.worth_saving()
    index.save(1)
    assert not index.worth_saving() and index.unsaved == 0
    index.add([3000], data[3000:3001])
    index.remove([7])
    assert index.unsaved == 2 and not index.worth_saving()  # 2 of 3000
    index.remove([8])
    assert index.unsaved == 3 and index.worth_saving()  # 3 of 3000
    index.save(2)
    assert not index.worth_saving()


def test_rebuild_replaces_everything(tmp_path, rng):
    index, _ = saved(tmp_path, rng)
    data = unit(rng, 10)
    index.rebuild(np.arange(200, 210), quantize(data)[1])
    assert len(index) == 10 and 0 not in index
    assert index.search(data[4], 1)[0][0] == 204
    assert float(index.vector(204) @ data[4]) > 0.999  # the direction of its int8 codes
    assert index.vector(0) is None


@pytest.mark.parametrize("where", ["head", "middle block", "tail", "all"])
def test_a_large_file_is_checked_by_samples_that_catch_damage(tmp_path, rng, monkeypatch, where):
    """Above FULL_HASH_BYTES the open-time check hashes head, tail and sampled blocks (at 10^6
    vectors, hashing 1.7 GB would take seconds of the 2 s open budget)."""
    monkeypatch.setattr(vectors_module, "FULL_HASH_BYTES", 1024)
    monkeypatch.setattr(vectors_module, "HEAD_BYTES", 256)
    monkeypatch.setattr(vectors_module, "TAIL_BYTES", 512)
    monkeypatch.setattr(vectors_module, "SAMPLES", 8)
    monkeypatch.setattr(vectors_module, "SAMPLE_BYTES", 64)
    _, vectors = saved(tmp_path, rng)
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(*store_of(vectors, LIVE)) is None  # undamaged: loads
    hnsw = tmp_path / INDEX_NAME
    data = bytearray(hnsw.read_bytes())
    size = len(data)
    if where == "head":
        data[10:20] = bytes(10)
    elif where == "middle block":
        data[256 + 3 * ((size - 512 - 256) // 8) + 5] ^= 0xFF  # inside the fourth sample
    elif where == "tail":
        data[-100] ^= 0xFF
    else:
        data = bytearray(np.random.default_rng(1).bytes(size))
    hnsw.write_bytes(bytes(data))
    index = VectorIndex(tmp_path, DIMS, "m")
    reason = index.load(*store_of(vectors, LIVE))
    assert reason is not None and "checksum" in reason
    assert len(index) == 0
