"""Tables of the benchmark comparison report (:mod:`backtest.report`): the run folder as read,
and the builders of its tables (period returns, risk, monthly returns, attribution, costs,
trades, limit checks), plain functions of DataFrames.

Period and attribution conventions are those of the :mod:`backtest.report` docstring. Every
public name here is re-exported by :mod:`backtest.report`.
"""

from __future__ import annotations

import pandas as pd

from allocator.compliance import LOWER_BOUND_RULES
from allocator.compliance import summary as compliance_summary
from backtest.analytics import performance as an
from backtest.analytics.tearsheet import own_window, sharpe_ratio_over_cash
from backtest.market.calendar import next_session
from backtest.report.run_folder import RunFolder

#: Days between a weight's decision and the first return it earns (decide t, trade t+1).
STRATEGY_WEIGHT_LAG_DAYS = 2
TRAILING_YEARS = (1, 3, 5)


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
    annualised (period rules in the :mod:`backtest.report` docstring).
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


def risk_table(
    returns: pd.DataFrame, broad: dict[str, pd.Series], cash: pd.Series | None = None
) -> pd.DataFrame:
    """Since-inception statistics (rows) of each series (columns), each over its own window
    (first to last present return: a shorter benchmark is never counted over days it lacks),
    with the Sharpe ratio over ``cash`` (daily cash returns; omitted when None) before the
    rf = 0 one, and correlation and beta to each of ``broad`` (short name → daily returns)."""
    names = {
        "annual_return": "Annual return", "annual_volatility": "Annual volatility",
        "sharpe_ratio": "Sharpe ratio (rf = 0)", "sortino_ratio": "Sortino ratio (target 0)",
        "max_drawdown": "Max drawdown", "max_drawdown_duration_days": "Longest drawdown (days)",
        "worst_month": "Worst month", "value_at_risk_95": "Daily VaR 95%",
    }  # fmt: skip
    columns = {}
    for c in returns.columns:
        r = own_window(returns[c])
        s = an.summary(r.rename("x"))["x"]
        col = {}
        if cash is not None:
            col["Sharpe ratio (over cash)"] = sharpe_ratio_over_cash(r, cash)
        col.update({label: s.loc[key] for key, label in names.items()})
        for name, bench in broad.items():
            col[f"Correlation to {name}"] = an.correlation(r, bench)
            col[f"Beta to {name}"] = an.beta(r, bench)
        columns[c] = col
    return pd.DataFrame(columns)


def comparators_table(fund: pd.Series, comparators: pd.DataFrame) -> pd.DataFrame:
    """Comparators (rows) × the fund's correlation and beta to each (daily returns, on the
    dates both are present) and each comparator's own annual return, volatility, Sharpe ratio
    (rf = 0) and maximum drawdown over its own window within the fund's dates."""
    rows = {}
    for c in comparators.columns:
        r = own_window(comparators[c])
        rows[c] = {
            "Correlation": an.correlation(fund, r),
            "Beta": an.beta(fund, r),
            "Annual return": an.annual_return(r),
            "Annual volatility": an.annual_volatility(r),
            "Sharpe ratio (rf = 0)": an.sharpe_ratio(r),
            "Max drawdown": an.max_drawdown(r),
        }
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
    both = an.attribute(pnl, net_assets, groups)
    full = both["cumulative"][list(pnl.columns)]
    # a year's contributions linked within it: those of ``attribute`` run on the year's rows
    # (each day's contribution is over the previous close's net assets either way; the fund's
    # daily return summed over the items in the same order)
    daily = both["daily"]
    years = daily.index.year
    rows = {}
    for y in sorted(set(pnl.index.year)):
        within = daily[years == y]
        rows[str(y)] = (an.linked_contributions(within).iloc[-1] if len(within)
                        else pd.Series(0.0, index=daily.columns))  # fmt: skip
    rows["Since inception"] = full.iloc[-1]
    table = pd.DataFrame(rows).T[list(pnl.columns)].rename_axis("period")
    table["Total"] = table.sum(axis=1)
    return full, table


def _other_items(nav: pd.DataFrame) -> dict[str, pd.Series]:
    return {"cash interest": nav["interest"], "expenses": -nav["expenses"],
            "creation/redemption fees": nav["fees"]}  # fmt: skip


def held_weights(run: RunFolder) -> pd.DataFrame:
    """The weight at which the fund held each strategy's sleeve, decided on each date: the
    allocator's weight × the pre-trade limits' whole-book scale of that date
    (``limit_scale.csv``; 1 when the run folder has none). Dates × strategies, on the fund's
    days."""
    weights = run.weights.reindex(run.nav.index).fillna(0.0)
    if run.limit_scale is None:
        return weights
    scale = run.limit_scale["limit_scale"].reindex(weights.index).fillna(1.0)
    return weights.mul(scale, axis=0)


def strategy_pnl(run: RunFolder) -> pd.DataFrame:
    """Daily P&L (USD) by strategy, ``held_weight[t−2] × strategy_return[t] × net_assets[t−1]``
    (:func:`held_weights`: the allocator's weight after the pre-trade limits' scaling), plus
    cash interest, expenses, fees and the implementation residual, so that the items add up to
    the day's change in net assets less flows."""
    nav = run.nav
    weights = held_weights(run)
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

    The worst day, its figure and its limit come from :func:`allocator.compliance.summary`
    (least headroom among the days the rule applied; limits may vary by day, e.g. the VaR
    test); a rule that never applied has none.
    """
    s = compliance_summary(compliance)
    rows = {}
    for rule, g in compliance.groupby("rule", sort=False):
        dates = g.loc[g["breach"].astype(bool), "date"]
        w = s.loc[rule]
        rows[rule] = {
            "days checked": int(w["days"]), "days applicable": int(w["applicable"]),
            "breaches": int(w["breaches"]),
            "bound": "minimum" if rule in LOWER_BOUND_RULES else "maximum",
            "worst day": f"{w['worst_date']:%Y-%m-%d}" if pd.notna(w["worst_date"])
            else "never applied",
            "figure": w["worst"], "limit": w["limit"],
            "breach dates": f"{dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}" if len(dates)
            else "",
        }  # fmt: skip
    return pd.DataFrame(rows).T.rename_axis("rule")
