"""``multistrat report RUN_DIR``: the benchmark comparison report of a run folder.

The report layer (matplotlib) is imported when the command runs, so that ``multistrat --help``
starts at once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from backtest.analytics.benchmark_names import BENCHMARK_NAMES
from backtest.errors import ExitCode


def register_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``multistrat report RUN_DIR [--benchmark NAME|CSV ...] [--format html|pdf]
    [--out FILE] [--market-price CSV] [--relative-to NAME]`` to an argparse subparsers object."""
    p = sub.add_parser("report", help="benchmark comparison report of a run folder (HTML or PDF)")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="folder written by `backtest`")
    p.add_argument(
        "--benchmark",
        action="append",
        default=None,
        metavar="NAME|CSV",
        help=f"benchmark to compare with, repeatable: {', '.join(BENCHMARK_NAMES)}, "
        "or a CSV file with date,level or date,return (default: all built-in)",
    )
    p.add_argument(
        "--relative-to",
        default=None,
        metavar="NAME",
        help="benchmark of the relative view: a built-in name or a CSV file's stem "
        "(default: proxy_index)",
    )
    p.add_argument("--format", choices=["html", "pdf"], default="html")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output file (default: RUN_DIR/report.html or RUN_DIR/report.pdf)",
    )
    p.add_argument(
        "--market-price",
        type=Path,
        default=None,
        metavar="CSV",
        help="closing prices (date,midpoint or date,bid,ask) for the premium/discount "
        "section (default: a seeded simulated market)",
    )
    p.set_defaults(func=cmd_report)  # fmt: skip


def cmd_report(args: argparse.Namespace) -> ExitCode:
    """Handler of ``multistrat report``: build, print the file written; exit code 0."""
    from backtest.report.build import build_report  # at run time: start-up

    start = time.perf_counter()
    path = build_report(args.run_dir, args.benchmark, fmt=args.format, out=args.out,
                        market_price=args.market_price,
                        relative_to=args.relative_to)  # fmt: skip
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return ExitCode.OK
