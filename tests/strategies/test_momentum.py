"""Cross-sectional momentum: the 12-1 signal and ranks on a hand-made 4-asset table, the monthly
hold, and the strategy on the 20-year synthetic market."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.market.returns import exposure_returns
from strategies.base import run_strategy
from strategies.quant.momentum import CrossSectionalMomentum
from strategies.signals import (
    demeaned_ranks,
    hold_between,
    long_short_weights,
    momentum,
    momentum_py,
    month_start_mask,
)


def test_momentum_and_ranks_on_four_assets():
    # 7 days of returns; lookback 5, skip 1: on day t the window is days t-4 .. t-1.
    r = pd.DataFrame(
        {
            "A": [0.01, 0.02, -0.01, 0.03, 0.00, 0.01, 0.50],
            "B": [0.00, -0.02, -0.01, -0.01, 0.01, 0.00, 0.00],
            "C": [0.02, 0.01, 0.01, 0.00, -0.01, 0.02, -0.50],
            "D": [np.nan, np.nan, 0.01, 0.01, 0.01, 0.01, 0.01],
        }
    )
    mom = momentum(r, lookback_days=5, skip_days=1)
    assert mom.iloc[:5].isna().all().all()  # no full window yet
    expected_a = np.log1p([0.02, -0.01, 0.03, 0.00]).sum()  # days 1..4 for t = 5
    assert mom.at[5, "A"] == pytest.approx(expected_a, rel=1e-12)
    # t = 6: days 2..5; the last day's +50% / -50% is skipped
    hand = {c: np.log1p(r[c].iloc[2:6]).sum() for c in "ABCD"}
    np.testing.assert_allclose(mom.iloc[6][list("ABCD")], [hand[c] for c in "ABCD"], rtol=1e-12)
    assert np.isnan(mom.at[5, "D"])  # D had 3 of the 4 returns of that window (< 90%)
    # t = 6: A 0.030, B -0.010, C 0.020, D 0.040 -> order B < C < A < D
    ranks = demeaned_ranks(mom.iloc[[6]])
    np.testing.assert_allclose(ranks.iloc[0], [1 / 3, -1.0, -1 / 3, 1.0], rtol=1e-12)
    vol = pd.DataFrame(0.1, index=ranks.index, columns=ranks.columns)
    w = long_short_weights(ranks, vol)  # longs A, D in 1 : 3; shorts B, C in 3 : 1
    np.testing.assert_allclose(w.iloc[0], [0.25, -0.75, -0.25, 0.75], rtol=1e-12)


def test_month_start_mask_and_hold_between():
    cal = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02", "2024-03-01"])
    mask = month_start_mask(cal)
    assert mask.tolist() == [False, False, True, False, True]
    frame = pd.DataFrame({"X": [1.0, 2.0, 3.0, 4.0, np.nan], "Y": [5.0, 6.0, 7.0, 8.0, 9.0]})
    held = hold_between(frame, mask)
    assert held["X"].tolist() == [0.0, 0.0, 3.0, 3.0, 0.0]  # NaN on a rebalance day = flat
    assert held["Y"].tolist() == [0.0, 0.0, 7.0, 7.0, 9.0]


# --------------------------------------------------------------------------- synthetic market
@pytest.fixture(scope="module")
def market(synthetic_20y):
    """The 20-year synthetic market, ``synthetic_market(7)`` (session fixture of conftest)."""
    return synthetic_20y


@pytest.fixture(scope="module")
def positions(market):
    return run_strategy(CrossSectionalMomentum(), market)


@pytest.mark.slow
def test_momentum_no_look_ahead_determinism_and_no_mutation(market, positions):
    before = copy.deepcopy(market)
    again = CrossSectionalMomentum().target_positions(market)
    pd.testing.assert_frame_equal(again, positions, check_exact=True)
    assert market.equals(before)
    rng = np.random.default_rng(99)
    for i in sorted(rng.integers(300, len(market.calendar) - 1, size=3)):
        cut = CrossSectionalMomentum().target_positions(market.until(market.calendar[i]))
        pd.testing.assert_frame_equal(cut, positions.iloc[: i + 1], check_exact=True)
        assert cut.iloc[-1].abs().sum() > 0


@pytest.mark.slow
def test_momentum_book_shape(market, positions):
    assert "VX" not in positions.columns and "FWD-EUR-1M" in positions.columns
    assert (positions.iloc[:252] == 0).all().all()  # a year of history first
    np.testing.assert_allclose(positions.sum(axis=1), 0.0, atol=1e-10)
    changes = positions.diff().abs().sum(axis=1).iloc[1:] > 0
    assert month_start_mask(market.calendar)[1:][changes.to_numpy()].all()
    assert changes.sum() >= 12 * 18  # rebalanced every month after the first year


@pytest.mark.slow
def test_momentum_is_long_last_years_winners(market, positions):
    # on each rebalance day, the longs had a higher 12-1 return than the shorts
    from backtest.market.returns import instrument_returns

    rets = instrument_returns(market, list(positions.columns))
    mom = momentum(rets)
    days = np.flatnonzero(month_start_mask(market.calendar))
    days = days[days > 300]
    pos, score = positions.iloc[days], mom.iloc[days]
    long_score = (score.where(pos > 0)).mean(axis=1)
    short_score = (score.where(pos < 0)).mean(axis=1)
    assert (long_score > short_score).all()


@pytest.mark.slow
def test_momentum_vol_near_target(market, positions):
    ret = exposure_returns(positions, market, cost_bps=2).iloc[300:]
    assert 0.05 <= ret.std() * np.sqrt(252) <= 0.15


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    lookback=st.integers(-5, 70),
    skip=st.integers(-3, 10),
    min_fraction=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
)
def test_momentum_equals_its_pandas_twin(seed, n, lookback, skip, min_fraction):
    """The array version: the bits of the frame operations it replaced (missing values,
    returns of -100% and below, infinities, windows longer than the data), and the same
    (ids × dates) memory order of the frame's values, which later row reductions depend on."""
    rng = np.random.default_rng(seed)
    r = pd.DataFrame(rng.normal(0, 0.02, (n, 4)), index=pd.bdate_range("2024-01-01", periods=n))
    r[rng.random(r.shape) < 0.1] = np.nan
    r[rng.random(r.shape) < 0.03] = -1.0
    r[rng.random(r.shape) < 0.02] = -1.5
    r[rng.random(r.shape) < 0.02] = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        got = momentum(r, lookback, skip, min_fraction)
        want = momentum_py(r, lookback, skip, min_fraction)
    assert got.index.equals(want.index) and got.columns.equals(want.columns)
    a, b = got.to_numpy(), want.to_numpy()
    assert np.array_equal(a.view(np.int64), b.view(np.int64))
    assert got.T.to_numpy().flags.c_contiguous == want.T.to_numpy().flags.c_contiguous
