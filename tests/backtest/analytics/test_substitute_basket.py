"""The substitute basket's arithmetic: overlap and tracking error by hand, the band held over
many random portfolios, no look-ahead, determinism, the reverse-engineering score, the
guardrail and the parameters' checks."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from backtest.analytics import substitute_basket as sb
from backtest.market.instruments import InstrumentKind

SPEC = sb.SubstituteBasketSpec()


# ------------------------------------------------------------------------------ by hand
def test_overlap_hand_worked():
    w = np.array([0.5, -0.3, 0.2, 0.0])
    # same-sign min: min(.4,.5)=.4; -0.5 vs -0.3 -> .3; +0.1 vs +0.2 short? b3 = -0.1: opposite
    b = np.array([0.4, -0.5, -0.1, 0.7])
    assert sb.overlap(b, w) == pytest.approx((0.4 + 0.3 + 0.0) / 1.0, abs=1e-15)
    assert sb.overlap(w, w) == 1.0
    assert sb.overlap(np.zeros(4), w) == 0.0
    assert math.isnan(sb.overlap(b, np.zeros(4)))


def test_tracking_error_hand_worked():
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-4]])  # daily: 1% and 2% vols, correlation 0.1
    w = np.array([0.6, 0.4])
    b = np.array([0.8, 0.0])
    d = np.array([0.2, -0.4])
    var = 0.04 * 1e-4 + 0.16 * 4e-4 + 2 * 0.2 * -0.4 * 2e-5  # = 4e-6 + 6.4e-5 - 3.2e-6
    assert var == pytest.approx(6.48e-5)
    assert sb.tracking_error(b, w, cov) == pytest.approx(math.sqrt(var * 252), rel=1e-12)
    assert sb.tracking_error(w + d, w, cov) == sb.tracking_error(b, w, cov)
    assert sb.tracking_error(w, w, cov) == 0.0


def test_shrunk_covariance_is_the_sample_covariance_blended_with_its_diagonal():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, (50, 3))
    s = np.cov(x, rowvar=False)
    out = sb.shrunk_covariance(x, 0.25)
    assert np.allclose(np.diag(out), np.diag(s), rtol=1e-12)
    off = ~np.eye(3, dtype=bool)
    assert np.allclose(out[off], 0.75 * s[off], rtol=1e-12)
    nan = x.copy()
    nan[3, 1] = np.nan
    zero = x.copy()
    zero[3, 1] = 0.0
    assert np.array_equal(sb.shrunk_covariance(nan, 0.1), sb.shrunk_covariance(zero, 0.1))


def test_compiled_covariance_equals_its_plain_twin_and_numpy():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.01, (30, 7))
    nb, py = sb.covariance_nb(x), sb.covariance_py(x)
    assert np.array_equal(nb, py)
    assert np.allclose(nb, np.cov(x, rowvar=False), rtol=1e-12, atol=1e-20)


def test_tracking_difference_and_guardrail_by_hand():
    days = pd.bdate_range("2024-01-01", periods=5)
    actual = pd.DataFrame({"A": [0.5] * 5, "B": [0.5] * 5}, index=days)
    basket = pd.DataFrame({"A": [0.9] * 5, "B": [0.0] * 5}, index=days)
    r = pd.DataFrame({"A": [0.0, 0.01, -0.02, 0.0, 0.03], "B": [0.0, 0.02, 0.01, 0.0, -0.01]},
                     index=days)  # fmt: skip
    td = sb.tracking_difference(basket, actual, r)
    # day t+1: 0.4 r_A - 0.5 r_B with yesterday's weights
    expected = [np.nan, 0.004 - 0.01, -0.008 - 0.005, 0.0, 0.012 + 0.005]
    assert np.allclose(td.to_numpy()[1:], expected[1:], atol=1e-15) and np.isnan(td.iloc[0])
    spec = sb.SubstituteBasketSpec(guardrail_window_days=3, guardrail_te_annual=0.1)
    te = sb.rolling_tracking_error(td, 3)
    assert te.iloc[3] == pytest.approx(np.std(expected[1:4], ddof=1) * math.sqrt(252))
    hits = sb.guardrail_hits(td, spec)
    assert hits.iloc[:3].isna().all()
    assert list(hits.iloc[3:]) == [float(v > 0.1) for v in te.iloc[3:]]
    assert sb.guardrail_hit_rate(hits) == pytest.approx(float((te.iloc[3:] > 0.1).mean()))


def test_reverse_engineering_score_transparent_is_one_and_noise_lowers_it():
    rng = np.random.default_rng(1)
    actual = pd.DataFrame(rng.normal(0, 0.05, (40, 10)))
    assert sb.reverse_engineering_r2(actual, actual) == pytest.approx(1.0, abs=1e-15)
    assert sb.weight_error(actual, actual) == 0.0
    noisy = actual + rng.normal(0, 0.05, actual.shape)
    r2 = sb.reverse_engineering_r2(noisy, actual)
    # closed form: corr² = var(a) / (var(a) + var(noise)) = 1/2 in expectation
    assert 0.4 < r2 < 0.6
    assert sb.reverse_engineering_r2(2.0 * actual + 0.01, actual) == pytest.approx(1.0)


def test_widened_premium_noise_is_the_root_sum_of_squares():
    assert sb.widened_premium_noise_bps(10.0, 0.0) == 10.0
    assert sb.widened_premium_noise_bps(3.0, 4e-4) == pytest.approx(5.0)


# ------------------------------------------------------------------------------ one basket
def _random_case(seed: int, n: int, long_short: bool):
    rng = np.random.default_rng(seed)
    w = rng.lognormal(-3.0, 1.0, n) * (rng.choice([-1.0, 1.0], n) if long_short else 1.0)
    w[rng.random(n) < 0.1] = 0.0  # some instruments not held
    x = rng.normal(0, 0.01, (80, n)) + rng.normal(0, 0.01, (80, 1))  # a common factor
    return w, sb.shrunk_covariance(x, 0.1)


@settings(max_examples=300, deadline=None)
@given(seed=hs.integers(0, 2**31), n=hs.integers(1, 60), long_short=hs.booleans(),
       lo=hs.floats(0.3, 0.9), width=hs.floats(0.0, 0.09), noise=hs.floats(0.0, 0.5))  # fmt: skip
def test_overlap_is_always_inside_the_band(seed, n, long_short, lo, width, noise):
    hi = lo + width
    spec = sb.SubstituteBasketSpec(overlap_min=lo, overlap_max=hi,
                                   overlap_jitter=(hi - lo) / 2, weight_noise=noise)  # fmt: skip
    w, cov = _random_case(seed, n, long_short)
    day = pd.Timestamp("2020-01-02") + pd.Timedelta(days=seed % 5000)
    b = sb.build_basket(w, cov, np.ones(n, dtype=bool), spec, day)
    if not np.abs(w).sum():
        assert not b.any()
        return
    o = sb.overlap(b, w)
    assert spec.overlap_min - 1e-12 <= o <= spec.overlap_max + 1e-12
    assert not b[w == 0.0].any()  # a basket names holdings only


def test_left_out_holdings_are_never_named_and_ineligible_kinds_never_appear():
    w, cov = _random_case(3, 40, True)
    eligible = np.ones(40, dtype=bool)
    eligible[[0, 1, 2]] = False
    w[[0, 1, 2]] = [0.001, -0.002, 0.001]  # small enough for the rest to reach the band
    for k in range(20):
        day = pd.Timestamp("2021-03-01") + pd.Timedelta(days=k)
        b = sb.build_basket(w, cov, eligible, SPEC, day)
        assert not b[~eligible].any()
        named = np.count_nonzero(b)
        assert named < np.count_nonzero(w)  # something is always left out (overlap < 95%)


def test_ineligible_weight_beyond_the_band_is_a_clear_error():
    w = np.array([0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match=r"2021-03-01.*below overlap_min 70%.*eligible_kinds"):
        sb.build_basket(w, np.eye(3) * 1e-4, np.array([True, False, False]), SPEC, "2021-03-01")


def test_basket_is_deterministic_given_seed_and_day_and_varies_with_either():
    w, cov = _random_case(5, 30, True)
    ok = np.ones(30, dtype=bool)
    one = sb.build_basket(w, cov, ok, SPEC, "2022-05-02")
    assert np.array_equal(one, sb.build_basket(w.copy(), cov.copy(), ok, SPEC, "2022-05-02"))
    assert not np.array_equal(one, sb.build_basket(w, cov, ok, SPEC, "2022-05-03"))
    other = sb.SubstituteBasketSpec(seed=SPEC.seed + 1)
    assert not np.array_equal(one, sb.build_basket(w, cov, ok, other, "2022-05-02"))


# ------------------------------------------------------------------------------ a run
def _panel(seed=2, n=25, days=300):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-01", periods=days)
    ids = [f"I{j}" for j in range(n)]
    r = pd.DataFrame(rng.normal(0, 0.01, (days, n)) + rng.normal(0, 0.008, (days, 1)),
                     index=idx, columns=ids)  # fmt: skip
    w = pd.DataFrame(np.abs(rng.normal(0.04, 0.02, (days, n))), index=idx, columns=ids)
    w.iloc[:, :3] *= -1.0
    kinds = pd.Series(InstrumentKind.EQUITY.value, index=ids)
    return w.iloc[150:], r, kinds


def test_no_look_ahead_a_day_basket_is_the_same_on_a_truncated_history():
    actual, r, kinds = _panel()
    full = sb.substitute_baskets(actual, r, kinds, SPEC)
    for day in actual.index[[0, 40, 149]]:
        cut = sb.substitute_baskets(actual.loc[:day], r.loc[:day], kinds, SPEC)
        assert np.array_equal(cut.weights.loc[day].to_numpy(), full.weights.loc[day].to_numpy())
        assert cut.summary.loc[day].equals(full.summary.loc[day])
    # a later return changed: today's basket does not move, tomorrow's may
    day = actual.index[60]
    r2 = r.copy()
    r2.loc[r2.index > day] *= 3.0
    moved = sb.substitute_baskets(actual, r2, kinds, SPEC)
    assert np.array_equal(moved.weights.loc[:day].to_numpy(), full.weights.loc[:day].to_numpy())
    assert not np.array_equal(moved.weights.to_numpy(), full.weights.to_numpy())


def test_run_summary_matches_the_one_day_functions_and_inputs_are_not_mutated():
    actual, r, kinds = _panel()
    before = actual.copy(), r.copy()
    out = sb.substitute_baskets(actual, r, kinds, SPEC)
    assert actual.equals(before[0]) and r.equals(before[1])
    t = 17
    day = actual.index[t]
    window = r.loc[:day].iloc[-SPEC.cov_lookback_days :].to_numpy()
    cov = sb.shrunk_covariance(window, SPEC.shrinkage)
    b = sb.build_basket(actual.iloc[t].to_numpy(), cov, np.ones(25, dtype=bool), SPEC, day)
    assert np.array_equal(out.weights.iloc[t].to_numpy(), b)
    row = out.summary.iloc[t]
    assert row["overlap"] == sb.overlap(b, actual.iloc[t].to_numpy())
    assert row["ex_ante_te"] == pytest.approx(sb.tracking_error(b, actual.iloc[t].to_numpy(), cov))
    assert row["n_basket"] == np.count_nonzero(b) and row["n_holdings"] == 25
    ov = out.summary["overlap"]
    assert ((ov >= SPEC.overlap_min) & (ov <= SPEC.overlap_max + 1e-12)).all()


# ------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"overlap_min": 0.9, "overlap_max": 0.8}, "overlap_min <= overlap_max"),
        ({"overlap_max": 1.0}, "overlap_max < 1"),
        ({"overlap_jitter": 0.5}, "overlap_jitter"),
        ({"weight_noise": -0.1}, "weight_noise"),
        ({"eligible_kinds": ()}, "eligible_kinds"),
        ({"eligible_kinds": ("bond",)}, "bond"),
        ({"shrinkage": 1.5}, "shrinkage"),
        ({"cov_lookback_days": 1}, "cov_lookback_days"),
        ({"guardrail_te_annual": 0.0}, "guardrail_te_annual"),
        ({"guardrail_window_days": 1}, "guardrail_window_days"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        sb.SubstituteBasketSpec(**changes)
