"""One task of an experiment: a point's spec on one market, measured on every window.

:func:`evaluate` is a pure function of (spec, market, windows): it runs the fund (or the one
strategy, standalone) once on the whole market, then measures the daily return stream on each
window. The fund run is causal (docs/ARCHITECTURE.md, section 3), so a window's figures depend
only on data up to the window's last day: that is what makes the walk-forward free of
look-ahead. :func:`task_key` is the content hash that names the task's cached result.

Metrics of a window (daily decimal returns ``r``, 252-day year, :mod:`backtest.analytics.metrics`):

==========================  ===============================================================
``annual_return``           compound annual growth rate
``annual_volatility``       ``std(r) × √252``
``sharpe_excess``           Sharpe ratio of ``r − cash``, cash = previous day's USD rate / 252
``max_drawdown``            ≤ 0
``calmar``                  ``annual_return / |max_drawdown|``
``correlation_<bench>``     with each benchmark's daily return (``equity_index``, ``bond_index``)
``breaches``                limit checks breached (rows of the compliance table that apply);
                            NaN for a standalone strategy (no limits)
``turnover_annual``         traded notional / previous net assets, summed, × 252 / days
                            (a strategy: Σ |Δ exposure|)
``costs_annual``            trading costs / previous net assets, summed, × 252 / days
``n_days``                  returns in the window
==========================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from backtest.analytics import metrics as mx
from backtest.fund.run import STRATEGY_COST_BPS, run_fund
from backtest.fund.spec import FundSpec
from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns
from backtest.research.design import Evaluation, WalkForward, Window
from strategies import registry, run_strategy

try:
    PACKAGE_VERSION = version("multistrat")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    PACKAGE_VERSION = "0+unknown"

#: Columns of a result row that are metrics (the rest: keys, parameters, window dates).
METRICS = (
    "annual_return",
    "annual_volatility",
    "sharpe_excess",
    "max_drawdown",
    "calmar",
    "correlation_equity_index",
    "correlation_bond_index",
    "breaches",
    "turnover_annual",
    "costs_annual",
    "n_days",
)


@dataclass(frozen=True)
class Daily:
    """The daily series a task is measured from, each of shape (n_dates,), on the calendar.

    ``returns`` decimal (NaN on the first day); ``cash`` daily cash return; ``turnover`` and
    ``costs`` fractions of previous net assets; ``breaches`` counts (NaN: no limits).
    """

    returns: pd.Series
    cash: pd.Series
    turnover: pd.Series
    costs: pd.Series
    breaches: pd.Series


def _canonical(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, frozenset | set):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def canonical_json(value) -> str:
    """Canonical JSON (sorted keys, no spaces) of specs, dicts, enums, tuples, timestamps."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), default=str)


def task_key(
    spec: FundSpec,
    market_key: str,
    warmup_days: int,
    walk_forward: WalkForward | None,
    evaluation: Evaluation,
) -> str:
    """sha256 (hex) of the spec, the market key, the window definition (warm-up and
    walk-forward), the evaluation and the package version."""
    doc = {
        "spec": spec,
        "market": market_key,
        "windows": {  # what defines the windows (not choose_by: it does not change a row)
            "warmup_days": warmup_days,
            "train_test_days": (
                None if walk_forward is None else (walk_forward.train_days, walk_forward.test_days)
            ),
        },
        "evaluation": evaluation,
        "version": PACKAGE_VERSION,
    }
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def cash_returns(market: MarketData) -> pd.Series:
    """Daily return of cash, shape (n_dates,): the previous day's USD rate / 252."""
    rate = market.rates["USD"] if "USD" in market.rates else pd.Series(0.0, market.calendar)
    return (rate.shift(1).fillna(0.0) / TRADING_DAYS_PER_YEAR).rename("cash")


