"""Training can continue from a model that exists only as a GGUF (bench/train/from_gguf.py):
the shipped GGUF read back into the base layout and converted again by findcode's converter
embeds as the PyTorch model it was exported from. numpy, gguf and llama.cpp: no PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from findcode.embedder import Embedder
from findcode.model import PACKAGED_MODEL, convert_to_gguf, installed_source
from safetensors.numpy import load_file, save_file

from bench.train.export import TrainedSource
from bench.train.fit import copy_base_files, layer_of
from bench.train.from_gguf import weights_from_gguf

REFERENCE = Path(__file__).parent / "fixtures" / "reference"


def test_the_shipped_model_read_back_embeds_as_its_pytorch_original(tmp_path: Path) -> None:
    base = installed_source().location
    folder = weights_from_gguf(PACKAGED_MODEL, base, tmp_path / "shipped")
    original = load_file(str(base / "model.safetensors"))
    read = load_file(str(folder / "model.safetensors"))
    assert {name: a.shape for name, a in read.items()} == {
        name: a.shape for name, a in original.items()
    }
    assert read["encoder.layer.5.output.dense.weight"].dtype == np.float32
    assert not np.allclose(
        read["encoder.layer.5.output.dense.weight"], original["encoder.layer.5.output.dense.weight"]
    ), "the trained weights, not the base's"

    again = tmp_path / "again.gguf"
    convert_to_gguf(TrainedSource(folder), again)
    texts = json.loads((REFERENCE / "reference.json").read_text(encoding="utf-8"))["texts"]
    expected = np.load(REFERENCE / "findcode-minilm-code.npz")["vectors"]
    embedder = Embedder(again)
    try:
        vectors = embedder.embed_documents(texts)
    finally:
        embedder.close()
    cosines = (vectors * expected).sum(axis=1)
    assert cosines.min() >= 0.9999, (texts[int(cosines.argmin())], float(cosines.min()))


def test_a_gguf_of_another_model_is_refused(tmp_path: Path) -> None:
    """A GGUF with tensors the base does not have says so instead of mixing weights."""
    base = installed_source().location
    convert_to_gguf(installed_source(), tmp_path / "base.gguf")
    weights_from_gguf(tmp_path / "base.gguf", base, tmp_path / "ok")  # the base itself reads
    other = tmp_path / "other"
    copy_base_files(base, other)
    tensors = load_file(str(base / "model.safetensors"))
    save_file(
        {name: array for name, array in tensors.items() if layer_of(name) != 5},
        str(other / "model.safetensors"),
    )
    with pytest.raises(SystemExit, match=r"tensors the base lacks: blk\.5\."):
        weights_from_gguf(tmp_path / "base.gguf", other, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
