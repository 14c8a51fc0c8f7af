"""Defensive overlay: move mostly to cash in extreme markets, with hysteresis.

The filing lets the fund "take temporary defensive positions" (mostly cash) in extreme markets.
:class:`Defensive` turns that into a rule on two signals, each read as known at the previous
close (row ``t`` uses values stamped at or before row ``t−1``'s date):

- the VIX level, points (``AllocationContext.vix``; forward-filled to the returns' dates);
- the fund's drawdown, a positive loss fraction (0.15 = 15% below its running peak, the start
  counting as a peak). From ``AllocationContext.fund_returns`` when given; otherwise from the
  portfolio the inner rule's weights would have earned, ``Σ_i inner_t,i · r_t,i``. The default
  measures how the strategies are doing at full allocation: the fund's own drawdown barely
  moves while it sits 90% in cash, so a rule on it could stay defensive for years.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from allocator.base import AllocationContext, Allocator, returns_array, weights_frame

__all__ = ["Defensive", "RiskState", "drawdown"]

SWITCH_COLUMNS = ["date", "state", "reason"]


class RiskState(StrEnum):
    """The overlay's state: invested as the inner rule says, or mostly in cash."""

    NORMAL = "normal"
    DEFENSIVE = "defensive"


def drawdown(returns: np.ndarray, lookback_days: int | None = None) -> np.ndarray:
    """Drawdown after each return, positive loss fraction, shape (n_dates,).

    Wealth starts at 1 (a peak) and compounds ``1 + r``; a missing return leaves it unchanged.
    ``1 − wealth / peak``, the peak being the highest wealth so far or, with ``lookback_days``,
    the highest of the current wealth and the ``lookback_days`` values before it (the starting
    1 included while in range).
    """
    r = np.nan_to_num(np.asarray(returns, dtype="float64"), nan=0.0)
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    if lookback_days is None:
        peak = np.maximum.accumulate(wealth)
    else:
        peak = pd.Series(wealth).rolling(lookback_days + 1, min_periods=1).max().to_numpy()
    return (1.0 - wealth / peak)[1:]


def _versus(value: float, bound: float, percent: bool) -> tuple[str, str]:
    """Format a signal and its threshold with enough decimals to tell them apart (≥ 1)."""
    for decimals in range(1, 7):
        spec = f".{decimals}%" if percent else f".{decimals}f"
        a, b = format(value, spec), format(bound, spec)
        if a != b:
            break
    return a, b


def _known_before(values: np.ndarray) -> np.ndarray:
    """Shift one row down: row ``t`` sees the value of row ``t−1`` (NaN on row 0)."""
    out = np.full(len(values), np.nan)
    out[1:] = values[:-1]
    return out


def _aligned(series: pd.Series, index: pd.Index, fill: bool) -> np.ndarray:
    s = series.dropna().sort_index()
    if fill:
        return s.reindex(index, method="ffill").to_numpy(dtype="float64", na_value=np.nan)
    return s.reindex(index).to_numpy(dtype="float64", na_value=np.nan)


