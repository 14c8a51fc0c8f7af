"""The benchmark comparison report for the fund's board and investors: one HTML file or a PDF.

>>> build_report("runs/latest", ["proxy_index", "equity_index", "ref.csv"])   # doctest: +SKIP
PosixPath('runs/latest/report.html')

Input: a run folder written by :func:`backtest.run_io.write_run` (``nav.csv``, ``weights.csv``,
``strategy_returns.csv``, ``compliance.csv``, ``metrics.json``, ``trades.csv``,
``holdings.parquet``) plus, when present, the files of :func:`extra_run_files` and
:func:`run_spec` (``benchmarks.csv``, ``pnl_by_asset_class.csv``, ``pnl_by_book.csv``,
``spec.json``). Without ``benchmarks.csv`` (and no ``market`` given) the benchmarks are rebuilt
from the seeded synthetic market of ``spec.json`` (seed 7 when there is none) over the run's
dates, and the report says so; without the P&L files the asset-class and book attributions say
what is missing. Output: :func:`backtest.report_charts.render_html` or ``render_pdf`` (one page
per entry of :data:`SECTIONS`).

Conventions (see also :mod:`backtest.metrics`):

- The fund's return is that of its NAV per share at 5 decimals (no distributions are modelled),
  as in :func:`backtest.fund.fund_metrics`; benchmarks are total-return levels on its dates.
- Periods end on the run's last date. A trailing period of ``k`` years starts at the close of the
  last trading day on or before the same calendar date ``k`` years earlier; YTD at the close of
  the previous year's last trading day (or at inception). Periods of one year or less show the
  cumulative return; longer ones (3 and 5 years, and since inception when the run is longer
  than a year) the annualised return of ``metrics.annual_return`` (252 trading days a year). A
  period a series does not cover in full is left blank.
- Attribution: by strategy, ``weight[t−2] × strategy_return[t]`` (a weight decided at ``t``'s
  close is traded at ``t+1``'s close and earns from ``t+2``: the engine's convention), with cash
  interest, expenses, creation/redemption fees and the implementation residual (whole
  contracts, limits, actual costs) as items of their own; by asset class and by book, the
  simulator's P&L net of costs. All over the previous day's net assets and linked with
  :func:`backtest.analytics.attribute`, so the items add up to the net-asset return (which
  differs from the per-share return only by NAV rounding, ~1e-7 a day).

Layout: this module holds the entry points (reading a run folder, the run-folder extras,
:func:`build_report` and the ``report`` command); the tables are built in
:mod:`backtest.report_tables`, the sections in :mod:`backtest.report_sections`. Their public
names are re-exported here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from backtest import report_charts as rc
from backtest.benchmark_index import BENCHMARK_NAMES
from backtest.report_charts import Section
from backtest.report_sections import (
    BROAD_MARKETS,
    DISPLAY_NAMES,
    NOTES,
    ROLLING_WINDOWS_DAYS,
    SECONDARY_MARKET_SEED,
    SECTIONS,
    ReportData,
    report_sections,
    resolve_benchmarks,
)
from backtest.report_tables import (
    LOWER_BOUND_RULES,
    STRATEGY_WEIGHT_LAG_DAYS,
    TRAILING_YEARS,
    RunFolder,
    attribution_tables,
    calendar_year_table,
    cost_table,
    group_pnl,
    headline_table,
    limits_table,
    monthly_table,
    risk_table,
    strategy_pnl,
    trades_table,
)

__all__ = [
    # entry points (this module)
    "read_run",
    "extra_run_files",
    "run_spec",
    "build_report",
    "register_commands",
    "cmd_report",
    "main",
    # sections (backtest.report_sections)
    "SECTIONS",
    "DISPLAY_NAMES",
    "SECONDARY_MARKET_SEED",
    "ROLLING_WINDOWS_DAYS",
    "BROAD_MARKETS",
    "NOTES",
    "ReportData",
    "Section",
    "report_sections",
    "resolve_benchmarks",
    # tables (backtest.report_tables)
    "STRATEGY_WEIGHT_LAG_DAYS",
    "TRAILING_YEARS",
    "LOWER_BOUND_RULES",
    "RunFolder",
    "headline_table",
    "calendar_year_table",
    "risk_table",
    "monthly_table",
    "attribution_tables",
    "strategy_pnl",
    "group_pnl",
    "cost_table",
    "trades_table",
    "limits_table",
]


# ------------------------------------------------------------------------------ run folder
def _dated_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0, parse_dates=[0])
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


def read_run(run_dir: str | Path) -> RunFolder:
    """Read the files the report needs from a run folder (see the module docstring)."""
    path = Path(run_dir)
    if not (path / "nav.csv").exists():
        raise FileNotFoundError(f"{path}: not a run folder (no nav.csv); run `multistrat backtest`")
    extra = {}
    for key in ("benchmarks", "pnl_by_asset_class", "pnl_by_book"):
        if (path / f"{key}.csv").exists():
            extra[key] = _dated_csv(path / f"{key}.csv")
    for key, file in (("spec", "spec.json"), ("metrics", "metrics.json")):
        if (path / file).exists():
            extra[key] = json.loads((path / file).read_text())
    if (path / "trades.csv").exists():
        extra["trades"] = pd.read_csv(path / "trades.csv", usecols=["date", "book", "cost"],
                                      parse_dates=["date"])  # fmt: skip
    if (path / "holdings.parquet").exists():
        extra["holdings_last"] = _last_holdings(path / "holdings.parquet")
    return RunFolder(
        path=path,
        nav=_dated_csv(path / "nav.csv"),
        weights=_dated_csv(path / "weights.csv"),
        strategy_returns=_dated_csv(path / "strategy_returns.csv"),
        compliance=pd.read_csv(path / "compliance.csv", parse_dates=["date"]),
        **extra,
    )


def _last_holdings(file: Path) -> pd.DataFrame:
    """Rows of ``holdings.parquet`` on its last date (read with a filter, not the whole file)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    dates = pq.read_table(file, columns=["date"])["date"]
    if len(dates) == 0:
        return pd.DataFrame()
    return pq.read_table(file, filters=[("date", "=", pc.max(dates))]).to_pandas()


