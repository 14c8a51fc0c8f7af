"""The fund simulator: equity cross-check against vectorbt, sizing, timing, bad input, twin."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from backtest.engine import execution
from backtest.engine import kernel as sim_kernel
from backtest.engine.config import CostModel, Flow, FlowSchedule, FundConfig
from backtest.engine.dense import DenseOutputs
from backtest.engine.simulator import prepare_inputs, simulate
from backtest.market.market_data import MarketData


def equity_market(n_days=400, n_stocks=8, seed=3) -> MarketData:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_days)
    rets = rng.normal(0.0003, 0.015, (n_days, n_stocks))
    prices = 50 * np.exp(np.cumsum(rets, axis=0))
    cols = [f"S{i}" for i in range(n_stocks)]
    return MarketData.from_prices(pd.DataFrame(prices, index=dates, columns=cols))


def monthly_targets(market: MarketData, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    month_starts = cal[np.r_[True, cal.month[1:] != cal.month[:-1]]]
    for d in month_starts:
        w = rng.uniform(0.0, 1.0, tg.shape[1])
        tg.loc[d] = 0.95 * w / w.sum()
    return tg


def test_equities_agree_with_vectorbt_every_day():
    import vectorbt as vbt

    market = equity_market()
    result = simulate(market, monthly_targets(market), FundConfig.frictionless(1e7))
    traded = pd.DataFrame(
        result.outputs.trade_qty, index=market.calendar, columns=market.prices.columns
    )
    pf = vbt.Portfolio.from_orders(
        market.prices,
        size=traded.replace(0.0, np.nan).to_numpy(),
        size_type="amount",
        init_cash=1e7,
        cash_sharing=True,
        group_by=True,
        freq="1D",
        call_seq="auto",  # sells before buys within a bar, as a fund trades
    )
    ours = result.nav["net_assets"].to_numpy()
    theirs = pf.value().to_numpy()
    assert np.max(np.abs(ours / theirs - 1)) < 1e-9
    assert len(result.trades) > 50


def test_positions_match_targets_within_one_share_after_rebalance():
    market = equity_market()
    tg = monthly_targets(market)
    result = simulate(market, tg, FundConfig.frictionless(1e7))
    nav = result.nav["net_assets"]
    prices = market.prices
    decided = tg.dropna(how="all").index
    cal = market.calendar
    for d in decided[:-1]:
        t = cal.get_loc(d)
        booked = cal[t + 2]  # decided at t, traded at t+1's close, booked at t+2
        qty = result.quantities.loc[booked]
        # sized on the decision day's net assets and prices
        expected_qty = np.trunc(tg.loc[d] * nav.loc[d] / prices.loc[d])
        np.testing.assert_array_equal(qty.to_numpy(), expected_qty.to_numpy())
        weight = qty * prices.loc[d] / nav.loc[d]
        assert (np.abs(weight - tg.loc[d]) <= prices.loc[d] / nav.loc[d] + 1e-15).all()


def test_target_changes_holdings_from_t_plus_two_never_earlier():
    market = equity_market(n_days=30)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    tg.iloc[10] = 0.1
    result = simulate(market, tg, FundConfig.frictionless(1e6))
    q = result.quantities
    assert (q.iloc[:12] == 0).all().all()
    assert (q.iloc[12:] > 0).all().all()
    trades = result.trades
    assert set(trades["date"]) == {cal[11]} and set(trades["booked"]) == {cal[12]}
    # and NAV before the booking day is exactly the initial cash
    assert (result.nav["net_assets"].iloc[:12] == 1e6).all()


def test_nan_target_means_no_trade_and_holdings_drift():
    market = equity_market(n_days=60)
    tg = pd.DataFrame(np.nan, index=market.calendar, columns=market.prices.columns)
    tg.iloc[0] = 0.1
    result = simulate(market, tg, FundConfig.frictionless(1e6))
    q = result.quantities.iloc[2:]
    assert (q.nunique() == 1).all()  # constant quantities: no further trades
    assert len(result.trades) == market.prices.shape[1]


def test_cash_shortfall_scales_purchases_and_is_flagged():
    market = equity_market(n_days=20)
    tg = pd.DataFrame(np.nan, index=market.calendar, columns=market.prices.columns)
    tg.iloc[0] = 0.5  # 400% of net assets in stocks: no borrowing allowed
    result = simulate(market, tg, FundConfig.frictionless(1e6))
    assert result.nav["cash_shortfall"].iloc[1]
    assert (result.nav["cash"] >= 0).all()
    invested = (result.quantities.iloc[2] * market.prices.iloc[1]).sum()
    assert 0.99e6 < invested <= 1e6


def test_identity_cash_plus_holdings_equals_net_assets_with_flows():
    market = equity_market(n_days=250)
    cfg = FundConfig(
        initial_shares=200_000,
        no_trade_buffer_pct_nav=0.0,
        flows=FlowSchedule(
            flows=(Flow(market.calendar[30], 2), Flow(market.calendar[100], -1, "in_kind")),
            ap_daily_prob=0.05,
            seed=1,
        ),
    )
    result = simulate(market, monthly_targets(market), cfg)
    nav = result.nav
    holdings = result.market_values.sum(axis=1)
    lhs = nav["cash"] + holdings + nav["accrued_interest"] - nav["accrued_expenses"]
    np.testing.assert_allclose(lhs, nav["net_assets"], rtol=1e-12, atol=1e-6)
    change = nav["net_assets"].diff().iloc[1:]
    sources = (nav["pnl"] - nav["costs"] + nav["interest"] - nav["expenses"] + nav["flow_value"]
               + nav["fees"]).iloc[1:]  # fmt: skip
    np.testing.assert_allclose(change, sources, rtol=0, atol=1e-6)
    assert nav["shares_outstanding"].iloc[-1] != 200_000  # flows happened
    assert (result.flows["units"].abs() >= 1).all()


def test_redemption_below_minimum_is_refused():
    market = equity_market(n_days=30)
    cfg = FundConfig(
        initial_shares=150_000,
        flows=FlowSchedule(flows=(Flow(market.calendar[5], -2),)),
    )
    tg = pd.DataFrame(np.nan, index=market.calendar, columns=market.prices.columns)
    with pytest.raises(ValueError, match="below the minimum 100,000"):
        simulate(market, tg, cfg)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda tg: tg.assign(NOPE=0.1), "not in the market: \\['NOPE'\\]"),
        (
            lambda tg: tg.mul(np.where(np.arange(len(tg)) == 3, np.inf, 1.0), axis=0),
            "non-finite value on 2021-01-07",
        ),
        (lambda tg: tg.set_axis(tg.index + pd.Timedelta(days=1000)), "outside the market"),
    ],
)
def test_bad_targets_give_clear_errors(mutate, message):
    market = equity_market(n_days=30)
    tg = pd.DataFrame(0.1, index=market.calendar, columns=market.prices.columns)
    with pytest.raises(ValueError, match=message):
        simulate(market, mutate(tg), FundConfig.frictionless(1e6))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"creation_fee_fixed_usd": -1.0}, "creation_fee_fixed_usd must be >= 0"),
        ({"creation_unit_shares": 0}, "creation unit must be > 0"),
        ({"expense_ratio": 0.95}, "annual decimal"),
        ({"no_trade_buffer_pct_position": 1.5}, "no_trade_buffer_pct_position must be"),
        ({"no_trade_buffer_cost_ref_bps": -1.0}, "no_trade_buffer_cost_ref_bps must be >= 0"),
        ({"no_trade_buffer_cost_ref_bps": 500.0}, r"must be in \[0, 100.0\] bp"),
    ],
)
def test_bad_config_gives_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        FundConfig(**changes)


def test_config_round_trips_through_toml(tmp_path):
    path = tmp_path / "fund.toml"
    path.write_text(
        "[fund]\ninitial_shares = 200000\nexpense_ratio = 0.0095\n"
        "[fund.costs]\ncommission_per_contract_usd = 2.0\n"
        "[fund.flows]\nap_daily_prob = 0.1\nseed = 3\n"
        "[[fund.flows.flows]]\ndate = 2021-02-01\nunits = 1\n"
    )
    cfg = FundConfig.from_toml(path)
    assert cfg.initial_shares == 200_000 and cfg.costs.commission_per_contract_usd == 2.0
    assert cfg.flows.flows[0].date == pd.Timestamp("2021-02-01") and cfg.flows.seed == 3
    path.write_text("[fund]\ncreation_unit_shares = 0\n")
    with pytest.raises(ValueError, match="fund.toml.*creation unit"):
        FundConfig.from_toml(path)


def run_plain_kernel(arrays: dict) -> tuple:
    """The kernel's plain-Python twin (``run_kernel_into`` uncompiled) on the same inputs."""
    out = sim_kernel.new_outputs(arrays["price"].shape[0], arrays["kind"])
    counts = sim_kernel.run_kernel_into.py_func(**arrays, out=out)
    return tuple(sim_kernel.trimmed(out, *counts))


