"""Fine-tune all-MiniLM-L6-v2 on the mined pairs: the recipe, sized for 2 CPU cores.

On two shared cores the budget decides the recipe: inputs cut at 128 tokens (most functions'
document text fits; the model still reads 256 at search time), the embeddings and the lower
layers frozen (no backward pass through them), one pass over a sample sized by `measure`.
With an accelerator, bundle.py runs the same loop (fit.py) on all rows at full length.

This module turns mined records into rows and a validation task (findcode's query form, bm25
hard negatives) and hands them to fit.fit. The result is written in the base package's own
layout (model.safetensors beside the base's vocab.txt and configs), so findcode's converter
reads it exactly as it reads the base model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from findcode.model import installed_source

from bench.train import RUN_DIR, bundle
from bench.train.data import describe, training_rows, validation
from bench.train.fit import (
    ROW_COLUMNS,
    TrainConfig,
    base_model,
    fit,
    import_training,
    on_device,
    ranking_loss,
)
from bench.train.from_gguf import weights_from_gguf
from bench.train.proxy import quality_task
from bench.train.teacher import teacher_vectors


def run_folder(name: str) -> Path:
    """A run's config, checkpoints, final model and export, outside the work tree."""
    return RUN_DIR / name


def final_folder(name: str) -> Path:
    """The trained model, in the base package's layout (what the converter reads)."""
    return run_folder(name) / "final"


def start_folder(config: TrainConfig) -> Path:
    """The model a run starts from: the base package, or the final model of `config.start`."""
    if not config.start:
        return installed_source().location
    folder = final_folder(config.start)
    if not (folder / "model.safetensors").is_file():
        raise SystemExit(
            f"start: run {config.start!r} has no final model in {folder} (train it, or write "
            "the shipped model there: python -m bench.train from-gguf --run NAME)"
        )
    return folder


def teacher_for(
    rows: list[dict], config: TrainConfig, threads: int, log: Callable[[str], None]
) -> np.ndarray | None:
    """The teacher's vectors of the rows where the config distils, else None."""
    if not config.teacher_weight:
        return None
    if not config.teacher:
        raise SystemExit("teacher_weight needs --teacher: a sentence-transformers model folder")
    return teacher_vectors(rows, Path(config.teacher), config.max_seq_length, threads, log)


def train(
    records: list[dict],
    config: TrainConfig,
    *,
    run: str,
    threads: int,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
) -> Path | None:
    """Train (or resume) the run; the final model's folder, or None when stopped early."""
    if (final_folder(run) / "model.safetensors").is_file():
        log(f"train: {run} is trained already: {final_folder(run)}")
        return final_folder(run)
    rows = training_rows(records, config.rows, config.seed, log, config.rest_share)
    log(f"train: {len(rows)} rows {json.dumps(describe(rows))}")
    task = validation(records, config.val_queries, config.val_corpus, config.seed)
    return fit(
        rows,
        task,
        config,
        base=start_folder(config),
        folder=run_folder(run),
        final=final_folder(run),
        threads=threads,
        stop_after=stop_after,
        teacher=teacher_for(rows, config, threads, log),
        log=log,
    )


def measure(records: list[dict], config: TrainConfig, *, steps: int, threads: int) -> float:
    """Seconds per training step of this configuration (forward, backward, optimizer)."""
    torch = import_training(threads)
    wanted = max(config.rows, (steps + 1) * config.batch_size)
    rows = training_rows(records, wanted, config.seed, print, config.rest_share)
    rows = rows[: (steps + 1) * config.batch_size]
    base = start_folder(config)
    model = base_model(config, base, torch)
    loss = ranking_loss(model, config, base, torch, teacher_for(rows, config, threads, print))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    timings = []
    for step in range(steps + 1):
        numbers = range(step * config.batch_size, (step + 1) * config.batch_size)
        batch = [rows[number] for number in numbers]
        started = time.perf_counter()
        features = [
            on_device(model.preprocess([row[column] for row in batch]), model.device)
            for column in ROW_COLUMNS
        ]
        value = loss(features, torch.tensor(numbers))
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step warms caches and allocators up
            timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def pack_for_accelerator(
    records: list[dict], config: TrainConfig, dest: Path, log: Callable[[str], None] = print
) -> Path:
    """The run's rows, validation task and base weights as a bundle (bundle.py)."""
    if config.teacher_weight or config.start:
        # A teacher's vectors of every row (a few hundred MB) would not fit a lent machine's
        # transfer, and a start other than the base is not the bundle's base.
        raise SystemExit("pack: a bundle trains from the base without a teacher")
    rows = training_rows(records, config.rows, config.seed, log, config.rest_share)
    log(f"pack: {len(rows)} rows {json.dumps(describe(rows))}")
    task = validation(records, config.val_queries, config.val_corpus, config.seed)
    quality = quality_task(log)
    return bundle.pack(rows, task, config, installed_source().location, dest, quality)


def unpack_run(chunks: Path, run: str, prefix: str, config: TrainConfig) -> Path:
    """A run trained from a bundle elsewhere, as if trained here: config and final model."""
    folder = run_folder(run)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(asdict(config), indent=1) + "\n")
    return bundle.unpack(chunks, installed_source().location, final_folder(run), config, prefix)


def run_from_gguf(model: Path, run: str) -> Path:
    """A GGUF's weights as run `run`'s final model, which a run with `start` = `run` continues."""
    return weights_from_gguf(model, installed_source().location, final_folder(run))