def extra_run_files(run) -> dict[str, pd.DataFrame]:
    """Tables a run folder should also hold for the report: file name → dated DataFrame.

    ``benchmarks.csv``: :func:`backtest.benchmark_index.benchmark_series` of the run's market
    (levels of ``proxy_index``, ``equity_index``, ``bond_index``, ``sixty_forty``);
    ``pnl_by_asset_class.csv`` and ``pnl_by_book.csv``: the simulator's daily P&L net of costs in
    USD (``SimulationResult.pnl_by``). Each is written with ``to_csv`` (date index).
    """
    from backtest.benchmark_index import benchmark_series

    return {
        "benchmarks.csv": benchmark_series(run.market),
        "pnl_by_asset_class.csv": run.result.pnl_by("asset_class"),
        "pnl_by_book.csv": run.result.pnl_by("book"),
    }


def run_spec(run) -> dict:
    """The run's :class:`~backtest.fund.FundSpec` as JSON-ready data plus ``market_name``
    (for ``spec.json``)."""
    import dataclasses

    doc = json.loads(json.dumps(dataclasses.asdict(run.spec), default=str))
    doc["market_name"] = run.market.name
    return doc


# ------------------------------------------------------------------------------ entry points
def build_report(
    run_dir: str | Path,
    benchmarks: list[str] | None = None,
    market=None,
    fmt: str = "html",
    out: str | Path | None = None,
    market_price: str | Path | None = None,
    secondary_seed: int = SECONDARY_MARKET_SEED,
) -> Path:
    """Build the benchmark comparison report of a run folder; returns the file written.

    Parameters
    ----------
    run_dir : folder written by :func:`backtest.run_io.write_run`.
    benchmarks : built-in names (:data:`backtest.benchmark_index.BENCHMARK_NAMES`) and/or paths
        of CSV files (``date,level`` or ``date,return``); default: every built-in one.
    market : MarketData, optional
        The run's market, for the built-in benchmarks (else the folder's ``benchmarks.csv``, else
        the synthetic market rebuilt from ``spec.json``).
    fmt : ``"html"`` (one self-contained file) or ``"pdf"`` (one page per section).
    out : output file (default ``run_dir/report.<fmt>``); written whole or not at all.
    market_price : CSV of closing prices (``date,midpoint`` or ``date,bid,ask``) for the
        premium/discount section; when None the market is simulated with ``secondary_seed``.
    """
    if fmt not in ("html", "pdf"):
        raise ValueError(f"format must be 'html' or 'pdf', got {fmt!r}")
    run = read_run(run_dir)
    sections = report_sections(run, benchmarks, market, market_price, secondary_seed)
    dates = run.nav.index
    title = f"{run.name}: benchmark comparison"
    subtitle = (f"Backtest from {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d} ({len(dates)} "
                f"trading days), run folder {run.path.resolve().name}.")  # fmt: skip
    target = Path(out) if out is not None else run.path / f"report.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if fmt == "html":
            tmp.write_text(rc.render_html(title, subtitle, sections), encoding="utf-8")
        else:
            rc.render_pdf(tmp, title, subtitle, sections)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def register_commands(sub) -> None:
    """Add ``multistrat report RUN_DIR [--benchmark NAME|CSV ...] [--format html|pdf]
    [--out FILE] [--market-price CSV]`` to an argparse subparsers object."""
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


def cmd_report(args) -> int:
    """Handler of ``multistrat report``: build, print the file written; exit code 0."""
    import time

    start = time.perf_counter()
    path = build_report(args.run_dir, args.benchmark, fmt=args.format, out=args.out,
                        market_price=args.market_price)  # fmt: skip
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv=None) -> int:
    """``multistrat report ...`` on its own, with the CLI's exit codes (2: bad input)."""
    import argparse
    import sys

    from backtest.cli import EXIT_BAD_INPUT
    from backtest.validation import DataError

    parser = argparse.ArgumentParser(prog="multistrat")
    register_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"multistrat: bad data: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"multistrat: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
