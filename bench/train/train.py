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

from findcode.model import installed_source

from bench.train import RUN_DIR, bundle
from bench.train.data import describe, training_rows, validation
from bench.train.fit import (
    TrainConfig,
    base_model,
    fit,
    import_training,
    on_device,
    ranking_loss,
)
from bench.train.proxy import quality_task


def run_folder(name: str) -> Path:
    """A run's config, checkpoints, final model and export, outside the work tree."""
    return RUN_DIR / name


def final_folder(name: str) -> Path:
    """The trained model, in the base package's layout (what the converter reads)."""
    return run_folder(name) / "final"


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
        base=installed_source().location,
        folder=run_folder(run),
        final=final_folder(run),
        threads=threads,
        stop_after=stop_after,
        log=log,
    )


def measure(records: list[dict], config: TrainConfig, *, steps: int, threads: int) -> float:
    """Seconds per training step of this configuration (forward, backward, optimizer)."""
    torch = import_training(threads)
    wanted = max(config.rows, steps * config.batch_size)
    rows = training_rows(records, wanted, config.seed, print, config.rest_share)
    base = installed_source().location
    model = base_model(config, base, torch)
    loss = ranking_loss(model, config, base, torch)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    timings = []
    for step in range(steps + 1):
        batch = rows[step * config.batch_size : (step + 1) * config.batch_size]
        started = time.perf_counter()
        features = [
            on_device(model.preprocess([row[column] for row in batch]), model.device)
            for column in ("anchor", "positive", "negative")
        ]
        value = loss(features, None)
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
