"""A GGUF's weights back in the base package's layout, so training can continue from a model
that exists only as a GGUF: the shipped one (TrainConfig.start names the run this writes).

The inverse of findcode's converter: the same BERT name map read the other way, each tensor
widened to float32 and shaped as the base's. Tensors the converter leaves out (position ids,
pooler) come from the base unchanged, as they do in every trained model (fit.py).
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from findcode.model import UNUSED_TENSORS
from safetensors.numpy import load_file

from bench.train.fit import layer_of, write_in_base_layout


def weights_from_gguf(model: Path, base: Path, dest: Path) -> Path:
    """`model`'s weights as float32 model.safetensors beside copies of `base`'s other files."""
    reader = gguf.GGUFReader(model)
    layers = int(reader.fields["bert.block_count"].contents())
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, layers)
    stored = {tensor.name: tensor for tensor in reader.tensors}
    out: dict[str, np.ndarray] = {}
    for name, array in load_file(str(base / "model.safetensors")).items():
        if layer_of(name) >= layers:
            continue
        if name in UNUSED_TENSORS:
            out[name] = array
            continue
        tensor = stored.pop(names.get_name(name, try_suffixes=(".weight", ".bias")) or name, None)
        if tensor is None:
            raise SystemExit(f"{model} holds no tensor for {name}: not a model of this base")
        out[name] = np.asarray(tensor.data, dtype=np.float32).reshape(array.shape)
    if stored:
        raise SystemExit(f"{model} holds tensors the base lacks: {', '.join(sorted(stored))}")
    return write_in_base_layout(out, dest, base, layers)
