"""Tests for backtest.market.futures: forward prices, roll schedules, back-adjustment, curve
carry and contract-id arithmetic, on hand examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backtest.market.futures import (
    back_adjust,
    curve_carry,
    forward_points,
    forward_price,
    roll_schedule,
    years_between,
)

# --------------------------------------------------------------------------- forwards


def test_forward_price_covered_interest_parity():
    # EURUSD 1.10, USD 5%, EUR 3%, six months: 1.10 * e^{0.01} = 1.10 * 1.010050167084
    assert forward_price(1.10, 0.05, 0.03, 0.5) == pytest.approx(1.1110551837926, abs=1e-12)
    assert forward_points(1.10, 0.05, 0.03, 0.5) == pytest.approx(0.0110551837926, abs=1e-12)
    out = forward_price(np.array([1.10, 150.0]), np.array([0.05, 0.001]), 0.03, 1.0)
    np.testing.assert_allclose(out, [1.10 * math.exp(0.02), 150.0 * math.exp(-0.029)], rtol=1e-14)


# --------------------------------------------------------------------------- futures rolls


def test_roll_schedule_hand_calendar():
    cal = pd.bdate_range("2024-01-01", "2024-01-31")  # 23 weekdays
    expiries = [pd.Timestamp("2024-01-12"), pd.Timestamp("2024-01-20"), pd.Timestamp("2024-03-15")]
    held = roll_schedule(expiries, cal, days_before=2)
    assert held.index.equals(cal) and held.dtype == np.int64
    # expiry 0 is Fri 12th (position 9): roll on position 7 = Wed 10th
    # expiry 1 is Sat 20th -> Fri 19th (position 14): roll on position 12 = Wed 17th
    expected = [0] * 7 + [1] * 5 + [2] * 11
    assert held.tolist() == expected
    assert held[pd.Timestamp("2024-01-09")] == 0 and held[pd.Timestamp("2024-01-10")] == 1
    # days_before=0 rolls on expiry day itself
    assert roll_schedule(expiries, cal, 0)[pd.Timestamp("2024-01-12")] == 1
    assert roll_schedule(expiries, cal, 0)[pd.Timestamp("2024-01-11")] == 0


def test_roll_schedule_expiry_beyond_calendar_and_errors():
    cal = pd.bdate_range("2024-01-01", "2024-01-31")
    # Fri 2 Feb is two weekdays past Wed 31 Jan (position 22) -> position 24; roll 3 before = 21
    held = roll_schedule([pd.Timestamp("2024-02-02"), pd.Timestamp("2024-03-15")], cal, 3)
    assert held.tolist() == [0] * 21 + [1] * 2
    with pytest.raises(ValueError, match="2024-01-10"):
        roll_schedule([pd.Timestamp("2024-01-12")], cal, 2)
    with pytest.raises(ValueError, match="sorted"):
        roll_schedule([pd.Timestamp("2024-03-15"), pd.Timestamp("2024-01-12")], cal, 2)


PRICE = np.array([10.0, 11.0, 12.0, 20.0, 21.0, 19.0])
NEXT = np.array([np.nan, np.nan, 18.0, np.nan, np.nan, np.nan])
ROLL = np.array([False, False, True, False, False, False])


def test_back_adjust_panama():
    price, nxt, roll = PRICE.copy(), NEXT.copy(), ROLL.copy()
    adj = back_adjust(price, nxt, roll, "panama")
    np.testing.assert_allclose(adj, [16.0, 17.0, 18.0, 20.0, 21.0, 19.0])
    assert adj[-1] == PRICE[-1]
    # daily differences are the held contract's own changes
    np.testing.assert_allclose(np.diff(adj), [1.0, 1.0, 20.0 - 18.0, 1.0, -2.0])
    np.testing.assert_array_equal(price, PRICE)  # inputs untouched
    np.testing.assert_array_equal(nxt, NEXT)
    np.testing.assert_array_equal(roll, ROLL)


def test_back_adjust_ratio():
    adj = back_adjust(PRICE, NEXT, ROLL, "ratio")
    np.testing.assert_allclose(adj, [15.0, 16.5, 18.0, 20.0, 21.0, 19.0])
    assert adj[-1] == PRICE[-1]
    np.testing.assert_allclose(adj[1:] / adj[:-1], [1.1, 12 / 11, 20 / 18, 21 / 20, 19 / 21])


def test_back_adjust_two_rolls_2d_and_bad_method():
    price = np.array([10.0, 11.0, 12.0, 20.0, 21.0, 19.0])
    nxt = np.array([np.nan, 13.0, np.nan, np.nan, 25.0, np.nan])
    roll = np.array([False, True, False, False, True, False])
    # gaps +2 (row 1) and +4 (row 4)
    np.testing.assert_allclose(
        back_adjust(price, nxt, roll, "panama"), [16.0, 17.0, 16.0, 24.0, 25.0, 19.0]
    )
    stacked = back_adjust(
        np.column_stack([price, PRICE]),
        np.column_stack([nxt, NEXT]),
        np.column_stack([roll, ROLL]),
        "ratio",
    )
    np.testing.assert_allclose(stacked[:, 1], back_adjust(PRICE, NEXT, ROLL, "ratio"))
    np.testing.assert_allclose(stacked[:, 0], back_adjust(price, nxt, roll, "ratio"))
    # a roll flagged on the last row is ignored: the series still ends at the last price
    assert back_adjust(PRICE, np.full(6, 50.0), np.eye(6, dtype=bool)[5], "panama")[-1] == 19.0
    with pytest.raises(ValueError, match="method"):
        back_adjust(PRICE, NEXT, ROLL, "linear")  # type: ignore[arg-type]


def test_curve_carry_and_years_between():
    assert curve_carry(100.0, 98.0, 0.1, 0.35, 100.0) == pytest.approx(0.08, abs=1e-12)
    out = curve_carry(
        np.array([100.0, 98.0, 100.0, np.nan]),
        np.array([98.0, 100.0, 98.0, 98.0]),
        0.0,
        np.array([0.25, 0.5, 0.0, 0.25]),
        100.0,
    )
    np.testing.assert_allclose(out, [0.08, -0.04, np.nan, np.nan])
    assert years_between(20231200, 20240300) == 0.25
    np.testing.assert_array_equal(
        years_between(
            np.array([20231200, 20231200, 20230600]), np.array([20240300, 20221200, 20230600])
        ),
        [0.25, -1.0, 0.0],
    )
    with pytest.raises(ValueError, match="month"):
        years_between(20231300, 20240300)
