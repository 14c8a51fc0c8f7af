"""Tests of the seeded synthetic market: determinism, prefix stability, economics, contracts, and
no look-ahead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backtest.market.calendar import xnys_calendar
from backtest.market.instruments import ISG_EXCHANGES, InstrumentKind
from backtest.market.market_data import (
    CURVE_COLUMNS,
    DATED_FIELDS,
    SURFACE_COLUMNS,
    SURFACE_TENORS_YEARS,
    MarketData,
)
from backtest.synthetic import build as synthetic_module
from backtest.synthetic import contracts as sc
from backtest.synthetic import models as sm
from backtest.synthetic import recursions as sr
from backtest.synthetic.build import SyntheticParams, UniverseParams, synthetic_market
from backtest.synthetic.params import ExpiryRule

BOND_ROOTS = ("ZT", "ZF", "ZN", "ZB", "FGBS", "FGBM", "FGBL", "R", "CGB")
COMMODITY_ROOTS = ("CL", "NG", "HO", "GC", "SI", "HG", "ZC", "ZS", "ZW", "LE")
G10 = ("EUR", "JPY", "GBP", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK")
REQUIRED_IDS = (
    "6E", "6J", "6B", "6A", "6C", "6S", "ES", "FESX", "ZT", "ZF", "ZN", "FGBL", "SR3", "FEI",
    "CL", "NG", "GC", "HG", "ZC", "ZS", "VX", "SPY", "TBILL-3M", "MMF",
)  # fmt: skip


@pytest.fixture(scope="module")
def market() -> MarketData:
    return synthetic_market()


@pytest.fixture(scope="module")
def spx_log_returns(market) -> pd.Series:
    return np.log(market.index["SPX"]).diff()


def _stock_ids(market: MarketData) -> list[str]:
    return market.ids([InstrumentKind.EQUITY])


# ----------------------------------------------------------------------------- determinism, shape
def test_same_seed_gives_an_equal_market_and_another_seed_does_not(market):
    assert synthetic_market(seed=7).equals(market)
    other = synthetic_market(seed=8)
    assert not other.equals(market)
    assert not np.allclose(other.index["SPX"], market.index["SPX"])
    assert not np.allclose(other.prices["CL"], market.prices["CL"])


def test_calendar_is_20_years_of_nyse_sessions(market):
    assert market.calendar.equals(xnys_calendar("2005-01-03", "2024-12-31"))
    assert 5000 < len(market.calendar) < 5060
    assert market.calendar[0] == pd.Timestamp("2005-01-03")
    assert market.calendar[-1] == pd.Timestamp("2024-12-31")


def test_every_frame_is_finite_float64_on_the_calendar(market):
    for name in DATED_FIELDS:
        frame = getattr(market, name)
        assert frame.shape[1] > 0, name
        assert frame.index.equals(market.calendar), name
        assert (frame.dtypes == "float64").all(), name
        values = frame.to_numpy()
        assert not np.isinf(values).any(), name
    for name in ("adjusted", "fx", "rates", "index", "vol_surface", "dividends", "benchmarks"):
        assert not getattr(market, name).isna().any().any(), name


def test_prices_are_positive_and_only_late_listings_have_gaps(market):
    prices = market.prices
    assert (prices.fillna(1.0) > 0).all().all()
    gaps = prices.columns[prices.isna().any()]
    assert set(gaps) <= set(_stock_ids(market))
    assert 5 <= len(gaps) <= 15
    for sid in gaps:  # missing only before listing, then a continuous history
        listed = prices[sid].notna().to_numpy()
        first = int(np.argmax(listed))
        assert first > 0 and listed[first:].all()
        assert (market.dividends[sid].iloc[:first] == 0.0).all()


def test_instrument_table_has_the_universe_and_realistic_metadata(market):
    table = market.instruments
    counts = table["kind"].value_counts()
    non_equity = len(table) - counts["equity"]
    assert 45 <= non_equity <= 55
    assert counts["equity"] == 120
    assert counts["currency_forward"] == 9
    assert {f"FWD-{c}-1M" for c in G10} <= set(table.index)
    assert set(REQUIRED_IDS) <= set(table.index)
    mult = table["multiplier"]
    assert mult["6E"] == 125_000 and mult["6J"] == 12_500_000 and mult["6B"] == 62_500
    assert mult["ES"] == 50 and mult["ZT"] == 2000 and mult["ZN"] == 1000 and mult["VX"] == 1000
    assert mult["SR3"] == 2500 and mult["CL"] == 1000 and mult["NG"] == 10_000
    assert table.loc["FGBL", "currency"] == "EUR" and table.loc["FGBL", "exchange"] == "EUREX"
    assert table.loc["VX", "exchange"] == "CFE" and table.loc["GC", "exchange"] == "COMEX"
    sub = table["kind"].isin(["commodity_future", "vix_future"])
    assert table.loc[sub, "subsidiary_only"].all() and not table.loc[~sub, "subsidiary_only"].any()
    listed = table[table["exchange"] != "OTC"]
    assert set(listed["exchange"]) <= ISG_EXCHANGES and table["isg_member"].all()
    assert set(market.curves) == set(market.adjusted.columns)
    futures = table.index[table["kind"].str.endswith("_future")]
    assert set(futures) == set(market.curves)


# ----------------------------------------------------------------------------- equity and vol
def test_spx_has_a_deep_drawdown_crash_days_and_realistic_vol(market, spx_log_returns):
    spx = market.index["SPX"]
    assert 1000 < spx.iloc[0] < 1400
    assert (spx / spx.cummax() - 1).min() < -0.25
    assert (spx_log_returns < -0.04).sum() >= 5
    realised = spx_log_returns.rolling(21).std() * np.sqrt(252)
    assert 0.14 < realised.mean() < 0.22
    dy = market.index["SPX_DY"]
    assert 0.015 < dy.mean() < 0.025 and dy.min() > 0.005 and dy.max() < 0.05
    total = market.benchmarks["equity_index"]
    assert total.iloc[0] == 100.0
    assert total.iloc[-1] / 100.0 > spx.iloc[-1] / spx.iloc[0]  # dividends add up


def test_vix_curve_is_in_contango_most_days_and_inverts_in_spikes(market):
    vx = market.curves["VX"]
    contango = vx["price"] < vx["carry"]
    assert 0.6 < contango.mean() < 0.9
    vix = market.index["VIX"]
    assert (~contango[vix > vix.quantile(0.95)]).mean() > 0.9  # backwardation in spikes
    assert 12 < vix.mean() < 26


def test_implied_vol_exceeds_subsequent_realised_vol_on_average(market, spx_log_returns):
    future_realised = (spx_log_returns.rolling(21).std() * np.sqrt(252)).shift(-21)
    gap = (market.vol_surface["atm_1m"] - future_realised).dropna()
    assert gap.mean() > 0.01
    assert np.allclose(market.vol_surface["atm_1m"] * 100.0, market.index["VIX"])


def test_surface_has_negative_skew_and_positive_curvature(market):
    surf = market.vol_surface
    assert list(surf.columns) == list(SURFACE_COLUMNS)
    assert (surf["skew"] < 0).all() and (surf["curvature"] > 0).all()
    tau = SURFACE_TENORS_YEARS[0]
    m = np.log(0.9) / np.sqrt(tau)  # 90% strike at the forward, 1 month
    put_vol = surf["atm_1m"] * (1 + surf["skew"] * m + surf["curvature"] * m * m)
    assert (put_vol > surf["atm_1m"]).mean() > 0.95
    assert (put_vol - surf["atm_1m"]).median() > 0.03  # several vol points


def test_market_implied_vol_is_the_documented_surface_model(market):
    for date in market.calendar[[100, 1500, 2600, 4000]]:
        expiry = date + pd.Timedelta(days=30)  # exactly the 1-month tenor: atm(tau) = atm_1m
        row = market.vol_surface.loc[date]
        fwd = market.index_forward(np.array([30 / 365]), [date])[0]
        for strike in (0.9 * fwd, fwd, 1.05 * fwd):
            m = np.log(strike / fwd) / np.sqrt(30 / 365)
            expected = row["atm_1m"] * (1 + row["skew"] * m + row["curvature"] * m * m)
            got = market.implied_vol(strike, expiry, [date]).iloc[0]
            assert got == pytest.approx(max(expected, 0.01), rel=1e-10)
        put = market.implied_vol(0.9 * fwd, expiry, [date]).iloc[0]
        assert put > market.implied_vol(fwd, expiry, [date]).iloc[0]


def test_crash_days_bring_vix_spikes_and_carry_crashes(market, spx_log_returns):
    crash = spx_log_returns < -0.04
    assert crash.sum() >= 5
    assert market.index["VIX"].diff()[crash].mean() > 0
    fx_ret = np.log(market.fx[list(G10)]).diff()
    diff = market.rates[list(G10)].sub(market.rates["USD"], axis=0)
    rank = diff.rank(axis=1)
    high = fx_ret.where(rank >= 7).mean(axis=1)
    low = fx_ret.where(rank <= 3).mean(axis=1)
    assert high[crash].mean() < low[crash].mean()
    assert spx_log_returns[crash].mean() < -0.04


def test_fx_vols_and_carry_premium(market):
    fx_ret = np.log(market.fx[list(G10)]).diff()
    vols = fx_ret.std() * np.sqrt(252)
    assert ((vols > 0.06) & (vols < 0.15)).all()
    assert (market.fx["USD"] == 1.0).all()
    diff = market.rates[list(G10)].sub(market.rates["USD"], axis=0).shift()
    rank = diff.rank(axis=1)
    weights = (rank >= 7).astype(float) - (rank <= 3).astype(float)
    carry = (weights * (fx_ret + diff / 252)).sum(axis=1) / 3
    assert carry.mean() > 0  # uncovered interest parity fails
    assert carry.skew() < 0  # ... and carry crashes


def test_rate_cycles(market):
    rates = market.rates
    assert list(rates.columns) == ["USD", *G10]
    assert (rates >= -0.0075 - 1e-12).all().all()
    usd = rates["USD"]
    assert usd.max() > 0.04 and usd.min() < 0.01
    assert rates["JPY"].mean() < 0.015 and rates["CHF"].mean() < rates["USD"].mean()
    assert rates["AUD"].mean() > usd.mean() and rates["NZD"].mean() > usd.mean()


# ----------------------------------------------------------------------------- futures
def test_curves_have_the_multiple_prices_shape_and_roll_before_expiry(market):
    dates = market.calendar.to_series()
    for root, curve in market.curves.items():
        assert list(curve.columns) == list(CURVE_COLUMNS)
        assert (curve["price_expiry"] > dates).all(), root
        assert (curve["carry_expiry"] > curve["price_expiry"]).all(), root
        for col in ("", "_contract", "_expiry"):
            assert curve[f"forward{col}"].equals(curve[f"carry{col}"]), root
        ids = curve["price_expiry"].dt.strftime("%Y%m%d").astype(int)
        assert (ids == curve["price_contract"]).all(), root
        assert curve["price_contract"].is_monotonic_increasing, root
        assert market.prices[root].equals(curve["price"]), root
        rolled = curve["price_contract"].diff().fillna(0) != 0
        assert (curve["price_contract"][rolled] == curve["carry_contract"].shift()[rolled]).all()


def test_held_contract_follows_the_futures_roll_schedule(market):
    from backtest.market import futures

    for root in ("ES", "VX", "CL", "ZN"):
        curve = market.curves[root]
        expiries = pd.DatetimeIndex(sorted(set(curve["price_expiry"]) | set(curve["carry_expiry"])))
        held = futures.roll_schedule(expiries, market.calendar, 5)
        assert (expiries[held.to_numpy()] == curve["price_expiry"].to_numpy()).all(), root


def test_adjusted_series_carries_the_held_contracts_pnl(market):
    for root, curve in market.curves.items():
        adj = market.adjusted[root]
        price = curve["price"]
        assert adj.iloc[0] == price.iloc[0]  # anchored at the start: extending never rewrites it
        rolled = curve["price_contract"] != curve["price_contract"].shift()
        prev = price.shift().where(~rolled, curve["forward"].shift())
        expected = (price - prev).iloc[1:]
        scale = price.abs().mean()
        assert np.allclose(adj.diff().iloc[1:], expected, rtol=0, atol=1e-9 * scale), root


def test_contract_prices_are_continuous_across_rolls(market):
    for root, curve in market.curves.items():
        step = market.adjusted[root].diff() / curve["price"].shift()
        rolled = curve["price_contract"] != curve["price_contract"].shift()
        on_roll = step[rolled].iloc[1:].abs().mean()
        assert on_roll < 3 * step[~rolled].abs().mean(), root


def test_bond_futures_earn_roll_down_and_follow_yields(market):
    for root in BOND_ROOTS:
        curve = market.curves[root]
        assert (curve["price"] - curve["carry"]).mean() > 0, root
    zn = market.prices["ZN"]
    assert np.corrcoef(np.diff(zn), np.diff(market.benchmarks["bond_index"]))[0, 1] > 0.5


def test_rate_futures_price_100_minus_the_expected_rate(market):
    for root, ccy in (("SR3", "USD"), ("FEI", "EUR"), ("SO3", "GBP")):
        implied = (100.0 - market.prices[root]) / 100.0
        rate = market.rates[ccy]
        assert (implied - rate).abs().mean() < 0.006, root
        assert np.corrcoef(implied, rate)[0, 1] > 0.9, root


def test_commodity_curves_switch_between_contango_and_backwardation(market):
    for root in COMMODITY_ROOTS:
        curve = market.curves[root]
        contango = (curve["price"] < curve["carry"]).mean()
        assert 0.01 < contango < 0.99, root


def test_currency_forwards_and_futures_obey_covered_interest_parity(market):
    usd = market.rates["USD"]
    for ccy in G10:
        expected = market.fx[ccy] * (1 + usd * 30 / 360) / (1 + market.rates[ccy] * 30 / 360)
        assert np.allclose(market.prices[f"FWD-{ccy}-1M"], expected, rtol=1e-14), ccy
    table = market.instruments
    for root in table.index[table["kind"] == "currency_future"]:
        curve = market.curves[root]
        ccy = {"6E": "EUR", "6J": "JPY", "6B": "GBP", "6A": "AUD", "6C": "CAD", "6S": "CHF",
               "6N": "NZD"}[root]  # fmt: skip
        days = (curve["price_expiry"] - market.calendar).dt.days
        expected = market.fx[ccy] * (1 + usd * days / 360) / (1 + market.rates[ccy] * days / 360)
        assert np.allclose(curve["price"], expected, rtol=1e-12), root


def test_equity_index_future_is_the_index_forward(market):
    curve = market.curves["ES"]
    tau = (curve["price_expiry"] - market.calendar).dt.days.to_numpy() / 365.0
    assert np.allclose(curve["price"], market.index_forward(tau, market.calendar), rtol=1e-12)
    assert np.allclose(market.prices["SPY"], market.index["SPX"] / 10.0)


def test_cash_instruments_accrue_the_usd_rate(market):
    tbill = market.prices["TBILL-3M"]
    days = market.calendar.to_series().diff().dt.days
    growth = 1 + market.rates["USD"].shift() * days / 360
    assert tbill.iloc[0] == 100.0
    assert np.allclose((tbill / tbill.shift()).iloc[1:], growth.iloc[1:], rtol=1e-13)
    assert (market.prices["MMF"] == 1.0).all()


# ----------------------------------------------------------------------------- stocks
def test_stock_universe(market, spx_log_returns):
    ids = _stock_ids(market)
    table = market.instruments.loc[ids]
    assert len(ids) >= 100 and table["industry"].nunique() >= 10
    assert 3 <= (table["liquidity"] == "illiquid").sum() <= 12
    divs = market.dividends[ids]
    assert (divs > 0).sum().sum() > 1000
    prices = market.prices[ids]
    start = prices.apply(lambda s: s.dropna().iloc[0])
    assert start.between(20, 200).all()
    per_stock = divs.where(divs > 0).stack().dropna()
    pre = (prices + divs).where(divs > 0).stack().dropna()
    assert (per_stock / pre).between(0, 0.0101).all()  # at most a 4%/yr quarterly payment
    payer = divs.columns[(divs > 0).any()][0]
    ex_days = np.flatnonzero(divs[payer].to_numpy() > 0)
    assert (np.diff(ex_days) == 63).all()
    ew = prices.pct_change(fill_method=None).mean(axis=1).iloc[1:]
    spx = market.index["SPX"].pct_change().iloc[1:]
    beta = np.cov(ew, spx)[0, 1] / spx.var()
    assert 0.7 < beta < 1.3


def test_benchmarks_bond_index_has_duration_and_low_equity_correlation(market, spx_log_returns):
    bond = np.log(market.benchmarks["bond_index"]).diff().iloc[1:]
    assert market.benchmarks["bond_index"].iloc[0] == 100.0
    assert 0.02 < bond.std() * np.sqrt(252) < 0.08
    assert np.corrcoef(bond, spx_log_returns.iloc[1:])[0, 1] < 0.2


# ----------------------------------------------------------------------------- no look-ahead
def test_until_contains_nothing_after_the_date(market):
    cut = pd.Timestamp("2012-06-15")
    past = market.until(cut)
    assert past.calendar.max() <= cut and len(past.calendar) == (market.calendar <= cut).sum()
    for name in DATED_FIELDS:
        frame = getattr(past, name)
        assert frame.index.max() <= cut, name
        assert frame.equals(getattr(market, name).loc[:cut]), name
    for root, curve in past.curves.items():
        assert curve.index.max() <= cut
        assert curve.equals(market.curves[root].loc[:cut]), root


def test_a_shorter_history_is_generated_from_its_own_start():
    short = synthetic_market(start="2024-01-02", end="2024-03-28", progress=True)
    assert short.calendar[0] == pd.Timestamp("2024-01-02") and len(short.calendar) < 70
    assert (short.curves["VX"]["price_expiry"] > short.calendar.to_series()).all()


def test_parameters_change_only_their_own_part():
    params = SyntheticParams(universe=UniverseParams(n_stocks=24, n_late_listings=2))
    window = dict(start="2015-01-02", end="2018-12-31")  # long enough to hold crash days
    small = synthetic_market(**window, params=params)
    base = synthetic_market(**window)
    assert len(small.ids([InstrumentKind.EQUITY])) == 24
    assert small.index.equals(base.index) and small.curves["CL"].equals(base.curves["CL"])
    assert (np.log(small.index["SPX"]).diff() < -0.04).any()
    no_crash = dataclasses.replace(
        params.regime, crashes_per_year_calm=0.0, crashes_per_year_crisis=0.0
    )
    calmer = dataclasses.replace(params, regime=no_crash)
    quiet = synthetic_market(**window, params=calmer)
    assert not quiet.index["SPX"].equals(small.index["SPX"])
    with pytest.raises(ValueError, match="at least 2 trading days"):
        synthetic_market(start="2024-12-25", end="2024-12-25")


# ----------------------------------------------------------------------------- prefix stability
def _regime(seed: int, n: int) -> np.ndarray:
    """The calm (0) / crisis (1) path ``synthetic_market(seed)`` draws (its first stage)."""
    streams = np.random.default_rng(seed).spawn(synthetic_module._N_STREAMS)
    return sm.simulate_drivers(streams[0], n, SyntheticParams().regime).regime


def _assert_prefix(long: MarketData, short: MarketData) -> None:
    """``long`` cut at ``short``'s end is ``short``, field by field (clear failure messages)."""
    cut = long.until(short.end)
    assert cut.calendar.equals(short.calendar)
    assert cut.instruments.equals(short.instruments)
    for name in DATED_FIELDS:
        assert getattr(cut, name).equals(getattr(short, name)), name
    assert set(cut.curves) == set(short.curves)
    for root, curve in short.curves.items():
        assert cut.curves[root].equals(curve), root
    assert cut.equals(short)


