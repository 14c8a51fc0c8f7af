"""Sections of the benchmark comparison report (:mod:`backtest.report`): the benchmarks on the
fund's dates, the notes, and one :class:`~backtest.report.charts.Section` (notes, charts drawn on
rendering, formatted tables) per entry of :data:`SECTIONS`.

Every public name here is re-exported by :mod:`backtest.report`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from backtest.analytics import performance as an
from backtest.analytics import premium_discount as pdm
from backtest.analytics.benchmark_names import BENCHMARK_NAMES
from backtest.analytics.benchmarks import benchmark_series
from backtest.analytics.tearsheet import cash_returns, own_window, worst_drawdowns
from backtest.data.series import load_market_prices, load_user_benchmark
from backtest.market.calendar import quarter_end_flags
from backtest.report import charts as rc
from backtest.report import tearsheet as ts
from backtest.report.basket_section import basket_section
from backtest.report.charts import Section, fmt_num, fmt_pct, formatted
from backtest.report.report_data import (
    BROAD_MARKETS,
    DISPLAY_NAMES,
    ReportData,
    display,
    flag_windows,
    section,
)
from backtest.report.run_folder import RunFolder
from backtest.report.tables import (
    attribution_tables,
    calendar_year_table,
    comparators_table,
    cost_table,
    group_pnl,
    headline_table,
    limits_table,
    monthly_table,
    risk_table,
    strategy_pnl,
    trades_table,
)

#: Seed of the simulated secondary market when no market-price file is given.
SECONDARY_MARKET_SEED = 2014
ROLLING_WINDOWS_DAYS = (63, 252)


# ------------------------------------------------------------------------------ benchmarks
def resolve_benchmarks(run: RunFolder, names=None, market=None):
    """Benchmark levels on the fund's dates: the built-in ones named (all of them when none is
    named: CSV paths *add* to the built-in benchmarks), then the CSV files, plus
    ``equity_index`` and ``bond_index`` when available (the correlation sections use them).
    A built-in name the source lacks is an error when asked for, a note by default.

    Sources, first available: ``market``; the run's ``benchmarks`` (``benchmarks.csv`` of a run
    folder). Without either, the built-in benchmarks are not available (a note says so; the
    report never regenerates a market). A CSV benchmark is carried forward to the fund's dates
    inside its own date range.

    Returns
    -------
    (DataFrame, list[str], list[str])
        Levels (requested columns first), the requested columns' names, notes for the report.
    """
    names = [str(n) for n in (names or [])]
    builtin = [n for n in names if n in BENCHMARK_NAMES]
    files = [n for n in names if n not in BENCHMARK_NAMES]
    names_given = bool(builtin)  # CSV files add to the built-in benchmarks, names choose them
    builtin = builtin or list(BENCHMARK_NAMES)
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
        available = pd.DataFrame(index=run.nav.index)
        notes.append(f"{run.path}: the run has no benchmarks (no benchmarks.csv, no market "
                     "given), so the built-in ones are not shown.")  # fmt: skip
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
    for n in available.columns:  # further comparators of the market (e.g. its futures)
        if n not in BENCHMARK_NAMES and n not in out:
            out[n] = available[n].reindex(dates)
    return pd.DataFrame(out, index=dates), requested, notes


# ------------------------------------------------------------------------------ sections
COMPARATORS_CAPTION = "Fund vs every comparator of the market (own windows)"
NOTES = {
    "summary": "Fund: NAV per share (5 decimals), after expenses and costs; benchmarks: total "
    "return, no costs or fees. Periods end on the last date; periods of one year or less show "
    "cumulative returns, longer ones (ann.) the annualised return (252 trading days a year). "
    "A dash: the series does not cover the whole period. Calendar years marked * are partial.",
    "cash": "Sharpe ratio over cash: of daily returns in excess of the fund's cash rate, the USD "
    "short rate its cash earns (cash_rate.csv; previous close's rate, ACT/360, as the simulator "
    "accrues interest). The rf = 0 figure counts the T-bill interest on the fund's collateral "
    "as return and is shown only alongside.",
    "no-cash": "The run folder has no cash_rate.csv: the Sharpe ratio over cash is not "
    "available; the rf = 0 figure counts cash interest as return.",
    "cumulative": "Growth of $100 invested at the fund's inception in the fund and in each "
    "benchmark, on a log scale (equal heights are equal percentage moves).",
    "drawdowns": "Fall of each series from its running peak (the starting value is a peak). "
    "Worst drawdowns: peak (last close at the high), trough, recovery (first close back at the "
    "high) and length from peak to recovery, or to the last date when not recovered.",
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
    "the fund's compounded return (backtest.analytics.performance.attribute).",
    "attribution-strategy": "Each strategy's weight decided two days before, as the fund held "
    "it after the pre-trade limits scaled the whole book (gross leverage, VaR: weight × "
    "limit_scale.csv), times its standalone return net of the simulator's cost model on its "
    "own trades (decide at t, trade at t+1's close, earn from t+2). The residual is the gap to "
    "the fund's actual return: the no-trade buffer and whole contracts (fewer trades, lower "
    "costs, positions drifting from the targets), limits that trim single instruments "
    "(industry, illiquid, banned), netting of trades across strategies, and the accounting "
    "of futures margin, forwards and options against the return model.",
    "attribution-asset-class": "The simulator's P&L of each asset class, net of trading costs.",
    "attribution-book": "P&L of the fund's own book and of the Subsidiary, net of trading costs.",
    "no-broad": "Not available: the run's market has no broad equity or bond index "
    "(MarketData.benchmarks).",
    "missing": "Not available: the run folder has no {0} (see backtest.report.extra_run_files).",
    "costs": "Trading costs (spread, commissions, impact, borrow) and fund expenses (the expense "
    "ratio accrued daily) over the previous day's net assets, annualised as mean daily drag × "
    "252 (backtest.analytics.performance.cost_drag).",
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
    "backtest.analytics.premium_discount.simulate_secondary_market).",
}  # fmt: skip


def _performance_sections(d: ReportData) -> list[Section]:
    levels, returns = d.levels[d.shown], d.returns[d.shown]
    broad = {k.split(" (")[0].lower(): v for k, v in d.broad.items()}  # "equity index"
    marks, window_notes = flag_windows(returns)
    risk = display(risk_table(returns, broad, d.cash).rename(columns=marks))
    plain = {k: fmt_num for k in risk.index if "ratio" in k or "to " in k}
    plain["Longest drawdown (days)"] = lambda x: fmt_num(x, 0)
    cash_note = NOTES["cash"] if d.cash is not None else NOTES["no-cash"]
    summary = section("summary", NOTES["summary"], cash_note, *window_notes, *d.notes, tables=[
        ("Returns by period", formatted(display(headline_table(levels), "index"))),
        ("Since inception: risk, and relation to broad markets", formatted(risk, rows=plain)),
        ("Calendar-year returns", formatted(display(calendar_year_table(levels)))),
    ])  # fmt: skip
    lv, rt = display(levels), display(returns)
    max_dd = an.max_drawdown(returns.apply(own_window)).rename(marks)
    max_dd = display(max_dd.to_frame("Max drawdown").T)
    worst = worst_drawdowns(d.fund, top=5)
    table = pd.DataFrame({
        "Peak": [f"{x:%Y-%m-%d}" if pd.notna(x) else "inception" for x in worst["peak"]],
        "Trough": [f"{x:%Y-%m-%d}" for x in worst["trough"]],
        "Recovery": [f"{x:%Y-%m-%d}" if pd.notna(x) else "not yet" for x in worst["recovery"]],
        "Depth": [fmt_pct(x) for x in worst["depth"]],
        "Length (trading days)": [fmt_num(x, 0) for x in worst["days"]],
    }, index=pd.Index(range(1, len(worst) + 1), name="rank"))  # fmt: skip
    return [
        summary,
        section("cumulative", NOTES["cumulative"],
                charts=[(rc.drawing(rc.cumulative, lv), None)]),
        section("drawdowns", NOTES["drawdowns"], *window_notes,
                charts=[(rc.drawing(rc.drawdowns, rt), None)],
                tables=[("Maximum drawdown", formatted(max_dd)),
                        ("Five worst drawdowns of the fund", table)]),
    ]  # fmt: skip


def _market_sections(d: ReportData) -> list[Section]:
    others, w = d.broad, ROLLING_WINDOWS_DAYS
    months = monthly_table(d.fund)
    height = min(9.0, 2.0 + 0.3 * len(months))
    monthly = section("monthly", NOTES["monthly"],
                       charts=[(rc.drawing(rc.monthly_heatmap, months), height)])  # fmt: skip
    if not others:
        return [section("correlation", NOTES["no-broad"]), section("beta", NOTES["no-broad"]),
                monthly]  # fmt: skip
    rel = pd.DataFrame({n: {"Correlation": an.correlation(d.fund, b), "Beta": an.beta(d.fund, b)}
                        for n, b in others.items()}).rename_axis("since inception")  # fmt: skip
    tables = [("Fund vs broad markets", formatted(rel, fmt_num))]
    if d.comparators:
        cols = [*(k for k in BROAD_MARKETS if k in d.returns), *d.comparators]
        comp = comparators_table(d.fund, d.returns[cols]).T
        plain = {k: fmt_num for k in ("Correlation", "Beta", "Sharpe ratio (rf = 0)")}
        shown = display(formatted(comp, fmt_pct, rows=plain).T, "index")
        tables.append((COMPARATORS_CAPTION, shown.rename_axis("comparator")))
    height = 2.0 + 2.3 * len(others)
    return [
        section("correlation", NOTES["correlation"].format(*w),
                 charts=[(rc.drawing(rc.rolling_correlation, d.fund, others, w), height)],
                 tables=tables),
        section("beta", NOTES["beta"].format(*w),
                 charts=[(rc.drawing(rc.rolling_beta, d.fund, others, w), height)]),
        monthly,
    ]  # fmt: skip


def _weights_section(d: ReportData) -> Section:
    w = d.run.weights
    w_all = w.assign(Total=w.sum(axis=1))
    stats = pd.DataFrame({"Average": w_all.mean(), "Minimum": w_all.min(),
                          "Maximum": w_all.max(), "Last": w_all.iloc[-1]})  # fmt: skip
    table = formatted(stats.rename_axis("strategy"), fmt_num)
    return section("weights", NOTES["weights"],
                    charts=[(rc.drawing(rc.strategy_weights, w), None)],
                    tables=[("Weights (fraction of net assets)", table)])  # fmt: skip


def _attribution(anchor: str, pnl: pd.DataFrame | None, d: ReportData, what: str, file: str):
    if pnl is None:
        return section(anchor, NOTES[anchor], NOTES["missing"].format(file))
    cumulative, table = attribution_tables(pnl, d.run.nav["net_assets"])
    return section(anchor, NOTES[anchor], NOTES["attribution"],
                    charts=[(rc.drawing(rc.attribution, cumulative, what), None)],
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
    return section("costs", NOTES["costs"], charts=[(rc.drawing(rc.cost_drag, bars), None)],
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
        cap, quarter_ends = 0.25, nav.index[quarter_end_flags(nav.index)]
    pct = nav["subsidiary_pct_total_assets"]
    at_q = pct.reindex(quarter_ends)
    stats = pd.DataFrame({"Subsidiary / total assets": {
        "Fiscal quarter-ends tested": fmt_num(len(at_q), 0),
        "Highest at a quarter-end": fmt_pct(at_q.max()),
        "Quarter-ends above the cap": fmt_num(int((at_q > cap + 1e-9).sum()), 0),
        "Highest on any day": fmt_pct(pct.max()), "Average": fmt_pct(pct.mean()),
        "Cap": fmt_pct(cap, 0)}}).rename_axis("measure")  # fmt: skip
    return section(
        "subsidiary", NOTES["subsidiary"].format(cap),
        charts=[(rc.drawing(rc.subsidiary_share, pct, cap, quarter_ends), None)],
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
    return section("limits", NOTES["limits"].format(total), tables=[("Limit checks", shown)])


def _premium_discount_section(d: ReportData, market_price, seed: int) -> Section:
    nav_ps = d.run.nav["nav_per_share"]
    if market_price is not None:
        mid = load_market_prices(market_price)
        source = f"Closing prices from {Path(market_price).name}."
    else:
        mid = pdm.simulate_secondary_market(nav_ps, seed=seed)["midpoint"]
        source = NOTES["simulated"].format(seed)
    series = pdm.premium_discount(nav_ps, mid).dropna()
    if series.empty:
        return section("premium-discount", NOTES["premium-discount"], source,
                        "No date has both a market price and a NAV.")  # fmt: skip
    table = pdm.disclosure_table(series)
    shown = pd.DataFrame(index=table.index)
    for period in table.columns.get_level_values(0).unique():
        shown[f"{period}: days"] = [fmt_num(float(v), 0) for v in table[(period, "days")]]
        shown[f"{period}: %"] = [fmt_num(float(v), 1) for v in table[(period, "percent_of_days")]]
    starts = [v[0] for v in pdm.disclosure_periods(series.index).values() if len(v)]
    window = series.loc[min(starts) :] if starts else series
    return section("premium-discount", NOTES["premium-discount"], source,
                    charts=[(rc.drawing(rc.premium_discount, window), None)],
                    tables=[("Frequency distribution (days, % of days)", shown)])  # fmt: skip


def _cash(run: RunFolder, dates: pd.DatetimeIndex) -> pd.Series | None:
    if run.cash_rate is None or "USD" not in run.cash_rate:
        return None
    return cash_returns(run.cash_rate["USD"].reindex(run.nav.index)).reindex(dates)


def report_sections(run: RunFolder, benchmarks=None, market=None, market_price=None,
                    secondary_seed: int = SECONDARY_MARKET_SEED,
                    relative_to: str | None = None) -> list[Section]:  # fmt: skip
    """Every section of the report, in :data:`SECTIONS` order (charts are drawn on rendering).

    ``relative_to``: the benchmark of the relative view (a built-in name or a CSV's stem);
    default the proxy multi-strategy index, else the first benchmark shown.
    """
    return list(iter_sections(run, benchmarks, market, market_price, secondary_seed,
                              relative_to))  # fmt: skip


def iter_sections(run: RunFolder, benchmarks=None, market=None, market_price=None,
                  secondary_seed: int = SECONDARY_MARKET_SEED,
                  relative_to: str | None = None) -> Iterator[Section]:  # fmt: skip
    """:func:`report_sections` one at a time, each as soon as it is built (its charts can be
    drawn while the next ones are built: :func:`backtest.report.chart_pool.section_pngs`)."""
    bench, requested, notes = resolve_benchmarks(run, benchmarks, market)
    for name, why in (run.metrics.get("skipped_strategies") or {}).items():
        notes.append(f"Strategy {name} was skipped in this run: {why}")
    for leg, text in (run.metrics.get("strategy_notes") or {}).items():
        notes.append(f"Strategy leg {leg}: {text}.")
    if derived := run.metrics.get("data_approximations"):
        notes.append("Data derived, not read (backtest.market.proxies): "
                     + "; ".join(f"{k}: {v}" for k, v in derived.items()) + ".")  # fmt: skip
    if relative_to is not None and relative_to not in requested:
        raise ValueError(f"relative_to {relative_to!r} is not among the benchmarks {requested}")
    default = "proxy_index" if "proxy_index" in requested else (requested or [None])[0]
    levels = pd.concat([run.nav["nav_per_share_5dp"].rename("fund"), bench], axis=1)
    returns = levels.pct_change().iloc[1:]
    d = ReportData(run, levels, returns, ["fund", *requested], notes,
                   _cash(run, returns.index), relative_to or default)  # fmt: skip
    perf = _performance_sections(d)
    yield perf[0]
    yield ts.relative_section(d)
    yield from perf[1:]
    yield ts.rolling_risk_section(d)
    yield ts.distribution_section(d)
    yield from _market_sections(d)
    yield _weights_section(d)
    yield ts.strategies_section(d)
    yield ts.exposure_section(d)
    yield from _attribution_sections(d)
    yield _costs_section(d)
    yield _subsidiary_section(d)
    yield _limits_section(d)
    yield _premium_discount_section(d, market_price, secondary_seed)
    basket = basket_section(d, secondary_seed, run.spec)
    if basket is not None:  # a semi-transparent fund only
        yield basket