def fund_daily(spec: FundSpec, market: MarketData) -> Daily:
    """Daily series of the whole fund run on ``market``."""
    run = run_fund(spec, market)
    nav = run.nav
    res = run.result
    prev_na = nav["net_assets"].shift(1)
    a = res.inputs.arrays
    traded = np.abs(res.outputs.trade_qty * res.outputs.trade_price * a["mult"] * a["fx"])
    turnover = pd.Series(np.nansum(traded, axis=1), index=nav.index) / prev_na
    comp = run.compliance
    hits = comp[comp["breach"] & comp["applies"]].groupby("date").size()
    return Daily(
        returns=nav["nav_per_share_5dp"].pct_change(),
        cash=cash_returns(market),
        turnover=turnover,
        costs=nav["costs"] / prev_na,
        breaches=hits.reindex(nav.index, fill_value=0).astype("float64"),
    )


def strategy_daily(spec: FundSpec, market: MarketData) -> Daily:
    """Daily series of the spec's one strategy on its own capital (allocator's convention)."""
    (s,) = spec.strategies
    return positions_daily(run_strategy(registry[s.name](**s.params), market), market)


def positions_daily(positions: pd.DataFrame, market: MarketData) -> Daily:
    """Daily series of a strategy's positions (dates × ids, fractions of its capital):
    returns after the execution lag and ``STRATEGY_COST_BPS`` on turnover."""
    r = exposure_returns(positions, market, cost_bps=STRATEGY_COST_BPS)
    turnover = positions.diff().abs().sum(axis=1)
    return Daily(
        returns=r.reindex(market.calendar),
        cash=cash_returns(market),
        turnover=turnover,
        costs=turnover * STRATEGY_COST_BPS * 1e-4,
        breaches=pd.Series(np.nan, index=market.calendar),
    )


def window_metrics(daily: Daily, market: MarketData, window: Window) -> dict[str, float]:
    """The metrics of the module docstring on rows ``[window.first, window.stop)``."""
    rows = slice(window.first, window.stop)
    r = daily.returns.iloc[rows]
    n = int(r.notna().sum())
    per_year = TRADING_DAYS_PER_YEAR / n if n else float("nan")
    out = {
        "annual_return": float(mx.annual_return(r)),
        "annual_volatility": float(mx.annual_volatility(r)),
        "sharpe_excess": float(mx.sharpe_ratio(r - daily.cash.iloc[rows])),
        "max_drawdown": float(mx.max_drawdown(r)),
    }
    dd = out["max_drawdown"]
    out["calmar"] = out["annual_return"] / abs(dd) if dd < 0 else float("nan")
    bench = market.benchmarks.pct_change().iloc[rows]
    for name in ("equity_index", "bond_index"):
        b = bench[name] if name in bench else pd.Series(np.nan, index=r.index)
        out[f"correlation_{name}"] = float(mx.correlation(r, b))
    out["breaches"] = float(daily.breaches.iloc[rows].sum(min_count=1))
    out["turnover_annual"] = float(daily.turnover.iloc[rows].sum()) * per_year
    out["costs_annual"] = float(daily.costs.iloc[rows].sum()) * per_year
    out["n_days"] = float(n)
    return out


def evaluate(
    spec: FundSpec, market: MarketData, windows: list[Window], evaluation: Evaluation
) -> tuple[list[dict], pd.Series]:
    """Rows (one per window: ``window``, ``window_start``, ``window_end`` and the metrics) and
    the daily return stream, shape (n_dates,), of ``spec`` on ``market``."""
    daily = (
        fund_daily(spec, market) if evaluation is Evaluation.FUND else strategy_daily(spec, market)
    )
    return measure(daily, market, windows)


def measure(
    daily: Daily, market: MarketData, windows: list[Window]
) -> tuple[list[dict], pd.Series]:
    """Rows (one per window) and the daily return stream of ``daily`` (see :func:`evaluate`)."""
    rows = []
    for w in windows:
        dates = market.calendar[w.first : w.stop]
        row = {"window": w.label, "window_start": dates[0], "window_end": dates[-1]}
        row.update(window_metrics(daily, market, w))
        rows.append(row)
    return rows, daily.returns.rename("return")
