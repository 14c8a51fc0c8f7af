"""exposure_returns: a hand-worked book, and the same bits as the plain pandas formula it
replaced (every step on its own frame) on the default strategies' books and random ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns, instrument_returns
from strategies import cached_positions, registry


def exposure_returns_py(exposures, market, lag_days=1, cost_bps=0.0, returns=None):
    """The formula as it was written before (twin): turnover always computed and charged."""
    if returns is None:
        returns = instrument_returns(market, list(exposures.columns))
    held = exposures.reindex(market.calendar).fillna(0.0).shift(lag_days + 1).fillna(0.0)
    r = returns.reindex(columns=exposures.columns).fillna(0.0)
    gross = (held * r).sum(axis=1)
    traded = exposures.reindex(market.calendar).fillna(0.0).shift(lag_days).fillna(0.0)
    turnover = traded.diff().abs().sum(axis=1)
    if len(turnover):
        turnover.iloc[0] = traded.iloc[0].abs().sum()
    return (gross - turnover * cost_bps / 1e4).rename("return")


def same_bits(a: pd.Series, b: pd.Series) -> bool:
    return (
        a.index.equals(b.index)
        and a.name == b.name
        and np.array_equal(a.to_numpy().view(np.int64), b.to_numpy().view(np.int64))
    )


def test_hand_worked_book():
    idx = pd.bdate_range("2024-01-01", periods=5)
    prices = pd.DataFrame({"A": [100.0, 110, 99, 99, 108.9], "B": [50.0, 50, 55, 44, 44]}, idx)
    m = MarketData.from_prices(prices)
    x = pd.DataFrame({"A": [0.5, 0.5, 0.0, 0.0, 0.0], "B": [0.0, -1.0, -1.0, 0.0, 0.0]}, idx)
    got = exposure_returns(x, m, cost_bps=10.0)
    # decided at t, traded at t+1's close, earning from t+2: A held on rows 2..3, B on 3..4
    gross = [0.0, 0.0, 0.5 * -0.1, 0.5 * 0.0 + -1.0 * -0.2, -1.0 * 0.0]
    turnover = [0.0, 0.5, 1.0, 0.5, 1.0]  # |Δ| of the traded book (row 0 trades nothing)
    want = np.array(gross) - np.array(turnover) * 10.0 / 1e4
    np.testing.assert_allclose(got.to_numpy(), want, rtol=0, atol=1e-15)
    assert got.name == "return" and got.index.equals(idx)
    np.testing.assert_allclose(exposure_returns(x, m).to_numpy(), gross, rtol=0, atol=1e-15)


@pytest.mark.parametrize("cost_bps", [0.0, 2.0])
def test_equals_the_plain_formula_on_the_default_books(synthetic_5y, cost_bps):
    """The four default strategies' books (one block, one block per column, several blocks):
    the same bits, with and without costs."""
    m = synthetic_5y
    for name in ("carry", "vol_premium", "trend", "equity_market_neutral"):
        pos = cached_positions(registry[name](), m)
        assert same_bits(exposure_returns(pos, m, cost_bps=cost_bps),
                         exposure_returns_py(pos, m, cost_bps=cost_bps)), name  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_equals_the_plain_formula_on_random_books(seed):
    """Missing rows and values, several blocks, given returns with other columns, lags."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2024-01-01", periods=40)
    ids = [f"S{j}" for j in range(7)]
    prices = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.02, (40, 7)), axis=0)), idx, ids)
    prices.iloc[:5, 2] = np.nan  # lists late
    m = MarketData.from_prices(prices)
    x = pd.DataFrame(rng.normal(size=(40, 5)), idx, ids[:5])
    x[x.abs() < 0.3] = 0.0
    x.iloc[rng.random((40, 5)) < 0.1] = np.nan
    x["S5"] = rng.normal(size=40).round(1)  # a second block
    x = x.iloc[rng.permutation(40)[:35]].sort_index()  # rows missing: reindexed to the calendar
    for lag in (0, 1, 3):
        for cost in (0.0, 5.0):
            got, want = exposure_returns(x, m, lag, cost), exposure_returns_py(x, m, lag, cost)
            assert same_bits(got, want)
            given = instrument_returns(m, ids[::-1])
            assert same_bits(exposure_returns(x, m, lag, cost, returns=given),
                             exposure_returns_py(x, m, lag, cost, returns=given))  # fmt: skip
