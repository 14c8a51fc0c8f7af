"""Properties on random return tables (hypothesis): finite, long-only, within caps, summing to 1
over the eligible strategies before any volatility target, zero for strategies without history."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allocator import (
    Capped,
    EqualRiskContribution,
    EqualWeight,
    InverseVolatility,
    Schedule,
    VolatilityTarget,
)

LOOKBACK, MIN_HISTORY = 12, 4


@st.composite
def return_tables(draw):
    """Returns on a 1e-5 grid in [−0.2, 0.2]; one strategy starts late (leading NaN)."""
    n_dates = draw(st.integers(1, 70))
    n = draw(st.integers(1, 5))
    ticks = draw(arrays(np.int64, (n_dates, n), elements=st.integers(-20_000, 20_000)))
    values = ticks * 1e-5
    late = draw(st.integers(0, n - 1))
    values[: draw(st.integers(0, n_dates)), late] = np.nan
    dates = pd.bdate_range("2021-01-25", periods=n_dates)
    return pd.DataFrame(values, index=dates, columns=[f"s{i}" for i in range(n)])


def window(r: np.ndarray, t: int) -> np.ndarray:
    return r[max(0, t - LOOKBACK) : t]


def eligible_by_volatility(r: np.ndarray, t: int) -> np.ndarray:
    """Enough returns in the trailing window, and not a flat line."""
    w = window(r, t)
    count = np.isfinite(w).sum(axis=0)
    with np.errstate(invalid="ignore"):
        moves = np.nanmax(w, axis=0, initial=-np.inf) > np.nanmin(w, axis=0, initial=np.inf)
    return (count >= MIN_HISTORY) & moves


def check_common(w: pd.DataFrame, returns: pd.DataFrame) -> np.ndarray:
    assert w.index.equals(returns.index) and w.columns.equals(returns.columns)
    values = w.to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    sums = values.sum(axis=1)
    assert np.all(np.isclose(sums, 0.0, atol=1e-12) | np.isclose(sums, 1.0, atol=1e-12))
    return values


@settings(max_examples=150, deadline=None)
@given(returns=return_tables())
def test_equal_weight(returns):
    w = check_common(EqualWeight().weights(returns), returns)
    r = returns.to_numpy()
    for t in range(len(r)):
        seen = np.isfinite(r[:t]).any(axis=0)
        expected = seen / seen.sum() if seen.any() else np.zeros(r.shape[1])
        np.testing.assert_allclose(w[t], expected, rtol=0, atol=1e-15)


@settings(max_examples=150, deadline=None)
@given(returns=return_tables())
def test_inverse_volatility(returns):
    alloc = InverseVolatility(lookback_days=LOOKBACK, min_history_days=MIN_HISTORY)
    w = check_common(alloc.weights(returns), returns)
    r = returns.to_numpy()
    for t in range(len(r)):
        ok = eligible_by_volatility(r, t)
        assert (w[t][~ok] == 0).all()
        if ok.any():
            inv = 1 / np.nanstd(window(r, t)[:, ok], axis=0, ddof=1)
            np.testing.assert_allclose(w[t][ok], inv / inv.sum(), rtol=1e-6)


@settings(max_examples=100, deadline=None)
@given(returns=return_tables(), recompute=st.sampled_from(["daily", "monthly"]))
def test_equal_risk_contribution(returns, recompute):
    alloc = EqualRiskContribution(LOOKBACK, MIN_HISTORY, recompute=recompute)
    w = check_common(alloc.weights(returns), returns)
    r = returns.to_numpy()
    counts = np.array([np.isfinite(window(r, t)).sum(axis=0) for t in range(len(r))])
    for t in range(len(r)):
        if recompute == "daily":
            ok = eligible_by_volatility(r, t)
            assert (w[t][~ok] == 0).all()
            # fully observed, moving strategies are always weighted
            if ok.any() and np.isfinite(window(r, t)[:, ok]).all() and len(window(r, t)) > 2:
                assert np.isclose(w[t].sum(), 1.0)
        # a strategy short of history is never weighted, whatever the recompute cadence
        assert (w[t][counts[t] < MIN_HISTORY] == 0).all()


CAP_CASES = st.sampled_from(
    [
        (InverseVolatility(LOOKBACK, MIN_HISTORY), 0.4, 0.1),
        (EqualWeight(), 0.3, 0.0),
        (EqualRiskContribution(LOOKBACK, MIN_HISTORY, recompute="daily"), 0.35, 0.15),
    ]
)


@settings(max_examples=150, deadline=None)
@given(returns=return_tables(), case=CAP_CASES)
def test_capped_within_bounds(returns, case):
    inner, hi, lo = case
    raw = inner.weights(returns).to_numpy()
    w = Capped(inner, max_weight=hi, min_weight=lo).weights(returns).to_numpy()
    assert np.isfinite(w).all()
    for t in range(len(w)):
        held = raw[t] > 0
        k = held.sum()
        assert (w[t][~held] == 0).all()
        if k == 0:
            continue
        assert (w[t][held] <= hi + 1e-12).all()
        if k * hi >= 1:  # feasible: fully invested within the bounds
            assert np.isclose(w[t].sum(), 1.0, atol=1e-12)
            assert (w[t][held] >= min(lo, 1 / k) - 1e-12).all()
        else:  # the cap wins: each at the cap, the rest in cash
            np.testing.assert_allclose(w[t][held], hi)


@settings(max_examples=100, deadline=None)
@given(returns=return_tables(), drift=st.sampled_from([None, 0.02]))
def test_schedule_stays_fully_invested_and_vol_target_bounded(returns, drift):
    inner = InverseVolatility(LOOKBACK, MIN_HISTORY)
    held = Schedule(inner, "weekly", drift_threshold=drift).weights(returns).to_numpy()
    sums = held.sum(axis=1)
    assert np.isfinite(held).all() and (held >= 0).all()
    assert np.all(np.isclose(sums, 0.0, atol=1e-12) | np.isclose(sums, 1.0, atol=1e-9))
    vt = VolatilityTarget(
        Capped(inner, 0.6),
        target_annual=0.1,
        lookback_days=LOOKBACK,
        max_leverage=2.0,
        min_history_days=MIN_HISTORY,
    )
    scaled = vt.weights(returns).to_numpy()
    assert np.isfinite(scaled).all() and (scaled >= 0).all()
    assert (scaled.sum(axis=1) <= 2.0 + 1e-9).all()
