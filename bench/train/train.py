"""Fine-tune all-MiniLM-L6-v2 on the mined pairs: contrastive, resumable, sized for 2 CPU cores.

The loss is MultipleNegativesRankingLoss: each query must score its own function above every
other function in the batch and above every batch row's bm25 hard negative (negatives.py), so
a batch of B rows gives each query 2B-1 wrong answers at the cost of B. Batches never hold the
same text twice (a duplicate would be a "wrong" answer that is right).

On two shared cores the budget decides the recipe: inputs cut at 128 tokens (most functions'
document text fits; the model still reads 256 at search time), the embeddings and the lower
layers frozen (no backward pass through them), one pass over a sample sized by `measure`.
Everything that shapes the run is written to RUN_DIR/<run>/config.json; a second start with the
same settings resumes from the newest checkpoint (the trainer restores weights, optimizer,
scheduler, the data order and the random state), a start with other settings refuses.

The result is written in the base package's own layout (model.safetensors beside the base's
vocab.txt and configs), so findcode's converter reads it exactly as it reads the base model.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from findcode.model import UNUSED_TENSORS, installed_source

from bench.train import RUN_DIR
from bench.train.data import Validation, describe, training_rows, validation

# The base package's files that the trained model shares unchanged (tokenizer, architecture,
# pooling, module list): everything but the weights.
SHARED_FILES = (
    "config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that shapes a run (its checkpoints are only valid for the same values)."""

    rows: int = 14_400  # 450 steps of 32: about 2 h at the 15 s a step measured here
    batch_size: int = 32
    max_seq_length: int = 128
    frozen_layers: int = 2  # the embeddings and this many lower encoder layers
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    epochs: int = 1
    seed: int = 0
    val_queries: int = 300
    val_corpus: int = 1000
    evaluations: int = 1  # on the validation task during the run (besides before and after)
    checkpoints: int = 12  # saves over the run; a kill loses at most 1/12 of it


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
    folder = run_folder(run)
    _check_config(folder, config)
    if (final_folder(run) / "model.safetensors").is_file():
        log(f"train: {run} is trained already: {final_folder(run)}")
        return final_folder(run)
    torch = import_training(threads)
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    rows = training_rows(records, config.rows, config.seed, log)
    log(f"train: {len(rows)} rows {json.dumps(describe(rows))}")
    task = validation(records, config.val_queries, config.val_corpus, config.seed)
    log(f"train: validation {len(task.queries)} queries over {len(task.corpus)} functions")

    model = _base_model(config, torch)
    steps = config.epochs * (len(rows) // config.batch_size)
    evaluator = _evaluator(task)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(folder / "checkpoints"),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.learning_rate,
        warmup_steps=max(1, round(steps * config.warmup_fraction)),
        lr_scheduler_type="linear",
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="steps",
        save_steps=max(1, steps // config.checkpoints),
        save_total_limit=2,
        eval_strategy="steps" if config.evaluations else "no",
        eval_steps=max(1, steps // (config.evaluations + 1)),
        logging_steps=max(1, min(25, steps // 20)),
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        # The bar for a person at a terminal; a log file gets the plain lines of Progress.
        disable_tqdm=not sys.stderr.isatty(),
    )
    dataset = Dataset.from_dict(
        {column: [row[column] for row in rows] for column in ("anchor", "positive", "negative")}
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=MultipleNegativesRankingLoss(model),
        evaluator=evaluator,
        callbacks=[_progress_callback(log, stop_after)],
    )
    checkpoint = _latest_checkpoint(folder / "checkpoints")
    if checkpoint is None:
        log(f"train: base model on validation: {_scores(evaluator(model))}")
    else:
        log(f"train: resuming from {checkpoint}")
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if trainer.state.global_step < trainer.state.max_steps:
        log(f"train: stopped at step {trainer.state.global_step} (checkpoint saved)")
        return None
    log(f"train: trained model on validation: {_scores(evaluator(model))}")
    return save_in_base_layout(model, final_folder(run), torch)


def save_in_base_layout(model: Any, dest: Path, torch: Any) -> Path:
    """The trained weights as model.safetensors beside copies of the base package's files."""
    from safetensors.numpy import load_file
    from safetensors.torch import save_file

    base = installed_source().location
    base_tensors = load_file(str(base / "model.safetensors"))
    state = model[0].auto_model.state_dict()
    # Newer transformers no longer store the position-ids buffer; the converter skips it
    # anyway (UNUSED_TENSORS), so the base's copy keeps the file's tensor list the same.
    missing = set(base_tensors) - set(state) - UNUSED_TENSORS
    if missing:
        raise SystemExit(f"the trained model lacks tensors of the base: {sorted(missing)}")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "1_Pooling").mkdir(parents=True)
    for name in SHARED_FILES:
        shutil.copyfile(base / name, partial / name)
    with torch.no_grad():
        tensors = {
            name: state[name].detach().cpu().contiguous()
            if name in state
            else torch.from_numpy(base_tensors[name])
            for name in sorted(base_tensors)
        }
    save_file(tensors, str(partial / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def measure(records: list[dict], config: TrainConfig, *, steps: int, threads: int) -> float:
    """Seconds per training step of this configuration (forward, backward, optimizer)."""
    torch = import_training(threads)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    rows = training_rows(records, max(config.rows, steps * config.batch_size), config.seed, print)
    model = _base_model(config, torch)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    timings = []
    for step in range(steps + 1):
        batch = rows[step * config.batch_size : (step + 1) * config.batch_size]
        started = time.perf_counter()
        features = [
            _on_device(model.preprocess([row[column] for row in batch]), model.device)
            for column in ("anchor", "positive", "negative")
        ]
        value = loss(features, None)
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step warms caches and allocators up
            timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def _on_device(features: dict, device: Any) -> dict:
    # Tensors to the device; the rest (v6 adds plain keys such as the modality) as they are.
    return {
        key: value.to(device) if hasattr(value, "to") else value for key, value in features.items()
    }


def import_training(threads: int) -> Any:
    """torch, held to `threads` threads, once the `train` extra is known to be installed."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the Rust tokenizer's pool is more threads
    try:
        import sentence_transformers  # noqa: F401  (only: is it there?)
        import torch
    except ImportError as error:
        raise SystemExit(
            f"training needs the `train` extra: pip install -e '.[train]' ({error})"
        ) from None
    torch.set_num_threads(threads)
    return torch


def _base_model(config: TrainConfig, torch: Any) -> Any:
    """The base checkpoint, cut to the training length, with its lower part frozen."""
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(installed_source().location), device=device)
    model.max_seq_length = config.max_seq_length
    bert = model[0].auto_model
    frozen = [bert.embeddings, *bert.encoder.layer[: config.frozen_layers]]
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad = False
    return model


def _evaluator(task: Validation) -> Any:
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    return InformationRetrievalEvaluator(
        queries=task.queries,
        corpus=task.corpus,
        relevant_docs=task.relevant,
        name="val",
        mrr_at_k=[10],
        ndcg_at_k=[10],
        accuracy_at_k=[1, 10],
        precision_recall_at_k=[10],
        map_at_k=[10],
        batch_size=64,
        write_csv=False,
    )


def _scores(metrics: dict[str, float]) -> str:
    wanted = ("mrr@10", "accuracy@1", "accuracy@10", "ndcg@10")
    return ", ".join(
        f"{key.split('cosine_')[-1]} {value:.4f}"
        for key, value in metrics.items()
        if key.endswith(wanted) and "cosine" in key
    )


def _latest_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _check_config(folder: Path, config: TrainConfig) -> None:
    """Write the run's config, or refuse to resume a run made with a different one."""
    path = folder / "config.json"
    wanted = asdict(config)
    if path.is_file():
        existing = json.loads(path.read_text())
        if existing != wanted:
            changed = sorted(k for k in wanted if existing.get(k) != wanted[k])
            raise SystemExit(
                f"{folder} holds a run with other settings ({', '.join(changed)}): "
                "resume it with those settings, or name another --run"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(wanted, indent=1) + "\n")


def _progress_callback(log: Callable[[str], None], stop_after: int | None) -> Any:
    """Plain progress lines with an ETA (a background run's log gets no live bar) and the
    --stop-after switch, which saves and stops as an interruption would."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.started: tuple[float, int] | None = None

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.started is None:  # the first step of this process, resumed or not
                self.started = (time.perf_counter(), state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stop_after is not None and state.global_step >= stop_after:
                control.should_save = True
                control.should_training_stop = True

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs") or {}
            if self.started is None or "loss" not in logs:
                return
            began, first = self.started
            done = state.global_step - first
            per_step = (time.perf_counter() - began) / max(1, done)
            left = (state.max_steps - state.global_step) * per_step
            log(
                f"step {state.global_step}/{state.max_steps} "
                f"({100 * state.global_step / state.max_steps:.1f}%) loss {logs['loss']:.4f} "
                f"lr {logs.get('learning_rate', 0):.2e} {per_step:.2f} s/step "
                f"ETA {_duration(left)}"
            )

    return Progress()


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return (
        f"{minutes // 60}h{minutes % 60:02d}m"
        if minutes >= 60
        else f"{minutes}m{int(seconds) % 60:02d}s"
    )
