"""The training loop itself: the base model, the loss, the trainer, checkpoints, the result.

This module needs only PyTorch and sentence-transformers (and the standard library), never
findcode: everything findcode-specific (mining, hard negatives, query forms) is done before, in
train.py and data.py, and handed over as plain rows and a Validation task. That split lets the
same loop run on a machine that has an accelerator but no findcode install (bundle.py).

The loss is MultipleNegativesRankingLoss: each query must score its own function above every
other function in the batch and above every batch row's bm25 hard negative (negatives.py), so
a batch of B rows gives each query 2B-1 wrong answers at the cost of B. Batches never hold the
same text twice (a duplicate would be a "wrong" answer that is right). With `anchor_weight`
the loss also holds the embeddings near the base model's, and with `teacher_weight` it also
learns a larger model's ranking of the same batch (ranking_loss).

Everything that shapes a run is written to <run>/config.json; a second start with the same
settings resumes from the newest checkpoint (the trainer restores weights, optimizer,
scheduler, the data order and the random state), a start with other settings refuses.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


# A training row's texts, in the order the ranking loss reads them: query, its code, a wrong code.
ROW_COLUMNS = ("anchor", "positive", "negative")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that shapes a run (its checkpoints are only valid for the same values)."""

    rows: int = 14_400  # 450 steps of 32: about 2 h at the 15 s a step measured here
    batch_size: int = 32
    max_seq_length: int = 128
    frozen_layers: int = 2  # the embeddings and this many lower encoder layers
    layers: int = 6  # encoder layers kept, the lower ones: a shallower model embeds faster
    anchor_weight: float = 0.0  # how strongly embeddings are held near the base's (0: not)
    start: str = ""  # a run whose final model training continues ("": the base package)
    teacher: str = ""  # a larger sentence-transformers model's folder, for teacher_weight
    teacher_weight: float = 0.0  # how strongly the teacher's in-batch ranking is learned
    rest_share: float = 0.0  # rows whose documents keep the rest of their doc (data.py)
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    epochs: int = 1
    seed: int = 0
    val_queries: int = 300
    val_corpus: int = 1000
    evaluations: int = 1  # on the validation task during the run (besides before and after)
    checkpoints: int = 12  # saves over the run; a kill loses at most 1/12 of it


@dataclass(frozen=True, slots=True)
class Validation:
    """A retrieval task over held-out functions: every query has one right document."""

    queries: dict[str, str]
    corpus: dict[str, str]
    relevant: dict[str, set[str]]


def fit(
    rows: Sequence[dict],
    task: Validation,
    config: TrainConfig,
    *,
    base: Path,
    folder: Path,
    final: Path,
    threads: int,
    stop_after: int | None = None,
    deadline: float | None = None,
    teacher: Any = None,
    log: Callable[[str], None] = print,
) -> Path | None:
    """Train (or resume) in `folder` from the base model in `base`; the final model's folder
    (written in the base's layout), or None when stopped early by `stop_after`.

    `deadline` (a time.monotonic() value) is for a lent machine that will be taken back: at
    that time training ends where it is and the model so far is the result. `teacher`: the
    teacher's unit vectors of every row's columns (teacher.py), where config.teacher_weight
    is set.
    """
    if bool(config.teacher_weight) != (teacher is not None):
        raise ValueError("teacher vectors are needed exactly when teacher_weight is set")
    _check_config(folder, config)
    if (final / "model.safetensors").is_file():
        log(f"train: trained already: {final}")
        return final
    torch = import_training(threads)
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers

    log(f"train: validation {len(task.queries)} queries over {len(task.corpus)} functions")
    model = base_model(config, base, torch)
    steps = config.epochs * (len(rows) // config.batch_size)
    evaluator = _evaluator(task)
    accelerated = torch.cuda.is_available()
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
        use_cpu=not accelerated,
        # Mixed precision where the hardware has it; the weights stay float32.
        bf16=accelerated and torch.cuda.is_bf16_supported(),
        dataloader_num_workers=0,
        # The bar for a person at a terminal; a log file gets the plain lines of Progress.
        disable_tqdm=not sys.stderr.isatty(),
    )
    columns: dict[str, list] = {column: [row[column] for row in rows] for column in ROW_COLUMNS}
    if teacher is not None:
        # The row's number, which the loss looks the teacher's vectors up by. The trainer hands
        # a "label" column to the loss untokenized, and batching ignores it.
        columns["label"] = list(range(len(rows)))
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(columns),
        loss=ranking_loss(model, config, base, torch, teacher),
        evaluator=evaluator,
        callbacks=[_progress_callback(log, stop_after, deadline)],
    )
    checkpoint = _latest_checkpoint(folder / "checkpoints")
    if checkpoint is None:
        log(f"train: base model on validation: {_scores(evaluator(model))}")
    else:
        log(f"train: resuming from {checkpoint}")
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if trainer.state.global_step < trainer.state.max_steps:
        if deadline is None or time.monotonic() < deadline:
            log(f"train: stopped at step {trainer.state.global_step} (checkpoint saved)")
            return None
        state = trainer.state
        log(f"train: deadline reached at step {state.global_step}/{state.max_steps}")
    log(f"train: trained model on validation: {_scores(evaluator(model))}")
    return save_in_base_layout(model, final, base, torch)


