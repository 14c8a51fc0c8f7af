"""Summary tables, attribution and cost drag; metrics cross-checked against vectorbt."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import vectorbt  # noqa: F401  (registers the .vbt accessor)
from hypothesis import given
from hypothesis import strategies as st

from backtest.analytics import metrics as M
from backtest.analytics import performance as A
from tests.backtest.analytics.conftest import DATES


def _random_returns(seed: int, n: int = 500) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(0.0004, 0.01, n), index=pd.bdate_range("2015-01-01", periods=n))


# ---------------------------------------------------------------- summary tables


def test_summary_table_matches_metrics(r, b):
    table = A.summary(r, {"bench": b}, risk_free_annual=0.02)
    assert list(table.columns) == ["fund", "bench"]
    expected_rows = {
        "total_return": (M.total_return, ()),
        "annual_return": (M.annual_return, ()),
        "annual_volatility": (M.annual_volatility, ()),
        "sharpe_ratio": (M.sharpe_ratio, (0.02,)),
        "sortino_ratio": (M.sortino_ratio, ()),
        "calmar_ratio": (M.calmar_ratio, ()),
        "max_drawdown": (M.max_drawdown, ()),
        "max_drawdown_duration_days": (M.max_drawdown_duration, ()),
        "worst_month": (M.worst_month, ()),
        "skewness": (M.skewness, ()),
        "kurtosis": (M.kurtosis, ()),
        "value_at_risk_95": (M.value_at_risk, (0.95,)),
        "conditional_value_at_risk_95": (M.conditional_value_at_risk, (0.95,)),
    }
    assert list(table.index) == [*expected_rows, "trading_days"]
    for row, (metric, args) in expected_rows.items():
        assert table.at[row, "fund"] == pytest.approx(metric(r, *args), rel=1e-12)
        assert table.at[row, "bench"] == pytest.approx(metric(b, *args), rel=1e-12)
    assert table.at["trading_days", "fund"] == 8
    # the hand-computed figure from test_metrics: maximum drawdown −4.998%
    assert table.at["max_drawdown", "fund"] == pytest.approx(0.96 * 0.99 * 1.02 * 0.98 - 1)


def test_summary_benchmarks_dict_or_frame_and_fund_dates(r, b):
    longer = pd.concat([pd.Series([-0.5], index=[DATES[0] - pd.offsets.BDay(1)]), b])
    from_dict = A.summary(r, {"bench": longer})
    from_frame = A.summary(r, pd.DataFrame({"bench": longer}))
    pd.testing.assert_frame_equal(from_dict, from_frame)
    # the benchmark is evaluated over the fund's dates only: the −50% day is left out
    assert from_dict.at["max_drawdown", "bench"] == pytest.approx(M.max_drawdown(b))
    assert from_dict.at["trading_days", "bench"] == 8


def test_summary_of_unnamed_series_and_name_clash(r, b):
    assert list(A.summary(r.rename(None)).columns) == ["fund"]
    with pytest.raises(ValueError, match="clash"):
        A.summary(r, {"fund": b})


def test_relative_summary(r, b):
    table = A.relative_summary(r, b, risk_free_annual=0.01)
    assert list(table.columns) == ["fund"]
    assert table.at["beta", "fund"] == pytest.approx(M.beta(r, b))
    assert table.at["alpha", "fund"] == pytest.approx(M.alpha(r, b, 0.01))
    assert table.at["information_ratio", "fund"] == pytest.approx(M.information_ratio(r, b))
    assert table.at["hit_rate", "fund"] == M.hit_rate(r, b)
    both = A.relative_summary(pd.DataFrame({"fund": r, "bench": b}), b)
    assert both.at["beta", "bench"] == pytest.approx(1.0)
    assert both.at["tracking_error", "bench"] == 0.0
    assert both.at["correlation", "fund"] == pytest.approx(M.correlation(r, b))


# ---------------------------------------------------------------- attribution


ATTR_DATES = pd.bdate_range("2024-03-01", periods=4)
PNL = pd.DataFrame(
    {"A": [0.0, 5.0, -4.0, 2.0], "B": [0.0, -2.0, 1.0, 2.0], "C": [0.0, 1.0, -2.0, 3.0]},
    index=ATTR_DATES,
)
# net assets move with flows too (day 2: +6 on top of P&L 4; day 3: −6 besides P&L −5)
NET_ASSETS = pd.Series([100.0, 110.0, 99.0, 120.0], index=ATTR_DATES)
GROUPS = pd.Series({"A": "carry", "B": "carry", "C": "trend"})


def test_attribute_hand_example():
    out = A.attribute(PNL, NET_ASSETS, GROUPS)
    assert out.index.equals(ATTR_DATES[1:])
    # daily: group P&L over the previous close's net assets
    carry = [(5 - 2) / 100, (-4 + 1) / 110, (2 + 2) / 99]
    trend = [1 / 100, -2 / 110, 3 / 99]
    np.testing.assert_allclose(out[("daily", "carry")], carry, rtol=1e-12)
    np.testing.assert_allclose(out[("daily", "trend")], trend, rtol=1e-12)
    # fund returns and wealth before each day
    fund = [c + t for c, t in zip(carry, trend, strict=True)]
    w0, w1 = 1.0, 1 + fund[0]
    w2 = w1 * (1 + fund[1])
    cum_carry = [carry[0] * w0, carry[0] * w0 + carry[1] * w1]
    cum_carry.append(cum_carry[1] + carry[2] * w2)
    np.testing.assert_allclose(out[("cumulative", "carry")], cum_carry, rtol=1e-12)
    # the groups add up exactly to the fund's compounded return
    compounded = (1 + fund[0]) * (1 + fund[1]) * (1 + fund[2]) - 1
    assert out["cumulative"].iloc[-1].sum() == pytest.approx(compounded, rel=1e-12)


def test_attribute_rejects_bad_inputs():
    with pytest.raises(ValueError, match="without a group"):
        A.attribute(PNL, NET_ASSETS, GROUPS.drop("C"))
    with pytest.raises(ValueError, match="cannot be attributed"):
        A.attribute(PNL + 1.0, NET_ASSETS, GROUPS)
    with pytest.raises(ValueError, match="lacks"):
        A.attribute(PNL, NET_ASSETS.iloc[:3], GROUPS)


@given(
    st.lists(
        st.tuples(*[st.integers(-300, 300)] * 3, st.integers(-200, 200)), min_size=2, max_size=40
    )
)
def test_attribution_adds_up_to_fund_return(rows):
    """With flows, Σ_g cumulative_g = Π(1 + Σ pnl_t / NA_{t−1}) − 1 on every date."""
    dates = pd.bdate_range("2024-01-01", periods=len(rows) + 1)
    pnl = pd.DataFrame([(0, 0, 0)] + [r[:3] for r in rows], index=dates, columns=list("ABC"))
    na = [100_000.0]  # stays positive: at most 40 × 1,100 lost
    for row in rows:  # P&L then a flow
        na.append(na[-1] + sum(row[:3]) + row[3])
    net_assets = pd.Series(na, index=dates)
    out = A.attribute(pnl.astype(float), net_assets, GROUPS)
    fund = pnl.sum(axis=1).iloc[1:].to_numpy() / np.array(na[:-1])
    np.testing.assert_allclose(
        out["cumulative"].sum(axis=1), np.cumprod(1 + fund) - 1, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(out["daily"].sum(axis=1), fund, rtol=1e-12, atol=1e-15)


def test_cost_drag_hand_example():
    dates = pd.bdate_range("2024-03-01", periods=4)
    costs = pd.Series([0.0, 1.0, 2.0, 1.0], index=dates)
    fees = pd.Series([0.0, 0.5, 0.5, 0.5], index=dates)
    na = pd.Series([1000.0, 1000.0, 2000.0, 1000.0], index=dates)
    got = A.cost_drag(costs, fees, na)
    costs_daily = [1 / 1000, 2 / 1000, 1 / 2000]  # over the previous close's net assets
    fees_daily = [0.5 / 1000, 0.5 / 1000, 0.5 / 2000]
    assert got["costs_annual"] == pytest.approx(sum(costs_daily) / 3 * 252, rel=1e-12)
    assert got["fees_annual"] == pytest.approx(sum(fees_daily) / 3 * 252, rel=1e-12)
    assert got["total_annual"] == pytest.approx(got["costs_annual"] + got["fees_annual"])


def test_expense_ratio_accrual_drags_by_the_expense_ratio():
    """0.95% a year accrued per trading day on constant net assets gives a 0.95% drag."""
    dates = pd.bdate_range("2024-01-01", periods=253)
    na = pd.Series(1e8, index=dates)
    fees = pd.Series(1e8 * 0.0095 / 252, index=dates)
    got = A.cost_drag(pd.Series(0.0, index=dates), fees, na)
    assert got["fees_annual"] == pytest.approx(0.0095, rel=1e-12)
    assert got["costs_annual"] == 0.0


def test_tables_and_attribution_do_not_mutate_inputs(r, b):
    pnl, na, groups = PNL.copy(), NET_ASSETS.copy(), GROUPS.copy()
    benchmarks = {"bench": b.copy()}
    before = (r.copy(), b.copy())
    A.summary(r, benchmarks)
    A.relative_summary(r, b)
    A.attribute(pnl, na, groups)
    A.cost_drag(na * 0.001, na * 0.0001, na)
    pd.testing.assert_series_equal(r, before[0])
    pd.testing.assert_series_equal(benchmarks["bench"], before[1])
    pd.testing.assert_frame_equal(pnl, PNL)
    pd.testing.assert_series_equal(na, NET_ASSETS)
    pd.testing.assert_series_equal(groups, GROUPS)


# ---------------------------------------------------------------- vectorbt


def test_importing_analytics_does_not_import_vectorbt():
    code = "import sys, backtest.analytics.performance; print('vectorbt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_metrics_agree_with_vectorbt_where_conventions_agree():
    r = _random_returns(1)
    r.iloc[0] = abs(r.iloc[0])  # a first-day gain: vectorbt's drawdown then agrees (see below)
    bench = _random_returns(2) * 0.5 + r * 0.3
    acc = r.vbt.returns(freq="1D", year_freq="252D")  # ann_factor = 252 trading days
    assert acc.ann_factor == M.TRADING_DAYS_PER_YEAR
    assert M.sharpe_ratio(r) == pytest.approx(acc.sharpe_ratio(), rel=1e-10)
    rf = 0.03
    vbt_sharpe_rf = acc.sharpe_ratio(risk_free=rf / 252)  # vectorbt takes a daily rate
    assert M.sharpe_ratio(r, risk_free_annual=rf) == pytest.approx(vbt_sharpe_rf, rel=1e-10)
    assert M.annual_volatility(r) == pytest.approx(acc.annualized_volatility(), rel=1e-10)
    assert M.max_drawdown(r) == pytest.approx(acc.max_drawdown(), rel=1e-10)
    assert M.sortino_ratio(r) == pytest.approx(acc.sortino_ratio(), rel=1e-10)
    assert M.annual_return(r) == pytest.approx(acc.annualized(), rel=1e-10)
    assert M.beta(r, bench) == pytest.approx(acc.beta(bench), rel=1e-10)
    assert M.value_at_risk(r) == pytest.approx(acc.value_at_risk(0.05), rel=1e-10)


def test_vectorbt_drawdown_misses_a_first_day_loss():
    """Why max_drawdown is hand-written: vectorbt's running peak starts at the first return."""
    r = pd.Series([-0.10, 0.05, 0.02], index=DATES[:3])
    vbt_mdd = r.vbt.returns(freq="1D", year_freq="252D").max_drawdown()
    assert vbt_mdd == 0.0
    assert M.max_drawdown(r) == pytest.approx(-0.10)
