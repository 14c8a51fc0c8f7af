"""A run converted to vectorbt from its executed orders agrees with the fund's net assets on an
equity-and-cash case; with costs, vectorbt's fees carry them; what it does not model differs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.engine.config import FundConfig
from backtest.engine.simulator import simulate
from backtest.market.market_data import MarketData
from backtest.research.vbt import to_vectorbt


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
