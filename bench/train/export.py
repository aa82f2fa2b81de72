"""Turn a trained run into the GGUF findcode runs, and check it against the PyTorch model.

The trained model is in the base package's layout, so findcode's own converter
(findcode.model.convert_to_gguf) reads it unchanged; only the pinned digests, which name the
base model's files, do not apply to new weights, so the source used here reads the folder
without them. The F32 GGUF is converted to F16 with llama.cpp (the shipped precision: on these
CPUs its matrix products are faster than Q8_0's, README "The embedding model"), and then both
sides embed the same texts: llama.cpp through findcode's Embedder, and sentence-transformers on
PyTorch. Every cosine must reach MIN_COSINE (the base model's F16 reaches 0.99999, its Q8_0
0.998, README "The embedding model").
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from findcode.embedder import Embedder, quantize_gguf
from findcode.model import MODEL_NAME, SOURCE_DISTRIBUTION, ModelSource, convert_to_gguf

from bench.train.fit import import_training
from bench.train.train import final_folder, run_folder

MIN_COSINE = 0.999
TRAINED_NAME = "findcode-minilm-code"
QUANT = "f16"
GGUF_NAME = f"{TRAINED_NAME}.{QUANT.upper()}.gguf"
# Fixed texts in both forms findcode embeds, plus the awkward ones (accents, CJK, symbols).
CHECK_TEXTS = (
    "parse command line options",
    "retry an http request with exponential backoff",
    "read a file line by line and strip comments",
    "function parse args\ndef parse_args(argv):\n    return parser.parse_args(argv)",
    "method cache get\nfunc (c *Cache) Get(key string) (any, bool) {\n\treturn c.m[key]\n}",
    "Ünïcödé façade — 日本語のテキスト 🚀 {}[]<>",
)


class TrainedSource(ModelSource):
    """A model folder in the base layout whose weights are new: read without the pins."""

    def read(self, name: str) -> bytes:
        return (self.location / name).read_bytes()


def export(
    run: str,
    records: Sequence[dict],
    *,
    threads: int,
    log: Callable[[str], None] = print,
) -> Path:
    """Convert, quantize and check the run's final model; the GGUF file's path."""
    final = final_folder(run)
    if not (final / "model.safetensors").is_file():
        raise SystemExit(f"{final} holds no trained model: train the run first")
    dest = run_folder(run) / "export" / GGUF_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as work:
        f32 = Path(work) / "f32.gguf"
        quantized = Path(work) / "out.gguf"
        convert_to_gguf(
            TrainedSource(final),
            f32,
            name=TRAINED_NAME,
            origin=f"findcode bench/train run {run!r}, fine-tuned from {MODEL_NAME} "
            f"({SOURCE_DISTRIBUTION})",
        )
        quantize_gguf(f32, quantized, QUANT, threads=threads)
        os.replace(quantized, dest)
    texts = list(CHECK_TEXTS) + _held_out_texts(records)
    cosines = _cosines(final, dest, texts, threads)
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    report = {
        "gguf": str(dest),
        "sha256": digest,
        "size_bytes": dest.stat().st_size,
        "texts": len(texts),
        "min_cosine": float(cosines.min()),
        "mean_cosine": float(cosines.mean()),
    }
    (dest.parent / "check.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"export: {json.dumps(report)}")
    if cosines.min() < MIN_COSINE:
        worst = texts[int(cosines.argmin())]
        raise SystemExit(f"export: cosine {cosines.min():.5f} < {MIN_COSINE} on {worst[:60]!r}")
    return dest


def _held_out_texts(records: Sequence[dict], count: int = 8) -> list[str]:
    """Queries and documents of a few validation functions: the texts the model is for."""
    held_out = [r for r in records if r["split"] == "val"]
    chosen = random.Random(0).sample(held_out, min(count, len(held_out)))
    return [text for r in chosen for text in (r["queries"]["doc"], r["document"])]


def _cosines(final: Path, gguf: Path, texts: list[str], threads: int) -> np.ndarray:
    import_training(threads)
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(final), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True
    )
    embedder = Embedder(gguf, threads=threads)
    try:
        ours = embedder.embed_documents(texts)
    finally:
        embedder.close()
    return np.sum(reference * ours, axis=1)
