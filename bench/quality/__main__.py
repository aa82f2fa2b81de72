"""Run the retrieval-quality evaluation: every corpus, every mode, plus the naive reference.

    python -m bench.quality [--corpus NAME ...] [--max-queries N] [--seed S] [--fresh]

Prints the table and writes bench/results/quality.md and quality.json. The indexed copies and
their indexes stay in bench/.cache/quality/work, so a run that changes only ranking reuses
every stored vector; --fresh starts from empty indexes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION
from findcode.embedder import Embedder
from findcode.evaluation import K, evaluate_repository, rank_all, summarize
from findcode.mining import read_repository
from findcode.model import resolve_model_path
from findcode.search import DEFAULT_RANKING, Ranking
from findcode.symbols import extract_symbols

from bench.quality import report
from bench.quality.corpora import by_name
from bench.quality.fetch import CACHE, fetch
from bench.quality.naive import NaiveIndex

RESULTS = Path(__file__).resolve().parent.parent / "results"
WORK = CACHE / "work"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__.split("\n")[1]
    )
    parser.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    parser.add_argument("--max-queries", type=int, default=300, help="per corpus (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="query sample and bootstrap seed")
    parser.add_argument("--fresh", action="store_true", help="drop the cached indexes first")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive reference row")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for quality.md/.json")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings()
    embedder = Embedder(resolve_model_path(settings.model), threads=settings.threads)
    results = []
    started = time.perf_counter()
    for corpus in by_name(args.corpus):
        root = fetch(corpus)
        workdir = WORK / corpus.name
        if args.fresh:
            shutil.rmtree(workdir, ignore_errors=True)
        files = read_repository(root, settings)
        log(f"{corpus.name}: {len(files)} files")
        evaluation = evaluate_repository(
            files,
            workdir,
            settings=settings,
            embedder=embedder,
            max_pairs=args.max_queries,
            seed=args.seed,
            log=lambda message, name=corpus.name: log(f"{name}: {message}"),
        )
        summaries = dict(evaluation.summaries)
        mined = evaluation.mined
        if not args.no_naive:
            naive = NaiveIndex(embedder, mined.files)
            ranks = rank_all(lambda query, index=naive: index.search(query, K), mined.pairs)
            summaries[report.NAIVE] = summarize(report.NAIVE, ranks, seed=args.seed)
        results.append(
            report.CorpusResult(
                name=corpus.name,
                language=corpus.language,
                files=len(mined.files),
                symbols=sum(len(extract_symbols(r, t)) for r, t in mined.files.items()),
                candidates=mined.candidates,
                summaries=summaries,
            )
        )
        log(f"{corpus.name}: {len(mined.pairs)} queries scored")
    context = {
        "model": embedder.model_id,
        "document form": DOCUMENT_FORM_VERSION,
        "ranking": _knobs(DEFAULT_RANKING),
        "queries per corpus": f"at most {args.max_queries}, seed {args.seed}",
        "run time": f"{time.perf_counter() - started:.0f} s",
    }
    print(report.markdown(results, context))
    log(f"wrote {report.write(results, context, args.out)}")
    return 0


def _knobs(ranking: Ranking) -> str:
    return ", ".join(f"{name}={getattr(ranking, name)}" for name in ranking.__dataclass_fields__)


if __name__ == "__main__":
    raise SystemExit(main())
