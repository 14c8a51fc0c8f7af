"""Small research helpers the notebooks call: standalone strategy returns, a trend speed sweep,
and a side-by-side comparison of allocators on the same strategy return streams.

Everything here composes package functions (strategies,
:func:`backtest.market.returns.exposure_returns`, :mod:`backtest.analytics.metrics`, allocators);
none of it holds state or reads files. Timing follows the engine's convention
(docs/ARCHITECTURE.md): a target decided at ``t``'s close trades at ``t+1``'s close and
earns from ``t+2``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from backtest.analytics.metrics import sharpe_ratio
from backtest.fund.run import STRATEGY_COST_BPS
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns, instrument_returns
from strategies import run_strategy
from strategies.quant.trend import Trend

#: Default grid of the trend sweep (the same as ``benchmarks/trend_sweep.py``).
FAST_SPANS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
SLOW_MULTIPLIERS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0)


def standalone_returns(
    strategy,
    market: MarketData,
    cost_bps: float = STRATEGY_COST_BPS,
    warmup_days: int = 0,
    returns: pd.DataFrame | None = None,
) -> pd.Series:
    """Daily return stream of one strategy run on its own capital, after a warm-up.

    Parameters
    ----------
    strategy : Strategy
        Any registered strategy (a frozen dataclass with ``target_positions``).
    market : MarketData
    cost_bps : float
        Cost on turnover, basis points of notional traded (the fund's allocator sees 2 bp).
    warmup_days : int
        Leading rows dropped (signals and vol estimates warming up), trading days.
    returns : DataFrame of shape (n_dates, n_instruments), optional
        Precomputed :func:`backtest.market.returns.instrument_returns`, to save time in loops.

    Returns
    -------
    Series of shape (n_dates - warmup_days,)
        Decimal daily returns, named after the strategy's class.
    """
    positions = run_strategy(strategy, market)
    r = exposure_returns(positions, market, cost_bps=cost_bps, returns=returns)
    return r.iloc[warmup_days:].rename(type(strategy).__name__)


def trend_speeds(
    fast_spans: Sequence[int], slow_multipliers: Sequence[float]
) -> dict[tuple[int, float], tuple[int, int]]:
    """The (fast, slow) span pair of each grid point: ``slow = max(round(fast × k), fast + 1)``."""
    return {
        (f, k): (int(f), max(int(round(f * k)), int(f) + 1))
        for f in fast_spans
        for k in slow_multipliers
    }


def sweep_trend(
    market: MarketData,
    fast_spans: Sequence[int] = FAST_SPANS,
    slow_multipliers: Sequence[float] = SLOW_MULTIPLIERS,
    base=None,
    cost_bps: float = STRATEGY_COST_BPS,
    warmup_days: int = 300,
) -> pd.DataFrame:
    """Annualised Sharpe ratio of single-speed trend over a grid of EWMA speeds.

    Each grid point is ``dataclasses.replace(base, speeds=((fast, slow),))`` of the
    :class:`strategies.quant.trend.Trend` strategy, run exactly as the fund runs it (for the
    batched, vectorbt-kernel version of the same arithmetic see ``backtest.research.trend_batch``
    and ``benchmarks/trend_sweep.py``).

    Parameters
    ----------
    market : MarketData
    fast_spans : sequence of int
        Fast EWMA spans, trading days (rows of the result).
    slow_multipliers : sequence of float
        Slow span as a multiple of the fast span (columns of the result).
    base : Trend, optional
        Strategy whose other parameters are kept (default ``Trend()``).
    cost_bps : float
        Cost on turnover, basis points.
    warmup_days : int
        Leading trading days excluded from the Sharpe ratio.

    Returns
    -------
    DataFrame of shape (len(fast_spans), len(slow_multipliers))
        Sharpe ratio (risk-free 0, 252 days a year); index ``fast_span``, columns
        ``slow_multiplier``.
    """
    base = base or Trend()
    inst = instrument_returns(market, base.instrument_ids(market))
    sharpe = pd.DataFrame(
        index=pd.Index(list(fast_spans), name="fast_span"),
        columns=pd.Index(list(slow_multipliers), name="slow_multiplier"),
        dtype="float64",
    )
    for (fast, k), speed in trend_speeds(fast_spans, slow_multipliers).items():
        strategy = dataclasses.replace(base, speeds=(speed,))
        r = standalone_returns(strategy, market, cost_bps, warmup_days, returns=inst)
        sharpe.loc[fast, k] = sharpe_ratio(r)
    return sharpe


def growth_of_one(returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Wealth ``Π(1 + r)`` from 1 before the first return (NaN: no change), same shape."""
    return (1.0 + returns.fillna(0.0)).cumprod()


def allocated_returns(
    weights: pd.DataFrame, strategy_returns: pd.DataFrame, lag_days: int = 2
) -> pd.Series:
    """Daily return of capital split across strategies by ``weights``.

    Row ``t`` earns ``Σ_s weights[t - lag_days, s] × strategy_returns[t, s]``. The default
    ``lag_days=2`` is the fund engine's timing (:func:`backtest.fund.run_fund` combines the
    weights of row ``t`` with the exposures decided at ``t``, which earn from ``t+2``);
    ``lag_days=0`` is the allocator contract's research convention (:mod:`allocator.base`).
    Missing weights or returns count as zero; weights need not sum to 1 (the rest is cash
    earning nothing).

    Returns a Series indexed like ``strategy_returns``, decimal daily returns.
    """
    w = weights.reindex(strategy_returns.index).shift(lag_days).fillna(0.0)
    r = strategy_returns.reindex(columns=w.columns).fillna(0.0)
    return (w * r).sum(axis=1).rename("return")


@dataclass(frozen=True)
class AllocatorComparison:
    """Weights and allocated returns of several allocators on the same strategy returns.

    Attributes
    ----------
    weights : dict name → DataFrame of shape (n_dates, n_strategies), fraction of capital.
    returns : DataFrame of shape (n_dates, n_allocators), decimal daily returns.
    """

    weights: dict[str, pd.DataFrame]
    returns: pd.DataFrame


def compare_allocators(
    strategy_returns: pd.DataFrame, allocators: Mapping[str, object], lag_days: int = 2
) -> AllocatorComparison:
    """Run each allocator on ``strategy_returns`` and the portfolio it implies.

    Parameters
    ----------
    strategy_returns : DataFrame of shape (n_dates, n_strategies)
        Daily strategy returns (e.g. ``run_fund(spec).strategy_returns``).
    allocators : mapping name → Allocator
        Rules with ``weights(strategy_returns)`` (no context needed).
    lag_days : int
        Passed to :func:`allocated_returns`.
    """
    weights = {name: a.weights(strategy_returns).fillna(0.0) for name, a in allocators.items()}
    returns = pd.DataFrame(
        {name: allocated_returns(w, strategy_returns, lag_days) for name, w in weights.items()}
    )
    return AllocatorComparison(weights, returns)
