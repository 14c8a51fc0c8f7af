"""Trailing and exponentially weighted means: the numba kernels by hand and, to the last bit,
against pandas' ``rolling(...).mean()`` and ``ewm(...).mean()`` on missing and infinite values,
runs of one value, windows of one sign, signed zeros, one-row windows and windows longer than
the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.quant.market_neutral import realised_vol
from strategies.rolling import (
    ewm_mean,
    ewm_mean_py,
    rolling_beta,
    rolling_beta_py,
    rolling_mean,
    rolling_mean_py,
    rolling_std,
    rolling_std_py,
)
from strategies.signals import ewma, ewma_com


def assert_bit_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    assert np.array_equal(a[ok].view(np.int64), b[ok].view(np.int64))


def test_rolling_mean_by_hand():
    x = np.array([[1.0, 2.0], [np.nan, 4.0], [3.0, np.inf], [5.0, 8.0]])
    got = rolling_mean(x, window=2, min_periods=1)
    expected = np.array([[1.0, 2.0], [1.0, 3.0], [3.0, 4.0], [4.0, 8.0]])
    assert np.array_equal(got, expected)
    assert np.isnan(rolling_mean(x, window=2, min_periods=2)[:3, 0]).all()
    with pytest.raises(ValueError, match="window"):
        rolling_mean(x, window=0, min_periods=0)


@pytest.mark.parametrize("window", [1, 2, 5, 40, 400])
def test_rolling_mean_equals_pandas_on_edge_cases(window):
    rng = np.random.default_rng(window)
    x = rng.normal(0.0, 1e-3, (300, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[17, 1], x[90, 2] = np.inf, -np.inf
    x[40:120, 3] = 0.1  # a run of one value: its mean is that value exactly
    x[:, 4] = np.abs(x[:, 4])  # one sign only: a negative rounding artefact becomes 0
    x[:, 5] = -np.abs(x[:, 5])
    x[::7, 5] = -0.0
    x[0, 0] = np.nan  # a missing first value
    for min_periods in sorted({0, 1, window // 2, window}):
        assert_bit_equal(
            rolling_mean(x, window, min_periods), rolling_mean_py(x, window, min_periods)
        )


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 200),
    m=st.integers(1, 5),
    window=st.integers(1, 60),
    scale=st.sampled_from([1e-6, 1e-2, 1.0, 1e4]),
    rounded=st.booleans(),
)
def test_rolling_mean_equals_pandas_random(seed, n, m, window, scale, rounded):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, scale, (n, m))
    if rounded:
        x = np.round(x / scale, 0) * scale  # ties and repeated values
    x[rng.random(x.shape) < 0.15] = np.nan
    min_periods = int(rng.integers(0, window + 1))
    assert_bit_equal(rolling_mean(x, window, min_periods), rolling_mean_py(x, window, min_periods))


def test_rolling_mean_is_causal():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 3))
    full = rolling_mean(x, 20, 10)
    assert_bit_equal(rolling_mean(x[:70], 20, 10), full[:70])


# --------------------------------------------------------------------------- EWMA
def test_ewm_mean_by_hand():
    """com 1 (α = ½), adjust: y₁ = x₁; y₂ = (½·x₁ + x₂) / 1.5; a missing value ages the weight."""
    x = np.array([[1.0], [4.0], [np.nan], [2.0]])
    got = ewm_mean(x, com=1.0)[:, 0]
    y2 = (0.5 * 1.0 + 4.0) / 1.5
    w = (0.5 + 1.0) * 0.5 * 0.5  # y2's weight 1.5, aged on the missing day and on day 3
    assert got[0] == 1.0 and got[1] == pytest.approx(y2, rel=1e-15) and got[2] == got[1]
    assert got[3] == pytest.approx((w * y2 + 2.0) / (w + 1.0), rel=1e-15)
    with pytest.raises(ValueError, match="com"):
        ewm_mean(x, com=-1.0)


@pytest.mark.parametrize("com", [0.0, 0.5, 17.0, 127.5])
def test_ewm_mean_equals_pandas_on_edge_cases(com):
    rng = np.random.default_rng(int(com * 10))
    x = rng.normal(0.0, 1e-2, (300, 5))
    x[:7, 0] = np.nan  # a late start
    x[rng.random(x.shape) < 0.1] = np.nan
    x[17, 1], x[90, 2] = np.inf, -np.inf
    x[40:120, 3] = 0.1  # a run of one value
    x[::5, 4] = -0.0
    for min_periods in (0, 1, 10, 400):
        assert_bit_equal(ewm_mean(x, com, min_periods), ewm_mean_py(x, com, min_periods))


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 200),
    m=st.integers(1, 4),
    com=st.floats(0.0, 300.0),
    rounded=st.booleans(),
)
def test_ewm_mean_equals_pandas_random(seed, n, m, com, rounded):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n, m))
    if rounded:
        x = np.round(x, 0)
    x[rng.random(x.shape) < 0.2] = np.nan
    min_periods = int(rng.integers(0, 12))
    assert_bit_equal(ewm_mean(x, com, min_periods), ewm_mean_py(x, com, min_periods))


def test_signals_ewma_is_pandas_ewm_for_frames_and_series():
    idx = pd.bdate_range("2020-01-01", periods=80)
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), index=idx, columns=["A", "B", "C"])
    frame.iloc[:9, 1] = np.nan
    pd.testing.assert_frame_equal(ewma(frame, 35, 10), frame.ewm(span=35, min_periods=10).mean())
    series = frame["B"].rename("b")
    pd.testing.assert_series_equal(ewma_com(series, 90.0), series.ewm(com=90.0).mean())
    with pytest.raises(ValueError, match="span"):
        ewma(frame, 0.5)


def test_rolling_std_by_hand():
    x = np.array([[1.0, 2.0], [np.nan, 4.0], [3.0, np.inf], [5.0, 8.0], [5.0, 8.0]])
    got = rolling_std(x, window=2, min_periods=1)
    # column 0: {1}, {1}, {3}, {3, 5}, {5, 5}; column 1: {2}, {2, 4}, {4}, {8}, {8, 8}
    sd = np.sqrt(2.0)  # sample std of two values 2 apart
    expected = np.array([[np.nan, np.nan], [np.nan, sd], [np.nan, np.nan], [sd, np.nan],
                         [0.0, 0.0]])  # fmt: skip
    assert_bit_equal(got, expected)
    assert_bit_equal(rolling_std(x, 2, 1, ddof=0)[:2, 0], np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="min_periods"):
        rolling_std(x, window=2, min_periods=3)


@pytest.mark.parametrize("window", [1, 2, 5, 40, 400])
def test_rolling_std_equals_pandas_on_edge_cases(window):
    """Gaps, infinities, runs of one value, a level shift (cancellations: pandas recomputes
    the window, and so does the kernel), tiny and huge scales."""
    rng = np.random.default_rng(window)
    x = rng.normal(0.0, 1e-3, (300, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[17, 1], x[90, 2] = np.inf, -np.inf
    x[40:120, 3] = 0.1
    x[:, 4] = 1e9 + rng.normal(0.0, 1.0, 300)
    x[150:, 4] -= 1e9
    x[:, 5] *= 1e8
    for ddof in (0, 1, 2):
        for min_periods in sorted({0, 1, window // 2, window}):
            got = rolling_std(x, window, min_periods, ddof)
            assert_bit_equal(got, rolling_std_py(x, window, min_periods, ddof))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 90),
    m=st.integers(1, 4),
    window=st.integers(1, 30),
    offset=st.sampled_from([0.0, 1e4, 1e9]),
    rounded=st.booleans(),
)
def test_rolling_std_equals_pandas_random(seed, n, m, window, offset, rounded):
    rng = np.random.default_rng(seed)
    x = rng.normal(offset, 1.0, (n, m))
    if rounded:
        x = np.round(x, 0)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[rng.random(x.shape) < 0.03] = np.inf
    min_periods = int(rng.integers(0, window + 1))
    assert_bit_equal(rolling_std(x, window, min_periods), rolling_std_py(x, window, min_periods))


def test_realised_vol_is_pandas_rolling_std():
    rng = np.random.default_rng(3)
    r = pd.DataFrame(rng.normal(0, 0.02, (400, 5)), columns=list("ABCDE"))
    r.iloc[:50, 2] = np.nan
    got = realised_vol(r, 126, 100)
    want = r.rolling(126, min_periods=100).std() * np.sqrt(252)
    assert got.index.equals(want.index) and got.columns.equals(want.columns)
    assert_bit_equal(got.to_numpy(), want.to_numpy())


@pytest.mark.parametrize("window", [1, 2, 5, 40, 400])
def test_rolling_beta_equals_its_four_means_twin_on_edge_cases(window):
    """Gaps in either series, infinities, products that overflow (missing in that mean only),
    runs of one value (zero variance: NaN), windows of one sign."""
    rng = np.random.default_rng(window)
    x = rng.normal(0.0, 0.01, 300)
    y = 1.3 * x[:, None] + rng.normal(0.0, 0.01, (300, 5))
    x[rng.random(300) < 0.05] = np.nan
    x[33] = np.inf
    y[rng.random(y.shape) < 0.1] = np.nan
    y[50, 1] = -np.inf
    y[60:70, 2] = 1e300  # x·y finite, but averaging them with x·x would not be
    x[200:240] = 0.002  # a run of one value: no variance
    y[:, 4] = np.abs(y[:, 4])
    for min_periods in sorted({0, 1, window // 2, window}):
        assert_bit_equal(rolling_beta(y, x, window, min_periods),
                         rolling_beta_py(y, x, window, min_periods))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 90),
    m=st.integers(1, 4),
    window=st.integers(1, 40),
    rounded=st.booleans(),
)
def test_rolling_beta_equals_its_twin_random(seed, n, m, window, rounded):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    y = rng.normal(0.0, 1.0, (n, m)) + x[:, None]
    if rounded:
        x, y = np.round(x, 0), np.round(y, 0)
    x[rng.random(n) < 0.1] = np.nan
    y[rng.random(y.shape) < 0.15] = np.nan
    min_periods = int(rng.integers(0, window + 1))
    assert_bit_equal(
        rolling_beta(y, x, window, min_periods), rolling_beta_py(y, x, window, min_periods)
    )


# ---------------------------------------------------------------------------- shapes
def test_one_column_may_be_given_as_a_1d_array_and_comes_back_1d():
    """A strategy's single series (n_dates,) is one column: the same bits as the 2-D call
    and as pandas' Series methods, in the input's shape."""
    rng = np.random.default_rng(11)
    v = rng.normal(size=300).cumsum()
    v[[5, 40, 41]] = np.nan
    x = rng.normal(size=300)
    s = pd.Series(v)
    window = s.rolling(20, min_periods=5)
    cases = [
        (rolling_mean(v, 20, 5), rolling_mean(v[:, None], 20, 5), window.mean()),
        (rolling_std(v, 20, 5), rolling_std(v[:, None], 20, 5), window.std()),
        (ewm_mean(v, 9.5, 3), ewm_mean(v[:, None], 9.5, 3), s.ewm(com=9.5, min_periods=3).mean()),
    ]
    for one, two, series in cases:
        assert one.shape == (300,)
        assert _bits(one) == _bits(two[:, 0]) == _bits(series.to_numpy())
    beta = rolling_beta(v, x, 60, 20)
    assert beta.shape == (300,)
    assert _bits(beta) == _bits(rolling_beta(v[:, None], x, 60, 20)[:, 0])
    assert _bits(beta) == _bits(rolling_beta_py(v[:, None], x, 60, 20)[:, 0])


def _bits(a: np.ndarray) -> bytes:
    return np.where(np.isnan(a), np.nan, a).tobytes()  # every NaN the same


@pytest.mark.parametrize("shape", [(), (4, 3, 2)])
def test_other_shapes_are_refused_naming_the_function(shape):
    values = np.ones(shape)
    calls = {
        "rolling_mean": lambda: rolling_mean(values, 3, 1),
        "rolling_std": lambda: rolling_std(values, 3, 1),
        "ewm_mean": lambda: ewm_mean(values, 2.0),
        "rolling_beta": lambda: rolling_beta(values, np.ones(4), 3, 1),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"{name}: values must be 1-D .* got shape"):
            call()


def test_rolling_beta_wants_one_x_value_per_row_of_y():
    y = np.ones((10, 2))
    for x in (np.ones(9), np.ones((10, 2)), np.ones((10, 1))):
        with pytest.raises(ValueError, match=r"rolling_beta: x must be 1-D with one value per "):
            rolling_beta(y, x, 3, 1)
