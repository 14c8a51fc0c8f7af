"""Overlays that reshape an inner rule's weights: caps and floors, a fund volatility target, and
a ramp that brings a new sleeve in gradually.

Both wrap another allocator (``inner``) and transform its weights row by row, so they keep its
timing (row ``t`` from returns before ``t``). Compose them by nesting, innermost first::

    VolatilityTarget(Capped(EqualRiskContribution(lookback_days=252), max_weight=0.5,
                            min_weight=0.05), target_annual=0.08)

Order matters: caps act on fractions of the allocation, so apply :class:`Capped` before
:class:`VolatilityTarget` (which scales the total away from 1); put :class:`RampIn` outside
:class:`VolatilityTarget`, so that a ramping sleeve's unused share stays in cash instead of
being levered onto the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from allocator.base import (
    TRADING_DAYS_PER_YEAR,
    AllocationContext,
    Allocator,
    returns_array,
    weights_frame,
)

__all__ = [
    "Capped",
    "RampIn",
    "VolatilityTarget",
    "cap_weights",
    "ramp_factors",
    "trailing_portfolio_vol",
]


@njit(cache=True)
def _cap_row(w0: np.ndarray, hi: float, lo: float, out: np.ndarray) -> None:
    """Water-fill one row in place: ``out = clip(λ·w0, lo, hi)`` over ``w0 > 0``, Σ kept."""
    n = w0.shape[0]
    k = 0
    total = 0.0
    for i in range(n):
        out[i] = w0[i]
        if w0[i] > 0.0:
            k += 1
            total += w0[i]
    if k == 0:
        return
    if total >= k * hi or total <= k * lo:  # infeasible (or exactly at a bound)
        level = hi if total >= k * hi else total / k
        for i in range(n):
            if w0[i] > 0.0:
                out[i] = level
        return
    fixed = np.zeros(n, dtype=np.bool_)
    for _ in range(k + 1):
        rem = total
        base = 0.0
        for i in range(n):
            if fixed[i]:
                rem -= out[i]
            elif w0[i] > 0.0:
                base += w0[i]
        if base <= 0.0:
            return
        lam = rem / base
        over = 0.0
        under = 0.0
        for i in range(n):
            if w0[i] > 0.0 and not fixed[i]:
                out[i] = w0[i] * lam
                over += max(out[i] - hi, 0.0)
                under += max(lo - out[i], 0.0)
        if over == 0.0 and under == 0.0:
            return
        for i in range(n):  # λ* lies above λ when over > under: the over ones stay capped
            if w0[i] > 0.0 and not fixed[i]:
                if out[i] > hi and over >= under:
                    out[i] = hi
                    fixed[i] = True
                elif out[i] < lo and under >= over:
                    out[i] = lo
                    fixed[i] = True


@njit(cache=True)
def _cap_rows(w: np.ndarray, hi: float, lo: float) -> np.ndarray:
    out = np.empty_like(w)
    for t in range(w.shape[0]):
        _cap_row(w[t], hi, lo, out[t])
    return out


def cap_weights(weights: np.ndarray, max_weight: float, min_weight: float = 0.0) -> np.ndarray:
    """Caps and floors with proportional redistribution (water-filling), row by row.

    For each row, the strategies with positive weight get ``clip(λ·w_i, min_weight,
    max_weight)`` with the one ``λ`` that keeps the row's sum: what a capped strategy loses is
    shared among the uncapped ones in proportion to their weights, repeatedly until none
    breaks a bound. ``[0.7, 0.2, 0.1]`` capped at 0.5 gives ``[0.5, 0.3333, 0.1667]``. Zero
    weights (strategies the inner rule excluded) stay zero.

    When the bounds cannot hold with the sum kept — ``k`` positive weights summing to ``s``
    with ``k·max_weight < s`` — every one gets ``max_weight`` and the rest stays in cash
    (the cap wins); with ``k·min_weight > s`` every one gets ``s/k`` (the floor gives way).

    Parameters
    ----------
    weights : array of shape (n_strategies,) or (n_dates, n_strategies)
        Non-negative weights.
    max_weight, min_weight : bounds on each positive weight, fraction of capital.

    Returns
    -------
    ndarray, same shape as ``weights``.
    """
    w = np.asarray(weights, dtype="float64")
    if (w < 0.0).any() or not np.isfinite(w).all():
        raise ValueError("cap_weights needs finite, non-negative weights")
    rows = np.ascontiguousarray(np.atleast_2d(w))
    return _cap_rows(rows, float(max_weight), float(min_weight)).reshape(w.shape)


@dataclass(frozen=True)
class Capped:
    """Caps and floors each strategy's weight (:func:`cap_weights` on the inner weights).

    Valid when ``n·min_weight ≤ 1 ≤ n·max_weight`` for the ``n`` strategies the inner rule
    weights on a row; otherwise the cap wins (the remainder is cash) and the floor gives way
    (equal weights), as :func:`cap_weights` describes.

    Parameters
    ----------
    inner : the allocator whose weights are capped.
    max_weight : largest weight of one strategy, fraction of capital.
    min_weight : smallest weight of a strategy the inner rule includes.
    """

    inner: Allocator
    max_weight: float = 0.4
    min_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_weight <= self.max_weight:
            raise ValueError(
                f"need 0 <= min_weight <= max_weight, got {self.min_weight}, {self.max_weight}"
            )

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Capped inner weights, shape (n_dates, n_strategies)."""
        inner = self.inner.weights(strategy_returns, context=context).to_numpy(dtype="float64")
        return weights_frame(cap_weights(inner, self.max_weight, self.min_weight), strategy_returns)


