"""Tear-sheet metrics and portfolio statistics against their formulas on hand-made series
(expected values in plain Python arithmetic), and inputs left untouched."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import metrics as M
from backtest.analytics import portfolio as P
from backtest.analytics import tearsheet as T
from tests.backtest.analytics.conftest import DATES, B, R


def test_cash_returns_accrue_act_360_on_the_previous_rate():
    dates = pd.to_datetime(["2024-02-01", "2024-02-02", "2024-02-05", "2024-02-06"])  # Thu..Tue
    rate = pd.Series([0.036, 0.0360, np.nan, 0.072], index=dates)
    c = T.cash_returns(rate)
    assert list(c.index) == list(dates[1:])
    # Thu→Fri 1 day at 3.6%; Fri→Mon 3 days at 3.6%; Mon→Tue 1 day at Mon's (carried) 3.6%
    np.testing.assert_allclose(c.to_numpy(), [0.036 / 360, 3 * 0.036 / 360, 0.036 / 360])


def test_sharpe_ratio_over_cash(r):
    cash = pd.Series(0.001, index=DATES[1:])  # the first date has no cash return: dropped
    excess = [x - 0.001 for x in R[1:]]
    expected = statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(252)
    assert T.sharpe_ratio_over_cash(r, cash) == pytest.approx(expected, rel=1e-12)
    # a constant cash rate lowers the Sharpe ratio of rf = 0 by mean(c) / std(r)
    rf0 = M.sharpe_ratio(r.iloc[1:])
    assert rf0 - T.sharpe_ratio_over_cash(r, cash) == pytest.approx(
        0.001 / statistics.stdev(R[1:]) * math.sqrt(252), rel=1e-12
    )


def test_distribution_statistics(r):
    assert T.best_day(r) == 0.05 and T.worst_day(r) == -0.04
    gains = sum(x for x in R if x > 0)
    losses = -sum(x for x in R if x < 0)
    assert T.omega_ratio(r) == pytest.approx(gains / losses, rel=1e-12)
    tau = 0.01
    up = sum(x - tau for x in R if x > tau)
    down = sum(tau - x for x in R if x < tau)
    assert T.omega_ratio(r, tau) == pytest.approx(up / down, rel=1e-12)
    s = sorted(R)  # type-7 quantile: position p × (n − 1)
    q95 = s[6] + 0.65 * (s[7] - s[6])
    q05 = s[0] + 0.35 * (s[1] - s[0])
    assert T.tail_ratio(r) == pytest.approx(abs(q95) / abs(q05), rel=1e-12)


def test_stability_is_r2_of_log_wealth_on_time(r):
    y, acc = [], 0.0
    for x in R:
        acc += math.log(1 + x)
        y.append(acc)
    t = list(range(len(y)))
    mt, my = statistics.mean(t), statistics.mean(y)
    sxy = sum((a - mt) * (c - my) for a, c in zip(t, y, strict=True))
    sxx = sum((a - mt) ** 2 for a in t)
    syy = sum((c - my) ** 2 for c in y)
    assert T.stability(r) == pytest.approx(sxy * sxy / (sxx * syy), rel=1e-12)
    steady = pd.Series(0.001, index=DATES)
    assert T.stability(steady) == pytest.approx(1.0)


def test_rolling_statistics(r, b):
    w = 4
    vol = T.rolling_volatility(r, w)
    sharpe = T.rolling_sharpe(r, w, cash=pd.Series(0.001, index=DATES))
    te = T.rolling_tracking_error(r, b, w)
    ir = T.rolling_information_ratio(r, b, w)
    assert vol.iloc[: w - 1].isna().all() and ir.iloc[: w - 1].isna().all()
    for end in range(w, len(R) + 1):
        x = R[end - w : end]
        d = [R[k] - B[k] for k in range(end - w, end)]
        e = [v - 0.001 for v in x]
        t = DATES[end - 1]
        assert vol[t] == pytest.approx(statistics.stdev(x) * math.sqrt(252), rel=1e-12)
        assert sharpe[t] == pytest.approx(
            statistics.mean(e) / statistics.stdev(e) * math.sqrt(252), rel=1e-12
        )
        assert te[t] == pytest.approx(statistics.stdev(d) * math.sqrt(252), rel=1e-12)
        assert ir[t] == pytest.approx(
            statistics.mean(d) * 252 / (statistics.stdev(d) * math.sqrt(252)), rel=1e-12
        )
    # the last full window equals the whole-sample metric on it
    assert ir.iloc[-1] == pytest.approx(M.information_ratio(r.iloc[-w:], b.iloc[-w:]))


def test_worst_drawdowns_peak_trough_recovery_and_length():
    dates = pd.bdate_range("2024-01-01", periods=9)
    rets = pd.Series([-0.1, 0.2, -0.5, 0.5, 0.5, -0.01, 0.0, 0.02, -0.05], index=dates)
    table = T.worst_drawdowns(rets, top=5)
    assert list(table.columns) == ["peak", "trough", "recovery", "depth", "days"]
    # W: 0.9, 1.08, 0.54, 0.81, 1.215, 1.20285, 1.20285, 1.226907, 1.16556165
    first = table.iloc[0]  # from 1.08 (day 1) to 0.54 (day 2), back above on day 4
    assert (first["peak"], first["trough"], first["recovery"]) == (dates[1], dates[2], dates[4])
    assert first["depth"] == pytest.approx(0.54 / 1.08 - 1) and first["days"] == 3
    second = table.iloc[1]  # the starting capital is the peak: no peak date, recovered day 1
    assert pd.isna(second["peak"]) and second["recovery"] == dates[1]
    assert second["depth"] == pytest.approx(-0.1) and second["days"] == 2
    last = table[table["recovery"].isna()].iloc[0]  # not recovered: counted to the last date
    assert last["peak"] == dates[7] and last["days"] == 1 and last["depth"] == pytest.approx(-0.05)
    assert len(table) == 4 and table["depth"].is_monotonic_increasing
    assert table["days"].max() == M.max_drawdown_duration(rets)


def test_own_window_drops_leading_and_trailing_gaps_only():
    s = pd.Series([np.nan, 1.0, np.nan, 2.0, np.nan], index=DATES[:5])
    assert list(T.own_window(s).index) == list(DATES[1:4])
    assert T.own_window(pd.Series([np.nan], index=DATES[:1])).empty


def test_exposure_turnover_and_risk_contributions():
    dates = DATES[:3]
    notionals = pd.DataFrame({"ES": [50.0, -30.0, 0.0], "ZN": [20.0, 20.0, -10.0],
                              "CL": [-10.0, 0.0, 5.0]}, index=dates)  # fmt: skip
    groups = pd.Series({"ES": "equity", "ZN": "rates", "CL": "equity"})
    na = pd.Series([100.0, 100.0, 50.0], index=dates)
    e = P.exposure_by_group(notionals, groups, na)
    assert e.loc[dates[0], "gross:equity"] == pytest.approx(0.6)
    assert e.loc[dates[0], "net:equity"] == pytest.approx(0.4)
    assert e.loc[dates[2], "gross:rates"] == pytest.approx(0.2)
    assert e.loc[dates[2], "net:equity"] == pytest.approx(0.1)
    targets = pd.DataFrame({"a": [0.5, 0.3, 0.3], "b": [0.0, -0.2, 0.1]}, index=dates)
    assert list(P.turnover(targets)) == pytest.approx([0.5, 0.4, 0.3])
    assert P.annual_turnover(P.turnover(targets)) == pytest.approx(0.4 * 252)
    pos = {"s": pd.DataFrame({"x": [1.0, 1.0, 2.0]}, index=dates)}
    w = pd.DataFrame({"s": [0.5, 0.25, 0.25]}, index=dates)
    assert list(P.strategy_turnover(pos, w)["s"]) == pytest.approx([0.5, 0.25, 0.25])
    c = pd.DataFrame({"x": R, "y": B}, index=DATES)
    shares = P.risk_contributions(c)
    total = [x + y for x, y in zip(R, B, strict=True)]
    var = statistics.variance(total)
    cov_x = statistics.covariance(R, total)
    assert shares["x"] == pytest.approx(cov_x / var, rel=1e-12)
    assert shares.sum() == pytest.approx(1.0)


def test_ex_ante_risk_shares_use_rows_before_the_date():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2024-01-01", periods=12)
    rets = pd.DataFrame(rng.normal(0, 0.01, (12, 2)), index=dates, columns=["a", "b"])
    w = pd.DataFrame({"a": 0.6, "b": 0.4}, index=dates)
    shares = P.ex_ante_risk_shares(w, rets, lookback_days=5)
    assert shares.iloc[:5].isna().all().all() and shares.iloc[5:].notna().all().all()
    t = 7
    sigma = rets.iloc[t - 5 : t].cov().to_numpy()  # rows t−5 .. t−1
    wv = np.array([0.6, 0.4])
    expected = wv * (sigma @ wv) / (wv @ sigma @ wv)
    np.testing.assert_allclose(shares.iloc[t].to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(shares.iloc[5:].sum(axis=1), 1.0)


def test_inputs_not_mutated(r, b):
    r0, b0 = r.copy(), b.copy()
    T.worst_drawdowns(r)
    T.rolling_information_ratio(r, b, 3)
    T.sharpe_ratio_over_cash(r, b)
    T.stability(r)
    T.omega_ratio(r)
    pd.testing.assert_series_equal(r, r0)
    pd.testing.assert_series_equal(b, b0)


def test_dataframes_column_by_column(r, b):
    frame = pd.concat([r, b], axis=1)
    got = T.omega_ratio(frame)
    assert got["fund"] == T.omega_ratio(r) and got["bench"] == T.omega_ratio(b)
