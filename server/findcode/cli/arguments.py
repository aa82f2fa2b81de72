"""argparse value types and options the sub-commands share.

A number out of range is bad usage (exit 2, the range in the message) here, at the door,
rather than an overflow deep inside SQLite or hnswlib.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers from `low` to `high`."""

    def parse(text: str) -> int:
        shown = text if len(text) <= 24 else f"{text[:20]}..."
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {shown!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {shown}")
        return value

    return parse


def index_dir_option() -> argparse.ArgumentParser:
    """A parent parser with `--index-dir`: every sub-command that opens an index takes it."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--index-dir",
        type=Path,
        help="folder for the index (default: one folder per root in the user cache directory)",
    )
    return parser
