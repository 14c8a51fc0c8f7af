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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from backtest import analytics as an
from backtest import report_charts as rc
from backtest.benchmark_index import BENCHMARK_NAMES
from backtest.report_charts import Section, fmt_num, fmt_pct, formatted

#: (anchor, heading) of every section, in order; one PDF page each.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Performance summary"),
    ("cumulative", "Cumulative return"),
    ("drawdowns", "Drawdowns"),
    ("correlation", "Rolling correlation to equity and bond indexes"),
    ("beta", "Rolling beta"),
    ("monthly", "Monthly returns"),
    ("weights", "Strategy weights"),
    ("attribution-strategy", "Return attribution by strategy"),
    ("attribution-asset-class", "Return attribution by asset class"),
    ("attribution-book", "Return attribution by book"),
    ("costs", "Costs and fees"),
    ("subsidiary", "Subsidiary share of total assets"),
    ("limits", "Limit checks"),
    ("premium-discount", "Premium/discount to NAV"),
)
DISPLAY_NAMES = {
    "fund": "Fund",
    "proxy_index": "Proxy multi-strategy index",
    "equity_index": "Equity index (TR)",
    "bond_index": "Bond index (TR)",
    "sixty_forty": "60/40 equity/bond",
}
#: Days between a weight's decision and the first return it earns (decide t, trade t+1).
STRATEGY_WEIGHT_LAG_DAYS = 2
#: Seed of the simulated secondary market when no market-price file is given.
SECONDARY_MARKET_SEED = 2014
TRAILING_YEARS = (1, 3, 5)
ROLLING_WINDOWS_DAYS = (63, 252)
#: The broad-market indexes the fund's correlation and beta are measured against.
BROAD_MARKETS = ("equity_index", "bond_index")
#: Rules whose figure must stay *above* the limit (no negative cash).
LOWER_BOUND_RULES = frozenset({"cash_fund", "cash_subsidiary"})


# ------------------------------------------------------------------------------ run folder
@dataclass(frozen=True)
class RunFolder:
    """The tables of a run folder the report reads (optional ones None when absent)."""

    path: Path
    nav: pd.DataFrame
    weights: pd.DataFrame
    strategy_returns: pd.DataFrame
    compliance: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    spec: dict | None = None
    benchmarks: pd.DataFrame | None = None
    pnl_by_asset_class: pd.DataFrame | None = None
    pnl_by_book: pd.DataFrame | None = None
    trades: pd.DataFrame | None = None
    holdings_last: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return str((self.spec or {}).get("name") or self.path.resolve().name)


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


# ------------------------------------------------------------------------------ benchmarks
def _rebuilt_benchmarks(run: RunFolder, proxy: bool) -> tuple[pd.DataFrame, str]:
    from backtest.benchmark_index import benchmark_series
    from backtest.fund import MarketSpec
    from backtest.synthetic import synthetic_market

    spec = run.spec or {}
    market_name = str(spec.get("market_name", ""))
    if market_name and not market_name.startswith("synthetic"):
        raise ValueError(
            f"{run.path}: no benchmarks.csv, and the run's market {market_name!r} is not the "
            "synthetic one: pass it (build_report(..., market=...)) or write benchmarks.csv "
            "(backtest.report.extra_run_files)"
        )
    seed = int(spec.get("market", {}).get("seed", MarketSpec().seed))
    dates = run.nav.index
    market = synthetic_market(seed=seed, start=dates[0], end=dates[-1])
    why = "." if run.spec else " (seed assumed: the run folder has no spec.json)."
    note = f"Benchmarks rebuilt from the synthetic market, seed {seed}, over the run's dates{why}"
    return benchmark_series(market, proxy=proxy), note


