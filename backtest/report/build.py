"""The benchmark comparison report for the fund's board and investors: one HTML file or a PDF.

>>> build_report("runs/latest", ["proxy_index", "equity_index", "ref.csv"])   # doctest: +SKIP
PosixPath('runs/latest/report.html')

Input: a :class:`~backtest.report.run_folder.RunFolder`, built from the in-memory run by
:func:`backtest.report.run_folder.from_run` (what ``multistrat backtest`` does) or read from a
run folder written by :func:`backtest.report.outputs.write_run` (``nav.csv``, ``weights.csv``,
``strategy_returns.csv``, ``compliance.csv``, ``metrics.json``, ``trades.csv``,
``holdings.parquet`` plus, when present, ``benchmarks.csv``, ``pnl_by_asset_class.csv``,
``pnl_by_book.csv`` and ``spec.json``). Without benchmarks (and no ``market`` given) the
built-in benchmarks are reported as not available — the report never regenerates a market;
without the P&L files the asset-class and book attributions say what is missing. Output:
:func:`backtest.report.render.render_html` or ``render_pdf`` (one page
per entry of :data:`SECTIONS`).

Conventions (see also :mod:`backtest.analytics.metrics`):

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
  :func:`backtest.analytics.performance.attribute`, so the items add up to the net-asset return
  (which
  differs from the per-share return only by NAV rounding, ~1e-7 a day).

Layout: this module holds :func:`build_report`; the run's tables are read or assembled in
:mod:`backtest.report.run_folder`, the tables built in :mod:`backtest.report.tables`, the
sections in :mod:`backtest.report.sections`, drawn and rendered in :mod:`backtest.report.charts`;
the ``report`` command is :mod:`backtest.cli.report_cmd`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from backtest.report import render as rc
from backtest.report.chart_pool import section_pngs
from backtest.report.charts import chart_png
from backtest.report.run_folder import RunFolder, read_run
from backtest.report.sections import SECONDARY_MARKET_SEED, iter_sections, report_sections

__all__ = ["RUN_CHARTS", "build_report", "section_charts"]

#: The PNG charts of a run folder (:func:`backtest.report.outputs.write_run`): file name → the
#: report section whose chart it is (the same bytes as the report's; drawn once).
RUN_CHARTS = {"nav_vs_equity.png": "cumulative", "strategy_weights.png": "weights",
              "subsidiary.png": "subsidiary"}  # fmt: skip


def build_report(
    run: str | Path | RunFolder,
    benchmarks: list[str] | None = None,
    market=None,
    fmt: str = "html",
    out: str | Path | None = None,
    market_price: str | Path | None = None,
    secondary_seed: int = SECONDARY_MARKET_SEED,
    relative_to: str | None = None,
    chart_files: Mapping[str, str | Path] | None = None,
    pool=None,
    meanwhile=None,
) -> Path:
    """Build the benchmark comparison report of a run folder; returns the file written.

    Parameters
    ----------
    run : a :class:`RunFolder` (e.g. :func:`~backtest.report.run_folder.from_run`) or the path
        of a folder written by :func:`backtest.report.outputs.write_run`.
    benchmarks : built-in names (:data:`backtest.analytics.benchmark_names.BENCHMARK_NAMES`)
        and/or paths of CSV files (``date,level`` or ``date,return``); default: every built-in
        one. CSV files add to the built-in ones; naming built-in ones chooses among them.
    market : MarketData, optional
        The run's market, for the built-in benchmarks (else the run's ``benchmarks``).
    fmt : ``"html"`` (one self-contained file) or ``"pdf"`` (one page per section).
    out : output file (default ``<run folder>/report.<fmt>``); written whole or not at all.
    market_price : CSV of closing prices (``date,midpoint`` or ``date,bid,ask``) for the
        premium/discount section; when None the market is simulated with ``secondary_seed``.
    relative_to : the benchmark of the relative view (a built-in name or a CSV file's stem);
        default the proxy multi-strategy index.
    chart_files : section anchor → PNG file: the chart of these sections is also written there
        (e.g. :data:`RUN_CHARTS`), the same bytes as the HTML report's.
    pool : a worker process that draws charts too
        (:func:`backtest.report.chart_pool.chart_workers`); None: all drawn in this process.
    meanwhile : a function this process calls while the worker draws (e.g. writing the rest
        of a run folder); called once in any case.
    """
    if fmt not in ("html", "pdf"):
        raise ValueError(f"format must be 'html' or 'pdf', got {fmt!r}")
    if not isinstance(run, RunFolder):
        run = read_run(run)
    sections = iter_sections(run, benchmarks, market, market_price, secondary_seed, relative_to)
    dates = run.nav.index
    title = f"{run.name}: benchmark comparison"
    subtitle = (f"Backtest from {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d} ({len(dates)} "
                f"trading days), run folder {run.path.resolve().name}.")  # fmt: skip
    target = Path(out) if out is not None else run.path / f"report.{fmt}"
    if fmt == "html":  # every section built (and its charts drawn) before anything is written
        sections, pngs = section_pngs(sections, pool, meanwhile)
        text = rc.render_html(title, subtitle, sections, pngs)
        charts = _first_charts(sections, chart_files or {}, pngs)
    else:
        sections = list(sections)
        if meanwhile is not None:
            meanwhile()
        charts = _first_charts(sections, chart_files or {})
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if fmt == "html":
            tmp.write_text(text, encoding="utf-8")
        else:
            rc.render_pdf(tmp, title, subtitle, sections)
        for anchor, path in (chart_files or {}).items():
            Path(path).write_bytes(charts[anchor])
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def section_charts(
    run: RunFolder, anchors: list[str], benchmarks: list[str] | None = None, market=None
) -> dict[str, bytes]:
    """PNG bytes of the chart of each section of ``anchors`` (e.g. the values of
    :data:`RUN_CHARTS`), as :func:`build_report` draws them, without the rest of the report."""
    sections = report_sections(run, benchmarks, market, None, SECONDARY_MARKET_SEED, None)
    return _first_charts(sections, anchors)


def _first_charts(sections: list, anchors, pngs: list[list[bytes]] | None = None):
    """The first chart of the sections ``anchors`` name, as PNG bytes (``pngs``: each section's
    charts already drawn; None: drawn here); KeyError naming an anchor without a chart."""
    index = {s.anchor: k for k, s in enumerate(sections)}
    out = {}
    for anchor in anchors:
        if anchor not in index or not sections[index[anchor]].charts:
            raise KeyError(f"the report has no chart in a section {anchor!r}")
        k = index[anchor]
        out[anchor] = chart_png(*sections[k].charts[0]) if pngs is None else pngs[k][0]
    return out