def test_a_longer_window_extends_a_shorter_one_from_inside_a_crisis(market):
    end1 = pd.Timestamp("2008-09-12")  # mid-crisis for seed 7 (checked below), a crash before
    crisis = _regime(7, len(market.calendar)) == 1
    i = int(market.calendar.searchsorted(end1))
    assert crisis[i - 20 : i + 20].all(), "pick an end1 inside one of seed 7's crises"
    _assert_prefix(market, synthetic_market(seed=7, end=end1))  # vs 2024-12-31


def test_a_longer_window_extends_a_shorter_one_ending_just_before_an_expiry():
    # ES March 2008 expires on Thursday 2008-03-20 (the 3rd Friday is Good Friday, an NYSE
    # holiday): the roll 5 sessions earlier falls on end1. Counting weekdays past end1 instead of
    # sessions would roll a day late in the short window only.
    start, end1, end2 = "2005-01-03", pd.Timestamp("2008-03-13"), "2008-06-30"
    long = synthetic_market(seed=3, start=start, end=end2)
    short = synthetic_market(seed=3, start=start, end=end1)
    _assert_prefix(long, short)
    es = short.curves["ES"]
    assert es["price_contract"].iloc[-1] != es["price_contract"].iloc[-2]  # rolls on end1
    assert (es["price_expiry"].iloc[-2] - end1).days <= 8
    assert (short.curves["VX"]["price_expiry"].iloc[-1] - end1).days <= 40
    # late listings after end1 are in the table already, with no price yet
    stocks = short.ids([InstrumentKind.EQUITY])
    unlisted = [s for s in stocks if short.prices[s].isna().all()]
    assert len(stocks) == 120 and len(unlisted) >= 1


