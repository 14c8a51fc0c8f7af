"""Base allocation rules: who gets how much of the capital, from trailing strategy returns.

Each rule is a frozen dataclass of its parameters with one method,
``weights(strategy_returns, context=None)`` (see :mod:`allocator.base` for the timing contract:
row ``t`` reads returns of rows before ``t`` only). Each returns long-only weights that sum to 1
over the strategies eligible at that row, and 0 for the others; all zeros while none is.

Eligibility ("enough history"): :class:`EqualWeight` needs one past return;
:class:`InverseVolatility` and :class:`EqualRiskContribution` need ``min_history_days``
non-missing returns inside their trailing ``lookback_days`` window (and a volatility above 0).
A strategy short of that is excluded — weight 0, its capital spread over the others — and
enters on the first row it qualifies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from allocator.base import (
    AllocationContext,
    Frequency,
    period_starts,
    returns_array,
    weights_frame,
)
from allocator.risk import ShrinkageTarget, shrink_covariance, solved_erc_weights

__all__ = [
    "EqualRiskContribution",
    "EqualWeight",
    "InverseVolatility",
    "trailing_counts",
    "trailing_volatility",
]


def trailing_counts(returns: np.ndarray, lookback_days: int) -> np.ndarray:
    """Non-missing returns in rows ``t−lookback_days .. t−1``, int array (n_dates, n_strategies)."""
    observed = np.vstack([np.zeros((1, returns.shape[1]), dtype=np.int64), np.isfinite(returns)])
    cum = np.cumsum(observed, axis=0, dtype=np.int64)  # cum[t] = count in rows < t
    start = np.maximum(np.arange(returns.shape[0]) - lookback_days, 0)
    return cum[:-1] - cum[start]


@njit(cache=True)
def _trailing_sd(returns: np.ndarray, lookback: int, min_obs: int) -> np.ndarray:
    n_dates, n = returns.shape
    out = np.full((n_dates, n), np.nan)
    for i in range(n):
        for t in range(n_dates):
            count, total = 0, 0.0
            lo, hi = np.inf, -np.inf
            for s in range(max(0, t - lookback), t):
                x = returns[s, i]
                if not np.isnan(x):
                    count += 1
                    total += x
                    lo, hi = min(lo, x), max(hi, x)
            if count < min_obs or hi == lo:
                continue
            mean = total / count
            ss = 0.0
            for s in range(max(0, t - lookback), t):
                x = returns[s, i]
                if not np.isnan(x):
                    ss += (x - mean) ** 2
            out[t, i] = np.sqrt(ss / (count - 1))
    return out


def trailing_volatility(
    returns: np.ndarray, lookback_days: int, min_history_days: int
) -> np.ndarray:
    """Daily volatility of each strategy over the rows before each row, (n_dates, n_strategies).

    Row ``t``: the sample standard deviation (ddof 1, two-pass) of the non-missing returns in
    rows ``t−lookback_days .. t−1``. NaN when fewer than ``min_history_days`` are available or
    they are all equal (a flat line: exactly 0, with no rounding residue to divide by).
    """
    r = np.ascontiguousarray(returns, dtype="float64")
    return _trailing_sd(r, int(lookback_days), max(int(min_history_days), 2))


def _normalise(scores: np.ndarray) -> np.ndarray:
    """Rows of non-negative scores → rows summing to 1 (rows of zeros stay zero)."""
    total = scores.sum(axis=1, keepdims=True)
    return np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)


def _check_window(lookback_days: int, min_history_days: int) -> None:
    if lookback_days < 2:
        raise ValueError(f"lookback_days must be at least 2, got {lookback_days}")
    if not 2 <= min_history_days <= lookback_days:
        raise ValueError(
            f"min_history_days must be in [2, lookback_days={lookback_days}], "
            f"got {min_history_days}"
        )


@dataclass(frozen=True)
class EqualWeight:
    """``1/n`` over the strategies with at least one past return.

    A strategy with no return before row ``t`` gets 0 at ``t``; the weights sum to 1 from the
    row after the first return of any strategy (row 0 is all zeros: nothing is known yet).
    """

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Equal weights, shape (n_dates, n_strategies); see :class:`allocator.base.Allocator`."""
        r = returns_array(strategy_returns)
        seen = np.zeros(r.shape, dtype="float64")
        if len(r) > 1:
            seen[1:] = np.maximum.accumulate(np.isfinite(r[:-1]), axis=0)
        return weights_frame(_normalise(seen), strategy_returns)


