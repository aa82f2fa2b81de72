"""The teacher's vectors of the training rows (bench/train/teacher.py) are made chunk by chunk
and kept: a run killed while they are made resumes where it stopped, and other rows or another
teacher never reuse them. Bookkeeping only: the encoder is a stand-in, labelled as such."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.train import teacher
from bench.train.fit import ROW_COLUMNS
from bench.train.teacher import cached_vectors


def _rows(count: int) -> list[dict]:
    return [{column: f"{column} {number}" for column in ROW_COLUMNS} for number in range(count)]


class StandInEncoder:
    """Not a model: a text's vector is its number and its column's, so order is checkable."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt
        return np.array(
            [[float(text.split()[1]), ROW_COLUMNS.index(text.split()[0])] for text in texts]
        )


def test_vectors_are_per_row_and_column_and_resume_after_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(teacher, "CHUNK_ROWS", 4)
    rows = _rows(10)  # 3 chunks: 4 + 4 + 2 rows
    dying = StandInEncoder(fail_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        cached_vectors(rows, ["teacher", 128], dying, tmp_path, print)
    resumed = StandInEncoder()
    vectors = cached_vectors(rows, ["teacher", 128], resumed, tmp_path, print)
    assert resumed.calls == 1, "the two chunks made before the kill are kept"
    assert vectors.shape == (10, len(ROW_COLUMNS), 2)
    assert vectors[7, 2].tolist() == [7.0, 2.0]  # row 7's negative
    assert (vectors[:, :, 0] == np.arange(10)[:, None]).all()

    again = StandInEncoder()
    assert (cached_vectors(rows, ["teacher", 128], again, tmp_path, print) == vectors).all()
    assert again.calls == 0
    other_teacher = StandInEncoder()
    cached_vectors(rows, ["teacher", 256], other_teacher, tmp_path, print)
    other_rows = StandInEncoder()
    cached_vectors(rows[:9], ["teacher", 128], other_rows, tmp_path, print)
    assert other_teacher.calls == 3 and other_rows.calls == 3