@settings(max_examples=8, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    # ends up to 2030-11 (market.xnys_calendar builds its calendar to 2030-12-31 at least)
    st.dates(pd.Timestamp("2000-01-03").date(), pd.Timestamp("2028-09-01").date()),
    st.integers(2, 400),
    st.integers(1, 400),
)
@example(seed=0, start=pd.Timestamp("2030-03-01").date(), days1=255, extra=30)  # rolls past 2030
def test_prefix_stability_for_any_seed_start_and_ends(seed, start, days1, extra):
    start = pd.Timestamp(start)
    end1 = start + pd.Timedelta(days=days1)
    end2 = end1 + pd.Timedelta(days=extra)
    if len(xnys_calendar(start, end1)) < 2:
        return
    _assert_prefix(
        synthetic_market(seed=seed, start=start, end=end2),
        synthetic_market(seed=seed, start=start, end=end1),
    )


def test_held_contract_on_a_day_does_not_depend_on_the_calendar_end():
    cal = xnys_calendar("2007-01-02", "2009-12-31").to_numpy().astype("datetime64[D]")
    after = xnys_calendar("2010-01-01", "2012-12-31").to_numpy().astype("datetime64[D]")
    p = SyntheticParams()
    specs = (p.vol.vix_future, p.equity.indices[0].contract, p.rates.bond_futures[2].contract,
             p.commodity.specs[0].contract, p.fx.futures[0], p.rates.rate_futures[0])  # fmt: skip
    for spec in specs:
        expiries = sc.contract_expiries(spec.months, spec.rule, spec.day, 2007, 2012)
        full = sc.held_contracts(cal, expiries, 5, after)
        for i in range(1, len(cal) - 260):
            rest = np.concatenate([cal[i + 1 :], after])
            held = sc.held_contracts(cal[: i + 1], expiries, 5, rest)
            assert held[-1] == full[i], (spec.root, cal[i])


