"""A run converted to vectorbt from its executed orders agrees with the fund's net assets on an
equity-and-cash case and on a futures-and-cash case (futures as cumulative variation margin);
with costs, vectorbt's fees carry them; what it does not model differs, by measured amounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import FundConfig
from backtest.engine.layout import K_FUTURE
from backtest.engine.simulator import simulate
from backtest.market.market_data import MarketData
from backtest.research.markets import SyntheticSource
from backtest.research.vbt import FUTURES_FLOOR_USD, futures_levels, to_vectorbt


def equity_market(n_days=300, n_stocks=6, seed=3) -> MarketData:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_days)
    prices = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (n_days, n_stocks)), axis=0))
    return MarketData.from_prices(
        pd.DataFrame(prices, index=dates, columns=[f"S{i}" for i in range(n_stocks)])
    )


def monthly_targets(market: MarketData, seed=5) -> pd.DataFrame:
    """Long-only weights summing to 0.9 (10% cash) on each month's first day."""
    rng = np.random.default_rng(seed)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    starts = cal[np.r_[True, cal.month[1:] != cal.month[:-1]]]
    w = rng.random((len(starts), tg.shape[1]))
    tg.loc[starts] = 0.9 * w / w.sum(axis=1, keepdims=True)
    return tg


def test_equity_and_cash_frictionless_agrees_every_day():
    market = equity_market()
    result = simulate(market, monthly_targets(market), FundConfig.frictionless(1e7))
    pf = to_vectorbt(result)
    ours = result.nav["net_assets"].to_numpy()
    np.testing.assert_allclose(pf.value().to_numpy(), ours, rtol=1e-9)
    assert (result.nav["cash"] > 0).all()  # a cash balance is held throughout
    assert pf.orders.count() == len(result.trades) > 40
    np.testing.assert_allclose(pf.cash().to_numpy()[-1], result.nav["cash"].iloc[-1], rtol=1e-9)


def test_costs_are_carried_as_fees_and_expenses_are_not_modelled():
    market = equity_market()
    config = FundConfig.frictionless(1e7).replace(costs=FundConfig().costs)
    result = simulate(market, monthly_targets(market), config)
    pf = to_vectorbt(result)
    assert result.trades["cost"].sum() > 0
    # vectorbt charges the fee on the execution day, the fund books it with the trade the day
    # after: the values differ on execution days by exactly that day's costs, and agree after
    cost_by_day = result.trades.groupby("date")["cost"].sum().reindex(market.calendar, fill_value=0)
    gap = result.nav["net_assets"] - pf.value()
    np.testing.assert_allclose(gap.to_numpy(), cost_by_day.to_numpy(), rtol=1e-7, atol=1e-5)
    assert abs(pf.orders.records_readable["Fees"].sum() - result.trades["cost"].sum()) < 1e-6
    with_expenses = simulate(market, monthly_targets(market), config.replace(expense_ratio=0.01))
    gap = to_vectorbt(with_expenses).value().iloc[-1] - with_expenses.nav["net_assets"].iloc[-1]
    assert gap > 0  # vectorbt does not charge the fund's expenses


@pytest.fixture(scope="module")
def futures_case():
    """Two years of the synthetic market; monthly random long/short targets on futures of
    several kinds and currencies (rolled while held), the rest in cash."""
    market = SyntheticSource(1, "2019-01-02", "2020-12-31").build()
    kinds = market.instruments["kind"]
    ids = [i for i in market.instruments.index if i in market.prices and "future" in kinds[i]]
    chosen = [i for k in sorted({kinds[i] for i in ids}) for i in ids if kinds[i] == k][::3]
    cal = market.calendar
    targets = pd.DataFrame(np.nan, index=cal, columns=chosen)
    starts = cal[np.r_[True, cal.month[1:] != cal.month[:-1]]]
    targets.loc[starts] = np.random.default_rng(5).normal(0.0, 0.3, (len(starts), len(chosen)))
    return market, targets


def test_futures_and_cash_frictionless_agrees_every_day(futures_case):
    market, targets = futures_case
    result = simulate(market, targets, FundConfig.frictionless(1e7))
    a = result.inputs.arrays
    fut = a["kind"] == K_FUTURE
    assert fut.all() and len({market.instruments.at[i, "currency"] for i in targets}) > 1
    assert (a["rolled"] & (result.outputs.qty != 0)).sum() > 10  # rolls while held
    pf = to_vectorbt(result)
    ours = result.nav["net_assets"].to_numpy()
    np.testing.assert_allclose(pf.value().to_numpy(), ours, rtol=1e-12, atol=1e-6)
    assert pf.orders.count() == len(result.trades) > 50
    assert np.ptp(ours) > 0.1 * ours[0]  # the futures moved the fund


def test_futures_levels_step_by_one_contracts_variation_margin():
    price = np.array([[100.0], [101.0], [99.0], [50.0]])  # a roll at row 2's close
    prev_ref = np.array([[100.0], [100.0], [101.0], [49.0]])  # row 3: new contract's close
    levels = futures_levels(price, prev_ref, np.array([10.0]), np.full((4, 1), 2.0))
    # margin per contract: 0, +20, -40, +20 (USD); the lowest level is the floor
    np.testing.assert_allclose(np.diff(levels[:, 0]), [20.0, -40.0, 20.0])
    assert levels.min() == FUTURES_FLOOR_USD


def test_futures_costs_differ_by_the_fees_vectorbt_was_given(futures_case):
    """With costs: the gap is the fees vectorbt charged so far less the costs the fund booked;
    roll costs on days the contract did not trade are not orders, so never reach vectorbt."""
    market, targets = futures_case
    config = FundConfig.frictionless(1e7).replace(costs=FundConfig().costs)
    result = simulate(market, targets, config)
    pf = to_vectorbt(result)
    fees = pf.orders.records_readable.groupby("Timestamp")["Fees"].sum()
    fees = fees.reindex(market.calendar, fill_value=0.0)
    gap = result.nav["net_assets"] - pf.value()
    expected = fees.cumsum() - result.nav["costs"].cumsum()
    np.testing.assert_allclose(gap.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-5)
    not_carried = result.nav["costs"].sum() - fees.sum()
    assert not_carried > 0.1 * result.nav["costs"].sum()  # the rolls' costs, measured


def test_orders_vectorbt_cannot_fill_in_full_are_refused(futures_case):
    market, targets = futures_case
    result = simulate(market, targets * 40.0, FundConfig.frictionless(1e7))  # 40× the book
    with pytest.raises(ValueError, match="vectorbt filled .* orders in full"):
        to_vectorbt(result)