def resolve_benchmarks(run: RunFolder, names=None, market=None):
    """Benchmark levels on the fund's dates: the requested ones (built-in names or CSV paths),
    plus ``equity_index`` and ``bond_index`` when available (the correlation sections use them).
    A built-in name the source lacks is an error when asked for, a note by default.

    Sources, first available: ``market``; the folder's ``benchmarks.csv``; the synthetic market
    rebuilt from ``spec.json``. A CSV benchmark is carried forward to the fund's dates inside its
    own date range.

    Returns
    -------
    (DataFrame, list[str], list[str])
        Levels (requested columns first), the requested columns' names, notes for the report.
    """
    from backtest.benchmark_index import benchmark_series, load_user_benchmark

    names_given = names is not None
    names = [str(n) for n in (BENCHMARK_NAMES if names is None else names)]
    builtin = [n for n in names if n in BENCHMARK_NAMES]
    files = [n for n in names if n not in BENCHMARK_NAMES]
    for n in files:
        if not (n.lower().endswith(".csv") or Path(n).is_file()):
            raise ValueError(f"unknown benchmark {n!r}: use one of {list(BENCHMARK_NAMES)} or the "
                             "path of a CSV file with date,level or date,return")  # fmt: skip
    notes = []
    if market is not None:
        available = benchmark_series(market, proxy="proxy_index" in builtin)
    elif run.benchmarks is not None:
        available = run.benchmarks
    else:
        available, note = _rebuilt_benchmarks(run, proxy="proxy_index" in builtin)
        notes.append(note)
    dates = run.nav.index
    out = {}
    for n in builtin:
        if n in available:
            out[n] = available[n].reindex(dates)
        elif names_given:
            raise ValueError(f"benchmark {n!r} is not available (have {list(available.columns)})")
        else:
            notes.append(f"Benchmark {DISPLAY_NAMES[n]} is not available for this run's market.")
    for n in files:
        level = load_user_benchmark(n)
        key = level.name if level.name not in {*out, "fund"} else f"{level.name} (file)"
        inside = (dates >= level.index[0]) & (dates <= level.index[-1])
        out[key] = level.reindex(dates.union(level.index)).ffill().reindex(dates).where(inside)
        notes.append(f"Benchmark {key!r} read from {n}, carried forward to the fund's dates.")
    requested = list(out)
    for n in BROAD_MARKETS:
        if n not in out and n in available:
            out[n] = available[n].reindex(dates)
    return pd.DataFrame(out, index=dates), requested, notes


# ------------------------------------------------------------------------------ tables
def _base_on_or_before(dates: pd.DatetimeIndex, when: pd.Timestamp) -> pd.Timestamp | None:
    k = int(dates.searchsorted(when, side="right")) - 1
    return dates[k] if k >= 0 else None


def _window_return(level: pd.Series, base, annualise: bool) -> float:
    """Return from the close of ``base`` to the last date; NaN unless the window is complete."""
    window = level.loc[base:] if base is not None else level.iloc[:0]
    if len(window) < 2 or window.isna().any():
        return float("nan")
    r = an.returns_from_levels(window)
    return float(an.annual_return(r) if annualise else an.total_return(r))


def headline_table(levels: pd.DataFrame) -> pd.DataFrame:
    """Period returns (decimal): rows are the series of ``levels``, columns the periods.

    ``levels``: NAV per share and benchmark levels on the fund's dates. Columns
    ``Since inception``, ``YTD``, ``1 year``, ``3 years``, ``5 years``, with ``" (ann.)"`` where
    annualised (period rules in the module docstring).
    """
    dates = levels.index
    first, end = dates[0], dates[-1]
    long_run = end >= first + pd.DateOffset(years=1)
    ytd = _base_on_or_before(dates, pd.Timestamp(end.year - 1, 12, 31)) or first
    periods = {f"Since inception{' (ann.)' if long_run else ''}": (first, long_run),
               "YTD": (ytd, False)}  # fmt: skip
    for k in TRAILING_YEARS:
        start = end - pd.DateOffset(years=k)
        name = f"{k} year" + ("s (ann.)" if k > 1 else "")
        periods[name] = (_base_on_or_before(dates, start) if start >= first else None, k > 1)
    return pd.DataFrame(
        {name: [_window_return(levels[c], base, ann) for c in levels.columns]
         for name, (base, ann) in periods.items()},
        index=levels.columns,
    )  # fmt: skip


def calendar_year_table(levels: pd.DataFrame) -> pd.DataFrame:
    """Calendar-year returns (decimal): rows are years, columns the series.

    A year runs from the previous year's last close (or inception) to its own last close in the
    data; years the run covers in part are labelled like ``"2015*"``.
    """
    from backtest.market import next_session

    dates = levels.index
    complete_end = dates[-1].month == 12 and next_session(dates).year > dates[-1].year
    rows = {}
    for year in sorted(set(dates.year)):
        base = _base_on_or_before(dates, pd.Timestamp(year - 1, 12, 31))
        partial = base is None or (year == dates[-1].year and not complete_end)
        cut = levels.loc[: pd.Timestamp(year, 12, 31)]
        rows[f"{year}*" if partial else str(year)] = {
            c: _window_return(cut[c], dates[0] if base is None else base, False) for c in cut
        }
    return pd.DataFrame(rows).T.rename_axis("year")