def test_the_path_is_defined_from_start_so_another_start_is_another_market(market):
    """Only the end is free: a window starting later is not a slice of a longer one, its path
    starts afresh (SPX at ``spx_start`` before its first day's return)."""
    later = synthetic_market(seed=7, start="2006-01-03", end="2006-12-29")
    assert not later.equals(market.between("2006-01-03", "2006-12-29"))
    assert later.index["SPX"].iloc[0] == pytest.approx(1200.0, rel=0.05)
    assert later.index["SPX"].iloc[0] != market.index["SPX"].loc["2006-01-03"]


# ----------------------------------------------------------------------------- building blocks
def test_compiled_kernels_agree_with_plain_python():
    rng = np.random.default_rng(0)
    n = 300
    regime = (rng.random(n) < 0.2).astype(np.int64)
    jumps = np.where(rng.random(n) < 0.02, -0.05, 0.0)
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    drift = np.full(n, 0.05)
    args = (regime, jumps, z1, z2, drift, 0.04, 5.0, np.array([0.02, 0.1]),
            np.array([0.4, 0.7]), np.array([-0.7, -0.8]), 1.0, 0.0036, 0.5, 1 / 252)  # fmt: skip
    for a, b in zip(sr.heston_paths(*args), sr.heston_paths_py(*args), strict=True):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-15)
    z = rng.standard_normal((n, 3))
    kappa = np.full((n, 3), 2.0)
    theta = np.where(regime[:, None] == 1, 0.0, 0.03) * np.ones((n, 3))
    sigma = np.full((n, 3), 0.01)
    x0 = np.array([0.02, 0.0, -0.01])
    compiled = sr.ou_paths(x0, kappa, theta, sigma, z, 1 / 252)
    assert np.allclose(compiled, sr.ou_paths_py(x0.copy(), kappa, theta, sigma, z, 1 / 252))


