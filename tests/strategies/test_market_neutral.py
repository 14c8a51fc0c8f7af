"""Equity market-neutral: signal and projection functions against hand computations, the book's
neutrality on the 5-year market, and its market neutrality on the 20-year one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies.quant.market_neutral as mn
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns, instrument_returns
from strategies.base import StrategyInputError
from strategies.quant.market_neutral import (
    EquityMarketNeutral,
    cap_shares,
    industry_zscore,
    neutralise,
    neutralise_rows,
    realised_vol,
    rolling_beta,
    select_long_short,
    select_long_short_py,
    select_long_short_rows,
)
from strategies.signals import momentum, month_start_mask


# --------------------------------------------------------------------------- signals
def test_momentum_skips_the_last_days_and_needs_a_full_window():
    idx = pd.bdate_range("2024-01-01", periods=8)
    r = pd.DataFrame({"A": 0.01, "B": [0.02, 0.0, 0.01, -0.01, 0.03, 0.05, 0.0, 0.0]}, index=idx)
    r.iloc[0, 0] = np.nan
    mom = momentum(r, lookback_days=5, skip_days=1, min_fraction=1.0)
    # row 6: returns of rows 2..5 (t-5+1 .. t-1)
    assert mom.at[idx[6], "B"] == pytest.approx(
        np.log1p([0.01, -0.01, 0.03, 0.05]).sum(), rel=1e-12
    )
    assert mom.at[idx[6], "A"] == pytest.approx(4 * np.log(1.01), rel=1e-12)
    assert mom.iloc[:5].isna().all().all()
    # row 5 needs rows 1..4 (A's missing row 0 is outside the window); row 4 would need row 0
    assert mom.at[idx[5], "A"] == pytest.approx(4 * np.log(1.01), rel=1e-12)
    assert np.isnan(mom.at[idx[4], "B"])


def test_realised_vol_and_month_starts():
    idx = pd.bdate_range("2024-01-25", periods=6)
    r = pd.DataFrame({"A": [0.01, -0.01, 0.01, -0.01, 0.01, -0.01]}, index=idx)
    vol = realised_vol(r, window_days=4, min_days=4)
    assert vol["A"].iloc[3] == pytest.approx(np.std([0.01, -0.01] * 2, ddof=1) * np.sqrt(252))
    assert vol["A"].iloc[:3].isna().all()
    assert month_start_mask(idx).tolist() == [False] * 5 + [True]  # Thu 1 Feb 2024


def test_rolling_beta_of_a_levered_stock_with_shrinkage():
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=40)
    mkt = pd.Series(rng.normal(0, 0.01, 40), index=idx)
    r = pd.DataFrame({"A": 2.0 * mkt, "B": -0.5 * mkt + 0.001}, index=idx)
    r.iloc[:25, 1] = np.nan  # B lists late
    raw = rolling_beta(r, mkt, window_days=20, min_days=10, shrink=0.0)
    assert raw["A"].iloc[:9].isna().all()
    np.testing.assert_allclose(raw["A"].iloc[9:], 2.0, rtol=1e-9)
    assert raw["B"].iloc[:34].isna().all()
    np.testing.assert_allclose(raw["B"].iloc[34:], -0.5, rtol=1e-9)
    shrunk = rolling_beta(r, mkt, window_days=20, min_days=10, shrink=0.33)
    assert shrunk["A"].iloc[-1] == pytest.approx(0.67 * 2.0 + 0.33, rel=1e-9)


def test_industry_zscore_by_hand():
    values = pd.DataFrame(
        {
            "a1": [1.0, 1.0],
            "a2": [2.0, np.nan],
            "a3": [3.0, 5.0],
            "b1": [10.0, 0.0],
            "b2": [10.0, 1.0],
            "b3": [10.0, 2.0],
        }
    )
    industries = pd.Series(["A", "A", "A", "B", "B", "B"], index=values.columns)
    z = industry_zscore(values, industries, min_names=3)
    np.testing.assert_allclose(z.loc[0, ["a1", "a2", "a3"]], [-1.0, 0.0, 1.0])
    assert z.loc[0, ["b1", "b2", "b3"]].isna().all()  # no dispersion
    assert z.loc[1, ["a1", "a3"]].isna().all()  # only two names
    np.testing.assert_allclose(z.loc[1, ["b1", "b2", "b3"]], [-1.0, 0.0, 1.0])


def test_select_long_short_by_hand():
    score = np.array([3.0, 1.0, 2.0, np.nan, 5.0, -1.0, 0.0, 4.0, 7.0])
    ind = np.array(["A", "A", "A", "A", "B", "B", "B", "B", "C"])
    w = select_long_short(score, ind, fraction=0.34)
    # A: 3 scored names, k = 1 -> long idx 0, short idx 1; B: 4 names, k = 1; C: one name -> 0
    np.testing.assert_array_equal(w, [1.0, -1.0, 0, 0, 1.0, -1.0, 0, 0, 0])
    w2 = select_long_short(score, ind, fraction=0.5)
    np.testing.assert_array_equal(w2, [1.0, -1.0, 0, 0, 0.5, -0.5, -0.5, 0.5, 0])


# --------------------------------------------------------------------------- projection
def _check_neutral(w, beta, ind, cap=0.25):
    assert abs(w @ beta) < 1e-10
    for g in np.unique(ind):
        assert abs(w[ind == g].sum()) < 1e-10
        assert np.abs(w[ind == g]).sum() <= cap + 1e-12
    assert np.abs(w).sum() == pytest.approx(1.0, abs=1e-12)


def test_neutralise_hand_case():
    beta = np.array([0.8, 1.2, 1.0, 0.6, 1.5, 0.9, 1.1, 1.3, 0.7, 1.0, 1.4, 0.5])
    ind = np.repeat(["A", "B", "C", "D"], 3)
    w0 = np.tile([1.0, -1.0, 0.5], 4)
    w = neutralise(w0, beta, ind)
    _check_neutral(w, beta, ind)
    # projection of an already-neutral book is itself (scaled to gross 1)
    again = neutralise(w, beta, ind)
    np.testing.assert_allclose(again, w, atol=1e-14)
    # names outside the support stay at zero; an industry left with two names cannot be both
    # net-zero and beta-neutral (different betas), so it drops out, and the other four share
    beta5, ind5 = np.r_[beta, 0.9, 1.0, 1.2], np.repeat(["A", "B", "C", "D", "E"], 3)
    w0 = np.tile([1.0, -1.0, 0.5], 5)
    w0[2] = 0.0
    w = neutralise(w0, beta5, ind5)
    assert (w[:3] == 0).all() and (w[3:] != 0).all()
    _check_neutral(w, beta5, ind5)
    w0[5] = 0.0  # now only three industries: no book can keep each under 25%
    assert (neutralise(w0, beta5, ind5) == 0).all()


def test_cap_shares_water_filling():
    np.testing.assert_allclose(cap_shares(np.array([4.0, 1, 1, 1, 1]), 0.25), [0.25] + [0.1875] * 4)
    np.testing.assert_allclose(
        cap_shares(np.array([10.0, 5, 1, 1, 1, 1]), 0.3), [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]
    )
    np.testing.assert_allclose(cap_shares(np.array([1.0, 2, 3, 4]), 0.5), [0.1, 0.2, 0.3, 0.4])
    assert (cap_shares(np.array([1.0, 2, 0, 0]), 0.4) == 0).all()  # two books cannot be <= 40%


def test_neutralise_caps_a_dominant_industry():
    rng = np.random.default_rng(3)
    ind = np.repeat(list("ABCDEF"), 6)
    beta = rng.uniform(0.5, 1.5, 36)
    w0 = rng.normal(size=36)
    w0[ind == "A"] *= 20.0  # A would hold most of the gross
    unconstrained = neutralise(w0, beta, ind, max_industry_share=1.0)
    assert np.abs(unconstrained[ind == "A"]).sum() > 0.5
    w = neutralise(w0, beta, ind, max_industry_share=0.25)
    _check_neutral(w, beta, ind)
    assert np.abs(w[ind == "A"]).sum() == pytest.approx(0.25, abs=0.01)


def test_neutralise_infeasible_gives_zeros():
    ind = np.array(["A"] * 4 + ["B"] * 4 + ["C"] * 4)  # 3 industries cannot each be <= 25%
    w = neutralise(np.tile([1.0, -1.0, 0.5, -0.2], 3), np.linspace(0.5, 1.5, 12), ind)
    assert (w == 0).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(4, 10), st.integers(3, 8))
def test_neutralise_property(seed, n_ind, per_ind):
    rng = np.random.default_rng(seed)
    ind = np.repeat(np.arange(n_ind), per_ind)
    beta = rng.uniform(0.3, 2.0, len(ind))
    w0 = rng.normal(size=len(ind)) * rng.uniform(0.1, 10.0, n_ind)[ind]
    before = w0.copy()
    w = neutralise(w0, beta, ind)
    np.testing.assert_array_equal(w0, before)  # input not mutated
    if np.abs(w).sum() > 0:
        _check_neutral(w, beta, ind)


# --------------------------------------------------------------------------- strategy
def test_requires_equities():
    idx = pd.bdate_range("2020-01-01", periods=5)
    m = MarketData.from_prices(pd.DataFrame({"A": 1.0}, index=idx))
    bare = m.replace(prices=pd.DataFrame(index=idx), dividends=pd.DataFrame(index=idx))
    with pytest.raises(StrategyInputError, match="no priced equities"):
        EquityMarketNeutral().target_positions(bare)


def test_book_is_industry_and_beta_neutral_on_5y(synthetic_5y):
    m = synthetic_5y
    s = EquityMarketNeutral()
    pos = s.target_positions(m)
    ids = s.universe(m)
    assert list(pos.columns) == ids and pos.index.equals(m.calendar)
    returns = instrument_returns(m, ids)
    beta = rolling_beta(returns, s.market_returns(m, returns), 252, 126, 0.33)
    industries = m.instruments.loc[ids, "industry"]
    rebal = np.flatnonzero(month_start_mask(m.calendar) & (pos.abs().sum(axis=1) > 0).to_numpy())
    assert len(rebal) >= 40
    for t in rebal:
        w = pos.iloc[t]
        assert abs((w * beta.iloc[t]).sum()) < 1e-10
        by_ind = w.groupby(industries)
        assert by_ind.sum().abs().max() < 1e-10
        assert (by_ind.apply(lambda x: x.abs().sum()) / w.abs().sum()).max() <= 0.25 + 1e-12
    late = m.prices[ids].isna()
    assert late.to_numpy().any()  # the universe has late listers...
    assert (pos.to_numpy()[late.to_numpy()] == 0).all()  # ...never held before listing


@pytest.mark.slow
def test_market_neutral_on_20y(synthetic_20y):
    m = synthetic_20y
    s = EquityMarketNeutral()
    r = exposure_returns(s.target_positions(m), m).loc["2006-03":]
    spx = (m.index["SPX"] / m.index["SPX"].shift(1) - 1).loc["2006-03":]
    assert abs(r.corr(spx)) < 0.3
    beta = np.cov(r, spx)[0, 1] / spx.var()
    assert abs(beta) < 0.1
    vol = r.std() * np.sqrt(252)
    assert 0.04 < vol < 0.16


def test_raw_weights_equal_a_day_by_day_loop(synthetic_5y):
    """The held book (one projection per rebalance, held by index) equals the plain loop that
    re-derives it every day from ungrouped industries, to the last bit."""
    m, s = synthetic_5y, EquityMarketNeutral()
    ids = s.universe(m)
    returns = instrument_returns(m, ids)
    industries = m.instruments.loc[ids, "industry"].to_numpy()
    score = s.scores(m, returns).to_numpy()
    beta = rolling_beta(returns, s.market_returns(m, returns), 252, 126, 0.33).to_numpy()
    priced = m.prices[ids].notna().to_numpy()
    rebalance = month_start_mask(m.calendar)
    expected = np.zeros((len(m.calendar), len(ids)))
    current = np.zeros(len(ids))
    for t in range(len(m.calendar)):
        if rebalance[t]:
            ok = priced[t] & np.isfinite(beta[t])
            w0 = select_long_short(np.where(ok, score[t], np.nan), industries, 0.3)
            current = neutralise(w0, beta[t], industries, 0.25)
        expected[t] = np.where(priced[t], current, 0.0)
    got = s.raw_weights(m, returns).to_numpy()
    assert np.array_equal(got, expected) and np.abs(got).sum() > 0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 50),
    n_ind=st.integers(1, 7),
    fraction=st.sampled_from([0.1, 0.3, 0.34, 0.5, 0.9]),
    ties=st.booleans(),
)
def test_select_long_short_equals_its_one_industry_at_a_time_twin(seed, n, n_ind, fraction, ties):
    """All industries in one sort: the same weights, to the bit, with ties (broken by
    position), signed zeros, missing and infinite scores and one-name industries."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    if ties:
        score = np.round(score, 0)
    score[rng.random(n) < 0.15] = np.nan
    score[rng.random(n) < 0.1] = -0.0
    score[rng.random(n) < 0.05] = np.inf
    ind = np.array([f"ind{j}" for j in rng.integers(0, n_ind, n)])
    got = select_long_short(score, ind, fraction)
    want = select_long_short_py(score, ind, fraction)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_scores_of_some_rows_equal_those_rows_of_every_rows_scores(synthetic_5y):
    """The book scores its rebalance rows only: each is the all-rows score's row, to the bit."""
    m = synthetic_5y
    book = EquityMarketNeutral()
    returns = instrument_returns(m, book.universe(m))
    every = book.scores(m, returns)
    rows = np.flatnonzero(month_start_mask(m.calendar))
    some = book.scores(m, returns, rows)
    pd.testing.assert_index_equal(some.index, m.calendar[rows])
    a, b = some.to_numpy(), every.to_numpy()[rows]
    assert np.isfinite(a).sum() > 1000
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(a[np.isfinite(a)].view(np.int64), b[np.isfinite(b)].view(np.int64))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_rows=st.integers(1, 12),
    n_ind=st.integers(1, 9),
    per_ind=st.integers(1, 40),
    zeros=st.sampled_from([0.0, 0.3, 0.7]),
    cap=st.sampled_from([0.2, 0.25, 0.5, 1.0]),
)
def test_neutralise_rows_equals_neutralise_row_by_row(seed, n_rows, n_ind, per_ind, zeros, cap):
    """All rows' industry problems solved in stacks of one size: each row is neutralise's, to
    the bit (signed zeros too), with missing betas and weights, one-name industries (m <= 2,
    where the least squares are under-determined), equal betas (rank 1) and infeasible rows."""
    rng = np.random.default_rng(seed)
    n = n_ind * per_ind
    ind = np.array([f"i{j}" for j in rng.integers(0, n_ind, n)], dtype=object)
    w0 = rng.normal(size=(n_rows, n)) * rng.uniform(0.1, 10.0, (n_rows, 1))
    w0[rng.random(w0.shape) < zeros] = 0.0
    w0[rng.random(w0.shape) < 0.03] = np.nan
    beta = rng.uniform(0.3, 2.0, (n_rows, n))
    beta[rng.random(beta.shape) < 0.05] = np.nan
    beta[0, : n // 2] = 1.1  # rank-deficient bases
    if n_rows > 1:
        beta[1] = np.round(beta[1], 0)
    got = neutralise_rows(w0, beta, ind, cap)
    want = np.stack([neutralise(w0[t], beta[t], ind, cap) for t in range(n_rows)])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_neutralise_rows_of_the_20y_rebalances_equal_neutralise(synthetic_20y):
    """The book's own problems (every rebalance of the default market): the same bits."""
    m, s = synthetic_20y, EquityMarketNeutral()
    ids = s.universe(m)
    returns = instrument_returns(m, ids)
    industries = m.instruments.loc[ids, "industry"].to_numpy()
    rows = np.flatnonzero(month_start_mask(m.calendar))
    score = s.scores(m, returns, rows).to_numpy()
    beta = rolling_beta(returns, s.market_returns(m, returns), 252, 126, 0.33).to_numpy()[rows]
    ok = m.prices[ids].notna().to_numpy()[rows] & np.isfinite(beta)
    w0 = np.stack([select_long_short(np.where(ok[k], score[k], np.nan), industries, 0.3)
                   for k in range(len(rows))])  # fmt: skip
    got = neutralise_rows(w0, beta, industries)
    want = np.stack([neutralise(w0[k], beta[k], industries) for k in range(len(rows))])
    assert np.abs(got).sum() > 100 and np.array_equal(got.view(np.int64), want.view(np.int64))


def test_neutralise_rows_without_the_stacked_gufunc(monkeypatch):
    """numpy < 2 has no stacked ``lstsq`` gufunc: the problems go one by one through
    ``numpy.linalg.lstsq``, with the same bits."""
    rng = np.random.default_rng(5)
    ind = np.repeat(np.arange(6), 7)
    w0, beta = rng.normal(size=(4, 42)), rng.uniform(0.5, 1.5, (4, 42))
    w0[:, ::3] = 0.0
    want = neutralise_rows(w0, beta, ind)
    monkeypatch.setattr(mn, "_LSTSQ", None)
    assert np.array_equal(neutralise_rows(w0, beta, ind).view(np.int64), want.view(np.int64))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_rows=st.integers(1, 6),
    n=st.integers(1, 50),
    n_ind=st.integers(1, 7),
    fraction=st.sampled_from([0.1, 0.3, 0.34, 0.5, 0.9]),
    ties=st.booleans(),
)
def test_select_long_short_rows_equals_select_long_short(seed, n_rows, n, n_ind, fraction, ties):
    """Every row in one sort: each row's weights are select_long_short's, to the bit."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=(n_rows, n))
    if ties:
        score = np.round(score, 0)
    score[rng.random(score.shape) < 0.15] = np.nan
    score[rng.random(score.shape) < 0.1] = -0.0
    score[rng.random(score.shape) < 0.05] = np.inf
    ind = np.array([f"ind{j}" for j in rng.integers(0, n_ind, n)], dtype=object)
    ind[rng.random(n) < 0.05] = None  # no industry: never selected
    got = select_long_short_rows(score, ind, fraction)
    want = np.stack([select_long_short(score[t], ind, fraction) for t in range(n_rows)])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
