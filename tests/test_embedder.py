"""The embedder on the real default model: shapes, bad inputs, bad files, forms, batching."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import gguf
import numpy as np
import pytest
from findcode.embedder import Embedder, _shares
from findcode.embedding import NOMIC, PLAIN, QWEN3_EMBEDDING, profile_for
from findcode.errors import ModelError

CLS, SEP, UNK = 101, 102, 100


def assert_unit_rows(vectors: np.ndarray) -> None:
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1.0, atol=1e-5)


def test_attributes_describe_the_default_model(embedder: Embedder) -> None:
    assert embedder.name == "findcode-minilm-code"
    assert embedder.dims == 384
    assert embedder.quantization == "F16"
    assert embedder.max_tokens == 256
    assert embedder.model_id.startswith("findcode-minilm-code-F16-")
    assert embedder.profile is PLAIN


def test_model_id_is_stable_across_loads(embedder: Embedder, model_path: Path) -> None:
    other = Embedder(model_path)
    try:
        assert other.model_id == embedder.model_id
    finally:
        other.close()


def test_the_cut_is_part_of_the_model_id(embedder: Embedder, model_path: Path) -> None:
    """Vectors cut at another length are other vectors: their cache key must differ."""
    line = "value = compute(alpha, beta) + " * 100  # ~600 tokens
    shorter = Embedder(model_path, max_tokens=128)
    try:
        assert len(shorter.token_ids(line)) == 128 and len(embedder.token_ids(line)) == 256
        assert float(shorter.embed_documents([line])[0] @ embedder.embed_documents([line])[0]) < 1
        # The GGUF's own cut keeps the id vectors were always stored under.
        assert shorter.model_id == f"{embedder.model_id}-t128"
    finally:
        shorter.close()


def test_a_larger_batch_budget_gives_the_same_vectors(embedder: Embedder, model_path: Path) -> None:
    texts = [f"def f{i}(x):\n    return x * {i}" + " + x" * (i * 13 % 70) for i in range(40)]
    wide = Embedder(model_path, batch_tokens=512)
    try:
        assert wide.model_id == embedder.model_id
        cosines = (wide.embed_documents(texts) * embedder.embed_documents(texts)).sum(axis=1)
        assert cosines.min() > 0.9999
    finally:
        wide.close()


def test_documents_are_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.embed_documents(["def add(a, b): return a + b", "parse a date", "x"])
    assert vectors.shape == (3, 384)
    assert_unit_rows(vectors)


def test_no_documents_gives_an_empty_matrix(embedder: Embedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 384)


def test_similar_texts_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    query = embedder.embed_query("read a file into a string")
    docs = embedder.embed_documents(
        [
            "def read_text(path):\n    with open(path) as f:\n        return f.read()",
            "def mean(values):\n    return sum(values) / len(values)",
        ]
    )
    scores = docs @ query
    assert scores[0] > scores[1] + 0.1


def test_empty_and_whitespace_only_texts(embedder: Embedder) -> None:
    assert embedder.token_ids("") == [CLS, SEP]
    assert embedder.token_ids(" \n\t  \r\n") == [CLS, SEP]
    vectors = embedder.embed_documents(["", "   \n\t "])
    assert_unit_rows(vectors)
    # Both are just [CLS] [SEP] to the model.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_a_50000_character_line_is_cut_to_the_training_length(embedder: Embedder) -> None:
    line = "value = compute(alpha, beta) + " * 1613  # 50,003 characters, one line
    assert len(line) > 50_000
    ids = embedder.token_ids(line)
    assert len(ids) == embedder.max_tokens
    assert ids[0] == CLS and ids[-1] == SEP
    # One word of 50,000 characters (no spaces) too.
    assert len(embedder.token_ids("x" * 50_000)) <= embedder.max_tokens
    vectors = embedder.embed_documents([line, "x" * 50_000, "short"])
    assert_unit_rows(vectors)


def test_binary_junk_embeds_without_crashing(embedder: Embedder) -> None:
    junk = [
        bytes(range(256)).decode("latin-1"),
        "\x00" * 100,
        "\udcff\udc80 lone surrogates \ud800",
        np.random.default_rng(1).bytes(4000).decode("utf-8", "replace"),
        "\ufeff\u200b\u202e\U0010ffff",
    ]
    vectors = embedder.embed_documents(junk)
    assert vectors.shape == (len(junk), 384)
    assert_unit_rows(vectors)


def test_batching_preserves_order(embedder: Embedder) -> None:
    # Lengths vary a lot and there are more texts than one batch holds, so the embedder
    # sorts, splits into several batches and must put every row back in its place.
    texts = [f"function number {i} " + "body " * (i * 7 % 90) for i in range(120)]
    together = embedder.embed_documents(texts)
    for index in (0, 1, 17, 59, 60, 119):
        alone = embedder.embed_documents([texts[index]])[0]
        # Batch neighbours change the float rounding a little, never the row.
        scores = together @ alone
        assert int(np.argmax(scores)) == index
        assert scores[index] > 0.999, index


def test_plain_profile_query_equals_document(embedder: Embedder) -> None:
    text = "open a socket and retry on timeout"
    np.testing.assert_allclose(
        embedder.embed_query(text), embedder.embed_documents([text])[0], atol=1e-6
    )
    assert embedder.embed_query(text).shape == (384,)


def test_profile_templates_shape_queries_and_documents(model_path: Path) -> None:
    # The default model reads plain text; give it the nomic profile to check that the
    # embedder really words queries and documents through the profile.
    nomic = Embedder(model_path)
    try:
        nomic.profile = NOMIC
        query = nomic.embed_query("sort a list")
        document = nomic.embed_documents(["sort a list"])[0]
        assert float(query @ document) < 0.999
        plain = Embedder(model_path)
        try:
            expected_query = plain.embed_documents(["search_query: sort a list"])[0]
            expected_doc = plain.embed_documents(["search_document: sort a list"])[0]
        finally:
            plain.close()
        np.testing.assert_allclose(query, expected_query, atol=1e-6)
        np.testing.assert_allclose(document, expected_doc, atol=1e-6)
    finally:
        nomic.close()


def test_profiles_by_family() -> None:
    assert profile_for("bert", "all-MiniLM-L6-v2") is PLAIN
    assert profile_for("nomic-bert", "nomic-embed-text-v1.5") is NOMIC
    qwen = profile_for("qwen3", "Qwen3-Embedding-0.6B")
    assert qwen is QWEN3_EMBEDDING
    query = qwen.query_template.format(text="retry with backoff")
    assert query.startswith("Instruct: ") and query.endswith("\nQuery:retry with backoff")
    assert qwen.document_template.format(text="code") == "code"


def test_matryoshka_truncation_renormalises(model_path: Path, embedder: Embedder) -> None:
    small = Embedder(model_path, dims=128)
    try:
        texts = ["def f(x): return x", "a class for HTTP sessions"]
        vectors = small.embed_documents(texts)
        assert vectors.shape == (2, 128)
        assert_unit_rows(vectors)
        full = embedder.embed_documents(texts)[:, :128]
        full /= np.linalg.norm(full, axis=1, keepdims=True)
        np.testing.assert_allclose(vectors, full, atol=1e-5)
        assert small.model_id != embedder.model_id
    finally:
        small.close()
    with pytest.raises(ModelError, match="dims 999"):
        Embedder(model_path, dims=999)


def test_calls_from_two_threads_are_atomic(embedder: Embedder) -> None:
    docs = [f"def handler_{i}(request): return response_{i}" for i in range(64)]
    expected_docs = embedder.embed_documents(docs)
    query = "handle a request"
    expected_query = embedder.embed_query(query)
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def run(key: str, work) -> None:
        try:
            for _ in range(5):
                results[key] = work()
        except BaseException as error:  # surfaced below; a thread must not swallow it
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("docs", lambda: embedder.embed_documents(docs))),
        threading.Thread(
            target=run, args=("query", lambda: embedder.embed_query("handle a request"))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    np.testing.assert_allclose(results["docs"], expected_docs, atol=1e-5)
    np.testing.assert_allclose(results["query"], expected_query, atol=1e-5)


def watch_decodes(embedder: Embedder) -> list[tuple[object, int, int]]:
    """(lane, thread, lane threads) of each decode the embedder makes from now on."""
    seen: list[tuple[object, int, int]] = []
    decode = embedder._decode

    def watched(lane, *args) -> None:
        seen.append((lane, threading.get_ident(), lane.threads))
        decode(lane, *args)

    embedder._decode = watched  # type: ignore[method-assign]
    return seen


def test_a_call_decodes_on_one_lane_a_thread(model_path: Path) -> None:
    """Two one-thread contexts embed faster than one two-thread context (bench/cold_bench):
    a call's batches are shared out, and the vectors are those one context gives."""
    texts = [f"def f{i}(x):\n    return x * {i}" + " + x" * (i * 13 % 70) for i in range(40)]
    embedder = Embedder(model_path, threads=2)
    single = Embedder(model_path, threads=2, lanes=1)
    try:
        seen = watch_decodes(embedder)
        vectors = embedder.embed_documents(texts)
        assert len({lane for lane, _, _ in seen}) == 2
        assert len({thread for _, thread, _ in seen}) == 2
        assert {threads for _, _, threads in seen} == {1}
        # Other batches, other sums in another order: the same vectors but for rounding.
        assert (vectors * single.embed_documents(texts)).sum(axis=1).min() > 0.9999

        seen.clear()  # a query is one batch: one lane, with every thread
        embedder.embed_query("multiply x")
        assert [(thread, threads) for _, thread, threads in seen] == [(threading.get_ident(), 2)]

        seen.clear()  # the indexer's adaptation to a busy machine: one thread, one lane
        embedder.set_threads(1)
        embedder.embed_documents(texts)
        assert {(thread, threads) for _, thread, threads in seen} == {(threading.get_ident(), 1)}
    finally:
        embedder.close()
        single.close()