def save_in_base_layout(model: Any, dest: Path, base: Path, torch: Any) -> Path:
    """The trained weights as float32 model.safetensors beside copies of the base's files.

    Newer transformers no longer store the position-ids buffer; the base's copy of any tensor
    the model does not hold keeps the file's tensor list the same (the converter skips it).
    """
    from safetensors.numpy import load_file

    base_tensors = load_file(str(base / "model.safetensors"))
    bert = model[0].auto_model
    state = bert.state_dict()
    layers = bert.config.num_hidden_layers
    with torch.no_grad():
        tensors = {
            name: state[name].detach().float().cpu().contiguous().numpy()
            if name in state
            else base_tensors[name]
            for name in sorted(base_tensors)
            if name in state or layer_of(name) < layers
        }
    return write_in_base_layout(tensors, dest, base, layers)


def write_in_base_layout(tensors: dict[str, Any], dest: Path, base: Path, layers: int) -> Path:
    """`tensors` (numpy arrays) as `dest`'s model.safetensors, beside copies of the files of
    `base` (a model folder of the same architecture) saying `layers` layers. Written beside
    `dest` and renamed into place, so an interrupted write never looks like a model."""
    from safetensors.numpy import save_file

    partial = dest.with_name(dest.name + ".partial")
    copy_base_files(base, partial, layers)
    save_file(tensors, str(partial / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def ranking_loss(
    model: Any, config: TrainConfig, base: Path, torch: Any, teacher: Any = None
) -> Any:
    """MultipleNegativesRankingLoss, plus two optional terms, each times its weight:

    - config.anchor_weight: the embeddings' drift from the base model's (1 - cosine, every
      column). Training on docs against code teaches code, and costs what the base already did
      well: questions that paraphrase, code that keeps its docs (bench/quality's natural
      table). The anchor lets the model move only where moving pays for the ranking.
    - config.teacher_weight: KL(teacher's in-batch ranking || the model's): each query's
      softmax over the batch's documents, both at the ranking loss's scale, the teacher's from
      its vectors of the batch's rows (`teacher`, indexed by the rows' numbers, which arrive as
      the labels). A model five times the size reads developers' questions better
      (bench/results/training_sweep.md); this passes on how it ranks, not just what is first.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.losses.merged_forward import embed_columns
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if not config.anchor_weight and not config.teacher_weight:
        return MultipleNegativesRankingLoss(model)
    anchor = None
    if config.anchor_weight:
        anchor = SentenceTransformer(str(base), device=model.device)
        anchor.to(torch.float32)  # as the model: a bundle's base is float16
        anchor.max_seq_length = config.max_seq_length
        anchor.eval()
        for parameter in anchor.parameters():
            parameter.requires_grad = False
    targets = None if teacher is None else torch.from_numpy(teacher)
    functional = torch.nn.functional

    class GuidedRankingLoss(MultipleNegativesRankingLoss):
        def forward(self, sentence_features: Any, labels: Any) -> Any:
            features = list(sentence_features)
            embeddings = embed_columns(self.model, features)
            loss = self.compute_loss_from_embeddings(embeddings, labels)
            if anchor is not None:
                with torch.no_grad():
                    fixed = embed_columns(anchor, features)
                drift = sum(
                    (1 - functional.cosine_similarity(ours, theirs.to(ours.dtype))).mean()
                    for ours, theirs in zip(embeddings, fixed, strict=True)
                ) / len(features)
                loss = loss + config.anchor_weight * drift
            if targets is not None:
                wanted = targets[labels.cpu()].to(embeddings[0].device, embeddings[0].dtype)
                ours = self.scale * in_batch_scores(embeddings, torch)
                theirs = self.scale * in_batch_scores(wanted.unbind(1), torch)
                kl = functional.kl_div(
                    functional.log_softmax(ours, dim=1),
                    functional.log_softmax(theirs, dim=1),
                    log_target=True,
                    reduction="batchmean",
                )
                loss = loss + config.teacher_weight * kl
            return loss

    return GuidedRankingLoss(model)


def in_batch_scores(columns: Sequence[Any], torch: Any) -> Any:
    """Cosines of each query (the first column) with every document of the batch (the other
    columns, one after the other): the matrix the ranking loss ranks."""
    queries = torch.nn.functional.normalize(columns[0], dim=-1)
    documents = torch.nn.functional.normalize(torch.cat(list(columns[1:])), dim=-1)
    return queries @ documents.T


def copy_base_files(base: Path, dest: Path, layers: int | None = None) -> None:
    """A fresh `dest` holding the base's files other than its weights (SHARED_FILES), its
    config saying `layers` encoder layers (what the converter reads; None: the base's own)."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "1_Pooling").mkdir(parents=True)
    for name in SHARED_FILES:
        shutil.copyfile(base / name, dest / name)
    config = json.loads((base / "config.json").read_text())
    if layers is not None and config["num_hidden_layers"] != layers:
        config["num_hidden_layers"] = layers
        (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def layer_of(tensor: str) -> int:
    """The encoder layer a tensor belongs to ("encoder.layer.3.output.dense.weight": 3), -1
    for the rest (embeddings, pooler)."""
    parts = tensor.split(".")
    return int(parts[2]) if parts[:2] == ["encoder", "layer"] else -1


def base_model(config: TrainConfig, base: Path, torch: Any) -> Any:
    """The base checkpoint in float32, cut to the training length and to `config.layers`
    layers, its lower part frozen."""
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(base), device=device)
    # A bundle carries the base in float16 (bundle.py); training updates float32 weights.
    model.to(torch.float32)
    model.max_seq_length = config.max_seq_length
    bert = model[0].auto_model
    if not 1 <= config.layers <= len(bert.encoder.layer):
        raise ValueError(f"layers: {config.layers}, the base has 1 to {len(bert.encoder.layer)}")
    if config.layers < len(bert.encoder.layer):
        bert.encoder.layer = bert.encoder.layer[: config.layers]
        bert.config.num_hidden_layers = config.layers
    frozen = [bert.embeddings, *bert.encoder.layer[: config.frozen_layers]]
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad = False
    return model


def import_training(threads: int) -> Any:
    """torch, held to `threads` threads, once the `train` extra is known to be installed."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    # Two shared cores: the Rust tokenizer's own pool would only be more threads.
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 2 else "false"
    try:
        import sentence_transformers  # noqa: F401  (only: is it there?)
        import torch
    except ImportError as error:
        raise SystemExit(
            f"training needs the `train` extra: pip install -e '.[train]' ({error})"
        ) from None
    torch.set_num_threads(threads)
    return torch


def on_device(features: dict, device: Any) -> dict:
    # Tensors to the device; the rest (v6 adds plain keys such as the modality) as they are.
    return {
        key: value.to(device) if hasattr(value, "to") else value for key, value in features.items()
    }


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


def _progress_callback(
    log: Callable[[str], None], stop_after: int | None, deadline: float | None
) -> Any:
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
            if deadline is not None and time.monotonic() >= deadline:
                control.should_training_stop = True
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