def risk_table(returns: pd.DataFrame, broad: dict[str, pd.Series]) -> pd.DataFrame:
    """Since-inception statistics (rows) of each series (columns), from backtest.analytics,
    with correlation and beta to each of ``broad`` (short name → daily returns)."""
    s = an.summary(returns)
    names = {
        "annual_return": "Annual return", "annual_volatility": "Annual volatility",
        "sharpe_ratio": "Sharpe ratio (rf = 0)", "sortino_ratio": "Sortino ratio",
        "max_drawdown": "Max drawdown", "max_drawdown_duration_days": "Longest drawdown (days)",
        "worst_month": "Worst month", "value_at_risk_95": "Daily VaR 95%",
    }  # fmt: skip
    rows = {label: s.loc[key] for key, label in names.items()}
    for name, bench in broad.items():
        rel = an.relative_summary(returns, bench)
        rows[f"Correlation to {name}"] = rel.loc["correlation"]
        rows[f"Beta to {name}"] = rel.loc["beta"]
    return pd.DataFrame(rows).T


def monthly_table(returns: pd.Series) -> pd.DataFrame:
    """Years × (Jan..Dec, Year) of the fund's monthly and calendar-year returns, decimal."""
    monthly = an.monthly_returns(returns)
    keys = pd.MultiIndex.from_arrays([monthly.index.year, monthly.index.month])
    table = pd.Series(monthly.to_numpy(), index=keys).unstack().reindex(columns=range(1, 13))
    table.columns = pd.date_range("2001-01-01", periods=12, freq="MS").strftime("%b")
    table["Year"] = (1.0 + returns).groupby(returns.index.year).prod() - 1.0
    return table.rename_axis("year")


def attribution_tables(pnl: pd.DataFrame, net_assets: pd.Series):
    """Linked contributions of each P&L item (USD, dates × items) over previous net assets.

    Returns
    -------
    (DataFrame, DataFrame)
        The cumulative contributions (dates × items) since inception, and a table whose rows are
        the calendar years (linked within each year) and ``"Since inception"``, columns the
        items and ``"Total"``; decimal returns.
    """
    groups = pd.Series(pnl.columns, index=pnl.columns)
    full = an.attribute(pnl, net_assets, groups)["cumulative"][list(pnl.columns)]
    rows = {str(y): an.attribute(pnl[pnl.index.year == y], net_assets, groups)["cumulative"]
            .iloc[-1] for y in sorted(set(pnl.index.year))}  # fmt: skip
    rows["Since inception"] = full.iloc[-1]
    table = pd.DataFrame(rows).T[list(pnl.columns)].rename_axis("period")
    table["Total"] = table.sum(axis=1)
    return full, table


def _other_items(nav: pd.DataFrame) -> dict[str, pd.Series]:
    return {"cash interest": nav["interest"], "expenses": -nav["expenses"],
            "creation/redemption fees": nav["fees"]}  # fmt: skip


def strategy_pnl(run: RunFolder) -> pd.DataFrame:
    """Daily P&L (USD) by strategy, ``weight[t−2] × strategy_return[t] × net_assets[t−1]``, plus
    cash interest, expenses, fees and the implementation residual, so that the items add up to
    the day's change in net assets less flows."""
    nav = run.nav
    weights = run.weights.reindex(nav.index).fillna(0.0)
    sr = run.strategy_returns.reindex(index=nav.index, columns=weights.columns).fillna(0.0)
    held = weights.shift(STRATEGY_WEIGHT_LAG_DAYS).fillna(0.0)
    pnl = (held * sr).mul(nav["net_assets"].shift(1), axis=0).fillna(0.0)
    for k, v in _other_items(nav).items():
        pnl[k] = v
    change = (nav["net_assets"].diff() - nav["flow_value"]).fillna(0.0)
    pnl["implementation (residual)"] = change - pnl.sum(axis=1)
    return pnl


