"""Writing a Qwen3 embedding model as GGUF, in the layout llama.cpp's `qwen3` loader reads.

findcode's BERT converter (model.py) reads one pinned checkpoint; this one takes what any Qwen3
checkpoint holds (its config, its tensors under Hugging Face names, its byte-level BPE
tokenizer) and writes what llama.cpp needs to embed with it the way Qwen3-Embedding was
trained: last-token pooling, and an end-of-text token appended to every text, which is the
token pooled. Checking every tensor's name and shape here turns a wrong checkpoint into a
clear error instead of a load failure inside llama.cpp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from findcode.errors import ModelError

ARCH = gguf.MODEL_ARCH.QWEN3
# llama.cpp's name for Qwen2/Qwen3's pre-tokenizer regex (its llama-vocab.cpp).
PRE_TOKENIZER = "qwen2"


@dataclass(frozen=True)
class Qwen3Config:
    """The hyperparameters the loader needs, named as in a checkpoint's config.json."""

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int  # not always hidden_size / heads: Qwen3-Embedding-0.6B has 1024 / 16 and 128
    vocab_size: int
    max_position_embeddings: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1_000_000.0


@dataclass(frozen=True)
class BpeVocab:
    """A byte-level BPE tokenizer in GPT-2's convention, as Qwen's tokenizer.json holds it."""

    tokens: Sequence[str]  # token id -> text, bytes spelled through GPT-2's byte-to-unicode table
    merges: Sequence[str]  # "left right", most frequent first
    specials: frozenset[int]  # control tokens (<|endoftext|>, <|im_start|>, ...): never from text
    end_of_text: int  # appended to every text; its hidden state is the embedding


def expected_shapes(config: Qwen3Config) -> dict[str, tuple[int, ...]]:
    """GGUF tensor name -> numpy shape (rows = outputs, as in the checkpoint), for every tensor
    the loader requires. The output head is left out: an embedding model may not have one."""
    hidden, ff, head = config.hidden_size, config.intermediate_size, config.head_dim
    q_rows = config.num_attention_heads * head
    kv_rows = config.num_key_value_heads * head
    names = gguf.TENSOR_NAMES
    tensor = gguf.MODEL_TENSOR
    shapes: dict[str, tuple[int, ...]] = {
        names[tensor.TOKEN_EMBD] + ".weight": (config.vocab_size, hidden),
        names[tensor.OUTPUT_NORM] + ".weight": (hidden,),
    }
    per_layer = {
        tensor.ATTN_NORM: (hidden,),
        tensor.ATTN_Q: (q_rows, hidden),
        tensor.ATTN_K: (kv_rows, hidden),
        tensor.ATTN_V: (kv_rows, hidden),
        tensor.ATTN_OUT: (hidden, q_rows),
        tensor.ATTN_Q_NORM: (head,),
        tensor.ATTN_K_NORM: (head,),
        tensor.FFN_NORM: (hidden,),
        tensor.FFN_GATE: (ff, hidden),
        tensor.FFN_UP: (ff, hidden),
        tensor.FFN_DOWN: (hidden, ff),
    }
    for block in range(config.num_hidden_layers):
        for kind, shape in per_layer.items():
            shapes[names[kind].format(bid=block) + ".weight"] = shape
    return shapes


def _gguf_tensors(config: Qwen3Config, tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Checkpoint tensors renamed for GGUF, as float32, each checked against its shape."""
    names = gguf.get_tensor_name_map(ARCH, config.num_hidden_layers)
    shapes = expected_shapes(config)
    output = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.OUTPUT] + ".weight"
    renamed: dict[str, np.ndarray] = {}
    for name, array in tensors.items():
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None or gguf_name not in (*shapes, output):
            layers = config.num_hidden_layers
            raise ModelError(f"tensor {name!r} is not part of a {layers}-layer Qwen3 model")
        want = shapes.get(gguf_name, (config.vocab_size, config.hidden_size))
        if tuple(array.shape) != want:
            raise ModelError(f"tensor {name!r} has shape {tuple(array.shape)}, expected {want}")
        renamed[gguf_name] = np.ascontiguousarray(array, dtype=np.float32)
    missing = [name for name in shapes if name not in renamed]
    if missing:
        raise ModelError(f"the checkpoint lacks {len(missing)} Qwen3 tensors: {missing[:3]}")
    return renamed


def _check_vocab(config: Qwen3Config, vocab: BpeVocab) -> None:
    if len(vocab.tokens) != config.vocab_size:
        raise ModelError(
            f"the tokenizer has {len(vocab.tokens)} tokens, the config {config.vocab_size}"
        )
    if not 0 <= vocab.end_of_text < len(vocab.tokens) or vocab.end_of_text not in vocab.specials:
        raise ModelError(f"end-of-text token {vocab.end_of_text} is not a special token")
    known = set(vocab.tokens)
    for merge in vocab.merges:
        left, _, right = merge.partition(" ")
        if left + right not in known:
            raise ModelError(f"merge {merge!r} makes {left + right!r}, which is not a token")


def convert_qwen3(
    dest: Path,
    *,
    name: str,
    config: Qwen3Config,
    tensors: Mapping[str, np.ndarray],
    vocab: BpeVocab,
) -> None:
    """Write an F32 GGUF of a Qwen3 embedding model (quantize it with embedder.quantize_gguf).

    `name` is what findcode shows and what picks the profile: keep "Embedding" in it.
    """
    weights = _gguf_tensors(config, tensors)
    _check_vocab(config, vocab)

    writer = gguf.GGUFWriter(dest, gguf.MODEL_ARCH_NAMES[ARCH])
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_rope_freq_base(config.rope_theta)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_pooling_type(gguf.PoolingType.LAST)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(PRE_TOKENIZER)
    writer.add_token_list(list(vocab.tokens))
    writer.add_token_types(
        [
            gguf.TokenType.CONTROL if token_id in vocab.specials else gguf.TokenType.NORMAL
            for token_id in range(len(vocab.tokens))
        ]
    )
    writer.add_token_merges(list(vocab.merges))
    # Qwen has no start token; llama.cpp reads one anyway, so name end-of-text as Qwen's GGUFs
    # do and never add it. The end token is added: the last token is the one pooled.
    writer.add_bos_token_id(vocab.end_of_text)
    writer.add_eos_token_id(vocab.end_of_text)
    writer.add_pad_token_id(vocab.end_of_text)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(True)

    for tensor_name, array in weights.items():
        writer.add_tensor(tensor_name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
