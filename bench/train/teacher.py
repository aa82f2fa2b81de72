"""A larger model's vectors of every training row, which distillation learns from (fit.py).

The teacher reads with its own tokenizer, so its vectors cannot be made inside the loss (the
loss receives the student's tokens). They are made once per rows, teacher and input length,
before training, in chunks saved as each finishes: all-mpnet-base-v2 took 10 minutes for 3,200
rows on this 2-core machine (38 under other jobs' load), and a kill loses at most one chunk.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.quality.fetch import sha256
from bench.train.data import DATA
from bench.train.fit import ROW_COLUMNS, import_training

CHUNK_ROWS = 256

Encode = Callable[[list[str]], np.ndarray]


def teacher_vectors(
    rows: Sequence[dict],
    teacher: Path,
    max_seq_length: int,
    threads: int,
    log: Callable[[str], None] = print,
) -> np.ndarray:
    """The teacher's unit vectors of each row's columns: shape (rows, len(ROW_COLUMNS), dim)."""
    if not all((teacher / name).is_file() for name in ("modules.json", "model.safetensors")):
        raise SystemExit(f"teacher: {teacher} is not a sentence-transformers model folder")
    model: Any = None

    def encode(texts: list[str]) -> np.ndarray:
        nonlocal model
        if model is None:  # loaded only when a chunk is missing
            import_training(threads)
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(teacher), device="cpu")
            model.max_seq_length = max_seq_length
        return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    identity = [teacher.name, sha256(teacher / "model.safetensors"), max_seq_length]
    return cached_vectors(rows, identity, encode, DATA / "teacher", log)


def cached_vectors(
    rows: Sequence[dict],
    identity: Sequence[object],
    encode: Encode,
    folder: Path,
    log: Callable[[str], None] = print,
) -> np.ndarray:
    """`encode` over every row's ROW_COLUMNS, chunk by chunk, each chunk kept in a folder named
    by `identity` (what makes the encoder's vectors what they are) and the rows' texts."""
    texts = [row[column] for row in rows for column in ROW_COLUMNS]
    key = hashlib.sha256(json.dumps([list(identity), texts]).encode()).hexdigest()[:16]
    chunks = folder / key
    chunks.mkdir(parents=True, exist_ok=True)
    step = CHUNK_ROWS * len(ROW_COLUMNS)
    starts = range(0, len(texts), step)
    began = time.perf_counter()
    made = 0
    parts = []
    for number, start in enumerate(starts):
        path = chunks / f"{number:05d}.npy"
        if not path.is_file():
            vectors = np.asarray(encode(texts[start : start + step]), dtype=np.float32)
            partial = path.with_suffix(".partial.npy")
            np.save(partial, vectors)
            partial.replace(path)
            made += 1
            per_chunk = (time.perf_counter() - began) / made
            left = (len(starts) - number - 1) * per_chunk
            log(f"teacher: chunk {number + 1}/{len(starts)}, ETA {left / 60:.0f} min")
        parts.append(np.load(path))
    vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    return vectors.reshape(len(rows), len(ROW_COLUMNS), -1)
