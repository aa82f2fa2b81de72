"""Text -> vectors through llama.cpp: the one module that imports llama_cpp.

llama-cpp-python's API moves between releases and its C asserts abort the whole process, so
every call into it lives here, behind an interface that cannot trip them: every sequence is
cut to the model's training length, every batch fits one micro-batch (non-causal models need
that), and sequence ids stay below the context's limit.

Any GGUF embedding model loads. Its family, read from the GGUF metadata, picks a profile
(embedding.py): how queries and documents are worded for it (prefixes, instructions) and its
pooling.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import logging
import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import gguf
import llama_cpp
import numpy as np

from findcode.embedding import profile_for
from findcode.errors import ModelError

logger = logging.getLogger("findcode.llama")

MAX_SEQUENCES = 64  # sequences per batch; below llama.cpp's LLAMA_MAX_SEQ
# Models trained on long contexts (Qwen3: 32k) would make every batch huge; symbols rarely need
# more than this, and the index's documents are cut well before it.
MAX_TOKENS_CAP = 2048
# Text beyond this many characters per token of the limit cannot reach the model anyway; cutting
# it first keeps a 10 MB line from costing a full tokenization.
CHARS_PER_TOKEN_BOUND = 32

QUANTIZE_TYPES = {
    "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
}
# A profile's pooling, for a GGUF that does not name its own.
_POOLING = {"last": llama_cpp.LLAMA_POOLING_TYPE_LAST}
# Symbols per call from the indexer. A query waits for at most one call: ~16 symbols is a few
# tenths of a second on two cores with the default model, while larger calls gain little speed.
DOCUMENTS_PER_CALL = 16
# Contexts that decode a call's batches side by side, one thread each (Embedder's lanes). A
# small model's steps are too small to split well across threads, and the threads of one context
# wait for each other at each of a batch's ~150 steps: on two cores, two one-thread contexts
# embed ~1.15x faster than one two-thread context (bench/cold_bench.py). A lane costs ~9 MB (its
# compute buffer); past this many, lanes share the threads.
MAX_LANES = 8
# ggml's levels: 1 debug, 2 info, 3 warn, 4 error, 5 "continue the previous line".
_LOG_LEVELS = {3: logging.WARNING, 4: logging.ERROR}


# Set on a thread whose batch is being given up (Embedder.interrupt): llama.cpp's complaints
# about the aborted decode that follow on that thread are expected, not errors.
_aborting = threading.local()


@llama_cpp.llama_log_callback
def _route_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    # llama.cpp chats on stderr by default, which would drown the user's terminal and the
    # LSP's log. Everything goes to our logger, at debug unless it is an error or a warning.
    message = text.decode("utf-8", "replace").rstrip()
    if message:
        quiet = getattr(_aborting, "now", False)
        logger.log(logging.DEBUG if quiet else _LOG_LEVELS.get(level, logging.DEBUG), "%s", message)


_backend_lock = threading.Lock()
_backend_ready = False


def _init_backend() -> None:
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            llama_cpp.llama_log_set(_route_log, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True


def usable_cores() -> int:
    """Cores this process may run on: a container or taskset can allow fewer than the machine has,
    and more threads than cores makes llama.cpp's spinning threads wait on each other."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def quantize_gguf(src: Path, dst: Path, quant: str, *, threads: int | None = None) -> None:
    """Quantize a GGUF file with llama.cpp (model.py's build step)."""
    if quant not in QUANTIZE_TYPES:
        choices = ", ".join(QUANTIZE_TYPES)
        raise ModelError(f"unknown quantization {quant!r}: choose one of {choices}")
    _init_backend()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTIZE_TYPES[quant]
    params.nthread = threads or usable_cores()
    status = llama_cpp.llama_model_quantize(
        os.fsencode(src), os.fsencode(dst), ctypes.byref(params)
    )
    if status != 0:
        raise ModelError(f"llama.cpp could not quantize {src} to {quant} (status {status})")


# --------------------------------------------------------------------------- the embedder


