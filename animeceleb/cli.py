"""``python -m animeceleb <command>``: one entry point, one module per command.

Each command module listed in ``COMMANDS`` exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int``. Modules are imported only when listed here, so adding a command is one line. Errors raised on
purpose (``AnimeCelebError``) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from tqdm import tqdm

from animeceleb import __version__
from animeceleb.errors import AnimeCelebError

COMMANDS: tuple[str, ...] = (
    "animeceleb.convert.command",
    "animeceleb.driving.command",
    "animeceleb.inference.command",
    "animeceleb.annotate.command",
    "animeceleb.data.command",
    "animeceleb.train.command",
    "animeceleb.evaluate.command",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered command."""
    parser = argparse.ArgumentParser(prog="python -m animeceleb", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"animeceleb {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except AnimeCelebError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def tqdm_progress(bar: tqdm) -> Callable[[int, int], None]:
    """A ``progress(done, expected)`` callback, as the library's long operations take, that advances a tqdm bar."""

    def progress(done: int, expected: int) -> None:
        if expected:
            bar.total = max(expected, done)  # some totals are estimates (fps x duration)
        bar.update(done - bar.n)

    return progress
