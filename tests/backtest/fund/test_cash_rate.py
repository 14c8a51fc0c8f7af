"""The fund's cash rate (the Sharpe ratio's headline hurdle) is the USD short rate the
simulator accrues on cash: ``market.rates["USD"]`` of the previous close, ACT/360."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from backtest.engine.config import FundConfig
from backtest.engine.simulator import simulate
from backtest.fund.run import fund_cash_returns


def test_cash_returns_are_what_the_simulator_pays_on_cash(synthetic_5y):
    market = synthetic_5y
    dates = market.calendar
    targets = pd.DataFrame(0.0, index=dates, columns=[market.ids()[0]])
    config = dataclasses.replace(FundConfig.frictionless(), earn_interest=True)
    nav = simulate(market, targets, config).nav
    cash = fund_cash_returns(market, nav.index)
    paid = (nav["interest"] / nav["cash"].shift(1)).iloc[1:]
    assert len(cash) == len(dates) - 1 and (cash > 0).mean() > 0.5
    np.testing.assert_allclose(paid.to_numpy(), cash.to_numpy(), rtol=1e-9, atol=1e-15)
