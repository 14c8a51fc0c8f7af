"""Caps and floors (water-filling by hand) and the fund volatility target on known covariances."""

import numpy as np
import pandas as pd
import pytest

from allocator import (
    Capped,
    EqualRiskContribution,
    EqualWeight,
    InverseVolatility,
    RampIn,
    VolatilityTarget,
    cap_weights,
    ramp_factors,
    trailing_portfolio_vol,
)

# --- Capped ----------------------------------------------------------------------------------


def test_water_filling_hand_example():
    np.testing.assert_allclose(
        cap_weights(np.array([0.7, 0.2, 0.1]), max_weight=0.5), [0.5, 1 / 3, 1 / 6], atol=1e-15
    )


@pytest.mark.parametrize(
    "raw, hi, lo, expected",
    [
        # the first redistribution pushes the next one over the cap: 0.3 + 0.15·0.3/0.5 = 0.39
        ([0.5, 0.3, 0.2], 0.35, 0.0, [0.35, 0.35, 0.30]),
        # floor lifts the small one, the cap trims the big one, the middle takes the rest
        ([0.05, 0.15, 0.8], 0.6, 0.1, [0.1, 0.3, 0.6]),
        ([0.45, 0.45, 0.05, 0.05], 0.3, 0.0, [0.3, 0.3, 0.2, 0.2]),
        # zeros (excluded strategies) stay zero and are not floored
        ([0.0, 0.9, 0.1, 0.0], 0.8, 0.15, [0.0, 0.8, 0.2, 0.0]),
        # already within bounds: unchanged
        ([0.25, 0.25, 0.5], 0.5, 0.2, [0.25, 0.25, 0.5]),
        # infeasible cap (2 × 0.4 < 1): the cap wins, 20% stays in cash
        ([0.7, 0.3], 0.4, 0.0, [0.4, 0.4]),
        # infeasible floor (3 × 0.4 > 1): equal weights
        ([0.7, 0.2, 0.1], 0.9, 0.4, [1 / 3, 1 / 3, 1 / 3]),
        # a row that sums to 0.5 keeps its sum
        ([0.4, 0.05, 0.05], 0.3, 0.0, [0.3, 0.1, 0.1]),
    ],
)
def test_cap_weights_cases(raw, hi, lo, expected):
    np.testing.assert_allclose(cap_weights(np.array(raw), hi, lo), expected, atol=1e-12)


