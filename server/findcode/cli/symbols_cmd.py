"""`findcode symbols`: placeholder until its owner writes it."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    pass
