"""The hnswlib cache: labels, deletes with slot reuse, growth, atomic save of the graph alone
(vectors come back from the store), and every kind of mismatch or damage that must make `load`
refuse (so the caller rebuilds from the store)."""

from __future__ import annotations

import json
import os

import hnswlib
import numpy as np
import pytest
from findcode import vectors as vectors_module
from findcode.store import quantize
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
    """(ids, int8 codes) as Store.symbol_codes gives them: what `load` puts into the graph."""
    return np.asarray(ids, dtype=np.int64), quantize(data[list(ids)])[1]


LIVE = [i for i in range(40) if i != 5]


def test_save_and_load_round_trip(tmp_path, rng):
    _, data = saved(tmp_path, rng)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(3, *store_of(data, LIVE)) is None
    assert len(loaded) == 39 and 5 not in loaded
    assert loaded.search(data[9], 1)[0][0] == 9
    loaded.add([77], unit(rng, 1))  # the deleted slot is reusable after a load
    assert len(loaded) == 40


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
    assert loaded.load(5, *store_of(data, live)) is None
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
    # An empty store's codes are (0, 0), as Store.symbol_codes returns them.
    assert loaded.load(2, np.zeros(0, np.int64), np.zeros((0, 0), np.int8)) is None
    assert len(loaded) == 0 and loaded.search(unit(rng, 1)[0], 3) == []
    loaded.add([9], unit(rng, 1))
    assert [label for label, _ in loaded.search(unit(rng, 1)[0], 3)] == [9]


def test_empty_store_without_files_loads(tmp_path):
    empty = np.zeros(0, dtype=np.int64), np.zeros((0, DIMS), dtype=np.int8)
    assert VectorIndex(tmp_path, DIMS, "m").load(0, *empty) is None


def write_old_format(directory, data) -> None:
    """The file and header as findcode wrote them before the graph-only format (v2): hnswlib's
    own save_index, float32 vectors included."""
    hnsw = directory / INDEX_NAME
    old = hnswlib.Index(space="cosine", dim=DIMS)
    old.init_index(max_elements=MIN_CAPACITY, M=16, ef_construction=200, allow_replace_deleted=True)
    old.add_items(data[LIVE], LIVE)
    old.save_index(str(hnsw))
    header = {"version": 2, "generation": 3, "count": 39, "model": "m", "dims": DIMS}
    header.update(capacity=MIN_CAPACITY, deleted=[], size=hnsw.stat().st_size)
    header["fingerprint"] = _fingerprint(hnsw)
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
        ("generation", "generation"),
        ("count", "count"),
        ("other symbols", "store's symbols"),
        ("model", "model"),
        ("dims", "dims"),
        ("truncated", "size"),
        ("emptied", "size"),
        ("garbage", "checksum"),
        ("fingerprint", "checksum"),
        ("deleted", "size"),
        ("no header", "header"),
        ("bad header", "header"),
        ("old format", "version"),
        ("link to nowhere", "link to an element that does not exist"),
        ("too many links", "link list longer"),
        ("bad level", "length"),
    ],
)
def test_any_mismatch_or_damage_is_refused(tmp_path, rng, change, expected):
    _, data = saved(tmp_path, rng)
    hnsw = tmp_path / INDEX_NAME
    generation, live, model, dims = 3, list(LIVE), "m", DIMS
    row = 4 + 4 * 2 * 16 + 8  # a saved element: its level-0 links (2M), its label
    if change == "generation":
        generation = 4
    elif change == "count":
        live.append(5)
    elif change == "other symbols":
        live[live.index(6)] = 5
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
    elif change == "old format":
        write_old_format(tmp_path, data)
    elif change == "link to nowhere":
        damage_behind_the_checksum(tmp_path, 4, (10**9).to_bytes(4, "little"))
    elif change == "too many links":
        damage_behind_the_checksum(tmp_path, 0, (99).to_bytes(2, "little"))
    else:
        damage_behind_the_checksum(tmp_path, 40 * row, (7).to_bytes(4, "little"))
    index = VectorIndex(tmp_path, dims, model)
    reason = index.load(generation, *store_of(data, live))
    assert reason is not None and expected in reason
    assert len(index) == 0  # nothing half-loaded


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
    assert loaded.load(3, *store_of(vectors, LIVE)) is None  # undamaged: loads
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
    reason = index.load(3, *store_of(vectors, LIVE))
    assert reason is not None and "checksum" in reason
    assert len(index) == 0
