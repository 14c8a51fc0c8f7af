"""Shared fixtures: the synthetic markets every suite uses, built once per session; and
:func:`monthly_puts`, the option book several simulator tests trade."""

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import IndexOption
from backtest.synthetic.build import synthetic_market


@pytest.fixture(scope="session")
def synthetic_20y():
    """The default 20-year synthetic market (seed 7, 2005-01-03 .. 2024-12-31)."""
    return synthetic_market(seed=7, start="2005-01-03", end="2024-12-31")


@pytest.fixture(scope="session")
def synthetic_5y():
    """A shorter window for faster checks (seed 7, 2015-01-02 .. 2019-12-31)."""
    return synthetic_market(seed=7, start="2015-01-02", end="2019-12-31")


def monthly_puts(market, moneyness=0.95, weight=-0.3, close_at_expiry=False) -> pd.DataFrame:
    """Targets (dates × option ids, NaN: no decision) of one-month SPX puts sold on the first
    trading day of each month at ``weight`` of net assets, strike ``moneyness`` × the index
    rounded to 5, expiring on the month's last session: held to expiry, or with a zero target
    on the expiry day too (``close_at_expiry``)."""
    cal = market.calendar
    firsts = cal[np.r_[True, cal.month[1:] != cal.month[:-1]]]
    cols = {}
    for d in firsts[:-1]:
        expiry = cal[cal.searchsorted(d + pd.offsets.MonthEnd(1), side="right") - 1]
        strike = 5 * round(market.index.at[d, "SPX"] * moneyness / 5)
        s = pd.Series(np.nan, index=cal)
        s[d] = weight
        if close_at_expiry:
            s[expiry] = 0.0
        cols[IndexOption("SPX", expiry, strike, is_call=False).id] = s
    return pd.DataFrame(cols)
