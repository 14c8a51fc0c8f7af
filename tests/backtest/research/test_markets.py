"""Stationary block bootstrap: block lengths, field by field rebuild, and a fund runs on it."""

from __future__ import annotations

import numpy as np
import pytest

from backtest.fund.run import run_fund
from backtest.research import (
    BootstrapSource,
    SyntheticSource,
    bootstrap_market,
    stationary_bootstrap_indices,
)
from tests.backtest.research.conftest import END, START, small_fund


def test_indices_have_geometric_blocks_of_the_mean_length():
    idx = stationary_bootstrap_indices(200_000, 20.0, seed=3)
    assert idx.min() >= 0 and idx.max() < 200_000
    new_block = np.r_[True, idx[1:] != (idx[:-1] + 1) % 200_000]
    lengths = np.diff(np.flatnonzero(np.r_[new_block, True]))
    assert lengths.mean() == pytest.approx(20.0, rel=0.03)
    np.testing.assert_array_equal(idx, stationary_bootstrap_indices(200_000, 20.0, seed=3))


@pytest.fixture(scope="module")
def market():
    return SyntheticSource(2, START, END).build()


def test_fields_are_rebuilt_from_the_resampled_days(market):
    boot = bootstrap_market(market, seed=4, mean_block_days=10)
    idx = stationary_bootstrap_indices(len(market.calendar), 10, seed=4)
    assert boot.calendar.equals(market.calendar)
    # price-like: day t's return is the original return of day idx[t]
    spy, spy0 = boot.prices["SPY"].to_numpy(), market.prices["SPY"].to_numpy()
    r0 = np.r_[np.nan, spy0[1:] / spy0[:-1] - 1]
    np.testing.assert_allclose(spy[1:] / spy[:-1] - 1, np.nan_to_num(r0[idx][1:]), atol=1e-12)
    # level-like: the value of the drawn day
    np.testing.assert_array_equal(boot.rates.to_numpy(), market.rates.to_numpy()[idx])
    # futures: Δadjusted / previous held price is the drawn day's, the held price continuous
    a0, p0 = market.adjusted["ES"].to_numpy(), market.prices["ES"].to_numpy()
    a, p = boot.adjusted["ES"].to_numpy(), boot.prices["ES"].to_numpy()
    r_es = np.r_[0.0, np.diff(a0) / p0[:-1]][idx]
    np.testing.assert_allclose(np.diff(a) / p[:-1], r_es[1:], atol=1e-12)
    np.testing.assert_allclose(boot.curves["ES"]["price"].to_numpy(), p)
    assert not boot.equals(market)


def test_a_fund_runs_on_a_bootstrap_path():
    source = BootstrapSource(SyntheticSource(2, START, END), seed=1, mean_block_days=20)
    run = run_fund(small_fund(), source.build())
    assert np.isfinite(run.nav["nav_per_share"]).all()
    assert source.key == f"bootstrap:synthetic:2:{START}:{END}:1:20"
