"""Command-line options that several benches share, so they read and behave alike."""

from __future__ import annotations

import argparse


def add_normal_priority(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--normal-priority",
        action="store_true",
        help="index at normal OS priority (on a machine shared with other work, an indexer "
        "at idle priority, the default, measures the other work)",
    )