@njit(cache=True)
def _portfolio_vol(
    returns: np.ndarray, weights: np.ndarray, lookback: int, min_obs: int
) -> np.ndarray:
    n_dates, n = returns.shape
    vol = np.full(n_dates, np.nan)
    buf = np.empty(lookback)
    for t in range(n_dates):
        count = 0
        for s in range(max(0, t - lookback), t):
            p = 0.0
            seen = False
            for i in range(n):
                if weights[t, i] != 0.0 and not np.isnan(returns[s, i]):
                    p += weights[t, i] * returns[s, i]
                    seen = True
            if seen:
                buf[count] = p
                count += 1
        if count >= min_obs and count >= 2:
            mean = buf[:count].mean()
            var = ((buf[:count] - mean) ** 2).sum() / (count - 1)
            vol[t] = np.sqrt(var * TRADING_DAYS_PER_YEAR)
    return vol


def trailing_portfolio_vol(
    returns: np.ndarray, weights: np.ndarray, lookback_days: int, min_history_days: int
) -> np.ndarray:
    """Ex-ante annualised volatility of each row's portfolio, shape (n_dates,).

    For row ``t``: the returns the weights ``weights[t]`` would have earned on rows
    ``t−lookback_days .. t−1``, ``p_s = Σ_i w_t,i · r_s,i`` — i.e. ``sqrt(252 · wᵀΣw)`` with
    ``Σ`` the sample covariance (ddof 1) of the window. A held strategy's missing return counts
    as 0 on a row where another held strategy has one; rows where none has are skipped. NaN
    when fewer than ``min_history_days`` rows remain or nothing is held.

    Parameters
    ----------
    returns : array of shape (n_dates, n_strategies), daily simple returns (NaN = missing).
    weights : array of shape (n_dates, n_strategies), fractions of capital.
    """
    r = np.ascontiguousarray(returns, dtype="float64")
    w = np.ascontiguousarray(weights, dtype="float64")
    return _portfolio_vol(r, w, int(lookback_days), int(min_history_days))