def group_pnl(run: RunFolder, by: pd.DataFrame | None) -> pd.DataFrame | None:
    """P&L by asset class or book (USD, net of costs) plus cash interest, expenses and fees."""
    if by is None:
        return None
    pnl = by.reindex(run.nav.index).fillna(0.0)
    return pnl.assign(**_other_items(run.nav))


def cost_table(nav: pd.DataFrame) -> pd.DataFrame:
    """Drag of trading costs and expenses (decimal a year) by calendar year and since inception."""
    rows = {str(y): an.cost_drag(part["costs"], part["expenses"], nav["net_assets"])
            for y, part in nav.groupby(nav.index.year)}  # fmt: skip
    rows["Since inception"] = an.cost_drag(nav["costs"], nav["expenses"], nav["net_assets"])
    table = pd.DataFrame(rows).T.rename_axis("period")
    table.columns = ["Trading costs", "Expenses", "Total"]
    return table


def trades_table(trades: pd.DataFrame) -> pd.DataFrame:
    """Executions and their costs (USD) by year and book, from ``trades.csv``."""
    year = trades["date"].dt.year.rename("year")
    g = trades.groupby([year, "book"])["cost"]
    out = pd.concat({"trades": g.size(), "cost (USD)": g.sum()}, axis=1).unstack(fill_value=0)
    out.columns = [f"{book}: {what}" for what, book in out.columns]
    return out


def limits_table(compliance: pd.DataFrame) -> pd.DataFrame:
    """Per rule: days checked, days it applied, breaches, and the day of least headroom.

    Headroom is ``limit − figure`` for upper limits and ``figure − limit`` for the lower-bound
    rules (:data:`LOWER_BOUND_RULES`), over the days the rule applied (all days when it never
    did); limits may vary by day (the VaR test), hence the worst day rather than the worst figure.
    """
    rows = {}
    for rule, g in compliance.groupby("rule", sort=False):
        applies, breach = g["applies"].astype(bool), g["breach"].astype(bool)
        pool = g[applies] if applies.any() else g
        sign = -1.0 if rule in LOWER_BOUND_RULES else 1.0
        worst = pool.loc[(sign * (pool["figure"] - pool["limit"])).idxmax()]
        dates = g.loc[breach, "date"]
        rows[rule] = {
            "days checked": len(g), "days applicable": int(applies.sum()),
            "breaches": int(breach.sum()), "bound": "minimum" if sign < 0 else "maximum",
            "worst day": f"{worst['date']:%Y-%m-%d}", "figure": worst["figure"],
            "limit": worst["limit"],
            "breach dates": f"{dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}" if len(dates)
            else "",
        }  # fmt: skip
    return pd.DataFrame(rows).T.rename_axis("rule")


# ------------------------------------------------------------------------------ sections
NOTES = {
    "summary": "Fund: NAV per share (5 decimals), after expenses and costs; benchmarks: total "
    "return, no costs or fees. Periods end on the last date; periods of one year or less show "
    "cumulative returns, longer ones (ann.) the annualised return (252 trading days a year). "
    "A dash: the series does not cover the whole period. Calendar years marked * are partial.",
    "cumulative": "Growth of $100 invested at the fund's inception in the fund and in each "
    "benchmark.",
    "drawdowns": "Fall of each series from its running peak (the starting value is a peak).",
    "correlation": "Pearson correlation of the fund's daily returns with each index over "
    "trailing {0}- and {1}-day windows; the fund aims at low correlation to broad markets.",
    "beta": "Beta, cov(fund, index) / var(index), of daily returns over trailing {0}- and "
    "{1}-day windows.",
    "monthly": "Calendar-month returns of the fund (%), compounded from daily returns; the last "
    "column is the calendar year. The first and last months may be partial.",
    "weights": "Allocator weights in force each day, as a fraction of net assets (the "
    "volatility target may lever the total above 1).",
    "attribution": "Cash interest, expenses and creation/redemption fees are items of their "
    "own; contributions over the previous day's net assets are linked so that they add up to "
    "the fund's compounded return (backtest.analytics.attribute).",
    "attribution-strategy": "Each strategy's weight decided two days before times its "
    "standalone return (decide at t, trade at t+1's close, earn from t+2). The residual is the "
    "gap to the fund's actual return: whole contracts, limits, the no-trade buffer, and actual "
    "trading costs instead of the flat 2 bp of the strategy return streams.",
    "attribution-asset-class": "The simulator's P&L of each asset class, net of trading costs.",
    "attribution-book": "P&L of the fund's own book and of the Subsidiary, net of trading costs.",
    "no-broad": "Not available: the run's market has no broad equity or bond index "
    "(MarketData.benchmarks).",
    "missing": "Not available: the run folder has no {0} (see backtest.report.extra_run_files).",
    "costs": "Trading costs (spread, commissions, impact, borrow) and fund expenses (the expense "
    "ratio accrued daily) over the previous day's net assets, annualised as mean daily drag × "
    "252 (backtest.analytics.cost_drag).",
    "subsidiary": "The fund's investment in its wholly-owned Subsidiary must not exceed {0:.0%} "
    "of its total assets at each fiscal quarter-end (red dots); cash moves between the books "
    "to keep it there.",
    "limits": "Every investment limit checked on every simulated day after trading "
    "(allocator.compliance). Days applicable: days the rule binds (the Subsidiary cap only at "
    "fiscal quarter-ends). Worst day: least headroom to the limit on those days. Figures are "
    "fractions of net or total assets, counts for the instrument rules. Breaches in all: {0}.",
    "premium-discount": "Premium (+) or discount (−) of the closing bid/ask midpoint to NAV per "
    "share: days in each range for the last completed calendar year and each of the last four "
    "completed calendar quarters. Ranges include their edge nearer zero; days exactly at NAV "
    "have their own row.",
    "simulated": "No market price was given: midpoints are simulated (seeded AR(1) premium, "
    "seed {0}, 5 bp half-spread, 10 bp daily noise, persistence 0.5; "
    "backtest.premium_discount.simulate_secondary_market).",
}  # fmt: skip


