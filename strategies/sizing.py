"""Volatility targeting with an ex-ante covariance that uses only past data.

``ewma_portfolio_vol`` is a numba kernel: for each row ``t`` it updates an exponentially weighted
covariance with the return vector of ``t`` (data known at ``t``'s close) and evaluates the
annualised volatility of the weights of row ``t`` under it. ``vol_target`` then scales raw weights
so that their ex-ante volatility equals the target. No row uses data after its own date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from backtest.market.arrays import readonly_c
from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns


@njit(cache=True)
def _ewma_portfolio_var(returns: np.ndarray, weights: np.ndarray, lam: float, warmup: int):
    """Kernel. returns, weights: (n_dates, n_assets) float64, NaN return = 0.

    Returns daily variance (n_dates,) of ``weights[t]`` under the EWMA covariance of rows ≤ t;
    NaN before ``warmup`` rows of history. The covariance is bias-corrected by the sum of weights.
    """
    n, m = returns.shape
    cov = np.zeros((m, m))
    out = np.full(n, np.nan)
    norm = 0.0
    for t in range(n):
        r = returns[t]
        for i in range(m):
            ri = r[i] if np.isfinite(r[i]) else 0.0
            for j in range(i, m):
                rj = r[j] if np.isfinite(r[j]) else 0.0
                cov[i, j] = lam * cov[i, j] + (1.0 - lam) * ri * rj
        norm = lam * norm + (1.0 - lam)
        if t + 1 < warmup:
            continue
        w = weights[t]
        var = 0.0
        for i in range(m):
            wi = w[i]
            if wi == 0.0 or not np.isfinite(wi):
                continue
            var += wi * wi * cov[i, i]
            for j in range(i + 1, m):
                wj = w[j]
                if wj != 0.0 and np.isfinite(wj):
                    var += 2.0 * wi * wj * cov[i, j]
        out[t] = var / norm
    return out


def ewma_portfolio_vol(
    weights: pd.DataFrame, returns: pd.DataFrame, halflife_days: float = 30.0, warmup_days: int = 60
) -> pd.Series:
    """Annualised ex-ante volatility of ``weights`` (dates × ids) under an EWMA covariance.

    ``returns`` must have the same index and columns. Row ``t`` uses returns up to ``t``.
    """
    r = returns.reindex(index=weights.index, columns=weights.columns).to_numpy(dtype="float64")
    vol = portfolio_vol_array(weights.to_numpy(dtype="float64"), r, halflife_days, warmup_days)
    return pd.Series(vol, index=weights.index, name="ex_ante_vol")


def portfolio_vol_array(
    weights: np.ndarray, returns: np.ndarray, halflife_days: float = 30.0, warmup_days: int = 60
) -> np.ndarray:
    """:func:`ewma_portfolio_vol` on arrays: weights and returns of shape (n_dates, n_assets),
    aligned; returns the annualised ex-ante volatility, shape (n_dates,), NaN in the warm-up."""
    lam = 0.5 ** (1.0 / halflife_days)
    w, r = readonly_c(weights), readonly_c(returns)  # one compiled signature
    var = _ewma_portfolio_var(r, w, lam, warmup_days)
    return np.sqrt(var * TRADING_DAYS_PER_YEAR)


def vol_target(
    raw: pd.DataFrame,
    market: MarketData,
    target_annual: float,
    halflife_days: float = 30.0,
    warmup_days: int = 60,
    max_gross: float = 10.0,
    returns: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Scale raw weights so their ex-ante annualised volatility equals ``target_annual``.

    Rows before the covariance has ``warmup_days`` of history, and rows whose raw weights are all
    zero, come out as zero. Gross exposure (Σ|w|) is capped at ``max_gross``. Output is finite.
    """
    if returns is None:
        returns = instrument_returns(market, list(raw.columns))
    raw = raw.fillna(0.0)
    vol = ewma_portfolio_vol(raw, returns, halflife_days, warmup_days)
    scale = (target_annual / vol).where(vol > 1e-12, 0.0).fillna(0.0)
    sized = raw.mul(scale, axis=0)
    gross = sized.abs().sum(axis=1)
    cap = (max_gross / gross).where(gross > max_gross, 1.0)
    return sized.mul(cap, axis=0).fillna(0.0)