@dataclass(frozen=True)
class InverseVolatility:
    """Weights proportional to ``1/σ_i``, σ the trailing volatility of each strategy.

    ``σ_i[t]`` is the sample standard deviation (ddof 1) of strategy ``i``'s non-missing returns
    in rows ``t−lookback_days .. t−1``, recomputed every row (:func:`trailing_volatility`).
    Strategies with fewer than ``min_history_days`` returns in that window, or with zero
    volatility (a flat line gives nothing to size by), are excluded until they qualify.

    Parameters
    ----------
    lookback_days : trailing window, trading days.
    min_history_days : returns needed in the window before a strategy is included.
    """

    lookback_days: int = 63
    min_history_days: int = 20

    def __post_init__(self) -> None:
        _check_window(self.lookback_days, self.min_history_days)

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Inverse-volatility weights, shape (n_dates, n_strategies)."""
        r = returns_array(strategy_returns)
        vol = trailing_volatility(r, self.lookback_days, self.min_history_days)
        scores = np.divide(1.0, vol, out=np.zeros_like(r), where=np.isfinite(vol))
        return weights_frame(_normalise(scores), strategy_returns)


@dataclass(frozen=True)
class EqualRiskContribution:
    """Equal risk contribution (risk parity) on a shrunk trailing covariance.

    On each recompute row ``t`` the covariance of the eligible strategies is estimated from the
    returns in rows ``t−lookback_days .. t−1`` on which all of them have a return, shrunk toward
    a structured target (:func:`allocator.risk.shrink_covariance`), and
    :func:`allocator.risk.erc_weights` finds the long-only weights summing to 1 whose
    contributions to portfolio volatility are equal. Between recompute rows the weights are
    carried forward (still causal: they were computed from earlier returns). A context's
    ``solves`` (:class:`~allocator.base.AllocationContext`) spares solving a window's problem
    again: the same weights, bit for bit.

    Recompute rows: the first trading day of each ``recompute`` period, plus any row on which
    the set of eligible strategies changes (so a new strategy enters, or a dead one leaves,
    without waiting a month). Under :class:`~allocator.schedule.Schedule`, choose ``recompute``
    equal to the schedule's frequency (or "daily") so each rebalance reads fresh weights.

    If the eligible strategies share fewer than ``min_history_days`` complete rows (returns
    missing on different days), or one of them is flat on those rows, the covariance is taken
    as diagonal — inverse-volatility weights, the ERC weights of uncorrelated strategies — with
    each volatility from the strategy's own returns in the window.

    Parameters
    ----------
    lookback_days : trailing window of the covariance, trading days.
    min_history_days : returns a strategy needs in the window before it is included.
    shrinkage : intensity in [0, 1]; None estimates the Ledoit–Wolf optimum on each window.
    shrinkage_target : "constant_correlation" (Ledoit–Wolf 2004) or "diagonal".
    recompute : "daily", "weekly", "monthly" or "quarterly".
    """

    lookback_days: int = 252
    min_history_days: int = 63
    shrinkage: float | None = None
    shrinkage_target: ShrinkageTarget = "constant_correlation"
    recompute: Frequency = Frequency.MONTHLY

    def __post_init__(self) -> None:
        _check_window(self.lookback_days, self.min_history_days)
        if self.shrinkage is not None and not 0.0 <= self.shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be in [0, 1] or None, got {self.shrinkage}")

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """ERC weights, shape (n_dates, n_strategies)."""
        r = returns_array(strategy_returns)
        n_dates, n = r.shape
        eligible = trailing_counts(r, self.lookback_days) >= self.min_history_days
        recompute = period_starts(strategy_returns.index, self.recompute)
        if n_dates > 1:
            recompute[1:] |= (eligible[1:] != eligible[:-1]).any(axis=1)
        rows = np.flatnonzero(recompute)  # row 0 always starts a period
        solves = None if context is None else context.solves
        solved = np.zeros((len(rows), n))
        for k, t in enumerate(rows):
            solved[k] = self._solve(r[max(0, t - self.lookback_days) : t], eligible[t], solves)
        latest = np.cumsum(recompute) - 1  # the last recompute row at or before each row
        return weights_frame(solved[latest].reshape(n_dates, n), strategy_returns)

    def _solve(self, window: np.ndarray, eligible: np.ndarray, solves=None) -> np.ndarray:
        """Weights from one window, shape (n_strategies,): 0 outside the eligible set.
        ``solves``: :func:`allocator.risk.solved_erc_weights`' (None: solved)."""
        w = np.zeros(window.shape[1])
        x = window[:, eligible]
        if x.shape[1] == 0:
            return w
        moves = np.nanmax(x, axis=0) > np.nanmin(x, axis=0)  # a flat line has no risk to size
        cols = np.flatnonzero(eligible)[moves]
        x = x[:, moves]
        if cols.size <= 1:
            w[cols] = 1.0
            return w
        complete = x[np.isfinite(x).all(axis=1)]
        if len(complete) >= self.min_history_days and (np.ptp(complete, axis=0) > 0).all():
            cov = shrink_covariance(complete, self.shrinkage, self.shrinkage_target)
            w[cols] = solved_erc_weights(cov, solves)
        else:  # too few common rows: diagonal covariance, i.e. inverse volatility
            inv = 1.0 / np.nanstd(x, axis=0, ddof=1)
            w[cols] = inv / inv.sum()
        return w
