"""The standalone streams' cost estimate (backtest.engine.costs) against a hand computation
and against what the simulator charges for the same book."""

import dataclasses

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


def _dense_costs(exposures, market, config, lag_days=1):
    """Every term on every column, as the estimate was first written: the twin that
    ``exposure_costs`` (zero terms skipped) must equal to the bit."""
    rate, rolled = cost_rates(market, [str(c) for c in exposures.columns], config)
    x = exposures.reindex(market.calendar).fillna(0.0).to_numpy(dtype="float64")
    traded = np.zeros_like(x)
    traded[lag_days:] = x[: len(x) - lag_days]
    turnover = np.abs(np.diff(traded, axis=0, prepend=0.0))
    impact = config.costs.impact_bps_per_pct_nav * 1e-4 * 100.0 * turnover**2
    held = np.zeros_like(x)
    held[1:] = traded[:-1]
    roll = 2.0 * np.abs(held) * rate * rolled
    return (turnover * rate + impact + roll).sum(axis=1)


@pytest.mark.parametrize("impact", [0.0, 3.0])
def test_costs_equal_the_dense_formula_to_the_bit(synthetic_5y, impact):
    """Futures (rolls), equities and on-demand options (rates shared by the options of one
    root) in one book, with and without impact."""
    m = synthetic_5y
    config = FundConfig()
    config = dataclasses.replace(
        config, costs=dataclasses.replace(config.costs, impact_bps_per_pct_nav=impact)
    )
    book = pd.concat(
        [run_strategy(registry[name](), m) for name in ("trend", "vol_premium")], axis=1
    )
    book = book.loc[:, ~book.columns.duplicated()]
    assert any("-P-" in c for c in book.columns) and "ES" in book.columns
    got = exposure_costs(book, m, config).to_numpy()
    np.testing.assert_array_equal(got, _dense_costs(book, m, config))
    assert got.sum() > 0
    rates, _ = cost_rates(m, list(book.columns), config)
    opts = [j for j, c in enumerate(book.columns) if "-P-" in c]
    np.testing.assert_array_equal(rates[:, opts[0]], rates[:, opts[-1]])  # same root, same rate
