"""Benchmarks for the fund: a rules-based proxy multi-strategy index and broad-market comparators.

The fund aims to beat a benchmark built from similar strategies (LALT used the Morgan Stanley
Multi-Strategy Alternative Index) while staying uncorrelated with broad markets. This module
builds both kinds of yardstick from a :class:`~backtest.market.MarketData`:

``proxy_index``
    A transparent stand-in for the Morgan Stanley index: the same risk-premia families run with
    fixed, standard parameters (:data:`PROXY_COMPONENTS`), combined with equal *risk* weights.
    Method (every step causal, row ``t`` reads data up to ``t`` only):

    1. each component's standalone daily return,
       ``backtest.market.returns.exposure_returns(positions, market, cost_bps=0)`` — the engine's
       lag
       (decide at ``t``, trade at ``t+1``), no trading costs and no fees;
    2. on the first trading day of each month (the first row included), target weights
       ``w_i ∝ 1 / σ_i`` where ``σ_i`` is the standard deviation of component ``i``'s daily
       returns over the trailing :data:`VOL_LOOKBACK_DAYS` (252) days *up to the previous day*
       (at least :data:`VOL_MIN_DAYS` observations, else the component is left out), normalised
       to sum to 1; with no eligible component the index holds cash at a zero return;
    3. between rebalances the holdings drift with the components (buy and hold), exactly as for
       ``sixty_forty`` — see :func:`rebalanced_index`;
    4. the level starts at ``start_level`` (100) on the first date and compounds the weighted
       daily returns.

    A component the market cannot feed (e.g. no single stocks in a futures-only dataset) is left
    out; :func:`proxy_component_returns` reports which ran.
``equity_index``, ``bond_index``
    The market's total-return benchmark levels (``MarketData.benchmarks``).
``sixty_forty``
    60% ``equity_index`` / 40% ``bond_index``, reset to 60/40 on the first trading day of each
    month (at the previous close), drifting in between.

Levels are index points; returns are daily simple returns in decimal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns
from strategies import StrategyInputError, cached_positions, registry

#: The proxy index's components: (label, registry name), all with the registry defaults.
#: Families of the Morgan Stanley index: equity (market-neutral long/short), rates (curve carry),
#: currencies (FX carry), volatility (short VIX futures + put writing) and cross-asset trend.
PROXY_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("equity_market_neutral", "equity_market_neutral"),
    ("rates_carry", "rates_carry"),
    ("fx_carry", "fx_carry"),
    ("volatility_premium", "vol_premium"),
    ("trend", "trend"),
)
#: Trailing window of the inverse-volatility weights, trading days.
VOL_LOOKBACK_DAYS = 252
#: Fewest daily returns a component needs in its window to be weighted.
VOL_MIN_DAYS = 63
#: The broad-market mix: weight of ``equity_index`` (the rest in ``bond_index``).
SIXTY_FORTY_EQUITY_WEIGHT = 0.6


def month_starts(index: pd.DatetimeIndex) -> np.ndarray:
    """True on the first row and on each row whose calendar month differs from the previous row's.

    Causal: row ``t`` compares only its own date with row ``t−1``'s.
    """
    key = (index.year * 12 + index.month).to_numpy()
    return np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)


def rebalanced_index(
    returns: pd.DataFrame,
    target_weights: pd.DataFrame,
    rebalance: np.ndarray,
    start_level: float = 100.0,
) -> pd.Series:
    """Level of a portfolio reset to target weights on rebalance days, drifting in between.

    On a rebalance row ``t`` the holdings are set at the close of ``t−1`` to
    ``target_weights.loc[t]`` (weights summing to at most 1; the rest is cash at a zero return),
    so that day's return is ``Σ_i w_i r_{i,t}``. On later rows each holding grows with its
    component: ``value_t = Σ_i w_i Π_{s=k..t}(1 + r_{i,s}) + (1 − Σ_i w_i)`` from the last
    rebalance row ``k``, and the daily return is ``value_t / value_{t−1} − 1``. Row 0 is the base
    date: its return is ignored and the level is ``start_level``.

    Parameters
    ----------
    returns : DataFrame of shape (n_dates, n_components)
        Daily simple returns (NaN counts as 0).
    target_weights : DataFrame of shape (n_dates, n_components)
        Targets; only the rebalance rows are read.
    rebalance : bool ndarray of shape (n_dates,)
        Rebalance rows.
    start_level : float
        Level on the first date.

    Returns
    -------
    Series of shape (n_dates,)
        Index level.
    """
    r = returns.fillna(0.0).to_numpy(dtype="float64").copy()
    if len(r):
        r[0] = 0.0
    flags = np.asarray(rebalance, dtype=bool).copy()
    if len(flags):
        flags[0] = True
    w = target_weights.reindex(index=returns.index, columns=returns.columns).fillna(0.0)
    w = w.to_numpy(dtype="float64")
    segment = np.cumsum(flags) - 1
    starts = np.flatnonzero(flags)
    held = w[starts][segment]  # the targets set at each row's last rebalance
    growth = pd.DataFrame(1.0 + r).groupby(segment).cumprod().to_numpy()
    cash = 1.0 - held.sum(axis=1)
    value = (held * growth).sum(axis=1) + cash
    before = np.where(flags, 1.0, np.r_[1.0, value[:-1]])
    daily = value / before - 1.0
    level = start_level * np.cumprod(1.0 + daily)
    return pd.Series(level, index=returns.index)


def proxy_component_returns(market: MarketData) -> pd.DataFrame:
    """Standalone daily returns of the proxy index's components (dates × labels), no costs.

    Each component of :data:`PROXY_COMPONENTS` is run with its registry defaults through
    :func:`strategies.cached_positions` (shared with the fund's own sleeves); one the market
    cannot feed is left out. Raises ``ValueError`` when none can run.
    """
    out = {}
    for label, name in PROXY_COMPONENTS:
        try:
            positions = cached_positions(registry[name](), market)
        except StrategyInputError:
            continue
        out[label] = exposure_returns(positions, market, cost_bps=0.0)
    if not out:
        raise ValueError(f"no component of the proxy index can run on {market.name!r}")
    return pd.DataFrame(out, index=market.calendar)


def inverse_volatility_weights(
    component_returns: pd.DataFrame,
    lookback_days: int = VOL_LOOKBACK_DAYS,
    min_days: int = VOL_MIN_DAYS,
) -> pd.DataFrame:
    """Equal-risk targets ``w_i ∝ 1/σ_i`` from returns up to the previous day (dates × components).

    ``σ_i`` on row ``t``: sample standard deviation of rows ``t−lookback_days .. t−1``; a
    component with fewer than ``min_days`` returns or a zero deviation gets weight 0. Rows sum
    to 1, or to 0 when no component is eligible.
    """
    vol = component_returns.rolling(lookback_days, min_periods=min_days).std().shift(1)
    inv = (1.0 / vol.where(vol > 0)).fillna(0.0)
    total = inv.sum(axis=1)
    return inv.div(total.where(total > 0), axis=0).fillna(0.0)


def proxy_multistrategy_index(market: MarketData, start_level: float = 100.0) -> pd.Series:
    """The proxy multi-strategy alternative index level (see the module docstring for the rules).

    Returns
    -------
    Series of shape (n_dates,)
        Index level on the market calendar, ``start_level`` on the first date.
    """
    components = proxy_component_returns(market)
    weights = inverse_volatility_weights(components)
    level = rebalanced_index(components, weights, month_starts(components.index), start_level)
    return level.rename("proxy_index")


def sixty_forty(equity_level: pd.Series, bond_level: pd.Series, start_level: float = 100.0):
    """60/40 equity/bond mix, reset on the first trading day of each month (levels in and out).

    Weights from :data:`SIXTY_FORTY_EQUITY_WEIGHT`; see :func:`rebalanced_index`. Dates where
    either level is missing are dropped; the first remaining date is the base (``start_level``).
    """
    levels = pd.concat({"equity": equity_level, "bond": bond_level}, axis=1).dropna()
    returns = levels.pct_change()
    w = SIXTY_FORTY_EQUITY_WEIGHT
    targets = pd.DataFrame({"equity": w, "bond": 1.0 - w}, index=levels.index)
    level = rebalanced_index(returns, targets, month_starts(levels.index), start_level)
    return level.rename("sixty_forty")


def benchmark_series(market: MarketData, proxy: bool = True) -> pd.DataFrame:
    """Benchmark levels on the market calendar: ``proxy_index``, ``equity_index``,
    ``bond_index`` and ``sixty_forty`` (the ones the market can provide, in that order), then
    the market's further comparators (other columns of ``market.benchmarks``, e.g. the futures
    of a futures-only sample, :mod:`backtest.market.proxies`).

    ``proxy=False`` skips the proxy index (it runs five strategies); it is also left out when
    none of its components can run on ``market``.
    """
    bench = market.benchmarks
    out = {}
    if proxy:
        try:
            out["proxy_index"] = proxy_multistrategy_index(market)
        except ValueError:  # no component can run on this market
            pass
    for name in ("equity_index", "bond_index"):
        if name in bench:
            out[name] = bench[name]
    if {"equity_index", "bond_index"} <= set(bench.columns):
        out["sixty_forty"] = sixty_forty(bench["equity_index"], bench["bond_index"])
    for name in bench.columns:  # further comparators, after the built-in ones
        if name not in out:
            out[name] = bench[name]
    return pd.DataFrame(out, index=market.calendar)