@pytest.mark.parametrize(
    ("lengths", "count"),
    [([5, 1, 9, 3, 3, 7, 2], 2), ([4] * 9, 3), ([100, 1, 1, 1], 2), ([6, 2], 4), ([], 2)],
)
def test_shares_are_near_equal_and_cover_every_text(lengths: list[int], count: int) -> None:
    shares = _shares(lengths, count)
    assert sorted(i for share in shares for i in share) == list(range(len(lengths)))
    assert 1 <= len(shares) <= count
    loads = [sum(lengths[i] for i in share) for share in shares]
    # No share could give its last text to a lighter one and be lighter still.
    assert max(loads) - min(loads) <= max(lengths, default=0)


# --------------------------------------------------------------------------- bad model files


def test_a_q8_0_model_embeds_on_every_cpu() -> None:
    """minilm (Q8_0) embedded in a process of its own, so that a crash fails this test and not
    the whole run: with llama.cpp's repacked layouts, CPUs with AMX died in the first decode."""
    script = (
        "import sys\n"
        "from findcode.embedder import Embedder\n"
        "from findcode.model import ensure_base_model\n"
        "embedder = Embedder(ensure_base_model('q8_0'), threads=int(sys.argv[1]))\n"
        "texts = ['def parse_args(argv):\\n    return parser.parse_args(argv)'] * 40\n"
        "print(embedder.embed_documents(texts).shape)\n"
    )
    for threads in (1, 2):
        done = subprocess.run(
            [sys.executable, "-c", script, str(threads)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (threads, done.returncode, done.stderr[-2000:])
        assert done.stdout.strip() == "(40, 384)"


def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError, match="does not exist") as caught:
        Embedder(missing)
    assert str(missing) in str(caught.value)


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(np.random.default_rng(2).bytes(10_000))
    with pytest.raises(ModelError, match="not a GGUF file") as caught:
        Embedder(junk)
    assert str(junk) in str(caught.value)


def test_truncated_model_file(tmp_path: Path, model_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(model_path.read_bytes()[:2_000_000])
    with pytest.raises(ModelError, match="cannot load") as caught:
        Embedder(truncated)
    assert str(truncated) in str(caught.value)


def test_corrupt_header(tmp_path: Path, model_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    data = bytearray(model_path.read_bytes()[:4096])
    data[8:24] = b"\xff" * 16  # tensor and metadata counts become absurd
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        Embedder(corrupt)
    assert str(corrupt) in str(caught.value)


def write_tiny_llama(path: Path) -> None:
    """A valid, loadable llama-architecture GGUF: a text generator, not an embedding model."""
    vocab = ["<unk>", "<s>", "</s>"] + ["\u2581" + chr(97 + i) for i in range(13)]
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(64)
    writer.add_embedding_length(32)
    writer.add_feed_forward_length(64)
    writer.add_block_count(1)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(8)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(vocab)
    writer.add_token_scores([0.0] * len(vocab))
    writer.add_token_types([2, 3, 3] + [1] * (len(vocab) - 3))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    rng = np.random.default_rng(0)
    shapes = {
        "token_embd.weight": (len(vocab), 32),
        "output_norm.weight": (32,),
        "output.weight": (len(vocab), 32),
        "blk.0.attn_norm.weight": (32,),
        "blk.0.attn_q.weight": (32, 32),
        "blk.0.attn_k.weight": (32, 32),
        "blk.0.attn_v.weight": (32, 32),
        "blk.0.attn_output.weight": (32, 32),
        "blk.0.ffn_norm.weight": (32,),
        "blk.0.ffn_gate.weight": (64, 32),
        "blk.0.ffn_up.weight": (64, 32),
        "blk.0.ffn_down.weight": (32, 64),
    }
    for name, shape in shapes.items():
        writer.add_tensor(name, rng.standard_normal(shape).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_that_is_not_an_embedding_model(tmp_path: Path) -> None:
    path = tmp_path / "tiny-llama.gguf"
    write_tiny_llama(path)
    with pytest.raises(ModelError, match="not an embedding model") as caught:
        Embedder(path)
    assert str(path) in str(caught.value)