def test_contract_expiries_match_the_exchanges():
    es = sc.contract_expiries((3, 6, 9, 12), ExpiryRule.THIRD_FRIDAY, 1, 2024, 2024)
    assert list(sc.contract_ids(es)) == [20240315, 20240621, 20240920, 20241220]
    vx = sc.contract_expiries(tuple(range(1, 13)), ExpiryRule.VIX, 1, 2024, 2024)
    assert list(sc.contract_ids(vx[:3])) == [20240117, 20240214, 20240320]
    fx = sc.contract_expiries((3,), ExpiryRule.IMM_MONDAY, 1, 2024, 2024)
    assert list(sc.contract_ids(fx)) == [20240318]
    zn = sc.contract_expiries((3,), ExpiryRule.PRIOR_MONTH_END, 1, 2024, 2024)
    assert list(sc.contract_ids(zn)) == [20240229]


def test_bond_price_closed_form():
    assert sc.bond_price(0.06, 10.0, 0.06) == pytest.approx(100.0)
    assert sc.bond_price(0.06, 10.0, 0.0) == pytest.approx(160.0)
    assert sc.bond_price(0.06, 2.0, 0.07) < 100.0 < sc.bond_price(0.06, 2.0, 0.05)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(1.0, 100.0), min_size=3, max_size=30),
    st.lists(st.booleans(), min_size=3, max_size=30),
)
def test_panama_keeps_the_held_contracts_daily_changes(prices, rolls):
    n = min(len(prices), len(rolls))
    price = np.array(prices[:n])
    forward = price + 1.5
    held = np.cumsum(np.array(rolls[:n], dtype=int))
    adj = sc.panama(price, forward, held)
    assert adj[0] == price[0]
    for t in range(1, n):
        prev = price[t - 1] if held[t] == held[t - 1] else forward[t - 1]
        assert adj[t] - adj[t - 1] == pytest.approx(price[t] - prev, abs=1e-9)
