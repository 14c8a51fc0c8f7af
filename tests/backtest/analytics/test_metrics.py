"""Metrics against their textbook formulas on hand-made series, plus properties.

Expected values are computed independently with plain Python arithmetic (no pandas), written
out so that a reader can check them against the formula in each metric's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backtest.analytics import metrics as M
from tests.backtest.analytics.conftest import DATES, B, R

N = len(DATES)


def _mean(xs):
    return sum(xs) / len(xs)


def _sample_var(xs):
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def _sample_cov(xs, ys):
    mx, my = _mean(xs), _mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (len(xs) - 1)


# ---------------------------------------------------------------- per-series metrics


def test_total_and_annual_return(r):
    growth = 1.02 * 0.99 * 1.03 * 0.96 * 0.99 * 1.02 * 0.98 * 1.05
    assert M.total_return(r) == pytest.approx(growth - 1, rel=1e-12)
    # CAGR over 8 trading days = 8/252 years
    assert M.annual_return(r) == pytest.approx(growth ** (252 / 8) - 1, rel=1e-12)


def test_annual_return_of_a_total_loss_is_minus_one():
    s = pd.Series([0.1, -1.0, 0.05], index=DATES[:3])
    assert M.annual_return(s) == -1.0


def test_annual_volatility(r):
    mean = (0.02 - 0.01 + 0.03 - 0.04 - 0.01 + 0.02 - 0.02 + 0.05) / 8  # = 0.005
    var = sum((x - mean) ** 2 for x in R) / (8 - 1)
    assert mean == pytest.approx(0.005)
    assert M.annual_volatility(r) == pytest.approx(math.sqrt(var) * math.sqrt(252), rel=1e-12)


def test_sharpe_ratio_with_risk_free(r):
    rf_daily = 0.0252 / 252  # = 0.0001
    excess = [x - rf_daily for x in R]
    expected = _mean(excess) / math.sqrt(_sample_var(excess)) * math.sqrt(252)
    assert M.sharpe_ratio(r, risk_free_annual=0.0252) == pytest.approx(expected, rel=1e-12)
    # with rf = 0: mean 0.005 over the same standard deviation
    expected0 = 0.005 / math.sqrt(_sample_var(R)) * math.sqrt(252)
    assert M.sharpe_ratio(r) == pytest.approx(expected0, rel=1e-12)


def test_sortino_ratio(r):
    # downside: min(r, 0)² summed over the losing days, averaged over ALL 8 days
    dd = math.sqrt((0.01**2 + 0.04**2 + 0.01**2 + 0.02**2) / 8) * math.sqrt(252)
    assert M.downside_deviation(r) == pytest.approx(dd, rel=1e-12)
    assert M.sortino_ratio(r) == pytest.approx(0.005 * 252 / dd, rel=1e-12)


def test_drawdown_series_and_max_drawdown(r):
    expected, wealth, peak = [], 1.0, 1.0
    for x in R:
        wealth *= 1 + x
        peak = max(peak, wealth)
        expected.append(wealth / peak - 1)
    got = M.drawdown_series(r)
    assert got.index.equals(DATES)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-15)
    # worst: peak after day 3 (1.02·0.99·1.03), trough after day 7 (−4%, −1%, +2%, −2%)
    assert M.max_drawdown(r) == pytest.approx(0.96 * 0.99 * 1.02 * 0.98 - 1, rel=1e-12)


def test_first_day_loss_is_a_drawdown():
    s = pd.Series([-0.1, 0.05], index=DATES[:2])
    assert M.max_drawdown(s) == pytest.approx(-0.1)
    assert M.drawdown_series(s).iloc[1] == pytest.approx(0.9 * 1.05 - 1)


def test_max_drawdown_duration(r):
    # peak on day index 2; wealth 1.0375 on the last day is still below 1.040094 → counts to
    # the end: 7 − 2 = 5 trading days (the earlier dip, days 0→2, lasted 2)
    assert M.max_drawdown_duration(r) == 5


@pytest.mark.parametrize(
    ("returns", "days"),
    [
        ([0.1, -0.1, 0.05, 0.1], 3),  # peak day 0, recovered on day 3
        ([0.1, -0.1, 0.05], 2),  # not recovered: peak day 0 to the last day 2
        ([-0.1, 0.2, 0.01], 2),  # peak = starting capital (day −1), recovered on day 1
        ([0.01, 0.02, 0.0], 0),  # never below a peak
    ],
)
def test_max_drawdown_duration_cases(returns, days):
    assert M.max_drawdown_duration(pd.Series(returns, index=DATES[: len(returns)])) == days


def test_calmar_ratio(r):
    growth = 1.02 * 0.99 * 1.03 * 0.96 * 0.99 * 1.02 * 0.98 * 1.05
    cagr = growth ** (252 / 8) - 1
    assert M.calmar_ratio(r) == pytest.approx(cagr / (1 - 0.96 * 0.99 * 1.02 * 0.98), rel=1e-10)


def test_monthly_returns_and_worst_month(r):
    jan = 1.02 * 0.99 * 1.03 - 1  # 29, 30, 31 January
    feb = 0.96 * 0.99 * 1.02 * 0.98 * 1.05 - 1  # 1, 2, 5, 6, 7 February
    got = M.monthly_returns(r)
    assert list(got.index.astype(str)) == ["2024-01", "2024-02"]
    np.testing.assert_allclose(got.to_numpy(), [jan, feb], rtol=1e-12)
    assert M.worst_month(r) == pytest.approx(min(jan, feb), rel=1e-12)


def test_skewness_and_kurtosis(r):
    n, m, s = N, _mean(R), math.sqrt(_sample_var(R))
    z3 = sum(((x - m) / s) ** 3 for x in R)
    z4 = sum(((x - m) / s) ** 4 for x in R)
    g1 = n / ((n - 1) * (n - 2)) * z3
    g2 = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * z4 - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    assert M.skewness(r) == pytest.approx(g1, rel=1e-10)
    assert M.kurtosis(r) == pytest.approx(g2, rel=1e-10)


def test_value_at_risk_and_cvar(r):
    # sorted: −0.04, −0.02, −0.01, −0.01, 0.02, 0.02, 0.03, 0.05
    # 5% quantile at position (8 − 1)·0.05 = 0.35: −0.04 + 0.35·(−0.02 − (−0.04)) = −0.033
    assert M.value_at_risk(r) == pytest.approx(-0.033, rel=1e-12)
    assert M.conditional_value_at_risk(r) == pytest.approx(-0.04, rel=1e-12)  # only −0.04 ≤ VaR
    # 25% quantile at position 1.75: −0.02 + 0.75·0.01 = −0.0125; returns ≤ it: −0.04, −0.02
    assert M.value_at_risk(r, level=0.75) == pytest.approx(-0.0125, rel=1e-12)
    assert M.conditional_value_at_risk(r, level=0.75) == pytest.approx(-0.03, rel=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_value_at_risk_rejects_bad_level(r, level):
    with pytest.raises(ValueError, match="level"):
        M.value_at_risk(r, level=level)


def test_returns_from_levels():
    levels = pd.Series([100.0, 102.0, 99.96, 104.958], index=DATES[:4])
    got = M.returns_from_levels(levels)
    assert got.index.equals(DATES[1:4])
    np.testing.assert_allclose(
        got.to_numpy(), [102 / 100 - 1, 99.96 / 102 - 1, 104.958 / 99.96 - 1]
    )
    # the first level is the starting capital: drawdown of the levels == drawdown of the returns
    level_dd = levels / levels.cummax() - 1
    np.testing.assert_allclose(M.drawdown_series(got).to_numpy(), level_dd.iloc[1:].to_numpy())
    with pytest.raises(ValueError, match="positive"):
        M.returns_from_levels(pd.Series([1.0, 0.0, 2.0]))


# ---------------------------------------------------------------- relative metrics


def test_beta_alpha_correlation(r, b):
    beta = _sample_cov(R, B) / _sample_var(B)
    assert M.beta(r, b) == pytest.approx(beta, rel=1e-12)
    corr = _sample_cov(R, B) / math.sqrt(_sample_var(R) * _sample_var(B))
    assert M.correlation(r, b) == pytest.approx(corr, rel=1e-12)
    rf = 0.0252 / 252
    jensen = _mean([x - rf - beta * (y - rf) for x, y in zip(R, B, strict=True)]) * 252
    assert M.alpha(r, b, risk_free_annual=0.0252) == pytest.approx(jensen, rel=1e-12)


def test_tracking_error_and_information_ratio(r, b):
    active = [x - y for x, y in zip(R, B, strict=True)]
    te = math.sqrt(_sample_var(active)) * math.sqrt(252)
    assert M.tracking_error(r, b) == pytest.approx(te, rel=1e-12)
    assert M.active_return(r, b) == pytest.approx(_mean(active) * 252, rel=1e-12)
    assert M.information_ratio(r, b) == pytest.approx(_mean(active) * 252 / te, rel=1e-12)


def test_relative_metrics_use_common_dates_only(r, b):
    longer = pd.concat([b, pd.Series([0.5], index=[DATES[-1] + pd.offsets.BDay(1)])])
    gappy = b.copy()
    gappy.iloc[0] = np.nan
    assert M.beta(r, longer) == pytest.approx(M.beta(r, b), rel=1e-12)
    assert M.beta(r, gappy) == pytest.approx(M.beta(r.iloc[1:], b.iloc[1:]), rel=1e-12)


def test_rolling_beta_and_correlation(r, b):
    window = 4
    rb, rc = M.rolling_beta(r, b, window), M.rolling_correlation(r, b, window)
    assert rb.index.equals(DATES) and rb.iloc[:3].isna().all() and rc.iloc[:3].isna().all()
    for end in range(window, N + 1):
        xs, ys = R[end - window : end], B[end - window : end]
        assert rb.iloc[end - 1] == pytest.approx(_sample_cov(xs, ys) / _sample_var(ys), rel=1e-9)
        corr = _sample_cov(xs, ys) / math.sqrt(_sample_var(xs) * _sample_var(ys))
        assert rc.iloc[end - 1] == pytest.approx(corr, rel=1e-9)
    with pytest.raises(ValueError, match="window"):
        M.rolling_beta(r, b, 1)


# Four months, two days each: Jan 30–31, Feb 1–2, Mar 1 and 4, Apr 1–2.
CAPTURE_DATES = pd.DatetimeIndex(
    ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02",
     "2024-03-01", "2024-03-04", "2024-04-01", "2024-04-02"]
)  # fmt: skip
CR = [0.01, 0.02, -0.01, 0.00, 0.03, -0.01, -0.02, 0.01]
CB = [0.02, 0.01, -0.02, -0.01, 0.01, 0.01, -0.01, -0.01]


def test_up_and_down_capture_and_hit_rate():
    r, b = pd.Series(CR, index=CAPTURE_DATES), pd.Series(CB, index=CAPTURE_DATES)
    r_m = [1.01 * 1.02 - 1, 0.99 * 1.00 - 1, 1.03 * 0.99 - 1, 0.98 * 1.01 - 1]
    b_m = [1.02 * 1.01 - 1, 0.98 * 0.99 - 1, 1.01 * 1.01 - 1, 0.99 * 0.99 - 1]
    # benchmark up in January and March, down in February and April
    up = ((1 + r_m[0]) * (1 + r_m[2])) ** (1 / 2) - 1
    up_b = ((1 + b_m[0]) * (1 + b_m[2])) ** (1 / 2) - 1
    down = ((1 + r_m[1]) * (1 + r_m[3])) ** (1 / 2) - 1
    down_b = ((1 + b_m[1]) * (1 + b_m[3])) ** (1 / 2) - 1
    assert M.up_capture(r, b) == pytest.approx(up / up_b, rel=1e-12)
    assert M.down_capture(r, b) == pytest.approx(down / down_b, rel=1e-12)
    # beat in Feb (−1% vs −2.98%) and Apr (−1.02% vs −1.99%); tie in Jan, behind in Mar
    assert M.hit_rate(r, b) == 0.5


def test_capture_is_nan_without_up_months():
    r = pd.Series(CR[:4], index=CAPTURE_DATES[:4])
    b = pd.Series([-0.01] * 4, index=CAPTURE_DATES[:4])
    assert np.isnan(M.up_capture(r, b))
    assert not np.isnan(M.down_capture(r, b))


# ---------------------------------------------------------------- frames, edge cases


def test_dataframe_is_handled_column_by_column(r, b):
    frame = pd.DataFrame({"fund": r, "bench": b})
    for metric in (M.sharpe_ratio, M.max_drawdown, M.value_at_risk, M.max_drawdown_duration):
        got = metric(frame)
        assert list(got.index) == ["fund", "bench"]
        assert got["fund"] == metric(r) and got["bench"] == metric(b)
    dd = M.drawdown_series(frame)
    pd.testing.assert_series_equal(dd["bench"], M.drawdown_series(b), check_names=False)
    assert M.beta(frame, b)["bench"] == pytest.approx(1.0)


def test_missing_values_are_skipped(r):
    gappy = pd.concat([pd.Series([np.nan], index=[DATES[0] - pd.offsets.BDay(1)]), r])
    for metric in (M.total_return, M.annual_return, M.sharpe_ratio, M.max_drawdown):
        assert metric(gappy) == pytest.approx(metric(r), rel=1e-12)
    assert M.max_drawdown_duration(gappy) == M.max_drawdown_duration(r)  # before the peak
    # a missing day inside the drawdown: wealth unchanged, but it is one more trading day
    inside = pd.Series(R[:4] + [np.nan] + R[4:], index=pd.bdate_range(DATES[0], periods=9))
    assert M.max_drawdown(inside) == pytest.approx(M.max_drawdown(r), rel=1e-12)
    assert M.max_drawdown_duration(inside) == M.max_drawdown_duration(r) + 1


def test_undefined_results_are_nan_not_inf():
    flat = pd.Series([0.01] * 5, index=DATES[:5])
    assert np.isnan(M.sharpe_ratio(flat))
    assert np.isnan(M.sortino_ratio(flat))  # no losing day
    assert np.isnan(M.calmar_ratio(flat))  # no drawdown
    assert np.isnan(M.beta(flat, flat))
    assert np.isnan(M.total_return(pd.Series([], dtype=float)))


def test_rejects_non_pandas_input():
    with pytest.raises(TypeError, match="Series or DataFrame"):
        M.sharpe_ratio(np.array(R))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        M.monthly_returns(pd.Series(R))


CALLS = [
    (M.total_return, ()), (M.annual_return, ()), (M.annual_volatility, ()),
    (M.sharpe_ratio, (0.02,)), (M.sortino_ratio, ()), (M.downside_deviation, ()),
    (M.calmar_ratio, ()), (M.max_drawdown, ()), (M.drawdown_series, ()),
    (M.max_drawdown_duration, ()), (M.monthly_returns, ()), (M.worst_month, ()),
    (M.skewness, ()), (M.kurtosis, ()), (M.value_at_risk, ()),
    (M.conditional_value_at_risk, ()), (M.returns_from_levels, ()),
]  # fmt: skip
RELATIVE = [
    M.beta, M.alpha, M.correlation, M.tracking_error, M.information_ratio, M.active_return,
    M.up_capture, M.down_capture, M.hit_rate,
]  # fmt: skip


@pytest.mark.parametrize(("metric", "args"), CALLS, ids=lambda x: getattr(x, "__name__", ""))
def test_inputs_not_mutated(metric, args, r):
    series = r + 1 if metric is M.returns_from_levels else r.copy()  # levels must be positive
    series.iloc[2] = np.nan
    frame = pd.DataFrame({"a": series, "b": series * 2})
    before_s, before_f = series.copy(), frame.copy()
    metric(series, *args)
    metric(frame, *args)
    pd.testing.assert_series_equal(series, before_s)
    pd.testing.assert_frame_equal(frame, before_f)


@pytest.mark.parametrize("metric", RELATIVE + [M.rolling_beta, M.rolling_correlation])
def test_relative_inputs_not_mutated(metric, r, b):
    b = b.copy()
    b.iloc[1] = np.nan
    before_r, before_b = r.copy(), b.copy()
    metric(r, b, 3) if metric in (M.rolling_beta, M.rolling_correlation) else metric(r, b)
    pd.testing.assert_series_equal(r, before_r)
    pd.testing.assert_series_equal(b, before_b)


# ---------------------------------------------------------------- properties

# daily returns on a 0.1 bp grid in [−50%, +50%]: realistic, no underflow in squares
daily = st.integers(-500_000, 500_000).map(lambda i: i / 1_000_000)


def _series(values) -> pd.Series:
    return pd.Series(values, index=pd.bdate_range("2020-01-01", periods=len(values)))


returns_lists = st.lists(daily, min_size=5, max_size=80)


@given(returns_lists)
def test_max_drawdown_in_range(values):
    s = _series(values)
    mdd = M.max_drawdown(s)
    assert -1.0 <= mdd <= 0.0
    assert mdd == M.drawdown_series(s).min()
    assert (M.drawdown_series(s) <= 0).all()
    assert 0 <= M.max_drawdown_duration(s) <= len(s)


@given(returns_lists, st.floats(0.5, 0.99))
def test_var_cvar_ordering(values, level):
    s = _series(values)
    var, cvar = M.value_at_risk(s, level), M.conditional_value_at_risk(s, level)
    assert s.min() - 1e-15 <= cvar <= var + 1e-15 and var <= s.max()  # mean of equal values


@given(returns_lists)
def test_beta_and_correlation_on_itself(values):
    s = _series(values)
    assume(s.std() > 1e-6)
    assert M.beta(s, s) == pytest.approx(1.0, rel=1e-9)
    assert M.correlation(s, s) == pytest.approx(1.0, rel=1e-9)
    assert M.tracking_error(s, s) == 0.0
    assert M.alpha(s, s, 0.03) == pytest.approx(0.0, abs=1e-12)


@given(st.lists(st.tuples(daily, daily), min_size=5, max_size=80))
def test_correlation_symmetric_and_bounded(pairs):
    a, b = _series([p[0] for p in pairs]), _series([p[1] for p in pairs])
    assume(a.std() > 1e-6 and b.std() > 1e-6)
    c = M.correlation(a, b)
    assert c == pytest.approx(M.correlation(b, a), rel=1e-12, abs=1e-15)
    assert -1.0 <= c <= 1.0
    assert M.tracking_error(a, b) == pytest.approx(M.tracking_error(b, a), rel=1e-12)


@given(returns_lists, st.floats(-5, 5).filter(lambda k: abs(k) > 1e-3))
def test_volatility_scales_with_abs_k(values, k):
    s = _series(values)
    expected = abs(k) * M.annual_volatility(s)
    # abs: the vol of a constant series is float noise (~1e-16 × |values|) that scales with k
    assert M.annual_volatility(k * s) == pytest.approx(expected, rel=1e-9, abs=1e-13)


@given(returns_lists, st.floats(0.01, 10))
def test_sharpe_invariant_to_positive_scaling(values, k):
    s = _series(values)
    assume(s.std() > 1e-6)
    assert M.sharpe_ratio(k * s) == pytest.approx(M.sharpe_ratio(s), rel=1e-8, abs=1e-12)
    assert M.sharpe_ratio(-s) == pytest.approx(-M.sharpe_ratio(s), rel=1e-12, abs=1e-12)


@settings(deadline=None)
@given(st.lists(daily, min_size=5, max_size=120))
def test_monthly_returns_compound_to_total(values):
    s = _series(values)
    monthly = M.monthly_returns(s)
    assert (1 + monthly).prod() - 1 == pytest.approx(M.total_return(s), rel=1e-9, abs=1e-12)
    assert M.worst_month(s) == monthly.min()


@given(st.lists(daily, min_size=252, max_size=252))
def test_cagr_of_one_year_is_total_return(values):
    s = _series(values)
    assert M.annual_return(s) == pytest.approx(M.total_return(s), rel=1e-9, abs=1e-12)


@given(returns_lists)
def test_sortino_and_downside_signs(values):
    s = _series(values)
    assert M.downside_deviation(s) >= 0
    if (s >= 0).all():
        assert np.isnan(M.sortino_ratio(s))
    else:
        assert np.sign(M.sortino_ratio(s)) == np.sign(s.mean())
