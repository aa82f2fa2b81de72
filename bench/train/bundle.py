"""Train on a machine with an accelerator that has PyTorch but no findcode, and bring it back.

    python -m bench.train pack --rows N ... [--bundle DIR]     here: rows, tasks, base weights
    python -m bench.train.bundle train DIR OUT [SECONDS]       there: fit.fit on the GPU
    python -m bench.train.sweep DIR OUT SECONDS VARIANT ...    there: several settings (sweep.py)
    python -m bench.train unpack --chunks OUT --run NAME       here: the run's final model

The bundle is small enough to travel with a working tree (tens of MB): each distinct text is
stored once and rows point at texts by number, the base weights travel as float16, and the
result comes back as float16 files of at most CHUNK_BYTES each, holding only the tensors that
training changed (float16 keeps a weight to about 1e-3 relative; Q8_0, what findcode runs,
keeps 1e-2). `unpack` writes float32 weights, the unchanged ones the installed base's, beside
its tokenizer and configs, so `export` treats the run like any other.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.train.fit import (
    ROW_COLUMNS,
    TrainConfig,
    Validation,
    copy_base_files,
    fit,
    layer_of,
    write_in_base_layout,
)

CHUNK_BYTES = 15 * 1024 * 1024
# Names a row block of a tensor too large for one file: "<tensor>@part<n>".
PART_MARK = "@part"
QUALITY_FILE = "quality.json.gz"


def pack(
    rows: Sequence[dict],
    task: Validation,
    config: TrainConfig,
    base: Path,
    dest: Path,
    quality: list[dict] | None = None,
) -> Path:
    """Write a self-contained bundle: config, texts, rows by text number, task, base weights,
    and bench/quality's tables as a dense task (proxy.py) when `quality` is given."""
    from safetensors.numpy import load_file, save_file

    dest.mkdir(parents=True, exist_ok=True)
    numbers: dict[str, int] = {}
    packed = []
    for row in rows:
        entry = {column: numbers.setdefault(row[column], len(numbers)) for column in ROW_COLUMNS}
        packed.append({**entry, "form": row["form"], "source": row["source"]})
    _write_json(dest / "texts.json.gz", list(numbers))
    _write_json(dest / "rows.json.gz", packed)
    _write_json(
        dest / "task.json.gz",
        {
            "queries": task.queries,
            "corpus": task.corpus,
            "relevant": {key: sorted(value) for key, value in task.relevant.items()},
        },
    )
    if quality is not None:
        _write_json(dest / QUALITY_FILE, quality)
    (dest / "config.json").write_text(json.dumps(asdict(config), indent=1) + "\n")
    weights = dest / "base"
    copy_base_files(base, weights)
    tensors = load_file(str(base / "model.safetensors"))
    save_file(
        {name: _half(array) for name, array in tensors.items()},
        str(weights / "model.safetensors"),
    )
    return dest


def load(bundle: Path) -> tuple[list[dict], Validation, TrainConfig]:
    """The rows (texts restored), the validation task and the config of a bundle."""
    texts = _read_json(bundle / "texts.json.gz")
    rows = [
        {**row, **{column: texts[row[column]] for column in ROW_COLUMNS}}
        for row in _read_json(bundle / "rows.json.gz")
    ]
    task = _read_json(bundle / "task.json.gz")
    validation = Validation(
        queries=task["queries"],
        corpus=task["corpus"],
        relevant={key: set(value) for key, value in task["relevant"].items()},
    )
    config = TrainConfig(**json.loads((bundle / "config.json").read_text()))
    return rows, validation, config


def read_quality(bundle: Path) -> list[dict]:
    """The bundle's bench/quality task (proxy.py), or a clear stop when it was packed without."""
    path = bundle / QUALITY_FILE
    if not path.is_file():
        raise SystemExit(f"{bundle} holds no {QUALITY_FILE}: pack it again")
    return _read_json(path)


def train_bundle(
    bundle: Path, out: Path, work: Path, threads: int, seconds: float | None = None
) -> None:
    """Fit on the bundle (where the accelerator is) and write float16 weight chunks to `out`;
    after `seconds` of training the model so far is the result (a lent machine's time ends)."""
    rows, task, config = load(bundle)
    print(f"bundle: {len(rows)} rows, {len(task.queries)} validation queries", flush=True)
    final = fit(
        rows,
        task,
        config,
        base=bundle / "base",
        folder=work,
        final=work / "final",
        threads=threads,
        deadline=None if seconds is None else time.monotonic() + seconds,
        log=lambda message: print(message, flush=True),
    )
    if final is None:
        raise SystemExit("bundle: training stopped early")
    out.mkdir(parents=True, exist_ok=True)
    save_trained(final, bundle / "base", out)
    shutil.copyfile(bundle / "config.json", out / "config.json")


