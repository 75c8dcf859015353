"""The ``langchain-otel`` command line (also ``python -m langchain_otel``).

Exit codes: 0 success, 1 failure (bad configuration, missing files), 2 usage error.
Errors go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from langchain_otel._version import __version__

__all__ = ["main"]

_EPILOG = """examples:
  langchain-otel demo
      run the instrumented demo workload; telemetry goes to ./langchain-otel-telemetry/
  langchain-otel demo --requests 200 --concurrency 16 --out /tmp/telemetry
  langchain-otel demo --endpoint http://localhost:4318
      send the demo's telemetry to an OpenTelemetry Collector over OTLP/HTTP
  langchain-otel report ./langchain-otel-telemetry
      per-model tables: requests, errors, p50/p95/p99 latency and TTFT, tokens, cost
  langchain-otel report ./langchain-otel-telemetry --html report.html
  langchain-otel config
      the effective configuration (from OTEL_* variables), secrets masked
"""


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-otel",
        description="OpenTelemetry instrumentation for LangChain.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the instrumented demo workload",
        description="An async, service-like workload (prompt | EchoLLM | parser and "
        "chat prompt | EchoChatModel | parser: ainvoke and astream under a concurrency limit, "
        "with a few failures and cancelled streams), instrumented with OTelCallbackHandler "
        "and structlog, then the per-model table read back from the files.",
        epilog="examples:\n  langchain-otel demo\n  langchain-otel demo --requests 200 "
        "--concurrency 16 --out /tmp/telemetry\n  langchain-otel demo --endpoint "
        "http://localhost:4318\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--requests", "-n", type=_at_least(1), default=60, help="how many requests (default 60)"
    )
    demo.add_argument(
        "--concurrency",
        "-c",
        type=_at_least(1),
        default=8,
        help="requests in flight at once (default 8)",
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="folder of the telemetry files (default: $LANGCHAIN_OTEL_DIRECTORY or "
        "./langchain-otel-telemetry)",
    )
    demo.add_argument(
        "--endpoint",
        metavar="URL",
        default=None,
        help="send telemetry over OTLP to this base URL (e.g. http://localhost:4318) "
        "instead of writing files",
    )
    demo.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)

    report = commands.add_parser(
        "report",
        help="summarise the telemetry files per model",
        description="Read DIR/traces.jsonl (written by the embedded default) and print, per "
        "model: requests, errors/cancelled, p50/p95/p99 duration and time to first chunk, "
        "tokens in/out and cost; then the slowest traces as span trees. --html writes a "
        "page with charts over time and trace waterfalls.",
        epilog="examples:\n  langchain-otel report ./langchain-otel-telemetry\n"
        "  langchain-otel report ./langchain-otel-telemetry --html report.html\n"
        "  langchain-otel report ./langchain-otel-telemetry --slowest 10 --html report.html\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("directory", metavar="DIR", help="the telemetry folder")
    report.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="also write a self-contained HTML page: charts over time, trace waterfalls",
    )
    report.add_argument("--json", action="store_true", help="print the numbers as JSON")
    report.add_argument(
        "--slowest",
        metavar="N",
        type=_at_least(0),
        default=5,
        help="how many of the slowest traces to show as span trees and waterfalls (default 5; "
        "the page also shows every trace that erred or was cancelled)",
    )

    commands.add_parser(
        "config",
        help="print the effective configuration (secrets masked)",
        description="What configure() would use now, resolved from arguments, OTEL_* "
        "variables and defaults, with where each value came from. Header values are masked.",
    )
    return parser


def _error(message: str) -> int:
    print(f"langchain-otel: error: {message}", file=sys.stderr)
    return 1


def _report(args: argparse.Namespace) -> int:
    from langchain_otel._report._command import report_command  # noqa: PLC0415 - fast --help

    return report_command(args.directory, html=args.html, as_json=args.json, slowest=args.slowest)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return dict.fromkeys(value, "****")
    return value


def _config() -> int:
    from langchain_otel.config import get_config  # noqa: PLC0415

    config = get_config()
    sources = config.pop("sources", {})
    width = max(len(key) for key in config)
    for key, value in config.items():
        shown = _mask(value) if key.endswith("headers") else value
        if isinstance(shown, tuple):
            shown = ",".join(shown)
        source = sources.get(key, "")
        print(f"{key.ljust(width)}  {shown}" + (f"  ({source})" if source else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per outcome
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage error).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        langchain-otel 0.1.0
    """
    from langchain_otel.exceptions import LangchainOtelError  # noqa: PLC0415

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    try:
        if args.command == "demo":
            from langchain_otel._demo import run_demo  # noqa: PLC0415 - keep --help fast

            return run_demo(
                requests=args.requests,
                concurrency=args.concurrency,
                out_dir=args.out,
                endpoint=args.endpoint,
                seed=args.seed,
            )
        if args.command == "report":
            return _report(args)
        if args.command == "config":
            return _config()
    except LangchainOtelError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _error("interrupted")
    parser.print_help(sys.stderr)
    return 2
