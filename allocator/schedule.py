"""Rebalance schedule: hold the inner rule's weights between rebalances and let them drift.

The output of :class:`Schedule` is the **weights in force** at each date: the fraction of
capital each strategy holds over that date's return. Between rebalances nobody trades, so a
strategy's share grows with its own return relative to the fund's::

    w_t,i = w_{t−1},i · (1 + r_{t−1},i) / (1 + Σ_j w_{t−1},j · r_{t−1},j)

(:func:`drift_weights`; cash, ``1 − Σw``, earns nothing here). For a fully invested fund the
denominator is ``Σ_j w_{t−1},j · (1 + r_{t−1},j)``. Only the return of row ``t−1`` is used,
so the schedule keeps the timing contract of :mod:`allocator.base`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from allocator.base import (
    AllocationContext,
    Allocator,
    Frequency,
    period_starts,
    returns_array,
    weights_frame,
)

__all__ = ["Schedule", "drift_weights"]


@njit(cache=True)
def _drift(held: np.ndarray, returns: np.ndarray, out: np.ndarray) -> None:
    growth = 1.0
    for i in range(held.shape[0]):
        if held[i] != 0.0 and not np.isnan(returns[i]):
            growth += held[i] * returns[i]
    for i in range(held.shape[0]):
        r = 0.0 if np.isnan(returns[i]) else returns[i]
        out[i] = held[i] * (1.0 + r) / growth if growth > 0.0 else 0.0


def drift_weights(weights: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Weights after one day of returns with no trading, shape (n_strategies,).

    ``w_i · (1 + r_i) / (1 + Σ_j w_j r_j)``; a missing return counts as 0; all zeros if the
    fund lost everything (``1 + Σ_j w_j r_j ≤ 0``).
    """
    w = np.asarray(weights, dtype="float64")
    out = np.empty_like(w)
    _drift(w, np.asarray(returns, dtype="float64"), out)
    return out


@njit(cache=True)
def _schedule(
    returns: np.ndarray, target: np.ndarray, starts: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    n_dates, n = target.shape
    out = np.zeros((n_dates, n))
    rebalanced = np.zeros(n_dates, dtype=np.bool_)
    drifted = np.zeros(n)
    for t in range(n_dates):
        if t > 0:
            _drift(out[t - 1], returns[t - 1], drifted)
        invested = False
        wanted = False
        gap = 0.0
        for i in range(n):
            invested = invested or drifted[i] != 0.0
            wanted = wanted or target[t, i] != 0.0
            gap = max(gap, abs(drifted[i] - target[t, i]))
        # element by element: a row assignment (``out[t] = target[t]``) makes numba compile a
        # shape-mismatch error message, ~1.5 s of a cold start
        if starts[t] or (wanted and not invested) or gap > threshold:
            for i in range(n):
                out[t, i] = target[t, i]
            rebalanced[t] = True
        else:
            for i in range(n):
                out[t, i] = drifted[i]
    return out, rebalanced


@dataclass(frozen=True)
class Schedule:
    """Adopt the inner weights only on rebalance dates; let them drift in between.

    A row rebalances — its weights in force become the inner rule's weights for that row — when

    - it is the first trading day of a ``frequency`` period (row 0 always is), or
    - ``drift_threshold`` is set and some drifted weight differs from the inner weight by more
      than it (``max_i |drifted_i − inner_i| > drift_threshold``), or
    - nothing is invested (every drifted weight is 0) while the inner rule wants something:
      the initial investment, e.g. once the inner rule has enough history, is not held back
      until the next period.

    Otherwise the weights in force are the previous row's drifted by its returns (see the
    module docstring). With ``frequency="daily"`` the output equals the inner weights.

    Parameters
    ----------
    inner : the allocator giving the target weights.
    frequency : "daily", "weekly" (Monday-based weeks), "monthly" or "quarterly".
    drift_threshold : largest tolerated gap between a drifted weight and its target,
        fraction of capital (0.05 = 5 points); None: rebalance on schedule only.
    """

    inner: Allocator
    frequency: Frequency = Frequency.MONTHLY
    drift_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.drift_threshold is not None and not self.drift_threshold >= 0.0:
            raise ValueError(f"drift_threshold must be >= 0 or None, got {self.drift_threshold}")

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Weights in force at each date, shape (n_dates, n_strategies)."""
        out, _ = self._run(strategy_returns, context)
        return weights_frame(out, strategy_returns)

    def rebalance_dates(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DatetimeIndex:
        """The dates on which the weights in force were reset to the inner rule's weights."""
        _, rebalanced = self._run(strategy_returns, context)
        return strategy_returns.index[rebalanced]

    def _run(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None
    ) -> tuple[np.ndarray, np.ndarray]:
        r = returns_array(strategy_returns)
        target = self.inner.weights(strategy_returns, context=context).to_numpy(dtype="float64")
        starts = period_starts(strategy_returns.index, self.frequency)
        threshold = np.inf if self.drift_threshold is None else float(self.drift_threshold)
        return _schedule(r, np.ascontiguousarray(target), starts, threshold)
