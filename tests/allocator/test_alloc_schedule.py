"""Rebalance schedule: weights reset only on period starts, drift by hand in between, drift
threshold triggers."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from allocator import InverseVolatility, Schedule, drift_weights, period_starts
from allocator.base import AllocationContext


@dataclass(frozen=True)
class FixedTargets:
    """A test allocator whose weights are given outright (one row per date)."""

    rows: tuple[tuple[float, ...], ...]

    def weights(self, strategy_returns, context: AllocationContext | None = None):
        values = np.array(self.rows[: len(strategy_returns)], dtype=float)
        return pd.DataFrame(values, index=strategy_returns.index, columns=strategy_returns.columns)


# Mon 29 Jan .. Mon 5 Feb 2024: the month turns on row 3 (Thu 1 Feb)
DATES = pd.DatetimeIndex(
    ["2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02", "2024-02-05"]
)
RETURNS = pd.DataFrame(
    [
        [0.10, -0.05, 0.00],
        [0.02, 0.04, -0.10],
        [0.00, 0.00, 0.00],
        [-0.20, 0.10, 0.05],
        [0.05, np.nan, 0.01],
        [0.00, 0.00, 0.00],
    ],
    index=DATES,
    columns=["a", "b", "c"],
)
JAN, FEB = (0.5, 0.3, 0.2), (0.2, 0.3, 0.5)
TARGETS = FixedTargets((JAN, JAN, JAN, FEB, FEB, FEB))


def test_monthly_schedule_by_hand():
    w = Schedule(TARGETS, "monthly").weights(RETURNS).to_numpy()
    row1 = np.array([0.5 * 1.10, 0.3 * 0.95, 0.2 * 1.00]) / (0.55 + 0.285 + 0.2)
    row2 = row1 * np.array([1.02, 1.04, 0.90]) / (row1 @ np.array([1.02, 1.04, 0.90]))
    row4 = np.array(FEB) * np.array([0.80, 1.10, 1.05]) / (0.16 + 0.33 + 0.525)
    row5 = row4 * np.array([1.05, 1.00, 1.01]) / (row4 @ np.array([1.05, 1.00, 1.01]))  # NaN: 0
    expected = np.vstack([JAN, row1, row2, row2, row4, row5])
    expected[3] = FEB  # 1 Feb: rebalanced to the February target
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-14)


def test_daily_schedule_is_the_inner_rule():
    w = Schedule(TARGETS, "daily").weights(RETURNS)
    np.testing.assert_array_equal(w.to_numpy(), np.array(TARGETS.rows))


def test_drift_weights_formula_with_cash():
    # 60% invested: cash earns nothing, so the denominator is 1 + Σ w r
    out = drift_weights(np.array([0.4, 0.2]), np.array([0.1, -0.1]))
    np.testing.assert_allclose(out, np.array([0.44, 0.18]) / 1.02)


def test_weights_change_only_on_month_starts():
    rng = np.random.default_rng(4)
    dates = pd.bdate_range("2021-03-10", periods=400)
    r = pd.DataFrame(rng.normal(3e-4, [0.003, 0.008, 0.012], (400, 3)), index=dates)
    alloc = Schedule(InverseVolatility(lookback_days=40), "monthly")
    w = alloc.weights(r).to_numpy()
    changed = [
        t
        for t in range(1, 400)
        if not np.allclose(w[t], drift_weights(w[t - 1], r.iloc[t - 1]), rtol=0, atol=1e-15)
    ]
    # InverseVolatility first has 20 returns on row 20: the schedule invests then, not on 3 May
    first = 20
    month_starts = np.flatnonzero(period_starts(dates, "monthly"))
    assert changed == [first] + [t for t in month_starts if t > first]
    assert (w[:first] == 0).all() and (w[first] > 0).all()
    assert dates[month_starts[1:]].day.max() <= 3  # the first trading days (row 0 aside)
    expected = sorted({first, *month_starts.tolist()})
    assert alloc.rebalance_dates(r).equals(dates[expected])


def test_drift_threshold_triggers_a_rebalance():
    dates = pd.bdate_range("2024-03-04", periods=8)  # all in March: one scheduled rebalance
    r = pd.DataFrame(0.0, index=dates, columns=["a", "b"])
    r.iloc[2, 0] = 0.10  # a rallies 10% on row 2
    r.iloc[4, 0] = 0.03
    targets = FixedTargets(((0.5, 0.5),) * 8)
    # after row 2: a = 0.55/1.05 = 0.5238 (gap 0.0238); after row 4: 0.5312 (gap 0.0312)
    w_loose = Schedule(targets, "monthly", drift_threshold=0.03).weights(r)
    w_tight = Schedule(targets, "monthly", drift_threshold=0.02).weights(r)
    a_after_2 = 0.55 / 1.05
    assert w_tight.iloc[3, 0] == 0.5  # gap 0.0238 > 0.02 on row 3: rebalanced
    assert w_loose.iloc[3, 0] == pytest.approx(a_after_2, rel=1e-14)  # 0.0238 ≤ 0.03: drifts
    a_after_4 = a_after_2 * 1.03 / (1 + a_after_2 * 0.03)
    assert 0.031 < a_after_4 - 0.5 < 0.032
    assert w_loose.iloc[4, 0] == pytest.approx(a_after_2, rel=1e-14)  # row 3 was flat
    assert w_loose.iloc[5, 0] == 0.5  # the second rally takes it past 0.03: rebalanced on row 5
    assert list(Schedule(targets, "monthly", 0.03).rebalance_dates(r)) == [dates[0], dates[5]]
    assert list(Schedule(targets, "monthly").rebalance_dates(r)) == [dates[0]]


def test_period_starts():
    dates = pd.DatetimeIndex(
        [
            "2024-03-28",
            "2024-04-01",
            "2024-04-02",
            "2024-04-08",
            "2024-06-28",
            "2024-07-01",
            "2025-07-03",
        ]
    )
    assert period_starts(dates, "weekly").tolist() == [1, 1, 0, 1, 1, 1, 1]
    assert period_starts(dates, "monthly").tolist() == [1, 1, 0, 0, 1, 1, 1]
    assert period_starts(dates, "quarterly").tolist() == [1, 1, 0, 0, 0, 1, 1]
    assert period_starts(dates, "daily").all()
    with pytest.raises(TypeError):
        period_starts(pd.RangeIndex(3), "monthly")