def test_kernel_agrees_with_its_plain_python_twin():
    market = equity_market(n_days=80, n_stocks=4)
    cfg = FundConfig(initial_shares=200_000, flows=FlowSchedule(ap_daily_prob=0.1, seed=2))
    inputs = prepare_inputs(market, monthly_targets(market), cfg)
    compiled = sim_kernel.run_kernel(**inputs.arrays)
    plain = run_plain_kernel(inputs.arrays)
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-9, equal_nan=True)


def daily_noisy_targets(market: MarketData, seed=6) -> pd.DataFrame:
    """Targets that wobble every day around slow weights: the no-trade buffers bind often."""
    rng = np.random.default_rng(seed)
    n, m = len(market.calendar), len(market.prices.columns)
    base = np.linspace(0.05, 0.2, m) * np.where(np.arange(m) % 3 == 2, -1.0, 1.0)
    wobble = base * (1.0 + 0.15 * rng.standard_normal((n, m)))
    return pd.DataFrame(wobble, index=market.calendar, columns=market.prices.columns)


def test_execution_with_the_cost_scaled_edge_buffer_agrees_with_its_plain_python_twin(
    monkeypatch,
):
    """The built-in buffers (15% of the position × (cost / 5 bp)^(1/3), trades to the band's
    edge) on daily wobbling targets, the kernel against its plain-Python twin with the
    execution step (``_execute``, ``_raise_cash``, ``_roll_costs``) uncompiled too."""
    market = equity_market(n_days=120, n_stocks=6)
    cfg = FundConfig(initial_shares=200_000, flows=FlowSchedule(ap_daily_prob=0.1, seed=2))
    assert cfg.no_trade_buffer_to_edge and cfg.no_trade_buffer_cost_ref_bps == 5.0
    inputs = prepare_inputs(market, daily_noisy_targets(market), cfg)
    compiled = sim_kernel.run_kernel(**inputs.arrays)
    monkeypatch.setattr(sim_kernel, "_execute", execution._execute.py_func)
    monkeypatch.setattr(sim_kernel, "_roll_costs", execution._roll_costs.py_func)
    monkeypatch.setattr(execution, "_raise_cash", execution._raise_cash.py_func)
    plain = run_plain_kernel(inputs.arrays)
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-9, equal_nan=True)
    # the buffer was exercised: most days skipped, and trades cut to the band's edge
    out = DenseOutputs(sim_kernel.KernelOutputs(*compiled), inputs.arrays)
    traded_days = (out.trade_qty[1:] != 0.0).mean()
    assert 0.05 < traded_days < 0.6
    na = out.fund[:, sim_kernel.C_NET_ASSETS]
    price = inputs.arrays["price"]
    target = inputs.arrays["target"]
    t, i = np.nonzero(out.trade_qty[2:] != 0.0)
    t = t + 2
    desired = np.trunc(target[t - 1, i] * na[t - 1] / price[t - 1, i])
    before = out.qty[t, i]  # held at t (T+1 booking: nothing pending at t's close beforehand)
    short_of_target = np.abs(before + out.trade_qty[t, i] - desired) >= 1.0
    assert short_of_target.mean() > 0.5


