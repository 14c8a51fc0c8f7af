"""The standalone streams' cost estimate (backtest.engine.costs) against a hand computation
and against what the simulator charges for the same book."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import FundConfig
from backtest.engine.costs import cost_rates, exposure_costs
from backtest.engine.simulator import futures_roll_flags, simulate
from strategies import registry, run_strategy


def test_a_futures_trade_and_a_roll_by_hand(synthetic_5y):
    m = synthetic_5y
    config = FundConfig()
    rolled = futures_roll_flags(m, "ES", config.roll_days_before_expiry)
    r = int(np.flatnonzero(rolled)[2])  # the opening position of row r was rolled
    x = pd.DataFrame({"ES": 0.0}, index=m.calendar)
    x.iloc[r - 10 :, 0] = 0.5  # decided at r-10, traded at r-9 (lag 1), held over the roll
    cost = exposure_costs(x, m, config)
    unit = m.notional_per_unit_usd(["ES"])["ES"]
    rate = config.costs.half_spread_bps["equity"] * 1e-4 + 1.5 / unit
    assert cost.iloc[r - 9] == pytest.approx(0.5 * rate.iloc[r - 9], rel=1e-12)
    assert cost.iloc[r] == pytest.approx(2 * 0.5 * rate.iloc[r], rel=1e-12)
    before = cost.iloc[: r + 1].drop(cost.index[[r - 9, r]])  # later rolls cost too
    assert before.abs().sum() == 0.0
    rates, flags = cost_rates(m, ["ES"], config)
    np.testing.assert_allclose(rates[:, 0], rate.to_numpy(), rtol=1e-12)
    assert (flags[:, 0] == rolled).all()


def test_the_estimate_is_close_to_what_the_simulator_charges(synthetic_5y):
    """Trend alone at full weight, no buffers, no flows: the simulator's costs over net assets
    and the stream's estimate agree to within a fifth over five years."""
    m = synthetic_5y
    x = run_strategy(registry["trend"](), m)
    config = FundConfig(no_trade_buffer_pct_nav=0.0, no_trade_buffer_pct_position=0.0)
    result = simulate(m, x, config)
    nav = result.nav
    charged = (result.costs.sum(axis=1) / nav["net_assets"].shift(1)).iloc[1:].sum()
    estimate = exposure_costs(x, m, config).sum()
    assert charged > 0.005  # a real cost to compare
    assert estimate == pytest.approx(charged, rel=0.2)
