"""A model soup: the mean of the weights of runs fine-tuned from the same base, as a run.

Fine-tunes of one base that trade one table for the other (the shipped run is strong on the
mined table, an anchored one on the natural table) can be averaged weight by weight; the
result is written as the new run's final model, so `export` converts and checks it like any
trained run. Measured in bench/results/training_sweep.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.train.fit import write_in_base_layout


def soup(finals: Sequence[Path], dest: Path) -> Path:
    """Write the mean of `finals`' weights (float tensors; the rest from the first) to `dest`."""
    from safetensors.numpy import load_file

    if len(finals) < 2:
        raise SystemExit("soup: name at least two runs (--from RUN --from RUN)")
    if dest.exists():
        raise SystemExit(f"soup: {dest} exists already; name another --run")
    models = [load_file(str(final / "model.safetensors")) for final in finals]
    layers = {json.loads((f / "config.json").read_text())["num_hidden_layers"] for f in finals}
    if len(layers) != 1 or any(set(model) != set(models[0]) for model in models):
        raise SystemExit("soup: the runs differ in shape; only runs of one architecture mix")
    mean = {
        name: np.mean([model[name] for model in models], axis=0, dtype=np.float64).astype(
            array.dtype
        )
        if np.issubdtype(array.dtype, np.floating)
        else array
        for name, array in models[0].items()
    }
    return write_in_base_layout(mean, dest, finals[0], layers.pop())