def test_position_buffer_to_the_edge_and_scaled_by_cost_by_hand():
    """One stock, frictionless but for a 40 bp half spread: held at a target of 0.5, the target
    moves to 0.58 (+14% of the new position). A 10% buffer trades, to the band's edge: the
    position after the trade is ceil-rounded to 90% of the target quantity. Scaled by cost with
    a 5 bp reference, the band is 10% × (40 / 5)^(1/3) = 20%: no trade."""
    market = equity_market(n_days=30, n_stocks=1)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    tg.iloc[2], tg.iloc[5] = 0.5, 0.58
    costs = dataclasses.replace(CostModel.zero(), half_spread_bps={"equity": 40.0})
    cfg = FundConfig.frictionless(1e6).replace(
        costs=costs, no_trade_buffer_pct_position=0.10, no_trade_buffer_to_edge=True
    )
    result = simulate(market, tg, cfg)
    trades = result.trades
    assert list(trades["date"]) == [cal[3], cal[6]]
    na5 = result.nav["net_assets"].iloc[5]
    desired = np.trunc(0.58 * na5 / market.prices.iloc[5, 0])
    held = trades["quantity"].iloc[0]
    edge = desired - 0.10 * desired  # the band's near edge, below the target
    assert trades["quantity"].iloc[1] == np.ceil(edge - held)
    scaled = simulate(market, tg, cfg.replace(no_trade_buffer_cost_ref_bps=5.0)).trades
    assert list(scaled["date"]) == [cal[3]]
    assert 0.10 < 1 - held / desired < 0.20  # the change: outside the plain band, inside 20%


