"""Derived option inputs and comparators of a futures-only market (backtest.market.proxies):
hand-worked curves, closed forms, and the real pysystemtrade sample when it is present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import EquityIndexFuture, instruments_table
from backtest.market.market_data import SURFACE_TENORS_YEARS, MarketData
from backtest.market.pricing import surface_vol
from backtest.market.proxies import (
    FuturesProxies,
    excess_return_level,
    futures_benchmarks,
    implied_carry_rate,
    index_from_future,
    surface_from_vix_curve,
    with_futures_proxies,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pysystemtrade"
CAL = pd.bdate_range("2020-01-06", periods=5, name="date")


def _curve(price, carry, price_expiry, carry_expiry, forward=None, forward_expiry=None):
    n = len(CAL)
    forward = [np.nan] * n if forward is None else forward
    forward_expiry = [carry_expiry[0]] * n if forward_expiry is None else forward_expiry
    frame = {
        "price": price,
        "price_contract": [1] * n,
        "price_expiry": pd.to_datetime(price_expiry),
        "carry": carry,
        "carry_contract": [2] * n,
        "carry_expiry": pd.to_datetime(carry_expiry),
        "forward": forward,
        "forward_contract": [3] * n,
        "forward_expiry": pd.to_datetime(forward_expiry),
    }
    return pd.DataFrame(frame, index=CAL)


def test_index_is_the_front_future_less_its_implied_carry_by_hand():
    # expiries 2020-03-15 and 2020-06-15: 92 days apart; carry quoted on rows 0, 1, 3
    price = [3000.0, 3010.0, 3020.0, 3030.0, 3040.0]
    carry = [3015.0, 3020.0, np.nan, 3060.0, np.nan]
    curve = _curve(price, carry, ["2020-03-15"] * 5, ["2020-06-15"] * 5)
    rate = implied_carry_rate(curve)  # median over 1 row: the plain carried-forward rate
    gap = 92 / 365
    hand = [np.log(3015 / 3000) / gap, np.log(3020 / 3010) / gap]
    hand += [hand[1], np.log(3060 / 3030) / gap, np.log(3060 / 3030) / gap]
    np.testing.assert_allclose(rate.to_numpy(), hand, rtol=1e-12)
    level = index_from_future(curve, median_days=1)
    tau = np.array([(pd.Timestamp("2020-03-15") - d).days / 365 for d in CAL])
    np.testing.assert_allclose(level.to_numpy(), np.array(price) * np.exp(-np.array(hand) * tau))
    # before any carry quote the rate is 0 and the level is the future's price
    none = _curve(price, [np.nan] * 5, ["2020-03-15"] * 5, ["2020-06-15"] * 5)
    np.testing.assert_array_equal(index_from_future(none).to_numpy(), price)
    # a day without a price keeps the last level; NaN before the first
    gaps = _curve([np.nan, 3000.0, np.nan, 3010.0, 3020.0], [np.nan] * 5,
                  ["2020-03-15"] * 5, ["2020-06-15"] * 5)  # fmt: skip
    np.testing.assert_array_equal(index_from_future(gaps).to_numpy(),
                                  [np.nan, 3000.0, 3000.0, 3010.0, 3020.0])  # fmt: skip


def test_carry_median_removes_a_one_day_stale_carry_quote():
    price = [3000.0] * 5
    carry = [3015.0, 3015.0, 2950.0, 3015.0, 3015.0]  # row 2: a stale carry quote
    curve = _curve(price, carry, ["2020-03-15"] * 5, ["2020-06-15"] * 5)
    steady = np.log(3015 / 3000) / (92 / 365)
    assert implied_carry_rate(curve, median_days=1).iloc[2] < 0
    np.testing.assert_allclose(implied_carry_rate(curve, median_days=3).iloc[2:], steady)
    # clipped to the bound
    assert implied_carry_rate(curve, bound=0.05, median_days=1).iloc[2] == -0.05


def test_vix_surface_atm_1m_is_the_front_future_over_100_by_construction():
    # the carry leg is the nearer contract (VIX CarryOffset -1), price the next, forward third
    curve = _curve(
        price=[20.0, 21.0, np.nan, 22.0, 23.0],
        carry=[18.0, np.nan, 17.0, 19.0, 21.0],
        price_expiry=["2020-02-15"] * 5,
        carry_expiry=["2020-01-15"] * 5,
        forward=[21.0, 22.0, 23.0, np.nan, 24.0],
        forward_expiry=["2020-03-15"] * 5,
    )
    surf = surface_from_vix_curve(curve, skew_level=0.18)
    np.testing.assert_allclose(surf["atm_1m"], [0.18, 0.21, 0.17, 0.19, 0.21])
    np.testing.assert_allclose(surf["atm_2m"], [0.20, 0.22, 0.23, 0.22, 0.23])
    np.testing.assert_allclose(surf["atm_3m"], [0.21, 0.22, 0.23, 0.22, 0.24])
    np.testing.assert_allclose(surf["atm_12m"], surf["atm_3m"])
    np.testing.assert_allclose(surf["skew"], -0.18 / surf["atm_1m"])
    assert (surf["curvature"] == 0).all()
    # through the project's surface model: ATM at one month is atm_1m; the smile is linear in
    # standardised log-moneyness with slope -skew_level (vol points per unit m)
    atm = surf[["atm_1m", "atm_2m", "atm_3m", "atm_6m", "atm_12m"]].to_numpy()
    tau = np.full(5, SURFACE_TENORS_YEARS[0])
    for k in (1.0, 0.9, 1.05):
        vol = surface_vol(atm, SURFACE_TENORS_YEARS, surf["skew"], 0.0, 100.0, 100.0 * k, tau)
        m = np.log(k) / np.sqrt(tau)
        np.testing.assert_allclose(vol, surf["atm_1m"] - 0.18 * m, rtol=1e-12)


def test_excess_return_level_and_equal_weight_basket_by_hand():
    r = pd.Series([np.nan, np.nan, 0.01, np.nan, -0.02], index=CAL)
    level = excess_return_level(r)
    np.testing.assert_allclose(level.to_numpy(), [np.nan, 100, 101, 101, 98.98])
    table = instruments_table([EquityIndexFuture("SP500"), EquityIndexFuture("NASDAQ")])
    prices = pd.DataFrame({"SP500": [100.0, 102, 101, 103, 104],
                           "NASDAQ": [np.nan, 50.0, 51, 50, 52]}, index=CAL)  # fmt: skip
    m = MarketData(CAL, table, prices, adjusted=prices.copy())
    bench = futures_benchmarks(m, FuturesProxies())
    assert list(bench.columns) == ["equity_index", "equity_futures", "future_NASDAQ"]
    r_sp = prices["SP500"].pct_change()
    r_nq = prices["NASDAQ"].pct_change()
    np.testing.assert_allclose(bench["equity_index"], 100 * (1 + r_sp.fillna(0)).cumprod())
    basket = pd.concat([r_sp, r_nq], axis=1).mean(axis=1)  # members quoted that day
    np.testing.assert_allclose(bench["equity_futures"], 100 * (1 + basket.fillna(0)).cumprod())
    assert np.isnan(bench["future_NASDAQ"].iloc[0]) and bench["future_NASDAQ"].iloc[1] == 100


def test_a_market_with_its_own_inputs_is_returned_unchanged():
    from backtest.synthetic import synthetic_market

    m = synthetic_market(seed=3, start="2020-01-02", end="2020-03-31")
    assert with_futures_proxies(m) is m and m.approximations == {}
    # the notes travel with cuts of the market and count in its equality
    noted = m.replace(approximations={"index.SPX": "from a future"})
    assert noted.until("2020-02-03").approximations == {"index.SPX": "from a future"}
    assert noted.between("2020-02-03", "2020-03-02").approximations == noted.approximations
    assert not noted.equals(m) and noted.equals(m.replace(approximations=noted.approximations))


# ------------------------------------------------------------------------------ real sample
@pytest.fixture(scope="module")
def real():
    if not DATA.is_dir():
        pytest.skip(f"pysystemtrade sample not found at {DATA}")
    from backtest.data.pysystemtrade import load_pysystemtrade

    return load_pysystemtrade(DATA)


@pytest.mark.realdata
def test_real_index_tracks_the_sp500_front_future(real):
    spx, fut = real.index["SPX"], real.prices["SP500"]
    assert fut.notna().sum() > 10_000 and spx[fut.notna()].notna().all()
    day = pd.Timestamp("2015-12-18")  # no SP500 price that day (an option expiry): carried
    assert np.isnan(fut[day]) and spx[day] == spx.shift(1)[day]
    assert (spx / fut - 1).abs().max() < 0.03  # carry over at most a quarter
    # daily moves: the future's back-adjusted return (no roll jumps) against the index's
    r_fut = real.adjusted["SP500"].diff() / fut.shift(1)
    r_spx = spx.pct_change()
    assert r_spx.corr(r_fut) > 0.9998
    assert (r_spx - r_fut).abs().quantile(0.99) < 0.002
    assert {"index.SPX", "vol_surface", "rates.USD", "benchmarks"} <= set(real.approximations)
    assert (real.rates["USD"] == 0).all()


@pytest.mark.realdata
def test_real_atm_1m_is_the_front_vix_future_over_100(real):
    vix = real.curves["VIX"]
    legs = ("price", "carry", "forward")
    values = np.column_stack([vix[leg].to_numpy(dtype="float64") for leg in legs])
    expiry = np.column_stack([vix[f"{leg}_expiry"].to_numpy(dtype="datetime64[ns]")
                              for leg in legs]).astype("int64").astype("float64")  # fmt: skip
    nearest = np.argmin(np.where(np.isfinite(values), expiry, np.inf), axis=1)
    ok = np.isfinite(values).any(axis=1)
    front = values[np.arange(len(values)), nearest]
    atm = real.vol_surface["atm_1m"].to_numpy()
    np.testing.assert_array_equal(atm[ok], front[ok] / 100)
    assert ok.sum() > 4000
    # a day without a quote keeps the last surface (2022-04-14, an option expiry)
    day = real.calendar.get_loc(pd.Timestamp("2022-04-14"))
    assert not ok[day] and atm[day] == atm[day - 1]


@pytest.mark.realdata
def test_derived_fields_use_no_later_data(real):
    """Deriving on the market cut at a date gives the derived fields of the whole market cut
    at that date (every rule is causal)."""
    empty = pd.DataFrame(index=real.calendar, dtype="float64")
    raw = real.replace(index=empty, vol_surface=empty, rates=empty, benchmarks=empty,
                       approximations={})  # fmt: skip
    whole = with_futures_proxies(raw)
    for day in ("2008-10-15", "2020-03-16"):
        cut = with_futures_proxies(raw.until(day))
        for name in ("index", "vol_surface", "rates"):
            pd.testing.assert_frame_equal(getattr(cut, name), getattr(whole.until(day), name))
        # comparators: a future with no price yet (EUROSTX, OAT in 2008) is not a column yet
        later = whole.until(day).benchmarks
        pd.testing.assert_frame_equal(cut.benchmarks, later[cut.benchmarks.columns])
        assert later.drop(columns=cut.benchmarks.columns).isna().all().all()