@dataclass(frozen=True)
class Defensive:
    """Scale all weights to ``defensive_weight`` of normal in extreme markets (hysteresis).

    Goes defensive on row ``t`` when, as known at ``t−1``, VIX > ``vix_above`` or the drawdown >
    ``max_drawdown``; returns to normal only when VIX < ``vix_below`` **and** drawdown <
    ``recover_drawdown``. Between the two thresholds the state holds, so a VIX dip from 45 to 35
    keeps the fund defensive. A missing VIX (none given, or before its first value) never
    triggers and never blocks the return. Weights: ``inner_t × defensive_weight`` while
    defensive, ``inner_t`` otherwise; the rest is cash.

    Place it outermost among the overlays (outside :class:`~allocator.overlays.VolatilityTarget`,
    which would scale the cash back into risk). Inside a
    :class:`~allocator.schedule.Schedule` a switch waits for the next rebalance unless the
    schedule has a drift threshold smaller than the switch's change in weight.

    Parameters
    ----------
    inner : the allocator in normal times.
    vix_above, vix_below : VIX levels (points) to go defensive above and come back below.
    max_drawdown, recover_drawdown : drawdowns (positive fractions) to go defensive above and
        come back below.
    defensive_weight : multiple of the normal weights held while defensive (0.1 = 10%).
    drawdown_lookback_days : measure the drawdown from the highest wealth of this many trailing
        rows instead of the all-time high (None). Strategies that never regain their old peak
        otherwise keep the fund defensive for good once ``max_drawdown`` was hit.

    Inputs come through ``context``: :class:`~allocator.base.AllocationContext` with ``vix``
    and optionally ``fund_returns``.
    """

    inner: Allocator
    vix_above: float = 40.0
    vix_below: float = 30.0
    max_drawdown: float = 0.15
    recover_drawdown: float = 0.05
    defensive_weight: float = 0.1
    drawdown_lookback_days: int | None = None

    def __post_init__(self) -> None:
        if self.vix_below > self.vix_above:
            raise ValueError("vix_below must not exceed vix_above")
        if not 0.0 <= self.recover_drawdown <= self.max_drawdown:
            raise ValueError("need 0 <= recover_drawdown <= max_drawdown")
        if not 0.0 <= self.defensive_weight <= 1.0:
            raise ValueError("defensive_weight must be in [0, 1]")
        if self.drawdown_lookback_days is not None and self.drawdown_lookback_days < 1:
            raise ValueError("drawdown_lookback_days must be >= 1 or None")

    def weights(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Inner weights scaled down while defensive, shape (n_dates, n_strategies)."""
        inner, defensive, _ = self._run(strategy_returns, context)
        scale = np.where(defensive, self.defensive_weight, 1.0)
        return weights_frame(inner * scale[:, None], strategy_returns)

    def states(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.Series:
        """The state in force at each date ("normal" / "defensive"), indexed like the returns."""
        _, defensive, _ = self._run(strategy_returns, context)
        labels = np.where(defensive, RiskState.DEFENSIVE.value, RiskState.NORMAL.value)
        return pd.Series(labels, index=strategy_returns.index.copy(), name="state")

    def switches(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None = None
    ) -> pd.DataFrame:
        """Every change of state and why, in date order.

        Returns
        -------
        pd.DataFrame with columns
            ``date``: the first date whose weights are in the new state (the signal is the
            previous date's close); ``state``: "defensive" or "normal", the state entered;
            ``reason``: e.g. "VIX 45.2 above 40.0", "drawdown 16.3% above 15.0%", or
            "VIX 28.1 below 30.0, drawdown 2.0% below 5.0%".
        """
        _, _, records = self._run(strategy_returns, context)
        rows = [row for row, _, _ in records]
        return pd.DataFrame(
            {
                "date": strategy_returns.index[rows].to_numpy(),
                "state": pd.Series([state for _, state, _ in records], dtype="str"),
                "reason": pd.Series([reason for _, _, reason in records], dtype="str"),
            },
            columns=SWITCH_COLUMNS,
        )

    def _signals(
        self, r: np.ndarray, inner: np.ndarray, index: pd.Index, context: AllocationContext | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """VIX and drawdown as known before each row, each of shape (n_dates,)."""
        ctx = context or AllocationContext()
        if ctx.vix is not None:
            vix = _known_before(_aligned(ctx.vix, index, fill=True))
        else:
            vix = np.full(len(index), np.nan)
        if ctx.fund_returns is not None:
            fund = _aligned(ctx.fund_returns, index, fill=False)
        else:
            fund = (inner * np.nan_to_num(r)).sum(axis=1)
        dd = _known_before(drawdown(fund, self.drawdown_lookback_days))
        return vix, np.nan_to_num(dd, nan=0.0)

    def _run(
        self, strategy_returns: pd.DataFrame, context: AllocationContext | None
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str, str]]]:
        r = returns_array(strategy_returns)
        inner = self.inner.weights(strategy_returns, context=context).to_numpy(dtype="float64")
        index = strategy_returns.index
        vix, dd = self._signals(r, inner, index, context)
        defensive = np.zeros(len(index), dtype=bool)
        records: list[tuple[int, str, str]] = []
        state = RiskState.NORMAL
        for t in range(len(index)):
            reason = self._transition(state, vix[t], dd[t])
            if reason:
                state = RiskState.NORMAL if state is RiskState.DEFENSIVE else RiskState.DEFENSIVE
                records.append((t, state.value, reason))
            defensive[t] = state is RiskState.DEFENSIVE
        return inner, defensive, records

    def _transition(self, state: RiskState, vix: float, dd: float) -> str:
        """Why the state changes on this row, or "" if it holds."""
        has_vix = not np.isnan(vix)
        if state is RiskState.NORMAL:
            reasons = []
            if has_vix and vix > self.vix_above:
                reasons.append("VIX {} above {}".format(*_versus(vix, self.vix_above, False)))
            if dd > self.max_drawdown:
                reasons.append("drawdown {} above {}".format(*_versus(dd, self.max_drawdown, True)))
            return "; ".join(reasons)
        if (has_vix and not vix < self.vix_below) or not dd < self.recover_drawdown:
            return ""
        parts = ["VIX {} below {}".format(*_versus(vix, self.vix_below, False))] if has_vix else []
        parts.append("drawdown {} below {}".format(*_versus(dd, self.recover_drawdown, True)))
        return ", ".join(parts)
