"""The hnswlib cache: labels, deletes with slot reuse, growth, atomic save, and every kind of
mismatch or damage that must make `load` refuse (so the caller rebuilds from the store)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from findcode import vectors as vectors_module
from findcode.vectors import HEADER_NAME, INDEX_NAME, MIN_CAPACITY, VectorIndex

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
    assert hits[0][0] == 107 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
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


def test_save_and_load_round_trip(tmp_path, rng):
    _, data = saved(tmp_path, rng)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(generation=3, count=39) is None
    assert len(loaded) == 39 and 5 not in loaded
    assert loaded.search(data[9], 1)[0][0] == 9
    loaded.add([77], unit(rng, 1))  # the deleted slot is reusable after a load
    assert len(loaded) == 40


def test_empty_store_without_files_loads(tmp_path):
    assert VectorIndex(tmp_path, DIMS, "m").load(generation=0, count=0) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("generation", "generation"),
        ("count", "count"),
        ("model", "model"),
        ("dims", "dims"),
        ("truncated", "size"),
        ("emptied", "size"),
        ("garbage", "checksum"),
        ("deleted", "size"),
        ("no header", "header"),
        ("bad header", "header"),
    ],
)
def test_any_mismatch_or_damage_is_refused(tmp_path, rng, change, expected):
    saved(tmp_path, rng)
    hnsw = tmp_path / INDEX_NAME
    generation, count, model, dims = 3, 39, "m", DIMS
    if change == "generation":
        generation = 4
    elif change == "count":
        count = 40
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
    elif change == "deleted":
        hnsw.unlink()
    elif change == "no header":
        (tmp_path / HEADER_NAME).unlink()
    else:
        (tmp_path / HEADER_NAME).write_text(json.dumps([1, 2]))
    index = VectorIndex(tmp_path, dims, model)
    reason = index.load(generation=generation, count=count)
    assert reason is not None and expected in reason
    assert len(index) == 0  # nothing half-loaded


def test_rebuild_replaces_everything(tmp_path, rng):
    index, _ = saved(tmp_path, rng)
    data = unit(rng, 10)
    index.rebuild(np.arange(200, 210), data)
    assert len(index) == 10 and 0 not in index
    assert index.search(data[4], 1)[0][0] == 204
    assert np.allclose(index.vector(204), data[4], atol=1e-6)
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
    saved(tmp_path, rng)
    loaded = VectorIndex(tmp_path, DIMS, "m")
    assert loaded.load(generation=3, count=39) is None  # undamaged: loads
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
    reason = index.load(generation=3, count=39)
    assert reason is not None and "checksum" in reason
    assert len(index) == 0