def test_in_kind_creation_delivers_the_basket_and_the_cash_component():
    market = equity_market(n_days=40, n_stocks=3)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    tg.iloc[0] = [0.3, 0.3, 0.3]
    day = 10
    cfg = FundConfig.frictionless(1e6, shares=100_000).replace(
        creation_unit_shares=50_000,
        creation_fee_fixed_usd=250.0,
        flows=FlowSchedule(flows=(Flow(cal[day], 1, "in_kind"),)),
    )
    result = simulate(market, tg, cfg)
    nav = result.nav
    q_before = result.quantities.iloc[day]
    nav5 = nav["nav_per_share_5dp"].iloc[day]
    # the Deposit basket: a pro-rata slice of each holding, whole shares
    basket = np.round(q_before * 50_000 / 100_000)
    deposit_amount = (basket * market.prices.iloc[day]).sum()
    cash_component = 50_000 * nav5 - deposit_amount
    np.testing.assert_array_equal(result.quantities.iloc[day + 1], q_before + basket)
    assert nav["cash"].iloc[day + 1] - nav["cash"].iloc[day] == pytest.approx(
        cash_component + 250.0, abs=1e-6
    )
    assert nav["shares_outstanding"].iloc[day + 1] == 150_000
    assert nav["flow_value"].iloc[day + 1] == pytest.approx(50_000 * nav5)
    # after the creation the NAV per share is unchanged but for the fee and the day's P&L
    pnl = result.pnl.iloc[day + 1].sum()
    expected_na = nav["net_assets"].iloc[day] + 50_000 * nav5 + 250.0 + pnl
    assert nav["net_assets"].iloc[day + 1] == pytest.approx(expected_na, rel=1e-12)


def test_position_buffer_skips_small_changes_of_an_open_position():
    market = equity_market(n_days=30, n_stocks=1)
    cal = market.calendar
    tg = pd.DataFrame(np.nan, index=cal, columns=market.prices.columns)
    tg.iloc[2], tg.iloc[5], tg.iloc[9] = 0.5, 0.52, 0.6  # +4% (skipped), then +20% (traded)
    cfg = FundConfig.frictionless(1e6).replace(no_trade_buffer_pct_position=0.10)
    trades = simulate(market, tg, cfg).trades
    assert list(trades["date"]) == [cal[3], cal[10]]
    unbuffered = simulate(market, tg, FundConfig.frictionless(1e6)).trades
    assert list(unbuffered["date"]) == [cal[3], cal[6], cal[10]]


def test_in_place_nan_to_num_equals_numpys():
    a = np.array([[1.5, np.nan, np.inf], [-np.inf, -0.0, 3e300]])
    expected = np.nan_to_num(a.copy(), nan=0.0)
    sim_kernel.nan_to_num_inplace(a)
    np.testing.assert_array_equal(a, expected)