def weights_prefix(variant: str | None = None) -> str:
    """The name the chunks of a result start with: a sweep variant's own, or a single run's."""
    return f"{variant}-weights" if variant else "weights"


def save_trained(final: Path, base: Path, out: Path, prefix: str = weights_prefix()) -> None:
    """The trained tensors as `prefix`-N chunks, leaving out each that training did not change
    (frozen ones: the embeddings, at least): half of what travels back, and `unpack` takes
    them from the installed base, in full precision."""
    from safetensors.numpy import load_file

    before = load_file(str(base / "model.safetensors"))
    after = load_file(str(final / "model.safetensors"))
    changed = {
        name: array
        for name, array in after.items()
        if name not in before or not np.array_equal(_half(array), _half(before[name]))
    }
    _save_chunks(changed, out, prefix)


def unpack(
    chunks: Path, base: Path, dest: Path, config: TrainConfig, prefix: str = weights_prefix()
) -> Path:
    """A run's final model (float32, base layout) from the chunks save_trained wrote: the
    tensors it left out are the base's, but for the layers `config` leaves out."""
    from safetensors.numpy import load_file

    pieces: dict[str, np.ndarray] = {}
    for path in sorted(chunks.glob(f"{prefix}-*.safetensors")):
        pieces.update(load_file(str(path)))
    trained = _joined(pieces)
    if not trained:
        raise SystemExit(f"{chunks} holds no {prefix}-*.safetensors")
    tensors = load_file(str(base / "model.safetensors"))
    unknown = set(trained) - set(tensors)
    if unknown:
        raise SystemExit(f"{chunks}: tensors the base does not have: {sorted(unknown)}")
    tensors.update(trained)
    tensors = {name: array for name, array in tensors.items() if layer_of(name) < config.layers}
    return write_in_base_layout(tensors, dest, base, config.layers)


def trained_config(chunks: Path, variant: str | None) -> TrainConfig:
    """The settings behind a result: a sweep variant's entry in sweep.json, or the config.json
    that train_bundle copies beside its chunks."""
    if variant is None:
        return TrainConfig(**json.loads((chunks / "config.json").read_text()))
    report = json.loads((chunks / "sweep.json").read_text())
    for entry in report:
        if entry["name"] == variant and "config" in entry:
            return TrainConfig(**entry["config"])
    raise SystemExit(f"{chunks}/sweep.json has no variant {variant!r}")


def _save_chunks(tensors: dict[str, np.ndarray], out: Path, prefix: str) -> None:
    """float16 files of at most CHUNK_BYTES; a larger tensor is cut into row blocks."""
    from safetensors.numpy import save_file

    pieces: list[tuple[str, np.ndarray]] = []
    for name in sorted(tensors):
        array = _half(tensors[name])
        parts = -(-array.nbytes // CHUNK_BYTES)
        if parts == 1:
            pieces.append((name, array))
        else:
            blocks = np.array_split(array, parts, axis=0)
            pieces.extend((f"{name}{PART_MARK}{i}", block) for i, block in enumerate(blocks))
    chunk: dict[str, np.ndarray] = {}
    size = 0
    number = 0
    for name, array in pieces:
        if chunk and size + array.nbytes > CHUNK_BYTES:
            save_file(chunk, str(out / f"{prefix}-{number}.safetensors"))
            chunk, size, number = {}, 0, number + 1
        chunk[name] = np.ascontiguousarray(array)
        size += array.nbytes
    save_file(chunk, str(out / f"{prefix}-{number}.safetensors"))


def _joined(pieces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Tensors from _save_chunks' pieces, row blocks put back together, as float32."""
    blocks: dict[str, dict[int, np.ndarray]] = {}
    for name, array in pieces.items():
        whole, _, number = name.partition(PART_MARK)
        blocks.setdefault(whole, {})[int(number or 0)] = array
    joined = {}
    for name, parts in blocks.items():
        array = np.concatenate([parts[i] for i in sorted(parts)], axis=0)
        joined[name] = array.astype(np.float32) if array.dtype == np.float16 else array
    return joined


def _half(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float16) if array.dtype == np.float32 else array


def _write_json(path: Path, value: object) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(value, stream, ensure_ascii=False)


def _read_json(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return json.load(stream)


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[0] != "train":
        print("usage: python -m bench.train.bundle train BUNDLE OUT [SECONDS]", file=sys.stderr)
        return 2
    bundle, out = Path(argv[1]), Path(argv[2])
    seconds = float(argv[3]) if len(argv) == 4 else None
    train_bundle(bundle, out, work=Path("/tmp/findcode-bundle-run"), threads=8, seconds=seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
