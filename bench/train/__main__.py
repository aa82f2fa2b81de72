"""The training recipe as one command, and each of its steps alone.

    python -m bench.train [recipe] [--run NAME] [--gguf FILE]   the default model's recipe
        (recipe.py): mine what is missing, train run NAME-first (or read it from FILE), then
        run NAME from it with the teacher (each resuming), export NAME
    python -m bench.train all [--run NAME] [training options]   one run: mine, train, export
    python -m bench.train mine [--source S ...] [--force]
    python -m bench.train measure [--steps N] [training options]
    python -m bench.train train [--run NAME] [--stop-after STEP] [training options]
    python -m bench.train export [--run NAME]
    python -m bench.train pack [training options] [--bundle DIR]   for an accelerator (bundle.py)
    python -m bench.train unpack --chunks DIR --run NAME [--variant NAME]
    python -m bench.train soup --run NAME --from RUN --from RUN ...   a mean of runs (soup.py)
    python -m bench.train from-gguf --run NAME [--gguf FILE]   a GGUF (default: the shipped
        model) as run NAME's final model, which `--start NAME` continues (from_gguf.py)

Training options (--rows, --batch-size, ...) default to the first run's TrainConfig; a run keeps
the options it started with, and a later start with the same ones resumes it. Threads default
to 2: this machine's cores are shared, so run it under `nice`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from findcode.model import packaged_model

from bench.train import CACHE, RUN_DIR
from bench.train.bundle import trained_config, weights_prefix
from bench.train.export import export
from bench.train.fit import TrainConfig
from bench.train.mine import load_records, mine_all
from bench.train.recipe import run_recipe
from bench.train.soup import soup
from bench.train.sources import SOURCES, by_name
from bench.train.train import (
    final_folder,
    measure,
    pack_for_accelerator,
    run_from_gguf,
    train,
    unpack_run,
)

STEPS = (
    "recipe",
    "all",
    "mine",
    "measure",
    "train",
    "export",
    "pack",
    "unpack",
    "soup",
    "from-gguf",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("step", nargs="?", default="recipe", choices=STEPS)
    parser.add_argument("--run", default="main", help=f"run name: a folder under {RUN_DIR}")
    parser.add_argument("--threads", type=int, default=2, help="torch and llama.cpp threads")
    parser.add_argument("--source", action="append", help="mine: only this source (repeatable)")
    parser.add_argument("--force", action="store_true", help="mine: again, even if mined")
    parser.add_argument("--steps", type=int, default=5, help="measure: steps to time")
    parser.add_argument(
        "--bundle", type=Path, default=CACHE / "bundle", help="pack: the bundle's folder"
    )
    parser.add_argument("--chunks", type=Path, help="unpack: the weights a bundle run wrote")
    parser.add_argument(
        "--from", dest="runs", action="append", default=[], help="soup: a run to mix in"
    )
    parser.add_argument(
        "--gguf",
        type=Path,
        help="from-gguf: the GGUF (default: the shipped); recipe: the first run",
    )
    parser.add_argument(
        "--variant", help="unpack: this variant of a sweep (sweep.py), not a single run"
    )
    parser.add_argument(
        "--stop-after", type=int, help="train: save and stop at this step (as a kill would)"
    )
    defaults = TrainConfig()
    for field in fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        value = getattr(defaults, field.name)
        parser.add_argument(flag, type=type(value), default=value, help=f"default {value}")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    if args.step == "recipe" and config != TrainConfig():
        raise SystemExit("recipe: its runs' options are fixed (recipe.py); `all` takes options")
    if args.step in ("recipe", "all", "mine"):
        stats = mine_all(by_name(args.source), force=args.force)
        log(f"mine: {json.dumps(stats)}")
        if args.step == "mine":
            return 0
    if args.step == "unpack":
        if args.chunks is None:
            raise SystemExit("unpack needs --chunks DIR (what `bench.train.bundle train` wrote)")
        trained = trained_config(args.chunks, args.variant)
        prefix = weights_prefix(args.variant)
        log(f"unpack: {unpack_run(args.chunks, args.run, prefix, trained)}")
        return 0
    if args.step == "soup":
        log(f"soup: {soup([final_folder(run) for run in args.runs], final_folder(args.run))}")
        return 0
    if args.step == "from-gguf":
        model = args.gguf or packaged_model()
        written = run_from_gguf(model, args.run)
        log(f"from-gguf: {model} as {written}")
        return 0
    records = load_records(SOURCES)
    if args.step == "recipe":
        gguf = run_recipe(
            records,
            args.run,
            threads=args.threads,
            first_gguf=args.gguf,
            stop_after=args.stop_after,
        )
        if gguf is not None:
            log(f"recipe: the default model is {gguf}")
        return 0
    if args.step == "pack":
        log(f"pack: {pack_for_accelerator(records, config, args.bundle, log)}")
        return 0
    if args.step == "measure":
        seconds = measure(records, config, steps=args.steps, threads=args.threads)
        steps = config.epochs * (config.rows // config.batch_size)
        log(
            f"measure: {seconds:.2f} s/step at batch {config.batch_size}, "
            f"{config.max_seq_length} tokens, {config.frozen_layers} frozen layers: "
            f"{steps} steps = {steps * seconds / 3600:.2f} h (plus evaluations)"
        )
        return 0
    if args.step in ("all", "train"):
        final = train(
            records, config, run=args.run, threads=args.threads, stop_after=args.stop_after, log=log
        )
        if final is None:
            return 0
        log(f"train: final model in {final}")
    if args.step in ("all", "export"):
        log(f"export: {export(args.run, records, threads=args.threads, log=log)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
