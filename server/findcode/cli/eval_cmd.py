"""`findcode eval [ROOT]`: how well findcode finds code in your own repository.

The documented functions of a repository are questions with known answers: the first sentence
of each doc is the query, the function is the answer. `eval` indexes a copy of the repository
with those docs removed, asks every query in every search mode, and prints recall@k and MRR@10
for the configured model, so a model, a quantization or a setting can be compared on the code
it will actually search. The repository itself is never written to.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from findcode.cli.arguments import int_between
from findcode.config import SEARCH_MODES, Settings
from findcode.errors import FindcodeError

if TYPE_CHECKING:
    from findcode.embedder import Embedder
    from findcode.evaluation import RepositoryEvaluation


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure search quality on a repository's own documented functions",
        description="Mine docstring -> function pairs from ROOT, index a copy with those docs "
        "removed, and print MRR@10 and recall@1/5/10 per search mode.",
    )
    parser.add_argument("root", nargs="?", type=Path, default=Path("."), help="default: .")
    parser.add_argument("--model", help="a GGUF embedding model (default: the built-in model)")
    parser.add_argument(
        "--max-queries",
        type=int_between(1, 100_000),
        default=200,
        help="sample at most this many (default 200)",
    )
    parser.add_argument(
        "--seed", type=int_between(0, 2**32 - 1), default=0, help="sampling seed (default 0)"
    )
    parser.add_argument(
        "--mode", action="append", choices=SEARCH_MODES, help="only this mode (repeatable)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the copy and its index here, so a second run embeds only what changed "
        "(default: a temporary folder, removed afterwards)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: every `findcode` command loads this module, and only eval needs a model.
    from findcode.embedder import Embedder
    from findcode.evaluation import MODES, evaluate_mined
    from findcode.mining import mine, read_repository
    from findcode.model import resolve_model_path

    root: Path = args.root
    if not root.is_dir():
        raise FindcodeError(f"{root}: not a folder")
    settings = Settings(model=args.model)
    files = read_repository(root, settings)
    mined = mine(files, max_pairs=args.max_queries, seed=args.seed)
    if not mined.pairs:
        raise FindcodeError(
            f"{root}: no documented functions to ask about in {len(files)} files (eval needs "
            "functions or methods outside test files whose docstring or doc comment starts "
            "with a sentence of at least three words)"
        )
    print(
        f"findcode eval: {len(mined.pairs)} queries from {mined.candidates} documented "
        f"functions in {len(files)} files under {root}",
        file=sys.stderr,
    )
    embedder = Embedder(resolve_model_path(settings.model), threads=settings.threads)

    def evaluate(workdir: Path) -> RepositoryEvaluation:
        return evaluate_mined(
            mined,
            workdir,
            settings=settings,
            embedder=embedder,
            modes=args.mode or MODES,
            seed=args.seed,
            log=lambda message: print(f"findcode eval: {message}", file=sys.stderr),
        )

    try:
        if args.workdir is not None:
            result = evaluate(args.workdir)
        else:
            with tempfile.TemporaryDirectory(prefix="findcode-eval-") as scratch:
                result = evaluate(Path(scratch))
    finally:
        embedder.close()
    if args.json:
        print(json.dumps(_as_json(root, embedder, result), indent=2))
    else:
        print(_as_text(root, embedder, result))
    return 0


def _as_json(root: Path, embedder: Embedder, result: RepositoryEvaluation) -> dict:
    return {
        "root": str(root.resolve()),
        "model": embedder.model_id,
        "files": len(result.mined.files),
        "candidates": result.mined.candidates,
        "queries": len(result.mined.pairs),
        "indexSeconds": round(result.index_seconds, 2),
        "modes": {mode: summary.as_json() for mode, summary in result.summaries.items()},
    }


def _as_text(root: Path, embedder: Embedder, result: RepositoryEvaluation) -> str:
    pairs = len(result.mined.pairs)
    lines = [
        f"{root.resolve()}: {pairs} queries from {result.mined.candidates} documented functions",
        f"model: {embedder.model_id}",
        "",
        f"{'mode':<10}{'MRR@10':>8}  {'95% CI':<15}{'R@1':>7}{'R@5':>7}{'R@10':>7}",
    ]
    for mode, summary in result.summaries.items():
        m = summary.metrics
        low, high = summary.intervals["mrr@10"]
        lines.append(
            f"{mode:<10}{m['mrr@10']:>8.3f}  {f'[{low:.3f}, {high:.3f}]':<15}"
            f"{m['recall@1']:>7.3f}{m['recall@5']:>7.3f}{m['recall@10']:>7.3f}"
        )
    return "\n".join(lines)
