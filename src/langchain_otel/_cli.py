"""The ``langchain-otel`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from langchain_otel import __version__

__all__ = ["main"]

_EPILOG = """examples:
  langchain-otel demo        run the instrumented demo workload
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-otel",
        description="OpenTelemetry instrumentation for LangChain.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="run the demo workload")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage error).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        langchain-otel 0.1.0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from langchain_otel._demo import run_demo  # noqa: PLC0415 - keep --help fast

        return run_demo(sys.stdout)
    parser.print_help(sys.stderr)
    return 2