@dataclass(frozen=True)
class VolatilityTarget:
    """Scales the inner weights so the ex-ante portfolio volatility equals a target.

    ``w_t = k_t · inner_t`` with ``k_t = target_annual / σ_t`` and ``σ_t`` from
    :func:`trailing_portfolio_vol` (the sample covariance of strategy returns in the
    ``lookback_days`` rows before ``t``, so causal). The weights then need not sum to 1: below 1
    the rest is cash, above 1 it is leverage, limited so that ``Σ|w_t| ≤ max_leverage``. Until
    ``min_history_days`` rows are available to estimate ``σ_t`` the weights are 0 (cash: the
    fund takes no risk it cannot measure). With ``σ_t = 0`` the leverage limit applies.

    Put it outside :class:`Capped`, and inside :class:`~allocator.defensive.Defensive` (which
    it would otherwise undo by scaling back up).

    Parameters
    ----------
    inner : the allocator whose weights are scaled.
    target_annual : target annualised volatility, decimal (0.08 = 8%).
    lookback_days : covariance window, trading days.
    max_leverage : largest gross weight ``Σ|w|``, multiple of capital.
    min_history_days : rows needed before the first estimate.
    """

    inner: Allocator
    target_annual: float = 0.08
    lookback_days: int = 63
    max_leverage: float = 3.0
    min_history_days: int = 20

    def __post_init__(self) -> None:
        if self.target_annual <= 0.0 or self.max_leverage <= 0.0:
            raise ValueError("target_annual and max_leverage must be positive")
        if not 2 <= self.min_history_days <= self.lookback_days:
            raise ValueError("need 2 <= min_history_days <= lookback_days")

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Volatility-targeted weights, shape (n_dates, n_strategies)."""
        r = returns_array(strategy_returns)
        inner = self.inner.weights(strategy_returns, context=context).to_numpy(dtype="float64")
        vol = trailing_portfolio_vol(r, inner, self.lookback_days, self.min_history_days)
        gross = np.abs(inner).sum(axis=1)
        cap = np.divide(self.max_leverage, gross, out=np.zeros_like(gross), where=gross > 0)
        scale = np.divide(self.target_annual, vol, out=cap.copy(), where=vol > 0)
        scale = np.where(np.isnan(vol), 0.0, np.minimum(scale, cap))
        return weights_frame(inner * scale[:, None], strategy_returns)


@njit(cache=True)
def _ramp(w: np.ndarray, ramp_days: int) -> np.ndarray:
    n_dates, n = w.shape
    out = np.ones((n_dates, n))
    run = np.zeros(n)
    for t in range(n_dates):
        for i in range(n):
            run[i] = run[i] + 1.0 if w[t, i] != 0.0 else 0.0
            out[t, i] = min(run[i] / ramp_days, 1.0)
    return out


def ramp_factors(weights: np.ndarray, ramp_days: int) -> np.ndarray:
    """Fraction of its weight each strategy may hold, shape (n_dates, n_strategies).

    ``min(1, k / ramp_days)`` with ``k`` the number of consecutive rows up to and including
    ``t`` on which the strategy's weight is non-zero: ``1/ramp_days`` on its first row,
    1 from row ``ramp_days`` on; a strategy dropped (weight 0) and weighted again ramps again.
    Reads rows up to ``t`` of ``weights`` only.
    """
    w = np.ascontiguousarray(np.atleast_2d(weights), dtype="float64")
    return _ramp(w, int(ramp_days))


@dataclass(frozen=True)
class RampIn:
    """A strategy that enters the allocation takes its weight gradually, over ``ramp_days``.

    ``w_t,i = inner_t,i · min(1, k_t,i / ramp_days)`` (:func:`ramp_factors`): the share a new
    sleeve does not take yet stays in cash (the others are not scaled up), so a sleeve coming
    online — the first ones at launch, or one whose history has just become long enough —
    adds its risk step by step instead of in one trade sized on a short volatility estimate.
    Rows depend on the inner rule's rows up to ``t`` only, so the timing is the inner rule's.

    Parameters
    ----------
    inner : the allocator whose weights are ramped in.
    ramp_days : trading days from a strategy's first non-zero weight to its full weight.
    """

    inner: Allocator
    ramp_days: int = 63

    def __post_init__(self) -> None:
        if self.ramp_days < 1:
            raise ValueError(f"ramp_days must be >= 1, got {self.ramp_days}")

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Ramped inner weights, shape (n_dates, n_strategies)."""
        inner = self.inner.weights(strategy_returns, context=context).to_numpy(dtype="float64")
        return weights_frame(inner * ramp_factors(inner, self.ramp_days), strategy_returns)
