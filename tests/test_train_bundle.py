"""What a run on a lent accelerator brings back (bench/train/bundle.py): only the tensors that
training changed travel, the rest come from the installed base in full precision, and a
shallower model leaves the base's upper layers behind. numpy and safetensors only: no PyTorch."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from findcode.model import installed_source
from safetensors.numpy import load_file, save_file

from bench.train.bundle import save_trained, unpack
from bench.train.fit import SHARED_FILES, TrainConfig, copy_base_files, layer_of
from bench.train.soup import soup
from bench.train.sweep import parse_variant


def _trained(base: Path, dest: Path, layers: int) -> dict[str, np.ndarray]:
    """A stand-in for a trained model: the base's upper layers changed, cut to `layers`."""
    tensors = {
        name: array + 0.25 if layer_of(name) >= 1 else array
        for name, array in load_file(str(base / "model.safetensors")).items()
        if layer_of(name) < layers
    }
    copy_base_files(base, dest, layers)
    save_file(tensors, str(dest / "model.safetensors"))
    return tensors


@pytest.mark.parametrize("layers", [6, 3])
def test_only_changed_tensors_travel_and_unpack_restores_the_rest(
    tmp_path: Path, layers: int
) -> None:
    base = installed_source().location
    original = load_file(str(base / "model.safetensors"))
    trained = _trained(base, tmp_path / "final", layers)
    out = tmp_path / "out"
    out.mkdir()
    save_trained(tmp_path / "final", base, out, "v-weights")

    travelled: dict[str, np.ndarray] = {}
    for path in out.glob("v-weights-*.safetensors"):
        travelled.update(load_file(str(path)))
    names = {name.partition("@part")[0] for name in travelled}
    assert names == {name for name in trained if layer_of(name) >= 1}
    assert all(array.dtype != np.float32 for array in travelled.values())

    config = replace(TrainConfig(), layers=layers)
    dest = unpack(out, base, tmp_path / "unpacked", config, "v-weights")
    unpacked = load_file(str(dest / "model.safetensors"))
    assert set(unpacked) == set(trained)
    for name, array in unpacked.items():
        assert array.dtype == original[name].dtype
        if layer_of(name) >= 1:  # back from float16
            np.testing.assert_allclose(array, trained[name], rtol=1e-3, atol=1e-3)
        else:  # the base's own, bit for bit
            np.testing.assert_array_equal(array, original[name])
    assert json.loads((dest / "config.json").read_text())["num_hidden_layers"] == layers
    for name in SHARED_FILES:
        assert (dest / name).is_file()


def test_unpack_refuses_chunks_of_another_model(tmp_path: Path) -> None:
    base = installed_source().location
    out = tmp_path / "out"
    out.mkdir()
    save_file({"decoder.weight": np.ones((2, 2), np.float16)}, str(out / "weights-0.safetensors"))
    with pytest.raises(SystemExit, match=r"decoder\.weight"):
        unpack(out, base, tmp_path / "unpacked", TrainConfig())


def test_a_variant_names_its_changes_and_refuses_unknown_settings() -> None:
    name, config = parse_variant("shallow:layers=3,learning_rate=2e-5", TrainConfig())
    assert name == "shallow"
    assert (config.layers, config.learning_rate) == (3, 2e-5)
    assert parse_variant("as_packed:", TrainConfig()) == ("as_packed", TrainConfig())
    with pytest.raises(SystemExit, match="no setting 'depth'"):
        parse_variant("x:depth=3", TrainConfig())


def test_a_soup_is_the_mean_of_its_runs_and_refuses_mixed_shapes(tmp_path: Path) -> None:
    base = installed_source().location
    original = load_file(str(base / "model.safetensors"))
    for name, shift in (("up", 0.5), ("down", -0.25)):
        copy_base_files(base, tmp_path / name, 6)
        shifted = {k: v + shift if v.dtype == np.float32 else v for k, v in original.items()}
        save_file(shifted, str(tmp_path / name / "model.safetensors"))
    mixed = load_file(
        str(soup([tmp_path / "up", tmp_path / "down"], tmp_path / "soup") / "model.safetensors")
    )
    for name, array in original.items():
        expected = array + 0.125 if array.dtype == np.float32 else array
        np.testing.assert_allclose(mixed[name], expected, rtol=1e-6, atol=1e-6)
    _trained(base, tmp_path / "shallow", 3)
    with pytest.raises(SystemExit, match="differ in shape"):
        soup([tmp_path / "up", tmp_path / "shallow"], tmp_path / "mixed")
