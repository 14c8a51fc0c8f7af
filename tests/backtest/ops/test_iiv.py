"""Intraday Indicative Value: the Disclosed Portfolio, the IIV, session ticks, Brownian bridges.

The central identity: with intraday prices ending at the day's closes (and FX at its closes),
the IIV at the last tick equals the simulator's net assets / shares for that day.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import FlowSchedule, FundConfig
from backtest.engine.simulator import simulate
from backtest.market.calendar import next_session
from backtest.market.instruments import IndexOption
from backtest.ops.iiv import (
    HOLDINGS_COLUMNS,
    DisclosedPortfolio,
    iiv_per_share,
    session_ticks,
    simulate_intraday,
)
from backtest.synthetic.build import synthetic_market
from tests.conftest import monthly_puts

FUTURES = ["ES", "FESX", "ZN", "FGBL", "CL", "VX", "SR3"]
FORWARDS = ["FWD-EUR-1M", "FWD-JPY-1M", "FWD-AUD-1M"]


# ----------------------------------------------------------------------------- helpers
def _portfolio(rows, cash=10_000.0, other=100.0, liabilities=50.0, shares=1_000.0):
    h = pd.DataFrame(rows)
    for col, default in [("name", ""), ("book", "fund"), ("underlying", "")]:
        h[col] = h.get(col, default)
    h["underlying_price"] = h.get("underlying_price", h["price"])
    h["notional_usd"] = h["quantity"] * h["multiplier"] * h["underlying_price"] * h["fx"]
    net = cash + other - liabilities + h["market_value"].sum()
    h["pct_net_assets"] = h["market_value"] / net
    return DisclosedPortfolio(
        date=pd.Timestamp("2024-03-05"),
        as_of=pd.Timestamp("2024-03-04"),
        holdings=h[HOLDINGS_COLUMNS],
        cash_usd=cash,
        other_assets_usd=other,
        liabilities_usd=liabilities,
        shares_outstanding=shares,
        net_assets_usd=net,
    )


EQUITY = dict(instrument="AAA", kind="equity", quantity=100.0, multiplier=1.0, currency="USD",
              price=50.0, fx=1.0, market_value=5_000.0)  # fmt: skip
FUTURE = dict(instrument="FX1", kind="equity_index_future", quantity=2.0, multiplier=10.0,
              currency="EUR", price=200.0, fx=1.1, market_value=0.0)  # fmt: skip
TICKS = pd.DatetimeIndex(
    ["2024-03-05 09:30", "2024-03-05 09:30:15", "2024-03-05 09:30:30"], tz="America/New_York"
)


def closing_frames(result, market, portfolio, t):
    """One-tick price and FX frames at day ``t``'s closes (the kernel's own marks)."""
    ids = list(portfolio.holdings["instrument"])
    idx = pd.Index(result.inputs.ids).get_indexer(ids)
    tick = [market.calendar[t]]
    prices = pd.DataFrame([result.inputs.arrays["price"][t][idx]], index=tick, columns=ids)
    fx = pd.DataFrame([market.fx.iloc[t]], index=tick)
    return prices, fx


def nav_per_share(result, t):
    nav = result.nav
    return nav["net_assets"].iloc[t] / nav["shares_outstanding"].iloc[t]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=7, start="2018-01-02", end="2019-06-28")


@pytest.fixture(scope="module")
def quiet_run(market):
    """Equities, futures and puts decided once on day 5, then held (NaN targets): no trades
    after day 7, no flows, but interest and expenses accrue (default config)."""
    cal = market.calendar
    ids = FUTURES + market.ids(["equity"])[:15] + ["SPY"]
    rng = np.random.default_rng(5)
    tg = pd.DataFrame(np.nan, index=cal, columns=ids)
    tg.iloc[5] = rng.normal(0.0, 0.08, len(ids))
    expiry = cal[-1] + pd.offsets.BDay(10)
    put = IndexOption("SPX", expiry, 5 * round(market.index["SPX"].iloc[5] * 0.9 / 5), False)
    tg[put.id] = np.nan
    tg.iloc[5, -1] = -0.2
    return simulate(market, tg, FundConfig())


@pytest.fixture(scope="module")
def busy_targets(market):
    cal = market.calendar
    rng = np.random.default_rng(3)
    eq = market.ids(["equity"])[:20] + ["SPY"]
    weekly = np.r_[True, cal.day_of_week[1:] < cal.day_of_week[:-1]]
    tg = pd.DataFrame(np.nan, index=cal, columns=FUTURES + eq)
    tg.loc[weekly, FUTURES] = rng.normal(0.0, 0.1, (weekly.sum(), len(FUTURES)))
    tg.loc[weekly, eq] = rng.normal(0.0, 0.03, (weekly.sum(), len(eq)))  # longs and shorts
    return pd.concat([tg, monthly_puts(market)], axis=1)


BUSY_CONFIG = FundConfig(
    flows=FlowSchedule(ap_daily_prob=0.1, ap_in_kind_prob=0.4, ap_max_units=3, seed=4)
)


@pytest.fixture(scope="module")
def busy_run(market, busy_targets):
    """Weekly trades, rolls, dividends, shorts, expiring puts, cash and in-kind flows, costs."""
    result = simulate(market, busy_targets, BUSY_CONFIG)
    assert (result.flows["kind"] == "in_kind").any() and (result.flows["kind"] == "cash").any()
    return result


# ----------------------------------------------------------------------------- IIV by hand
def test_hand_example_two_holdings_three_ticks():
    port = _portfolio([EQUITY, FUTURE])
    prices = pd.DataFrame({"AAA": [50.0, 51.0, 49.0], "FX1": [200.0, 205.0, 190.0]}, index=TICKS)
    fx = pd.DataFrame({"EUR": [1.1, 1.2, 1.0]}, index=TICKS)
    iiv = iiv_per_share(port, prices, fx)
    # constant 10,000 + 100 − 50 = 10,050; equity 100 × price; future 2 × 10 × (P − 200) × EUR
    expected = [
        (10_050 + 100 * 50.0 + 20 * 0.0 * 1.1) / 1_000,  # 15.05
        (10_050 + 100 * 51.0 + 20 * 5.0 * 1.2) / 1_000,  # 15.27
        (10_050 + 100 * 49.0 + 20 * -10.0 * 1.0) / 1_000,  # 14.75
    ]
    np.testing.assert_allclose(iiv.to_numpy(), [15.05, 15.27, 14.75], rtol=1e-14)
    np.testing.assert_allclose(iiv.to_numpy(), expected, rtol=1e-14)
    assert iiv.index.equals(TICKS) and iiv.name == "iiv_per_share"
    assert port.net_assets_usd / port.shares_outstanding == pytest.approx(iiv.iloc[0])


def test_forward_moves_with_its_currency_spot_not_with_a_price_column():
    fwd = dict(instrument="FWD-EUR-1M", kind="currency_forward", quantity=10_000.0,
               multiplier=1.0, currency="USD", price=1.102, fx=1.0, market_value=300.0,
               underlying="EUR", underlying_price=1.1)  # fmt: skip
    port = _portfolio([fwd], cash=0.0, other=0.0, liabilities=0.0, shares=10.0)
    prices = pd.DataFrame({"FWD-EUR-1M": [9.0, 9.0, 9.0]}, index=TICKS)  # ignored
    fx = pd.DataFrame({"EUR": [1.1, 1.2, 1.0]}, index=TICKS)
    iiv = iiv_per_share(port, prices, fx)
    np.testing.assert_allclose(iiv.to_numpy(), [30.0, 130.0, -70.0], rtol=1e-12)
    # no FX given: the spot stays at its last close
    assert iiv_per_share(port, prices).tolist() == pytest.approx([30.0] * 3)


def test_missing_prices_are_forward_filled_from_the_last_close():
    port = _portfolio([EQUITY, FUTURE])
    # AAA: NaN first (last close 50), then 52, then NaN (stays 52); FX1 absent: last settle
    prices = pd.DataFrame({"AAA": [np.nan, 52.0, np.nan], "ZZZ": [1.0, 2.0, 3.0]}, index=TICKS)
    fx = pd.DataFrame({"EUR": [np.nan, np.nan, 2.0]}, index=TICKS)
    iiv = iiv_per_share(port, prices, fx)
    np.testing.assert_allclose(iiv.to_numpy(), [15.05, 15.25, 15.25], rtol=1e-14)
    prices["FX1"] = [np.nan, np.nan, 201.0]  # EUR at 2.0 on the last tick
    iiv = iiv_per_share(port, prices, fx)
    np.testing.assert_allclose(iiv.to_numpy()[-1], (10_050 + 5_200 + 20 * 1.0 * 2.0) / 1_000)
    # no FX frame at all: every currency at its last close
    iiv = iiv_per_share(port, prices, None)
    np.testing.assert_allclose(iiv.to_numpy()[-1], (10_050 + 5_200 + 20 * 1.0 * 1.1) / 1_000)


def test_inputs_not_mutated_and_fx_index_must_match():
    port = _portfolio([EQUITY, FUTURE])
    prices = pd.DataFrame({"AAA": [np.nan, 52.0, np.nan]}, index=TICKS)
    fx = pd.DataFrame({"EUR": [np.nan, 1.0, np.nan]}, index=TICKS)
    before = (prices.copy(), fx.copy(), port.holdings.copy())
    iiv_per_share(port, prices, fx)
    pd.testing.assert_frame_equal(prices, before[0])
    pd.testing.assert_frame_equal(fx, before[1])
    pd.testing.assert_frame_equal(port.holdings, before[2])
    with pytest.raises(ValueError, match="same tick index"):
        iiv_per_share(port, prices, fx.iloc[:2])


# ----------------------------------------------------------------------------- identity with NAV
def test_iiv_at_the_close_equals_nav_on_quiet_days_including_the_days_accruals(market, quiet_run):
    result = quiet_run
    nav = result.nav
    quiet = [t for t in range(10, len(market.calendar)) if nav["flow_value"].iloc[t] == 0]
    assert not np.any(result.outputs.trade_qty[quiet[0] - 1 :])  # no trades booked on these days
    for t in quiet[::25]:
        day = market.calendar[t]
        port = DisclosedPortfolio.from_result(result, market, day)
        assert set(port.holdings["kind"]) >= {"equity", "equity_index_future", "index_option"}
        ticks = session_ticks(day)
        closes, fx_close = closing_frames(result, market, port, t)
        prev, _ = closing_frames(result, market, port, t - 1)
        path = simulate_intraday(prev.iloc[0], closes.iloc[0], ticks, 0.25, seed=t)
        fx_path = simulate_intraday(market.fx.iloc[t - 1], fx_close.iloc[0], ticks, 0.1, seed=t)
        iiv = iiv_per_share(port, path, fx_path)
        assert iiv.iloc[-1] == pytest.approx(nav_per_share(result, t), rel=1e-9, abs=0)
        assert iiv.std() > 0  # the path moved during the session
        # the day's accruals are part of the identity: without them it fails
        accrual = (nav["interest"].iloc[t] - nav["expenses"].iloc[t]) / port.shares_outstanding
        assert accrual != 0
        assert iiv.iloc[-1] - accrual != pytest.approx(nav_per_share(result, t), rel=1e-9, abs=0)


def test_iiv_equals_nav_every_day_with_trades_flows_costs_rolls_and_expiries(market, busy_run):
    result = busy_run
    nav = result.nav
    ids = pd.Index(result.inputs.ids)
    expiry_idx = result.inputs.arrays["expiry_idx"]
    for t in range(1, len(market.calendar)):
        port = DisclosedPortfolio.from_result(result, market, market.calendar[t])
        prices, fx = closing_frames(result, market, port, t)
        iiv = iiv_per_share(port, prices, fx)
        assert iiv.iloc[-1] == pytest.approx(nav_per_share(result, t), rel=1e-9, abs=0)
        assert port.shares_outstanding == nav["shares_outstanding"].iloc[t]
        # opening quantities are the day's booked holdings, plus puts that settle at its close
        q_open = np.zeros(len(ids))
        q_open[ids.get_indexer(port.holdings["instrument"])] = port.holdings["quantity"]
        differs = np.flatnonzero(q_open != result.quantities.iloc[t].to_numpy())
        assert all(expiry_idx[j] == t for j in differs)
        # the accruals known at the open are the ones the kernel books that day
        accrued = nav["accrued_interest"].iloc[t - 1] + nav["interest"].iloc[t]
        assert port.other_assets_usd >= accrued * (1 - 1e-12)
        expenses = nav["accrued_expenses"].iloc[t - 1] + nav["expenses"].iloc[t]
        assert port.liabilities_usd >= expenses * (1 - 1e-12)
        if not result.inputs.arrays["div"][t].any():
            assert port.other_assets_usd == pytest.approx(accrued, rel=1e-12)
    assert result.nav["costs"].sum() > 0 and (result.nav["interest"] > 0).any()


def test_forwards_are_approximate_within_the_documented_error(market):
    cal = market.calendar
    rng = np.random.default_rng(1)
    weekly = np.r_[True, cal.day_of_week[1:] < cal.day_of_week[:-1]]
    tg = pd.DataFrame(np.nan, index=cal, columns=FORWARDS + ["ES"])
    tg.loc[weekly] = rng.normal(0.0, 0.3, (weekly.sum(), len(FORWARDS) + 1))
    result = simulate(market, tg, FundConfig())
    errors = []
    for t in range(1, len(cal)):
        port = DisclosedPortfolio.from_result(result, market, cal[t])
        prices, fx = closing_frames(result, market, port, t)
        errors.append(iiv_per_share(port, prices, fx).iloc[-1] / nav_per_share(result, t) - 1)
    errors = np.abs(errors)
    # forward notional up to ~1× net assets: the undiscounted delta and the day's rate moves
    # cost a few 1e-5 of NAV at worst (under a cent per $25 share); the carry is included
    assert errors.max() < 1.5e-4
    assert np.median(errors) < 2e-5


def test_portfolio_for_the_session_after_the_run_is_known_at_the_close(market, busy_targets):
    """Truncation: the portfolio built from a run cut at D's close (the nightly job's case) is
    the one the full run discloses for the next session, on a day without a roll at D's close
    (whose costs are booked with the next day's row) and without dividends going ex."""
    cal = market.calendar
    full = simulate(market, busy_targets, BUSY_CONFIG)
    arrays = full.inputs.arrays
    checked = 0
    for t in (60, 150, 250, 330):
        if arrays["rolled"][t].any() or (arrays["div"][t] != 0).any():
            continue
        cut = market.until(cal[t - 1])
        run = simulate(cut, busy_targets.loc[: cal[t - 1]], BUSY_CONFIG)
        assert next_session(cut.calendar) == cal[t]
        a = DisclosedPortfolio.from_result(run, cut, cal[t])
        b = DisclosedPortfolio.from_result(full, market, cal[t])
        pd.testing.assert_frame_equal(a.holdings, b.holdings)
        assert (a.cash_usd, a.other_assets_usd, a.liabilities_usd, a.shares_outstanding) == (
            b.cash_usd, b.other_assets_usd, b.liabilities_usd, b.shares_outstanding)  # fmt: skip
        checked += 1
    assert checked >= 2


def test_holdings_table_and_records(market, busy_run):
    day = market.calendar[200]
    port = DisclosedPortfolio.from_result(busy_run, market, day)
    h = port.holdings
    assert list(h.columns) == HOLDINGS_COLUMNS
    assert port.as_of == market.calendar[199]
    assert (h["quantity"] != 0).all() and set(h["book"]) <= {"fund", "subsidiary"}
    assert (h.loc[h["kind"].str.endswith("future"), "market_value"] == 0).all()
    assert h.loc[h["instrument"] == "VX", "book"].tolist() in ([], ["subsidiary"])
    total = port.cash_usd + port.other_assets_usd - port.liabilities_usd + h["market_value"].sum()
    assert port.net_assets_usd == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(h["pct_net_assets"], h["market_value"] / port.net_assets_usd)
    records = port.to_records()
    assert len(records) == len(h) and records[0]["date"] == f"{day:%Y-%m-%d}"
    json.dumps(records)  # JSON-ready scalars


def test_from_result_rejects_dates_without_a_previous_close(market, quiet_run):
    with pytest.raises(ValueError, match="first day"):
        DisclosedPortfolio.from_result(quiet_run, market, market.calendar[0])
    with pytest.raises(ValueError, match="neither"):
        DisclosedPortfolio.from_result(quiet_run, market, market.calendar[-1] + pd.Timedelta("30D"))


# ----------------------------------------------------------------------------- session ticks
def test_session_ticks_normal_day_and_early_close():
    ticks = session_ticks("2023-11-22")
    assert len(ticks) == 6.5 * 240 + 1 == 1561
    assert str(ticks.tz) == "America/New_York"
    assert (ticks[0].hour, ticks[0].minute) == (9, 30) and (ticks[-1].hour, ticks[-1].minute) == (
        16, 0)  # fmt: skip
    assert (np.diff(ticks.asi8) == 15 * 10**9).all()
    early = session_ticks("2023-11-24")  # day after Thanksgiving: closes at 13:00
    assert len(early) == 3.5 * 240 + 1 and early[-1].hour == 13
    assert len(session_ticks("2023-11-22", freq="1min")) == 391
    assert session_ticks("2023-11-22", freq="7min")[-1] == ticks[-1]  # close appended
    with pytest.raises(ValueError, match="not an NYSE trading session"):
        session_ticks("2023-11-23")  # Thanksgiving


# ----------------------------------------------------------------------------- Brownian bridge
def test_bridge_endpoints_exact_and_deterministic():
    ticks = session_ticks("2024-03-05")
    prev = pd.Series({"A": 100.0, "B": 0.37, "C": 4_812.25})
    close = pd.Series({"C": 4_790.5, "A": 103.1, "B": 0.41})
    vol = pd.Series({"A": 0.2, "B": 0.8, "C": 0.15})
    path = simulate_intraday(prev, close, ticks, vol, seed=42)
    assert path.shape == (1561, 3) and path.index.equals(ticks)
    assert (path.iloc[0] == prev).all() and (path.iloc[-1] == close.reindex(prev.index)).all()
    pd.testing.assert_frame_equal(path, simulate_intraday(prev, close, ticks, vol, seed=42))
    other = simulate_intraday(prev, close, ticks, vol, seed=43)
    assert not np.allclose(path.iloc[1:-1], other.iloc[1:-1])
    flat = simulate_intraday(prev, close, ticks, 0.0, seed=42)  # no noise: geometric line
    s = np.linspace(0.0, 1.0, len(ticks))
    np.testing.assert_allclose(flat["A"], 100.0 * (103.1 / 100.0) ** s, rtol=1e-12)


def test_bridge_variance_is_sigma_squared_t_one_minus_t():
    ticks = session_ticks("2024-03-05", freq="390s")  # 60 equal steps over the session
    n = 20_000
    ids = [f"P{i}" for i in range(n)]
    prev = pd.Series(100.0, index=ids)
    close = pd.Series(110.0, index=ids)
    vol = 0.3
    path = simulate_intraday(prev, close, ticks, vol, seed=7)
    sigma2_day = vol**2 / 252
    for k, s in [(30, 0.5), (15, 0.25)]:  # tick 30 of 60 intervals: the midpoint
        log_p = np.log(path.iloc[k].to_numpy())
        drift = np.log(100.0) + s * np.log(1.1)
        assert abs(log_p.mean() - drift) < 4 * np.sqrt(sigma2_day * s * (1 - s) / n)
        # sample variance: relative standard error sqrt(2 / n) ≈ 1%; allow 5%
        assert log_p.var() == pytest.approx(sigma2_day * s * (1 - s), rel=0.05)


def test_bridge_nan_endpoint_gives_nan_column_and_rejects_non_positive():
    ticks = session_ticks("2024-03-05")[:5]
    path = simulate_intraday(pd.Series({"A": 1.0, "B": np.nan}), pd.Series({"A": 2.0, "B": 3.0}),
                             ticks, 0.2, seed=0)  # fmt: skip
    assert path["B"].isna().all() and path["A"].notna().all()
    with pytest.raises(ValueError, match="positive"):
        simulate_intraday(pd.Series({"A": 0.0}), pd.Series({"A": 2.0}), ticks, 0.2, seed=0)
    with pytest.raises(ValueError, match="same instruments"):
        simulate_intraday(pd.Series({"A": 1.0}), pd.Series({"B": 2.0}), ticks, 0.2, seed=0)


# ----------------------------------------------------------------------------- real sample
REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pysystemtrade"


@pytest.mark.realdata
@pytest.mark.skipif(not REAL.is_dir(), reason=f"pysystemtrade sample not found at {REAL}")
def test_iiv_equals_nav_with_puts_priced_on_the_real_samples_derived_inputs():
    """Put writing on the pysystemtrade sample (SPX and the surface derived from the SP500 and
    VIX futures) through the 2008 crash, with SP500 hedges: the Disclosed Portfolio at each
    day's closes is worth that day's NAV, expiries and settlements included."""
    from backtest.data.pysystemtrade import load_pysystemtrade
    from strategies.vol_premium import PutWrite

    market = load_pysystemtrade(REAL, instruments=["SP500", "VIX", "US10"]).between(
        "2008-06-02", "2009-01-30"
    )
    puts = PutWrite().target_positions(market)
    tg = pd.concat([puts, pd.DataFrame({"SP500": 0.3, "US10": -0.5}, index=market.calendar)],
                   axis=1)  # fmt: skip
    result = simulate(market, tg, BUSY_CONFIG)
    assert result.inputs.arrays["expiry_idx"].max() > 0  # puts settled inside the window
    for t in range(1, len(market.calendar)):
        port = DisclosedPortfolio.from_result(result, market, market.calendar[t])
        prices, fx = closing_frames(result, market, port, t)
        iiv = iiv_per_share(port, prices, fx)
        assert iiv.iloc[-1] == pytest.approx(nav_per_share(result, t), rel=1e-9, abs=0)