def test_cap_weights_rows_and_input_untouched():
    raw = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    before = raw.copy()
    out = cap_weights(raw, 0.5)
    np.testing.assert_array_equal(raw, before)
    np.testing.assert_allclose(out[1], 0.0)
    np.testing.assert_allclose(out[2], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        cap_weights(np.array([-0.1, 1.1]), 0.9)


def test_capped_allocator_applies_water_filling_to_inner_rows():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2022-01-03", periods=200)
    r = pd.DataFrame(rng.normal(0, [0.002, 0.01, 0.02, 0.03], (200, 4)), index=dates)
    inner = InverseVolatility(lookback_days=40)
    raw = inner.weights(r)
    capped = Capped(inner, max_weight=0.4, min_weight=0.1).weights(r)
    assert raw.iloc[-1].max() > 0.5  # the low-vol strategy would dominate
    np.testing.assert_allclose(
        capped.to_numpy(), cap_weights(raw.to_numpy(), 0.4, 0.1), rtol=0, atol=0
    )
    live = capped.iloc[25:]
    assert live.max().max() <= 0.4 + 1e-12 and live.min().min() >= 0.1 - 1e-12
    np.testing.assert_allclose(live.sum(axis=1), 1.0, atol=1e-12)


def test_capped_rejects_bad_bounds():
    with pytest.raises(ValueError):
        Capped(EqualWeight(), max_weight=0.2, min_weight=0.3)


# --- VolatilityTarget ------------------------------------------------------------------------


def iid_returns(n_days=5000, seed=1):
    rng = np.random.default_rng(seed)
    sd = np.array([0.05, 0.10, 0.15, 0.08, 0.12]) / np.sqrt(252)
    corr = np.array(
        [
            [1.0, 0.3, 0.1, 0.0, -0.2],
            [0.3, 1.0, 0.4, 0.2, 0.0],
            [0.1, 0.4, 1.0, 0.3, 0.1],
            [0.0, 0.2, 0.3, 1.0, 0.2],
            [-0.2, 0.0, 0.1, 0.2, 1.0],
        ]
    )
    cov = corr * np.outer(sd, sd)
    r = rng.multivariate_normal(np.zeros(5), cov, size=n_days)
    dates = pd.bdate_range("2000-01-03", periods=n_days)
    return pd.DataFrame(r, index=dates, columns=list("abcde")), cov


@pytest.mark.parametrize(
    "inner",
    [EqualWeight(), Capped(EqualRiskContribution(lookback_days=252), 0.5, 0.05)],
    ids=["equal_weight", "capped_erc"],
)
def test_volatility_target_realised_vol_close_to_target(inner):
    returns, cov = iid_returns()
    w = VolatilityTarget(inner, target_annual=0.08).weights(returns)
    live = slice(300, None)
    portfolio = (w * returns).sum(axis=1).iloc[live]
    realised = portfolio.std() * np.sqrt(252)
    assert realised == pytest.approx(0.08, rel=0.2)
    assert realised == pytest.approx(0.08, rel=0.05)  # in fact much closer on iid data
    # the leverage chosen is the one the true covariance asks for, on average
    base = inner.weights(returns).iloc[live].to_numpy()
    true_vol = np.sqrt(252 * np.einsum("ti,ij,tj->t", base, cov, base))
    leverage = w.sum(axis=1).iloc[live].to_numpy()
    assert np.median(leverage / (0.08 / true_vol)) == pytest.approx(1.0, abs=0.05)


def test_volatility_target_cash_until_estimable_and_leverage_cap():
    returns, _ = iid_returns(n_days=300)
    w = VolatilityTarget(EqualWeight(), target_annual=0.5, max_leverage=2.0).weights(returns)
    gross = w.sum(axis=1)
    # EqualWeight invests from row 1, the vol needs 20 rows of history: cash before row 20
    assert (gross.iloc[:20] == 0).all() and gross.iloc[20] > 0
    # a 50% target on ~5% vol strategies would need ~10× leverage: capped at 2
    np.testing.assert_allclose(gross.iloc[20:], 2.0, rtol=1e-12)


def test_volatility_target_scale_matches_window_covariance():
    returns, _ = iid_returns(n_days=120)
    inner = InverseVolatility(lookback_days=30)
    w = VolatilityTarget(inner, target_annual=0.06, lookback_days=40).weights(returns)
    t = 100
    base = inner.weights(returns).iloc[t].to_numpy()
    cov = np.cov(returns.iloc[t - 40 : t].to_numpy(), rowvar=False)
    expected = base * 0.06 / np.sqrt(252 * base @ cov @ base)
    np.testing.assert_allclose(w.iloc[t].to_numpy(), expected, rtol=1e-10)


def test_trailing_portfolio_vol_skips_rows_without_any_held_return():
    r = np.array([[np.nan, 0.01], [np.nan, -0.01], [0.02, np.nan], [0.0, 0.03], [0.0, 0.0]])
    w = np.tile([0.5, 0.0], (5, 1))  # only the first strategy is held
    vol = trailing_portfolio_vol(r, w, lookback_days=4, min_history_days=2)
    # row 4 sees rows 0..3: the held strategy has returns on rows 2 and 3 only
    assert vol[4] == pytest.approx(np.std([0.01, 0.0], ddof=1) * np.sqrt(252))
    assert np.isnan(vol[3])  # one usable row


# ------------------------------------------------------------------ RampIn
def test_ramp_factors_count_consecutive_weighted_rows_by_hand():
    w = np.array([[0.0, 0.5], [0.2, 0.5], [0.2, 0.0], [0.2, 0.4], [0.2, 0.4]])
    f = ramp_factors(w, ramp_days=3)
    # runs of non-zero weight: a = 0,1,2,3,4 rows; b = 1,2,0 (dropped),1,2 (restarts)
    expected = np.array([[0.0, 1 / 3], [1 / 3, 2 / 3], [2 / 3, 0.0], [1.0, 1 / 3], [1.0, 2 / 3]])
    np.testing.assert_allclose(f, expected)
    assert f.shape == w.shape


def test_ramp_in_leaves_the_unused_share_in_cash_and_reaches_the_inner_weights():
    idx = pd.bdate_range("2020-01-01", periods=80)
    rng = np.random.default_rng(3)
    r = pd.DataFrame(rng.normal(0, 0.01, (80, 2)), index=idx, columns=["a", "b"])
    r.iloc[:30, 1] = np.nan  # b starts late
    inner = EqualWeight()
    ramped = RampIn(inner, ramp_days=10).weights(r)
    w = inner.weights(r)
    b_first = int(np.flatnonzero(w["b"].to_numpy() > 0)[0])
    # b's weight grows linearly over 10 rows; a is not scaled up to make room
    rows = slice(b_first, b_first + 10)
    np.testing.assert_allclose(ramped["b"].iloc[rows], w["b"].iloc[rows] * np.arange(1, 11) / 10)
    assert (ramped.sum(axis=1) <= w.sum(axis=1) + 1e-15).all()
    pd.testing.assert_frame_equal(ramped.iloc[b_first + 10 :], w.iloc[b_first + 10 :])
    with pytest.raises(ValueError, match="ramp_days"):
        RampIn(inner, ramp_days=0)
