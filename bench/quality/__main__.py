"""Run the retrieval-quality evaluation: every model, every corpus, every mode, plus the naive
reference, on both query sets.

    python -m bench.quality [--model NAME ...] [--corpus NAME ...] [--max-queries N]
                            [--seed S] [--fresh] [--no-naive] [--max-tokens N]
                            [--no-throughput] [--threads N]

Two tables: mined queries (docstring sentences, their docs removed; corpora.CORPORA) and
natural queries (written by hand, code as published; corpora.NATURAL_CORPORA, natural.py).
Prints them and writes bench/results/quality.md and quality.json. The indexed copies and their
indexes stay in bench/.cache/quality/{work,natural-work}/<model>, so a run that changes only
ranking reuses every stored vector; --fresh starts the mined table from empty indexes. Index
throughput is measured on a cold index of one corpus per model, models taking turns.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.evaluation import K, evaluate_repository, rank_all, summarize
from findcode.mining import read_repository, write_tree
from findcode.model import BASE_MODEL, DEFAULT_MODEL, resolve_model_path
from findcode.search import DEFAULT_RANKING, Ranking
from findcode.symbols import extract_symbols

from bench.quality import report
from bench.quality.corpora import CORPORA, NATURAL_CORPORA, Corpus, by_name
from bench.quality.fetch import CACHE, fetch
from bench.quality.naive import NaiveIndex
from bench.quality.natural import WORK as NATURAL_WORK
from bench.quality.natural import evaluate_natural

RESULTS = Path(__file__).resolve().parent.parent / "results"
WORK = CACHE / "work"
THROUGHPUT_CORPUS = "requests"
THROUGHPUT_ROUNDS = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__.split("\n")[1]
    )
    parser.add_argument(
        "--model",
        action="append",
        help=f"a `model` setting to score (repeatable; default: {BASE_MODEL} and "
        f"{DEFAULT_MODEL}); the last one is checked against the first",
    )
    parser.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    parser.add_argument("--max-queries", type=int, default=300, help="per corpus (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="query sample and bootstrap seed")
    parser.add_argument("--fresh", action="store_true", help="drop the cached indexes first")
    parser.add_argument(
        "--no-naive", action="store_true", help="skip the naive reference row (of the last model)"
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        help="cut documents at this many tokens instead of each model's default (a cut of its "
        "own is a vector cache key of its own)",
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the cold index throughput rounds"
    )
    parser.add_argument(
        "--threads", type=int, help="compute threads (default: every core; results alike)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for quality.md/.json")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _work_name(model: str) -> str:
    """The cache folder of a `model` setting: a GGUF path (which --model takes too) becomes its
    file name and a digest of the path, not folders under the path."""
    if model.endswith(".gguf") or "/" in model or os.sep in model:
        return f"{Path(model).stem}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    models = args.model or [BASE_MODEL, DEFAULT_MODEL]
    # Normal priority: scores do not depend on it, and on a shared machine an indexer at idle
    # priority (the default) waits for every other process.
    settings = Settings(threads=args.threads, low_priority=False)
    embedders = {
        model: Embedder(
            resolve_model_path(model), threads=settings.threads, max_tokens=args.max_tokens
        )
        for model in models
    }
    started = time.perf_counter()
    corpora = [(corpus, fetch(corpus)) for corpus in _chosen(CORPORA, args.corpus)]
    natural = [(corpus, fetch(corpus)) for corpus in _chosen(NATURAL_CORPORA, args.corpus)]
    files = {corpus.name: read_repository(root, settings) for corpus, root in corpora}
    results = []
    for model, embedder in embedders.items():
        for corpus, root in natural:
            name = f"{model}/{corpus.name}"
            evaluation = evaluate_natural(
                corpus,
                root,
                NATURAL_WORK / _work_name(model) / corpus.name,
                settings=settings,
                embedder=embedder,
                seed=args.seed,
                log=lambda message, name=name: log(f"{name}: {message}"),
                naive=not args.no_naive and model == models[-1],
            )
            results.append(evaluation.result(model))
            log(f"{name}: {len(evaluation.asked)} natural queries asked")
        for corpus, _root in corpora:
            workdir = WORK / _work_name(model) / corpus.name
            if args.fresh:
                shutil.rmtree(workdir, ignore_errors=True)
            name = f"{model}/{corpus.name}"
            evaluation = evaluate_repository(
                files[corpus.name],
                workdir,
                settings=settings,
                embedder=embedder,
                max_pairs=args.max_queries,
                seed=args.seed,
                log=lambda message, name=name: log(f"{name}: {message}"),
            )
            summaries = dict(evaluation.summaries)
            mined = evaluation.mined
            if not args.no_naive and model == models[-1]:
                naive = NaiveIndex(embedder, mined.files)
                ranks = rank_all(lambda query, index=naive: index.search(query, K), mined.pairs)
                summaries[report.NAIVE] = summarize(report.NAIVE, ranks, seed=args.seed)
            results.append(
                report.CorpusResult(
                    table=report.MINED,
                    model=model,
                    name=corpus.name,
                    language=corpus.language,
                    files=len(mined.files),
                    symbols=sum(len(extract_symbols(r, t)) for r, t in mined.files.items()),
                    summaries=summaries,
                )
            )
            log(f"{name}: {len(mined.pairs)} queries scored")
    throughput = {}
    if THROUGHPUT_CORPUS in files and not args.no_throughput:
        throughput = index_throughput(files[THROUGHPUT_CORPUS], settings, embedders)
    context = {
        "models": ", ".join(f"{model} = {e.model_id}" for model, e in embedders.items()),
        "document form": DOCUMENT_FORM_VERSION,
        "input cut (tokens)": ", ".join(f"{m} {e.max_tokens}" for m, e in embedders.items()),
        "ranking": _knobs(DEFAULT_RANKING),
        "queries per corpus": f"mined: at most {args.max_queries}, seed {args.seed}; natural: "
        "all of bench/quality/queries",
        "index throughput (cold index of "
        f"{THROUGHPUT_CORPUS}, best of {THROUGHPUT_ROUNDS})": ", ".join(
            f"{model} {rate:.1f} symbols/s" for model, rate in throughput.items()
        )
        or "not measured",
        "run time": f"{time.perf_counter() - started:.0f} s",
    }
    base = models[0] if len(models) > 1 else None
    checks = report.verdict(results, base, models[-1], throughput)
    print(report.markdown(results, context, checks))
    log(f"wrote {report.write(results, context, checks, args.out)}")
    for embedder in embedders.values():
        embedder.close()
    return 0


def index_throughput(
    files: Mapping[str, str], settings: Settings, embedders: Mapping[str, Embedder]
) -> dict[str, float]:
    """Symbols per second of a cold index (parse, embed, store) with each model; the models
    take turns, so a machine that gets busier mid-run slows each of them alike."""
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="findcode-throughput-") as scratch:
        tree = Path(scratch) / "tree"
        write_tree(files, tree)
        for round_number in range(THROUGHPUT_ROUNDS):
            for model, embedder in embedders.items():
                index = Path(scratch) / f"index-{model}-{round_number}"
                engine = Engine(
                    [tree], settings.replace(index_dir=index, watch=False), embedder=embedder
                )
                began = time.perf_counter()
                engine.start()
                engine.wait_idle()
                seconds = time.perf_counter() - began
                rate = engine.embedded_count / seconds
                engine.close()
                best[model] = max(best.get(model, 0.0), rate)
                log(f"throughput: {model} round {round_number + 1}: {rate:.1f} symbols/s")
    return best


def _chosen(corpora: tuple[Corpus, ...], names: list[str] | None) -> list[Corpus]:
    """The corpora of one table named by --corpus (all when none is named); a name that is in
    neither table is refused."""
    named = {corpus.name for corpus in by_name(names, CORPORA + NATURAL_CORPORA)}
    return [corpus for corpus in corpora if corpus.name in named]


def _knobs(ranking: Ranking) -> str:
    return ", ".join(f"{name}={getattr(ranking, name)}" for name in ranking.__dataclass_fields__)


if __name__ == "__main__":
    raise SystemExit(main())