def _strip_accents(text: str) -> str:
    # Uncased WordPiece models were trained on text with accents stripped (BERT's normaliser);
    # llama.cpp lowercases but leaves the combining marks, which would turn "café" into [UNK].
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _file_digest(path: Path, size: int) -> str:
    # Whole-file digest for small models; head + tail + size for multi-GB ones, where hashing
    # everything would add seconds to every start for no practical gain in uniqueness.
    sha = hashlib.sha256(str(size).encode())
    chunk = 16 << 20
    with path.open("rb") as handle:
        if size <= 4 * chunk:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        else:
            sha.update(handle.read(chunk))
            handle.seek(size - chunk)
            sha.update(handle.read(chunk))
    return sha.hexdigest()


class _Lane:
    """One llama.cpp context and its batch: a call's batches decode on several lanes at once."""

    def __init__(self, ctx: ctypes.c_void_p, budget: int, threads: int) -> None:
        self.ctx = ctx
        self.memory = llama_cpp.llama_get_memory(ctx)
        self.batch: llama_cpp.llama_batch = llama_cpp.llama_batch_init(budget, 0, 1)
        self.threads = threads

    def use_threads(self, threads: int) -> None:
        if threads != self.threads:
            llama_cpp.llama_set_n_threads(self.ctx, threads, threads)
            self.threads = threads

    def free(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.ctx)