@dataclass(frozen=True)
class ReportData:
    """What the sections are built from: levels and returns (column ``fund`` first, then the
    benchmarks) on the fund's dates, the columns to show, and notes on the sources."""

    run: RunFolder
    levels: pd.DataFrame
    returns: pd.DataFrame
    shown: list[str]
    notes: list[str]

    @property
    def fund(self) -> pd.Series:
        return self.returns["fund"]

    @property
    def broad(self) -> dict[str, pd.Series]:
        """Daily returns of the broad-market indexes available, by display name."""
        return {DISPLAY_NAMES[k]: self.returns[k] for k in BROAD_MARKETS if k in self.returns}


def _display(frame: pd.DataFrame, axis: str = "columns") -> pd.DataFrame:
    return frame.rename(**{axis: lambda c: DISPLAY_NAMES.get(str(c), str(c))})


def _section(anchor: str, *notes, charts=(), tables=()) -> Section:
    return Section(anchor, dict(SECTIONS)[anchor], list(notes), list(charts), list(tables))


def _performance_sections(d: ReportData) -> list[Section]:
    levels, returns = d.levels[d.shown], d.returns[d.shown]
    broad = {k.split(" (")[0].lower(): v for k, v in d.broad.items()}  # "equity index"
    risk = _display(risk_table(returns, broad))
    plain = {k: fmt_num for k in risk.index if "ratio" in k or "to " in k}
    plain["Longest drawdown (days)"] = lambda x: fmt_num(x, 0)
    summary = _section("summary", NOTES["summary"], *d.notes, tables=[
        ("Returns by period", formatted(_display(headline_table(levels), "index"))),
        ("Since inception: risk, and relation to broad markets", formatted(risk, rows=plain)),
        ("Calendar-year returns", formatted(_display(calendar_year_table(levels)))),
    ])  # fmt: skip
    lv, rt = _display(levels), _display(returns)
    max_dd = an.max_drawdown(rt).to_frame("Max drawdown").T
    return [
        summary,
        _section("cumulative", NOTES["cumulative"],
                 charts=[(lambda f: rc.cumulative(f, lv), None)]),
        _section("drawdowns", NOTES["drawdowns"], charts=[(lambda f: rc.drawdowns(f, rt), None)],
                 tables=[("Maximum drawdown", formatted(max_dd))]),
    ]  # fmt: skip


