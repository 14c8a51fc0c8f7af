"""Performance analytics: summary tables, benchmark comparison, P&L attribution and cost drag.

The metrics themselves live in :mod:`backtest.analytics.metrics` (flat pure functions, one textbook
reference each) and are re-exported here, so ``from backtest.analytics.performance import
sharpe_ratio`` works. The conventions — 252 trading days per year, ``sqrt(252)`` for volatility, the
annual risk-free rate divided by 252, calendar months compounded from daily returns, NaN handling
and sign conventions — are stated once, at the top of :mod:`backtest.analytics.metrics`.

vectorbt is not imported by either module (see :mod:`backtest.analytics.metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from backtest.analytics.metrics import (
    VOLATILITY_ANNUALISATION,
    Returns,
    active_return,
    alpha,
    annual_return,
    annual_volatility,
    beta,
    calmar_ratio,
    conditional_value_at_risk,
    correlation,
    daily_rate,
    down_capture,
    downside_deviation,
    drawdown_series,
    hit_rate,
    information_ratio,
    kurtosis,
    max_drawdown,
    max_drawdown_duration,
    monthly_returns,
    returns_from_levels,
    rolling_beta,
    rolling_correlation,
    sharpe_ratio,
    skewness,
    sortino_ratio,
    total_return,
    tracking_error,
    up_capture,
    value_at_risk,
    worst_month,
)
from backtest.market.calendar import TRADING_DAYS_PER_YEAR

__all__ = [
    "TRADING_DAYS_PER_YEAR", "VOLATILITY_ANNUALISATION", "active_return", "alpha",
    "annual_return", "annual_volatility", "attribute", "beta", "calmar_ratio",
    "conditional_value_at_risk", "correlation", "cost_drag", "daily_rate", "down_capture",
    "downside_deviation", "drawdown_series", "hit_rate", "information_ratio", "kurtosis",
    "linked_contributions",
    "max_drawdown", "max_drawdown_duration", "monthly_returns", "relative_summary",
    "returns_from_levels", "rolling_beta", "rolling_correlation", "sharpe_ratio", "skewness",
    "sortino_ratio", "summary", "total_return", "tracking_error", "up_capture", "value_at_risk",
    "worst_month",
]  # fmt: skip


def _as_frame(returns: Returns, default_name: str) -> pd.DataFrame:
    if isinstance(returns, pd.DataFrame):
        return returns
    if isinstance(returns, pd.Series):
        return returns.to_frame(default_name if returns.name is None else returns.name)
    raise TypeError(f"returns must be a pandas Series or DataFrame, not {type(returns)}")


def summary(
    returns: Returns,
    benchmarks: Mapping[str, pd.Series] | pd.DataFrame | None = None,
    risk_free_annual: float = 0.0,
) -> pd.DataFrame:
    """Table of per-series metrics: rows are metrics, columns the series.

    Parameters
    ----------
    returns : Series of shape (n_dates,) or DataFrame of shape (n_dates, n_series)
        Daily simple returns of the fund (an unnamed Series is labelled ``"fund"``) or of
        several strategies.
    benchmarks : dict name → Series, or DataFrame, optional
        Daily simple returns of the benchmarks. They are evaluated over the dates of
        ``returns`` (reindexed to its index; dates they lack are missing values), so every
        column covers the same period.
    risk_free_annual : float
        Annual decimal risk-free rate for the Sharpe ratio.

    Returns
    -------
    DataFrame of shape (n_metrics, n_series + n_benchmarks)
        Decimal returns and ratios; ``max_drawdown_duration_days`` and ``trading_days`` in
        trading days.
    """
    frame = _as_frame(returns, "fund")
    if benchmarks is not None:
        bench = pd.DataFrame(dict(benchmarks)).reindex(frame.index)
        clash = frame.columns.intersection(bench.columns)
        if len(clash):
            raise ValueError(f"benchmark names clash with return columns: {list(clash)}")
        frame = pd.concat([frame, bench], axis=1)
    rows = {
        "total_return": total_return(frame),
        "annual_return": annual_return(frame),
        "annual_volatility": annual_volatility(frame),
        "sharpe_ratio": sharpe_ratio(frame, risk_free_annual),
        "sortino_ratio": sortino_ratio(frame),
        "calmar_ratio": calmar_ratio(frame),
        "max_drawdown": max_drawdown(frame),
        "max_drawdown_duration_days": max_drawdown_duration(frame),
        "worst_month": worst_month(frame),
        "skewness": skewness(frame),
        "kurtosis": kurtosis(frame),
        "value_at_risk_95": value_at_risk(frame, 0.95),
        "conditional_value_at_risk_95": conditional_value_at_risk(frame, 0.95),
        "trading_days": frame.count(),
    }
    table = pd.DataFrame(rows).T.astype("float64")
    table.index.name = "metric"
    return table


def relative_summary(
    returns: Returns, benchmark: pd.Series, risk_free_annual: float = 0.0
) -> pd.DataFrame:
    """Table of metrics relative to one benchmark: rows are metrics, columns the series.

    Every metric uses the dates on which both the series and the benchmark are present.

    Parameters
    ----------
    returns : Series of shape (n_dates,) or DataFrame of shape (n_dates, n_series)
        Daily simple returns (an unnamed Series is labelled ``"fund"``).
    benchmark : Series of shape (n_dates,)
        Daily simple returns of the benchmark.
    risk_free_annual : float
        Annual decimal risk-free rate for Jensen's alpha.

    Returns
    -------
    DataFrame of shape (n_metrics, n_series)
        ``beta``, ``alpha`` (annual), ``correlation``, ``active_return`` (annual),
        ``tracking_error`` (annual), ``information_ratio``, ``up_capture``, ``down_capture``
        (1.0 = 100%) and ``hit_rate`` (share of months).
    """
    frame = _as_frame(returns, "fund")
    rows = {
        "beta": beta(frame, benchmark),
        "alpha": alpha(frame, benchmark, risk_free_annual),
        "correlation": correlation(frame, benchmark),
        "active_return": active_return(frame, benchmark),
        "tracking_error": tracking_error(frame, benchmark),
        "information_ratio": information_ratio(frame, benchmark),
        "up_capture": up_capture(frame, benchmark),
        "down_capture": down_capture(frame, benchmark),
        "hit_rate": hit_rate(frame, benchmark),
    }
    table = pd.DataFrame(rows).T.astype("float64")
    table.index.name = "metric"
    return table


def _previous_net_assets(net_assets: pd.Series, dates: pd.Index) -> pd.Series:
    """Net assets at the close before each of ``dates``; NaN where there is none."""
    if not isinstance(net_assets, pd.Series):
        raise TypeError(f"net_assets must be a pandas Series, not {type(net_assets)}")
    missing = dates.difference(net_assets.index)
    if len(missing):
        raise ValueError(f"net_assets lacks {len(missing)} dates, first {missing[0]}")
    prev = net_assets.sort_index().shift(1).reindex(dates)
    if (prev <= 0).any():
        raise ValueError("previous net assets must be positive to define a return")
    return prev


def attribute(pnl: pd.DataFrame, net_assets: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Each group's contribution to the fund's return, per day and cumulative.

    Daily contribution of group ``g`` on date ``t``: ``c_{t,g} = Σ_{i in g} pnl_{t,i} / NA_{t−1}``
    (P&L over the previous day's net assets). The groups' contributions sum to the fund's daily
    return ``R_t = Σ_g c_{t,g}`` when the P&L columns cover every source of return (costs,
    expenses and interest as items of their own) and flows are booked after the day's P&L.

    Cumulative contribution: ``C_{T,g} = Σ_{t≤T} c_{t,g} × W_{t−1}`` with the fund's wealth
    ``W_t = Π_{s≤t}(1 + R_s)``, ``W_0 = 1``: each day's contribution is scaled by the growth of
    the fund before it, so the groups add up exactly to the fund's compounded return,
    ``Σ_g C_{T,g} = W_T − 1`` (telescoping), with no residual to smooth away.

    Parameters
    ----------
    pnl : DataFrame of shape (n_dates, n_items)
        Daily P&L in USD by item (instrument, strategy, cost line).
    net_assets : Series
        Net assets in USD at each close; must cover ``pnl``'s dates. The first date of
        ``pnl`` that has no previous close in ``net_assets`` is the base date: it is left out
        and its P&L must be zero.
    groups : Series
        Group label of each item (index: the columns of ``pnl``).

    Returns
    -------
    DataFrame of shape (n_dates − 1, 2 × n_groups)
        Columns ``("daily", g)`` and ``("cumulative", g)``, decimal returns.

    Reference: Bacon, C. (2008), *Practical Portfolio Performance Measurement and Attribution*,
    2nd ed., Wiley, ch. 5 (contribution to return, multi-period linking).
    """
    if not isinstance(pnl, pd.DataFrame):
        raise TypeError(f"pnl must be a DataFrame (dates × items), not {type(pnl)}")
    unmapped = pnl.columns.difference(groups.dropna().index)
    if len(unmapped):
        raise ValueError(f"items without a group: {list(unmapped[:10])}")
    grouped = pnl.fillna(0.0).T.groupby(groups.reindex(pnl.columns).to_numpy()).sum().T
    prev = _previous_net_assets(net_assets, pnl.index)
    base = prev.isna()
    if (grouped[base.to_numpy()] != 0).to_numpy().any():
        raise ValueError("P&L on a date with no previous net assets cannot be attributed")
    daily = grouped[~base.to_numpy()].div(prev[~base], axis=0)
    return pd.concat({"daily": daily, "cumulative": linked_contributions(daily)}, axis=1)