class Embedder:
    """A loaded GGUF embedding model. Thread-safe: each call holds an internal lock."""

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        dims: int | None = None,
        max_tokens: int | None = None,
        batch_tokens: int | None = None,
        lanes: int = MAX_LANES,
    ) -> None:
        """`max_tokens` cuts each text there instead of at the length the GGUF states,
        `batch_tokens` sets the tokens decoded together (at least `max_tokens`), and `lanes` the
        most contexts a call uses (1: every thread on one): the benchmarks of the cut, of the
        batch shape and of the lanes use them (bench/cold_bench.py, bench/quality,
        bench/contention_bench.py)."""
        self.path = Path(model_path)
        self.location = str(self.path)
        self.documents_per_call = DOCUMENTS_PER_CALL
        self._lock = threading.Lock()
        self._model: ctypes.c_void_p | None = None
        self._lanes: list[_Lane] = []
        self._max_lanes = max(1, lanes)
        self._check_file()
        _init_backend()

        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        # No repacked weight layouts (llama.cpp's "extra buffer types"): on Intel CPUs with
        # AMX (Sapphire Rapids and later) decoding a Q8_0 BERT with them crashes the process
        # (seen with llama-cpp-python 0.3.36). F16 on AMX loses about a tenth of its speed.
        params.use_extra_bufts = False
        model = llama_cpp.llama_model_load_from_file(os.fsencode(self.path), params)
        if not model:
            raise ModelError(
                f"llama.cpp cannot load {self.path}: the file is corrupt, truncated, or a model "
                f"architecture this llama.cpp does not know"
            )
        self._model = model
        self._vocab = llama_cpp.llama_model_get_vocab(model)

        architecture = self._meta("general.architecture") or "unknown"
        self.name = self._meta("general.name") or self.path.stem
        self.profile = profile_for(architecture, self.name)
        pooling = self._meta(f"{architecture}.pooling_type")
        if pooling is None and self.profile.pooling is None:
            self.close()
            raise ModelError(
                f"{self.path} is a {architecture!r} model without a pooling type: not an "
                f"embedding model. Point `model` at a GGUF embedding model (e.g. all-MiniLM, "
                f"nomic-embed, Qwen3-Embedding)."
            )
        pooling_type = int(pooling) if pooling is not None else _POOLING[self.profile.pooling or ""]
        if pooling_type not in (
            llama_cpp.LLAMA_POOLING_TYPE_MEAN,
            llama_cpp.LLAMA_POOLING_TYPE_CLS,
            llama_cpp.LLAMA_POOLING_TYPE_LAST,
        ):
            self.close()
            raise ModelError(
                f"{self.path} has pooling type {pooling_type}, which does not produce one vector "
                f"per text: not a sentence-embedding model"
            )

        positions = llama_cpp.llama_model_n_ctx_train(model)
        stated = int(self._meta("findcode.max_tokens") or 0) or positions
        # Never past the position table (a longer sequence would trip llama.cpp's asserts).
        limit = min(positions, MAX_TOKENS_CAP)
        self.max_tokens = max(8, min(max_tokens or stated, limit))
        # Tokens decoded together: one full-length sequence, or many short ones. Attention
        # across a non-causal batch spans all its tokens (masked between sequences), so cost
        # grows with the batch's square; on MiniLM q8_0 with 500 stdlib functions, budgets of
        # 256/512/1024/2048 tokens gave 44/41/37/30 symbols/s.
        self._budget = max(self.max_tokens, batch_tokens or 0)
        self._n_embd = llama_cpp.llama_model_n_embd(model)
        if dims is not None and not 0 < dims <= self._n_embd:
            self.close()
            raise ModelError(f"dims {dims} is not between 1 and {self._n_embd} for {self.path}")
        self.dims = dims or self._n_embd
        self.quantization = _file_type_name(self._meta("general.file_type"))
        size = self.path.stat().st_size
        # A vector depends on the file, the dimensions kept and where the text was cut: the
        # id names the last two when they are not the file's own, so vectors never mix.
        self.model_id = (
            f"{self.name}-{self.quantization}-{_file_digest(self.path, size)[:12]}"
            + (f"-d{self.dims}" if self.dims != self._n_embd else "")
            + (f"-t{self.max_tokens}" if self.max_tokens != max(8, min(stated, limit)) else "")
        )
        self._strip_accents = (
            llama_cpp.llama_vocab_type(self._vocab) == llama_cpp.LLAMA_VOCAB_TYPE_WPM
        )
        self.threads = threads or usable_cores()
        self._pooling_type = pooling_type
        # llama.cpp asks after each step of a batch whether to give it up (`interrupt`). The
        # callback takes the GIL for a moment per step: a few microseconds, ~150 steps a batch.
        # Two lanes' callbacks contend for it: two one-thread contexts embedded ~5% faster
        # without one, which a stop that must not wait for a batch is worth.
        self._interrupted = False
        self._abort = llama_cpp.ggml_abort_callback(self._abort_now)
        self._add_lane()  # the first now, so that a model llama.cpp cannot run fails here
        self._specials = self._tokenize("", special=True)
        self._n_prefix = 1 if llama_cpp.llama_vocab_get_add_bos(self._vocab) else 0

    # -- loading

    def _check_file(self) -> None:
        try:
            with self.path.open("rb") as handle:
                magic = handle.read(4)
        except FileNotFoundError:
            raise ModelError(f"model file {self.path} does not exist") from None
        except OSError as error:
            raise ModelError(f"cannot read model file {self.path}: {error}") from error
        if magic != b"GGUF":
            raise ModelError(f"{self.path} is not a GGUF file (it does not start with 'GGUF')")

    def _add_lane(self) -> _Lane:
        lane = _Lane(self._new_context(), self._budget, self.threads)
        llama_cpp.llama_set_abort_callback(lane.ctx, self._abort, None)
        self._lanes.append(lane)
        return lane

    def _new_context(self) -> ctypes.c_void_p:
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = self._budget
        # One micro-batch per batch: non-causal attention asserts that a sequence is never
        # split across micro-batches.
        params.n_batch = self._budget
        params.n_ubatch = self._budget
        params.n_seq_max = MAX_SEQUENCES
        params.embeddings = True
        params.pooling_type = self._pooling_type
        params.kv_unified = True  # causal models: sequences share the cache, any length mix fits
        params.n_threads = params.n_threads_batch = self.threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        ctx = llama_cpp.llama_init_from_model(self._model, params)
        if not ctx:
            # Flash attention is faster, but not every architecture/backend supports it.
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
            ctx = llama_cpp.llama_init_from_model(self._model, params)
        if not ctx:
            self.close()
            raise ModelError(f"llama.cpp could not create a context for {self.path}")
        return ctx

    def _meta(self, key: str) -> str | None:
        buffer = ctypes.create_string_buffer(256)
        length = llama_cpp.llama_model_meta_val_str(
            self._model, key.encode(), buffer, ctypes.sizeof(buffer)
        )
        if length < 0:
            return None
        if length >= ctypes.sizeof(buffer):
            buffer = ctypes.create_string_buffer(length + 1)
            llama_cpp.llama_model_meta_val_str(self._model, key.encode(), buffer, length + 1)
        return buffer.value.decode("utf-8", "replace")

    def close(self) -> None:
        """Free llama.cpp's memory now rather than whenever the object is collected."""
        with self._lock:
            for lane in self._lanes:
                lane.free()
            self._lanes.clear()
            if self._model:
                llama_cpp.llama_model_free(self._model)
                self._model = None

    def __del__(self) -> None:
        # At interpreter exit llama_cpp may already be torn down; the OS frees memory anyway.
        with contextlib.suppress(Exception):
            self.close()

    def _abort_now(self, _data: ctypes.c_void_p) -> bool:
        if self._interrupted:
            _aborting.now = True  # on the decoding thread, which logs what follows
        return self._interrupted

    def interrupt(self) -> None:
        """Give up the call in progress (ModelError), from another thread. An indexer at idle
        priority on a busy machine may take minutes over a batch; its stop must not wait."""
        if self._lock.locked():  # a call ending meanwhile is harmless: the next one resets it
            self._interrupted = True

    def set_threads(self, threads: int) -> None:
        """Compute threads from the next call on: the indexer adapts them to the machine's
        load (load.py)."""
        with self._lock:
            self.threads = max(1, threads)

    # -- tokens

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        if self._strip_accents:
            text = _strip_accents(text)
        data = text.encode("utf-8", "replace")  # lone surrogates (binary junk) become '?'
        capacity = len(data) + 16
        tokens = (llama_cpp.llama_token * capacity)()
        count = llama_cpp.llama_tokenize(
            self._vocab, data, len(data), tokens, capacity, special, False
        )
        if count < 0:  # cannot happen with one token per byte at most, but never overflow
            capacity = -count
            tokens = (llama_cpp.llama_token * capacity)()
            count = llama_cpp.llama_tokenize(
                self._vocab, data, len(data), tokens, capacity, special, False
            )
        return list(tokens[: max(count, 0)])

    def _token_ids(self, text: str) -> list[int]:
        body = self._tokenize(text[: self.max_tokens * CHARS_PER_TOKEN_BOUND], special=False)
        room = self.max_tokens - len(self._specials)
        ids = self._specials[: self._n_prefix] + body[:room] + self._specials[self._n_prefix :]
        # A model with no special tokens and an empty text: decode one token rather than none.
        return ids or self._tokenize(" ", special=False)[:1] or [0]

    def token_ids(self, text: str) -> list[int]:
        """The ids the model sees for a document text (specials included, truncated)."""
        with self._lock:
            return self._token_ids(self.profile.document_template.format(text=text))

    def query_token_ids(self, text: str) -> list[int]:
        """The ids the model sees for a query: the profile's instruction, then the text."""
        with self._lock:
            return self._token_ids(self.profile.query_template.format(text=text))

    # -- embedding

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        forms = [self.profile.document_template.format(text=t) for t in texts]
        return self._embed(forms)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self.profile.query_template.format(text=text)])[0]

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if not self._lanes:
                raise ModelError(f"the embedder for {self.path} is closed")
            self._interrupted = _aborting.now = False
            out = np.zeros((len(texts), self.dims), dtype=np.float32)
            sequences = [self._token_ids(t) for t in texts]
            lengths = [len(ids) for ids in sequences]
            # One batch (a query) goes to one context with every thread on it.
            count = 1 if sum(lengths) <= self._budget else min(self._max_lanes, self.threads)
            self._decode_on_lanes(_shares(lengths, count), sequences, out)
            return out

    def _decode_on_lanes(
        self, shares: list[list[int]], sequences: list[list[int]], out: np.ndarray
    ) -> None:
        """Each share on a lane of its own, the threads split between them. The caller decodes
        the first share, and a thread it starts each other: threads inherit their creator's OS
        priority (the indexer's is the lowest, a query's normal)."""
        while len(self._lanes) < len(shares):
            self._add_lane()
        lanes = self._lanes[: len(shares)]
        for number, lane in enumerate(lanes):
            lane.use_threads(self.threads // len(lanes) + (number < self.threads % len(lanes)))
        jobs = [
            functools.partial(self._decode_share, lane, share, sequences, out)
            for lane, share in zip(lanes, shares, strict=True)
        ]
        failures: list[Exception] = []
        # Daemons, like the indexer thread that starts them: a server's exit does not wait for
        # a batch at idle priority.
        helpers = [
            threading.Thread(target=_run, args=(job, failures), daemon=True) for job in jobs[1:]
        ]
        for helper in helpers:
            helper.start()
        _run(jobs[0], failures)
        for helper in helpers:
            helper.join()
        if failures:
            raise failures[0]

    def _decode_share(
        self, lane: _Lane, indices: list[int], sequences: list[list[int]], out: np.ndarray
    ) -> None:
        """Decode these sequences on one lane, in batches of similar lengths: fewer wasted
        cross-sequence attention cells per batch."""
        batch: list[int] = []
        used = 0
        for index in sorted(indices, key=lambda i: len(sequences[i])):
            length = len(sequences[index])
            if batch and (used + length > self._budget or len(batch) == MAX_SEQUENCES):
                self._decode(lane, batch, sequences, out)
                batch, used = [], 0
            batch.append(index)
            used += length
        if batch:
            self._decode(lane, batch, sequences, out)

    def _decode(
        self, lane: _Lane, indices: list[int], sequences: list[list[int]], out: np.ndarray
    ) -> None:
        batch = lane.batch
        n = 0
        for seq, index in enumerate(indices):
            for pos, token in enumerate(sequences[index]):
                batch.token[n] = token
                # llama_cpp annotates pos as an array of arrays; it is a flat llama_pos array.
                batch.pos[n] = pos  # type: ignore[call-overload]
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq
                batch.logits[n] = True
                n += 1
        batch.n_tokens = n
        if lane.memory:
            llama_cpp.llama_memory_clear(lane.memory, True)
        status = llama_cpp.llama_decode(lane.ctx, batch)
        if status == 2 and self._interrupted:  # llama.cpp's "aborted"
            raise ModelError(f"embedding with {self.path} was interrupted")
        if status != 0:
            raise ModelError(f"llama.cpp failed to embed a batch with {self.path} ({status=})")
        for seq, index in enumerate(indices):
            pointer = llama_cpp.llama_get_embeddings_seq(lane.ctx, seq)
            vector = np.ctypeslib.as_array(pointer, shape=(self._n_embd,))[: self.dims]
            norm = float(np.linalg.norm(vector))
            out[index] = vector / norm if norm > 0 else vector


def _run(job: Callable[[], None], failures: list[Exception]) -> None:
    """Run a lane's job, keeping its error for the caller to raise once every lane is done."""
    try:
        job()
    except Exception as error:
        failures.append(error)


def _shares(lengths: list[int], count: int) -> list[list[int]]:
    """Indices into `lengths`, split into at most `count` shares of nearly equal total length
    (each longest one to the lightest share), so that lanes finish together."""
    shares: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += lengths[index]
    return [share for share in shares if share] or [[]]


def _file_type_name(value: str | None) -> str:
    try:
        name = gguf.LlamaFileType(int(value or "")).name
    except ValueError:
        return "unknown"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")