def _market_sections(d: ReportData) -> list[Section]:
    others, w = d.broad, ROLLING_WINDOWS_DAYS
    months = monthly_table(d.fund)
    height = min(9.0, 2.0 + 0.3 * len(months))
    monthly = _section("monthly", NOTES["monthly"],
                       charts=[(lambda f: rc.monthly_heatmap(f, months), height)])  # fmt: skip
    if not others:
        return [_section("correlation", NOTES["no-broad"]), _section("beta", NOTES["no-broad"]),
                monthly]  # fmt: skip
    rel = pd.DataFrame({n: {"Correlation": an.correlation(d.fund, b), "Beta": an.beta(d.fund, b)}
                        for n, b in others.items()}).rename_axis("since inception")  # fmt: skip
    height = 2.0 + 2.3 * len(others)
    return [
        _section("correlation", NOTES["correlation"].format(*w),
                 charts=[(lambda f: rc.rolling_correlation(f, d.fund, others, w), height)],
                 tables=[("Fund vs broad markets", formatted(rel, fmt_num))]),
        _section("beta", NOTES["beta"].format(*w),
                 charts=[(lambda f: rc.rolling_beta(f, d.fund, others, w), height)]),
        monthly,
    ]  # fmt: skip


def _weights_section(d: ReportData) -> Section:
    w = d.run.weights
    w_all = w.assign(Total=w.sum(axis=1))
    stats = pd.DataFrame({"Average": w_all.mean(), "Minimum": w_all.min(),
                          "Maximum": w_all.max(), "Last": w_all.iloc[-1]})  # fmt: skip
    table = formatted(stats.rename_axis("strategy"), fmt_num)
    return _section("weights", NOTES["weights"],
                    charts=[(lambda f: rc.strategy_weights(f, w), None)],
                    tables=[("Weights (fraction of net assets)", table)])  # fmt: skip


def _attribution(anchor: str, pnl: pd.DataFrame | None, d: ReportData, what: str, file: str):
    if pnl is None:
        return _section(anchor, NOTES[anchor], NOTES["missing"].format(file))
    cumulative, table = attribution_tables(pnl, d.run.nav["net_assets"])
    return _section(anchor, NOTES[anchor], NOTES["attribution"],
                    charts=[(lambda f: rc.attribution(f, cumulative, what), None)],
                    tables=[(f"Contribution to return by {what}", formatted(table))])  # fmt: skip


def _attribution_sections(d: ReportData) -> list[Section]:
    run = d.run
    return [
        _attribution("attribution-strategy", strategy_pnl(run), d, "strategy", ""),
        _attribution("attribution-asset-class", group_pnl(run, run.pnl_by_asset_class), d,
                     "asset class", "pnl_by_asset_class.csv"),
        _attribution("attribution-book", group_pnl(run, run.pnl_by_book), d, "book",
                     "pnl_by_book.csv"),
    ]  # fmt: skip


def _costs_section(d: ReportData) -> Section:
    table = cost_table(d.run.nav)
    bars = 1e4 * table.drop(index="Since inception", columns="Total")
    tables = [("Drag on return, a year", formatted(table))]
    if d.run.trades is not None and len(d.run.trades):
        tables.append(("Executions and trading costs (USD) by book, from trades.csv",
                       formatted(trades_table(d.run.trades), lambda x: fmt_num(x, 0))))  # fmt: skip
    return _section("costs", NOTES["costs"], charts=[(lambda f: rc.cost_drag(f, bars), None)],
                    tables=tables)  # fmt: skip


def _subsidiary_positions(h: pd.DataFrame | None, net_assets: float):
    if h is None or not len(h) or "book" not in h:
        return []
    sub = h[h["book"] == "subsidiary"]
    sub = sub.assign(pct=sub["notional_usd"] / net_assets)
    sub = sub.loc[sub["pct"].abs().sort_values(ascending=False).index[:10]]
    top = pd.DataFrame({
        "quantity": [fmt_num(q, 0) for q in sub["quantity"]],
        "notional (USD)": [fmt_num(x, 0) for x in sub["notional_usd"]],
        "notional (% of net assets)": [fmt_pct(x) for x in sub["pct"]],
    }, index=pd.Index(sub["instrument"].astype(str), name="instrument"))  # fmt: skip
    return [(f"Largest Subsidiary positions on {pd.Timestamp(h['date'].iloc[0]):%Y-%m-%d}", top)]