def linked_contributions(daily: pd.DataFrame) -> pd.DataFrame:
    """Cumulative contributions ``C_{T,g} = Σ_{t≤T} c_{t,g} × W_{t−1}`` from the daily ones
    (dates × groups, decimal; :func:`attribute`), the fund's wealth ``W`` compounded from the
    first row of ``daily``: over any run of rows they add up to the fund's compounded return
    over those rows. Same shape as ``daily``."""
    fund = daily.sum(axis=1)
    wealth_before = (1.0 + fund).cumprod().shift(1, fill_value=1.0)
    return daily.mul(wealth_before, axis=0).cumsum()


def cost_drag(costs: pd.Series, fees: pd.Series, net_assets: pd.Series) -> dict[str, float]:
    """Annualised drag on the fund's return of trading costs and of fees, in decimal.

    Each day's drag is the amount paid over the previous day's net assets; the annual drag is
    the mean daily drag × 252 (0.0095 = 95 bp a year). The base date (no previous net assets)
    is left out.

    Parameters
    ----------
    costs : Series of shape (n_dates,)
        Trading costs paid each day in USD, positive (e.g. ``SimulationResult.nav["costs"]``).
    fees : Series of shape (n_dates,)
        Fund fees and expenses paid or accrued each day in USD, positive (e.g. the expense
        ratio accrual ``SimulationResult.nav["expenses"]``; not ``nav["fees"]``, which are the
        creation/redemption fees the fund *receives*).
    net_assets : Series
        Net assets in USD at each close, covering the dates of ``costs`` and ``fees``.

    Returns
    -------
    dict
        ``costs_annual``, ``fees_annual`` and ``total_annual`` (decimal per year, positive =
        return given up).

    Reference: Bacon, C. (2008), *Practical Portfolio Performance Measurement and Attribution*,
    2nd ed., Wiley, ch. 2 (gross and net-of-fee returns).
    """
    frame = pd.concat({"costs": costs, "fees": fees}, axis=1).fillna(0.0)
    prev = _previous_net_assets(net_assets, frame.index)
    drag = frame[prev.notna().to_numpy()].div(prev.dropna(), axis=0)
    annual = drag.mean() * TRADING_DAYS_PER_YEAR
    return {
        "costs_annual": float(annual["costs"]),
        "fees_annual": float(annual["fees"]),
        "total_annual": float(annual["costs"] + annual["fees"]),
    }
