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
def _ewma_portfolio_var(
    returns: np.ndarray,
    weights: np.ndarray,
    lam: float,
    warmup: int,
    rows: np.ndarray,
    max_block: int = 32,
):
    """Kernel. returns, weights: (n_dates, n_assets) float64, NaN return = 0; rows (n_dates,)
    bool, the rows whose variance is wanted.

    Returns daily variance (n_dates,) of ``weights[t]`` under the EWMA covariance of rows ≤ t;
    NaN before ``warmup`` rows of history and on the rows not asked for. The covariance is
    bias-corrected by the sum of weights.

    Each entry gets the update ``c_ij ← lam·c_ij + ((1−lam)·r_i)·r_j`` day after day, as in
    :func:`ewma_portfolio_var_py` (the same figures to the last bit), but in blocks of days
    (up to the next wanted row, at most ``max_block`` days): row i of the covariance is updated
    for every day of the block while it is in cache, over cleaned returns (no test per element,
    so the inner loop vectorises). With 1,000 assets the covariance is 8 MB, and one pass over
    it per day made the kernel memory-bound (~2 s on 20 years); its cost is O(days × assets²)
    either way, the cost of a full covariance.
    """
    n, m = returns.shape
    cov = np.zeros((m, m))
    out = np.full(n, np.nan)
    clean = np.zeros((max_block, m))
    norm = 0.0
    t0 = 0
    while t0 < n:
        # the days up to the next one whose variance is wanted, at most max_block of them
        t = t0
        while t < n - 1 and t - t0 < max_block - 1 and not (t + 1 >= warmup and rows[t]):
            t += 1
        for s in range(t0, t + 1):
            for i in range(m):
                x = returns[s, i]
                clean[s - t0, i] = x if np.isfinite(x) else 0.0
            norm = lam * norm + (1.0 - lam)
        for i in range(m):  # row i of the covariance stays in cache over the block's days
            c = cov[i]
            for s in range(t + 1 - t0):
                a = (1.0 - lam) * clean[s, i]
                r = clean[s]
                for j in range(i, m):
                    c[j] = lam * c[j] + a * r[j]
        t0 = t + 1
        if t + 1 < warmup or not rows[t]:
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


def ewma_portfolio_var_py(
    returns: np.ndarray, weights: np.ndarray, lam: float, warmup: int, rows: np.ndarray
) -> np.ndarray:
    """Plain-Python twin of :func:`_ewma_portfolio_var` (element by element, no numba), for the
    tests: the same sums in the same order."""
    n, m = returns.shape
    cov = [[0.0] * m for _ in range(m)]
    out = np.full(n, np.nan)
    norm = 0.0
    for t in range(n):
        r = [float(x) if np.isfinite(x) else 0.0 for x in returns[t]]
        for i in range(m):
            for j in range(i, m):
                cov[i][j] = lam * cov[i][j] + (1.0 - lam) * r[i] * r[j]
        norm = lam * norm + (1.0 - lam)
        if t + 1 < warmup or not rows[t]:
            continue
        w = [float(x) for x in weights[t]]
        held = [i for i in range(m) if w[i] != 0.0 and np.isfinite(w[i])]
        var = 0.0
        for a, i in enumerate(held):
            var += w[i] * w[i] * cov[i][i]
            for j in held[a + 1 :]:
                var += 2.0 * w[i] * w[j] * cov[i][j]
        out[t] = var / norm
    return out


def ewma_portfolio_vol(
    weights: pd.DataFrame,
    returns: pd.DataFrame,
    halflife_days: float = 30.0,
    warmup_days: int = 60,
    rows: np.ndarray | None = None,
) -> pd.Series:
    """Annualised ex-ante volatility of ``weights`` (dates × ids) under an EWMA covariance.

    ``returns`` must have the same index and columns. Row ``t`` uses returns up to ``t``.
    ``rows``: boolean mask (n_dates,) of the rows wanted (None: all); the others are NaN.
    """
    r = returns.reindex(index=weights.index, columns=weights.columns).to_numpy(dtype="float64")
    w = weights.to_numpy(dtype="float64")
    vol = portfolio_vol_array(w, r, halflife_days, warmup_days, rows)
    return pd.Series(vol, index=weights.index, name="ex_ante_vol")


def portfolio_vol_array(
    weights: np.ndarray,
    returns: np.ndarray,
    halflife_days: float = 30.0,
    warmup_days: int = 60,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`ewma_portfolio_vol` on arrays: weights and returns of shape (n_dates, n_assets),
    aligned; returns the annualised ex-ante volatility, shape (n_dates,), NaN in the warm-up
    and outside ``rows`` (boolean mask (n_dates,); None: every row)."""
    lam = 0.5 ** (1.0 / halflife_days)
    wanted = np.ones(len(weights), dtype=bool) if rows is None else rows
    w, r = readonly_c(weights), readonly_c(returns)  # one compiled signature
    var = _ewma_portfolio_var(r, w, lam, warmup_days, readonly_c(wanted, np.bool_))
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
