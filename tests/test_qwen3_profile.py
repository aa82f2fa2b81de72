"""The Qwen3-Embedding path for real: a tiny random-weight `qwen3` GGUF written by findcode's
converter, loaded by the real Embedder (llama.cpp), checked token by token and vector by vector
against references written from the definitions (tests/qwen3_support.py).

Not quality: that the profile's instruction reaches llama.cpp as exactly its tokens, that the
end-of-text token is appended, and that the vector is the last token's hidden state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest
from findcode.embedder import Embedder
from findcode.embedding import QWEN3_EMBEDDING, QWEN3_TASK
from findcode.errors import ModelError
from findcode.model import model_info
from findcode.qwen3_gguf import convert_qwen3
from qwen3_support import (
    CONFIG,
    NAME,
    copy_without,
    hidden_states,
    reference_token_ids,
    unit,
    vocab,
    weights,
    write_tiny_qwen3,
)

END = vocab().end_of_text
INSTRUCTION = "Instruct: " + QWEN3_TASK + "\nQuery:"
TEXTS = [
    "retry the query with backoff",
    "def code(x):\n    return x + 1",
    "a",
    "class Session:\n    def close(self) -> None:\n        self.pool.clear()",
]
# llama.cpp keeps the attention cache in f16; the reference runs in float64.
ATOL = 2e-3


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_qwen3(tmp_path_factory.mktemp("qwen3") / "tiny-qwen3.gguf")


@pytest.fixture(scope="module")
def tiny(tiny_path: Path) -> Embedder:
    return Embedder(tiny_path)


def test_it_loads_as_a_qwen3_embedding_model(tiny: Embedder) -> None:
    assert tiny.name == NAME
    assert tiny.profile is QWEN3_EMBEDDING
    assert tiny.dims == CONFIG.hidden_size == 64
    assert tiny.embed_documents(TEXTS).shape == (len(TEXTS), 64)
    assert tiny.embed_query("parse a date").shape == (64,)


def test_info_names_architecture_family_and_pooling(tiny_path: Path) -> None:
    info = model_info(tiny_path)
    assert info["architecture"] == "qwen3"
    assert info["family"] == "qwen3-embedding"
    assert info["pooling"] == "last"
    assert info["embedding_model"] is True
    assert info["dimensions"] == 64
    assert info["quantization"] == "f32"


def test_cli_model_info_names_the_family(tiny_path: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "findcode", "model", "info", str(tiny_path), *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ),
        )

    text = run()
    assert text.returncode == 0, text.stderr
    assert "family:" in text.stdout and "qwen3-embedding" in text.stdout
    assert json.loads(run("--json").stdout)["family"] == "qwen3-embedding"


def test_documents_reach_llama_cpp_plain_with_end_of_text_appended(tiny: Embedder) -> None:
    for text in TEXTS:
        assert tiny.token_ids(text) == [*reference_token_ids(text), END], text
    # BPE really merged: "re", " the", " query" are one token each.
    assert len(tiny.token_ids(TEXTS[0])) < len(TEXTS[0].encode()) + 1


def test_queries_reach_llama_cpp_as_the_instruction_then_the_text(tiny: Embedder) -> None:
    for text in TEXTS:
        ids = tiny.query_token_ids(text)
        assert ids == [*reference_token_ids(INSTRUCTION + text), END], text
    # The instruction's own tokens come first, untouched, with no start token before them.
    ids = tiny.query_token_ids("retry the query with backoff")
    instruction_line = reference_token_ids("Instruct: " + QWEN3_TASK + "\n")
    assert ids[: len(instruction_line)] == instruction_line
    assert ids[0] == ord("I")
    assert ids.count(END) == 1


def test_a_cut_text_still_ends_with_the_pooled_token(tiny: Embedder) -> None:
    # Cutting at the training length must drop text, never the end-of-text token pooled.
    long = "retry the query " * 200
    for ids in (tiny.token_ids(long), tiny.query_token_ids(long)):
        assert len(ids) == tiny.max_tokens == CONFIG.max_position_embeddings
        assert ids[-1] == END and ids.count(END) == 1
    query = tiny.query_token_ids(long)
    assert query[:-1] == reference_token_ids(INSTRUCTION + long)[: tiny.max_tokens - 1]
    vector = tiny.embed_query(long)
    np.testing.assert_allclose(vector, unit(hidden_states(query)[-1]), atol=ATOL)


def test_the_vector_is_the_last_tokens_hidden_state(tiny: Embedder) -> None:
    vectors = tiny.embed_documents(TEXTS)  # one batch: causal sequences side by side
    for text, vector in zip(TEXTS, vectors, strict=True):
        states = hidden_states(tiny.token_ids(text))
        np.testing.assert_allclose(vector, unit(states[-1]), atol=ATOL, err_msg=text)
        if len(states) > 2:
            # Not mean pooling, not the first token, not the text's own last token.
            for other in (states.mean(axis=0), states[0], states[-2]):
                assert float(vector @ unit(other)) < 0.95, text


def test_the_query_vector_is_the_instruction_forms_last_token(tiny: Embedder) -> None:
    text = "retry the query with backoff"
    query = tiny.embed_query(text)
    expected = unit(hidden_states(tiny.query_token_ids(text))[-1])
    np.testing.assert_allclose(query, expected, atol=ATOL)
    assert float(query @ tiny.embed_documents([text])[0]) < 0.95


def test_matryoshka_dims_truncate_and_renormalise(tiny_path: Path, tiny: Embedder) -> None:
    small = Embedder(tiny_path, dims=16)
    try:
        vectors = small.embed_documents(TEXTS)
        assert vectors.shape == (len(TEXTS), 16)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        full = tiny.embed_documents(TEXTS)[:, :16]
        np.testing.assert_allclose(vectors, full / np.linalg.norm(full, axis=1)[:, None], atol=1e-5)
        last = hidden_states(small.token_ids(TEXTS[0]))[-1]
        np.testing.assert_allclose(vectors[0], unit(last[:16]), atol=ATOL)
        assert small.model_id != tiny.model_id
    finally:
        small.close()


def test_without_pooling_metadata_the_profile_still_pools_the_last_token(
    tiny_path: Path, tiny: Embedder, tmp_path: Path
) -> None:
    bare = copy_without(tiny_path, tmp_path / "bare.gguf", "qwen3.pooling_type")
    assert gguf.GGUFReader(bare).get_field("qwen3.pooling_type") is None
    info = model_info(bare)
    assert info["family"] == "qwen3-embedding"
    assert info["pooling"] == "last" and info["embedding_model"] is True
    embedder = Embedder(bare)
    try:
        np.testing.assert_allclose(
            embedder.embed_documents(TEXTS), tiny.embed_documents(TEXTS), atol=1e-6
        )
    finally:
        embedder.close()


# --------------------------------------------------------------------------- bad checkpoints


def test_a_missing_tensor_is_named(tmp_path: Path) -> None:
    tensors = weights()
    del tensors["layers.1.self_attn.k_norm.weight"]
    dest = tmp_path / "out.gguf"
    with pytest.raises(ModelError, match=r"blk\.1\.attn_k_norm"):
        convert_qwen3(dest, name=NAME, config=CONFIG, tensors=tensors, vocab=vocab())
    assert not dest.exists()


def test_a_wrong_shape_is_named(tmp_path: Path) -> None:
    tensors = weights()
    tensors["layers.0.self_attn.k_proj.weight"] = tensors["layers.0.self_attn.q_proj.weight"]
    with pytest.raises(ModelError, match=r"k_proj.*\(64, 64\), expected \(32, 64\)"):
        convert_qwen3(tmp_path / "o.gguf", name=NAME, config=CONFIG, tensors=tensors, vocab=vocab())


def test_a_tensor_the_config_does_not_have_is_refused(tmp_path: Path) -> None:
    # A third layer in a checkpoint whose config says two: the config is wrong, say so.
    tensors = weights() | {"layers.2.self_attn.q_proj.weight": np.zeros((64, 64))}
    with pytest.raises(
        ModelError, match=r"'layers\.2\.self_attn\.q_proj\.weight' is not part of a 2-layer"
    ):
        convert_qwen3(tmp_path / "o.gguf", name=NAME, config=CONFIG, tensors=tensors, vocab=vocab())


def test_a_tokenizer_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    good = vocab()
    short = replace(good, tokens=good.tokens[:-1])
    with pytest.raises(ModelError, match="tokens, the config"):
        convert_qwen3(tmp_path / "o.gguf", name=NAME, config=CONFIG, tensors=weights(), vocab=short)
    plain_end = replace(good, specials=frozenset())
    with pytest.raises(ModelError, match="not a special token"):
        convert_qwen3(
            tmp_path / "o.gguf", name=NAME, config=CONFIG, tensors=weights(), vocab=plain_end
        )
    bad_merge = replace(good, merges=[*good.merges, "x z"])
    with pytest.raises(ModelError, match="'xz', which is not a token"):
        convert_qwen3(
            tmp_path / "o.gguf", name=NAME, config=CONFIG, tensors=weights(), vocab=bad_merge
        )