def _subsidiary_section(d: ReportData) -> Section:
    nav, comp = d.run.nav, d.run.compliance
    cap_rows = comp[(comp["rule"] == "subsidiary_cap") & comp["applies"].astype(bool)]
    if len(cap_rows):
        cap, quarter_ends = float(cap_rows["limit"].iloc[0]), pd.DatetimeIndex(cap_rows["date"])
    else:
        from backtest.market import quarter_end_flags

        cap, quarter_ends = 0.25, nav.index[quarter_end_flags(nav.index)]
    pct = nav["subsidiary_pct_total_assets"]
    at_q = pct.reindex(quarter_ends)
    stats = pd.DataFrame({"Subsidiary / total assets": {
        "Fiscal quarter-ends tested": fmt_num(len(at_q), 0),
        "Highest at a quarter-end": fmt_pct(at_q.max()),
        "Quarter-ends above the cap": fmt_num(int((at_q > cap + 1e-9).sum()), 0),
        "Highest on any day": fmt_pct(pct.max()), "Average": fmt_pct(pct.mean()),
        "Cap": fmt_pct(cap, 0)}}).rename_axis("measure")  # fmt: skip
    return _section(
        "subsidiary", NOTES["subsidiary"].format(cap),
        charts=[(lambda f: rc.subsidiary_share(f, pct, cap, quarter_ends), None)],
        tables=[("Investment in the Subsidiary", stats),
                *_subsidiary_positions(d.run.holdings_last, nav["net_assets"].iloc[-1])],
    )  # fmt: skip


def _limits_section(d: ReportData) -> Section:
    table = limits_table(d.run.compliance)
    counts = {c: lambda x: fmt_num(x, 0) for c in ("days checked", "days applicable", "breaches")}
    shown = table.copy()
    for col in table.columns:
        if col in counts or col in ("figure", "limit"):
            f = counts.get(col, lambda x: fmt_num(x, 4))
            shown[col] = [f(float(v)) for v in table[col]]
    total = int(table["breaches"].sum())
    return _section("limits", NOTES["limits"].format(total), tables=[("Limit checks", shown)])


def _premium_discount_section(d: ReportData, market_price, seed: int) -> Section:
    from backtest import premium_discount as pdm

    nav_ps = d.run.nav["nav_per_share"]
    if market_price is not None:
        mid = pdm.load_market_prices(market_price)
        source = f"Closing prices from {Path(market_price).name}."
    else:
        mid = pdm.simulate_secondary_market(nav_ps, seed=seed)["midpoint"]
        source = NOTES["simulated"].format(seed)
    series = pdm.premium_discount(nav_ps, mid).dropna()
    if series.empty:
        return _section("premium-discount", NOTES["premium-discount"], source,
                        "No date has both a market price and a NAV.")  # fmt: skip
    table = pdm.disclosure_table(series)
    shown = pd.DataFrame(index=table.index)
    for period in table.columns.get_level_values(0).unique():
        shown[f"{period}: days"] = [fmt_num(float(v), 0) for v in table[(period, "days")]]
        shown[f"{period}: %"] = [fmt_num(float(v), 1) for v in table[(period, "percent_of_days")]]
    starts = [v[0] for v in pdm.disclosure_periods(series.index).values() if len(v)]
    window = series.loc[min(starts) :] if starts else series
    return _section("premium-discount", NOTES["premium-discount"], source,
                    charts=[(lambda f: rc.premium_discount(f, window), None)],
                    tables=[("Frequency distribution (days, % of days)", shown)])  # fmt: skip


def report_sections(run: RunFolder, benchmarks=None, market=None, market_price=None,
                    secondary_seed: int = SECONDARY_MARKET_SEED) -> list[Section]:  # fmt: skip
    """Every section of the report, in :data:`SECTIONS` order (charts are drawn on rendering)."""
    bench, requested, notes = resolve_benchmarks(run, benchmarks, market)
    for name, why in (run.metrics.get("skipped_strategies") or {}).items():
        notes.append(f"Strategy {name} was skipped in this run: {why}")
    levels = pd.concat([run.nav["nav_per_share_5dp"].rename("fund"), bench], axis=1)
    d = ReportData(run, levels, levels.pct_change().iloc[1:], ["fund", *requested], notes)
    sections = _performance_sections(d) + _market_sections(d) + [_weights_section(d)]
    sections += _attribution_sections(d)
    sections += [_costs_section(d), _subsidiary_section(d), _limits_section(d)]
    sections.append(_premium_discount_section(d, market_price, secondary_seed))
    return sections


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
