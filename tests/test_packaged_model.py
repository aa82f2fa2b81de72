"""The default model shipped inside the package: found by name, pinned, and the fine-tuned
network it claims to be (vectors against its PyTorch original, as for the base model).

tests/fixtures/reference/ holds vectors computed once with sentence-transformers on PyTorch
from the trained model that bench/train exported (make_reference.py --model made them).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from findcode.embedder import Embedder
from findcode.errors import ModelError
from findcode.model import (
    PACKAGED_MODEL,
    PACKAGED_MODEL_SHA256,
    model_info,
    packaged_model,
    resolve_model_path,
)

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
# F16 measures 0.999997 on the worst text; the Q8_0 that shipped before, 0.9987.
MIN_COSINE = 0.9999


@pytest.fixture
def fresh_pin_check() -> Iterator[None]:
    """packaged_model() checks the digest once per process: forget that around a test."""
    packaged_model.cache_clear()
    yield
    packaged_model.cache_clear()


def test_the_names_resolve_to_the_packaged_model() -> None:
    assert resolve_model_path(None) == PACKAGED_MODEL
    assert resolve_model_path("") == PACKAGED_MODEL
    assert resolve_model_path(" findcode ") == PACKAGED_MODEL
    info = model_info(PACKAGED_MODEL)
    assert info["name"] == "findcode-minilm-code"
    assert info["quantization"] == "f16"
    assert info["dimensions"] == 384 and info["max_tokens"] == 256
    assert 40e6 < info["size_bytes"] < 50e6


def test_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="findcode, minilm"):
        resolve_model_path("codebert")


def test_a_damaged_packaged_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pin_check: None
) -> None:
    damaged = tmp_path / PACKAGED_MODEL.name
    shutil.copyfile(PACKAGED_MODEL, damaged)
    with damaged.open("r+b") as stream:
        stream.seek(-100, 2)
        byte = stream.read(1)
        stream.seek(-100, 2)
        stream.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr("findcode.model.PACKAGED_MODEL", damaged)
    with pytest.raises(ModelError, match="damaged") as caught:
        resolve_model_path(None)
    assert PACKAGED_MODEL_SHA256 in str(caught.value)


def test_a_missing_packaged_model_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pin_check: None
) -> None:
    monkeypatch.setattr("findcode.model.PACKAGED_MODEL", tmp_path / "gone.gguf")
    with pytest.raises(ModelError, match="reinstall findcode, or set `model` to 'minilm'"):
        resolve_model_path("findcode")


def test_the_packaged_model_matches_its_pytorch_original() -> None:
    data = json.loads((REFERENCE / "reference.json").read_text(encoding="utf-8"))
    texts = data["texts"]
    expected = np.load(REFERENCE / "findcode-minilm-code.npz")["vectors"]
    assert len(expected) == len(texts) >= 30
    embedder = Embedder(PACKAGED_MODEL)
    try:
        # Same tokenizer as the base model: the fine-tuning changed only weights.
        for text, ids in zip(texts, data["token_ids"], strict=True):
            assert embedder.token_ids(text) == ids, text
        vectors = embedder.embed_documents(texts)
    finally:
        embedder.close()
    cosines = (vectors * expected).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_COSINE, (texts[worst], float(cosines[worst]))


def test_the_packaged_model_is_not_the_base_model() -> None:
    """The fine-tuned vectors differ from the base's: a swapped file would fail this."""
    base = np.load(REFERENCE / "reference.npz")["vectors"]
    trained = np.load(REFERENCE / "findcode-minilm-code.npz")["vectors"]
    assert float(np.median((base * trained).sum(axis=1))) < 0.98
