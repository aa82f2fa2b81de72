"""A tiny random-weight Qwen3 embedding model, and references to check llama.cpp against.

The model goes through findcode's own converter (findcode.qwen3_gguf) into a GGUF that
llama.cpp loads as `qwen3`: 2 layers, hidden size 64, 4 query heads sharing 2 key/value heads
of 16 dimensions, a byte-level vocabulary (the 256 bytes, a few merges, Qwen's special tokens).
It says nothing about quality; it lets a test see exactly which tokens reach llama.cpp and how
their hidden states are pooled.

The references are written from the definitions, independently of llama.cpp: a byte-level BPE
for ASCII text with Qwen2's pre-tokenizer split, and a numpy forward pass of Qwen3 (RMS norms,
per-head q/k norms, rotary positions, grouped causal attention, SwiGLU).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import gguf
import numpy as np
from findcode.qwen3_gguf import BpeVocab, Qwen3Config, convert_qwen3
from gguf.scripts.gguf_new_metadata import copy_with_new_metadata

NAME = "tiny-Qwen3-Embedding"
SEED = 3
# Merges in rank order: enough that BPE really merges inside the instruction and the queries
# ("the", "query", "code"), few enough to trace by hand.
MERGES = [
    "Ġ t",
    "h e",
    "Ġt he",
    "r e",
    "q u",
    "e r",
    "qu er",
    "quer y",
    "Ġ query",
    "o d",
    "c od",
    "cod e",
    "Ġ code",
]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CONFIG = Qwen3Config(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=256 + len(MERGES) + len(SPECIALS),
    max_position_embeddings=256,
)
# Qwen2's pre-tokenizer regex (llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN2), with \p{L} and \p{N}
# narrowed to ASCII: exact for the ASCII texts the tests use.
_PRE_SPLIT = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]"
    r"| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's table: every byte as a printable character, so BPE tokens are plain strings."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def vocab() -> BpeVocab:
    """Token id b is byte b; then one token per merge; then the special tokens."""
    table = byte_to_unicode()
    tokens = [table[b] for b in range(256)]
    tokens += [merge.replace(" ", "") for merge in MERGES]
    specials = frozenset(range(len(tokens), len(tokens) + len(SPECIALS)))
    tokens += SPECIALS
    return BpeVocab(tokens, MERGES, specials, end_of_text=tokens.index("<|endoftext|>"))


def weights(config: Qwen3Config = CONFIG, seed: int = SEED) -> dict[str, np.ndarray]:
    """Random weights under Qwen3-Embedding's tensor names (no `model.` prefix, no LM head)."""
    rng = np.random.default_rng(seed)
    hidden, ff, head = config.hidden_size, config.intermediate_size, config.head_dim
    q_rows = config.num_attention_heads * head
    kv_rows = config.num_key_value_heads * head

    def matrix(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    def norm(size: int) -> np.ndarray:
        # Not all ones, so that forgetting a norm's weight shows.
        return (1.0 + 0.2 * rng.standard_normal(size)).astype(np.float32)

    tensors = {"embed_tokens.weight": rng.standard_normal((config.vocab_size, hidden))}
    for i in range(config.num_hidden_layers):
        layer = f"layers.{i}."
        tensors |= {
            layer + "input_layernorm.weight": norm(hidden),
            layer + "self_attn.q_proj.weight": matrix(q_rows, hidden),
            layer + "self_attn.k_proj.weight": matrix(kv_rows, hidden),
            layer + "self_attn.v_proj.weight": matrix(kv_rows, hidden),
            layer + "self_attn.o_proj.weight": matrix(hidden, q_rows),
            layer + "self_attn.q_norm.weight": norm(head),
            layer + "self_attn.k_norm.weight": norm(head),
            layer + "post_attention_layernorm.weight": norm(hidden),
            layer + "mlp.gate_proj.weight": matrix(ff, hidden),
            layer + "mlp.up_proj.weight": matrix(ff, hidden),
            layer + "mlp.down_proj.weight": matrix(hidden, ff),
        }
    tensors["norm.weight"] = norm(hidden)
    return {name: array.astype(np.float32) for name, array in tensors.items()}


def write_tiny_qwen3(path: Path) -> Path:
    convert_qwen3(path, name=NAME, config=CONFIG, tensors=weights(), vocab=vocab())
    return path


def copy_without(source: Path, dest: Path, key: str) -> Path:
    """A copy of a GGUF without one metadata key, as another converter might have written it."""
    reader = gguf.GGUFReader(source)
    architecture = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(dest, architecture)
    copy_with_new_metadata(reader, writer, {}, [key])
    return dest


# --------------------------------------------------------------------------- references


def reference_token_ids(text: str) -> list[int]:
    """Byte-level BPE of an ASCII text, without the appended end-of-text token."""
    assert text.isascii(), "the reference pre-tokenizer covers ASCII only"
    ids = {token: i for i, token in enumerate(vocab().tokens)}
    ranks = {tuple(merge.split(" ")): rank for rank, merge in enumerate(MERGES)}
    table = byte_to_unicode()
    out: list[int] = []
    for piece in _PRE_SPLIT.findall(text):
        parts = [table[b] for b in piece.encode()]
        # Merge the best-ranked adjacent pair, leftmost first, until no pair has a rank.
        while len(parts) > 1:
            pairs = itertools.pairwise(parts)
            rank, i = min((ranks.get(pair, len(ranks)), i) for i, pair in enumerate(pairs))
            if rank == len(ranks):
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        out += [ids[part] for part in parts]
    return out


def _rms(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def _rope(x: np.ndarray, theta: float) -> np.ndarray:
    """Rotary positions, NEOX layout (the halves of each head rotate together), on (n, heads, d)."""
    n, _, d = x.shape
    inverse = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.arange(n, dtype=np.float64)[:, None] * inverse[None, :]
    cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :]
    half = d // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def hidden_states(ids: list[int], config: Qwen3Config = CONFIG) -> np.ndarray:
    """The final-norm hidden state of every token: (len(ids), hidden_size), float64."""
    w = {name: array.astype(np.float64) for name, array in weights(config).items()}
    eps, heads, groups = config.rms_norm_eps, config.num_attention_heads, config.num_key_value_heads
    n, d = len(ids), config.head_dim
    x = w["embed_tokens.weight"][ids]
    causal = np.triu(np.full((n, n), -np.inf), k=1)
    for i in range(config.num_hidden_layers):
        layer = f"layers.{i}."
        h = _rms(x, w[layer + "input_layernorm.weight"], eps)
        q = (h @ w[layer + "self_attn.q_proj.weight"].T).reshape(n, heads, d)
        k = (h @ w[layer + "self_attn.k_proj.weight"].T).reshape(n, groups, d)
        v = (h @ w[layer + "self_attn.v_proj.weight"].T).reshape(n, groups, d)
        q = _rope(_rms(q, w[layer + "self_attn.q_norm.weight"], eps), config.rope_theta)
        k = _rope(_rms(k, w[layer + "self_attn.k_norm.weight"], eps), config.rope_theta)
        k, v = np.repeat(k, heads // groups, axis=1), np.repeat(v, heads // groups, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(d) + causal
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attended = np.einsum("hqk,khd->qhd", scores, v).reshape(n, heads * d)
        x = x + attended @ w[layer + "self_attn.o_proj.weight"].T
        h = _rms(x, w[layer + "post_attention_layernorm.weight"], eps)
        gate = h @ w[layer + "mlp.gate_proj.weight"].T
        up = h @ w[layer + "mlp.up_proj.weight"].T
        x = x + (gate / (1.0 + np.exp(-gate)) * up) @ w[layer + "mlp.down_proj.weight"].T
    return _rms(x, w["norm.weight"], eps)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)
