"""The Allocator protocol, the context some rules need, and helpers every rule shares.

Timing convention (the contract of every allocator)
---------------------------------------------------
``weights(strategy_returns)`` returns a table with the same index and columns as its input. Row
``t`` is computed from the returns of rows ``0 .. t−1`` only: it never reads row ``t`` itself.
The weight in row ``t`` may therefore be applied to the returns of row ``t`` and later, e.g. the
allocated portfolio's return on day ``t`` is ``Σ_i weights[t, i] · returns[t, i]``. Computing on
``strategy_returns.iloc[:k]`` gives exactly (bit for bit) ``weights(strategy_returns).iloc[:k]``.

A weight is a fraction of fund capital (0.25 = a quarter of net assets given to the strategy).
Rules that pick strategies (equal weight, inverse volatility, ERC) return weights that sum to 1
on every row where at least one strategy is eligible, and all zeros before; overlays
(:class:`~allocator.overlays.VolatilityTarget`, :class:`~allocator.defensive.Defensive`) scale
them, so the sum may then differ from 1 (the rest is cash, or leverage when above 1).

A missing return (NaN) means the strategy did not exist or did not report that day; a strategy
with no return history yet always gets weight 0.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from backtest.market.calendar import TRADING_DAYS_PER_YEAR

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "AllocationContext",
    "Allocator",
    "Frequency",
    "period_starts",
    "returns_array",
    "weights_frame",
]


class Frequency(StrEnum):
    """Rebalance / recompute frequencies: a period starts on its first trading day in the index.

    A ``StrEnum``: ``Frequency.MONTHLY == "monthly"``, so the plain strings are accepted too.
    """

    DAILY = "daily"
    WEEKLY = "weekly"  # Monday-based weeks
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True, eq=False)
class AllocationContext:
    """Data beyond the strategy returns that some rules read (all optional).

    Every series is aligned to the returns' index by date; a rule reading it at row ``t`` uses
    the latest value stamped at or before row ``t−1``'s date (known at the previous close).

    Attributes
    ----------
    vix : pd.Series, optional
        VIX index level in points (e.g. 45.2), indexed by date.
    fund_returns : pd.Series, optional
        The fund's realised daily simple returns (decimal), indexed by date. When absent,
        :class:`~allocator.defensive.Defensive` measures drawdown on the allocated portfolio.
    solves : MutableMapping[str, np.ndarray], optional
        Earlier answers of the rules' optimisations, read and extended in place
        (:class:`~allocator.rules.EqualRiskContribution`'s risk budgets:
        :func:`allocator.risk.solved_erc_weights`). The weights are the same bit for bit with
        or without it; with it, a problem solved before is not solved again (the nightly job
        keeps them in its state: one new solve a month instead of ~240).
    """

    vix: pd.Series | None = None
    fund_returns: pd.Series | None = None
    solves: MutableMapping[str, np.ndarray] | None = None


@runtime_checkable
class Allocator(Protocol):
    """What every allocation rule provides (see the module docstring for the timing contract)."""

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Weights in force at each date, shape (n_dates, n_strategies), fraction of capital.

        Parameters
        ----------
        strategy_returns : pd.DataFrame of shape (n_dates, n_strategies)
            Daily simple returns (decimal) of each strategy; NaN where it has no return.
        context : AllocationContext, optional
            Extra inputs for rules that need them; rules that do not simply pass it on.

        Returns
        -------
        pd.DataFrame of shape (n_dates, n_strategies)
            Row ``t`` uses returns of rows before ``t`` only; same index and columns as the input.
        """
        ...


def returns_array(strategy_returns: pd.DataFrame) -> np.ndarray:
    """Validate a returns table and return a float64 copy, shape (n_dates, n_strategies).

    Raises
    ------
    TypeError
        If the input is not a DataFrame.
    ValueError
        If the index is not strictly increasing or a return is infinite.
    """
    if not isinstance(strategy_returns, pd.DataFrame):
        raise TypeError(f"strategy_returns must be a DataFrame, got {type(strategy_returns)}")
    if len(strategy_returns) > 1 and not strategy_returns.index.is_monotonic_increasing:
        raise ValueError("strategy_returns index must be sorted by date")
    if not strategy_returns.index.is_unique:
        raise ValueError("strategy_returns index has duplicate dates")
    values = strategy_returns.to_numpy(dtype="float64", copy=True, na_value=np.nan)
    if np.isinf(values).any():
        raise ValueError("strategy_returns contains infinite values")
    return values


def weights_frame(values: np.ndarray, like: pd.DataFrame) -> pd.DataFrame:
    """Wrap a (n_dates, n_strategies) array with the index and columns of ``like``."""
    return pd.DataFrame(values, index=like.index.copy(), columns=like.columns.copy())


def period_starts(index: pd.Index, frequency: Frequency) -> np.ndarray:
    """Which rows are the first trading day of their period, bool array of shape (n_dates,).

    Row 0 always starts a period; row ``t`` does when its calendar week (Monday-based), month or
    quarter differs from row ``t−1``'s. Depends only on dates up to ``t``, so it is causal.
    """
    n = len(index)
    try:
        frequency = Frequency(frequency)
    except ValueError:
        raise ValueError(
            f"unknown frequency {frequency!r}; known: {[f.value for f in Frequency]}"
        ) from None
    if frequency == Frequency.DAILY:
        return np.ones(n, dtype=bool)
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"a {frequency.value!r} schedule needs a DatetimeIndex, got {type(index)}")
    days = index.normalize()
    match frequency:
        case Frequency.WEEKLY:
            key = (days - pd.to_timedelta(days.dayofweek, unit="D")).asi8
        case Frequency.MONTHLY:
            key = (days.year * 12 + days.month).to_numpy()
        case _:  # Frequency.QUARTERLY
            key = (days.year * 4 + days.quarter).to_numpy()
    starts = np.ones(n, dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    return starts
