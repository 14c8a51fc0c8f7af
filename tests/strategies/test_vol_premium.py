"""Volatility risk premium: signal functions against hand computations, the option books on a
hand-made market, and the strategies on the synthetic markets (crash losses, calm-year gains,
settlement at intrinsic value)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import (
    EquityIndexFuture,
    IndexOption,
    VIXFuture,
    instruments_table,
    is_option_id,
)
from backtest.market.market_data import SURFACE_COLUMNS, MarketData
from backtest.market.pricing import bs_greeks
from backtest.market.returns import exposure_returns, instrument_returns
from strategies.base import StrategyInputError, check_requirements
from strategies.vol_premium import (
    PutWrite,
    ShortStraddle,
    ShortVixFutures,
    VolatilityPremium,
    option_book_returns,
)
from strategies.vol_signals import (
    book_returns,
    book_returns_py,
    contango,
    curve_front_next,
    expanding_positive_mean,
    monthly_expiries,
    option_cycles,
    option_path_returns,
    option_paths,
    option_strike,
    short_vix_forecast,
    sleeve_vol_scale,
    vix_roll_yield,
)


# --------------------------------------------------------------------------- hand-made market
def _option_market(start="2024-01-02", end="2024-04-30", vol=0.2, skew=0.0) -> MarketData:
    """SPX wiggling around 4000, a flat 20% surface, 4% rates, 1.5% dividend yield, ES future."""
    cal = pd.bdate_range(start, end, name="date")
    k = np.arange(len(cal))
    spx = 4000.0 * (1.0 + 0.03 * np.sin(k / 7.0)) + 0.37 * k
    index = pd.DataFrame({"SPX": spx, "SPX_DY": 0.015, "VIX": 100 * vol}, index=cal)
    surface = pd.DataFrame({c: vol for c in SURFACE_COLUMNS[:5]}, index=cal)
    surface["skew"], surface["curvature"] = skew, 0.0
    es = pd.DataFrame({"ES": spx * 1.002}, index=cal)
    return MarketData(
        calendar=cal,
        instruments=instruments_table([EquityIndexFuture("ES", multiplier=50.0)]),
        prices=es,
        adjusted=es.copy(),
        index=index,
        vol_surface=surface,
        rates=pd.DataFrame({"USD": 0.04}, index=cal),
        fx=pd.DataFrame({"USD": 1.0}, index=cal),
        name="hand",
    )


def _vix_market(front, nxt, vix, front_expiry="2024-01-17", next_expiry="2024-02-14"):
    cal = pd.bdate_range("2024-01-02", periods=len(front), name="date")
    curve = pd.DataFrame(
        {
            "price": front,
            "price_contract": 20240117,
            "price_expiry": pd.Timestamp(front_expiry),
            "carry": nxt,
            "carry_contract": 20240214,
            "carry_expiry": pd.Timestamp(next_expiry),
        },
        index=cal,
    )
    curve["forward"], curve["forward_contract"] = curve["carry"], curve["carry_contract"]
    curve["forward_expiry"] = curve["carry_expiry"]
    prices = pd.DataFrame({"VX": front}, index=cal, dtype=float)
    return MarketData(
        calendar=cal,
        instruments=instruments_table([VIXFuture("VX", multiplier=1000.0)]),
        prices=prices,
        adjusted=prices.copy(),
        curves={"VX": curve},
        index=pd.DataFrame({"VIX": vix}, index=cal, dtype=float),
        rates=pd.DataFrame({"USD": 0.0}, index=cal),
        name="vix",
    )


# --------------------------------------------------------------------------- VIX signals
def test_roll_yield_of_a_two_contract_curve():
    # front 15, next 16, 28 days apart: (16 - 15) / 15 / (28 / 365.25) = 0.869642857...
    ry = vix_roll_yield(
        [15.0, 16.0, 15.0],
        [16.0, 15.0, 15.0],
        ["2024-01-17"] * 3,
        ["2024-02-14", "2024-02-14", "2024-01-17"],
    )
    assert ry[0] == pytest.approx(1.0 / 15.0 / (28.0 / 365.25), rel=1e-12)
    assert ry[0] == pytest.approx(0.8696428571428571, rel=1e-12)
    assert ry[1] == pytest.approx(-1.0 / 16.0 / (28.0 / 365.25), rel=1e-12)  # backwardation
    assert np.isnan(ry[2])  # zero gap
    assert contango([15.0, 16.0, np.nan], [16.0, 15.0, 15.0]).tolist() == [True, False, False]


def test_curve_front_next_orders_by_expiry():
    cal = pd.bdate_range("2024-01-02", periods=2)
    curve = pd.DataFrame(
        {
            "price": [16.0, 15.0],
            "price_expiry": pd.to_datetime(["2024-02-14", "2024-01-17"]),
            "carry": [15.0, 16.0],
            "carry_expiry": pd.to_datetime(["2024-01-17", "2024-02-14"]),
        },
        index=cal,
    )
    front, nxt, e0, e1 = curve_front_next(curve)
    assert front.tolist() == [15.0, 15.0] and nxt.tolist() == [16.0, 16.0]
    assert (e0 < e1).all()


def test_short_vix_forecast_by_hand():
    ry = np.array([0.5, 1.0, -0.2, 2.0, np.nan])
    vix = np.array([15.0, 25.0, 15.0, 40.0, 15.0])
    size = short_vix_forecast(ry, vix, vix_ref=20.0, roll_yield_ref=1.0, cap=1.0)
    np.testing.assert_allclose(size, [0.5, 0.8, 0.0, 0.5, 0.0], rtol=1e-15)
    size2 = short_vix_forecast(ry, vix, vix_ref=20.0, roll_yield_ref=1.0, cap=2.0)
    np.testing.assert_allclose(size2, [0.5, 0.8, 0.0, 1.0, 0.0], rtol=1e-15)
    ref = expanding_positive_mean(np.array([np.nan, 1.0, -1.0, 3.0, 2.0]), min_periods=2)
    np.testing.assert_allclose(ref, [np.nan, np.nan, np.nan, 2.0, 2.0])


def test_short_vix_forecast_on_hand_market():
    front = [15.0, 15.0, 18.0, 14.0, 15.0]
    nxt = [16.0, 17.0, 17.0, 16.0, 16.0]
    vix = [14.0, 14.0, 19.0, 30.0, 14.0]
    m = _vix_market(front, nxt, vix)
    s = ShortVixFutures(roll_yield_min_days=1, vix_ref=20.0)
    gap = 28.0 / 365.25
    ry = np.array([1 / 15, 2 / 15, -1 / 18, 2 / 14, 1 / 15]) / gap
    ref = np.array([ry[0], (ry[0] + ry[1]) / 2, (ry[0] + ry[1]) / 2, 0.0, 0.0])
    ref[3] = (ry[0] + ry[1] + ry[3]) / 3
    ref[4] = (ry[0] + ry[1] + ry[3] + ry[4]) / 4
    expected = np.minimum(1.0, ry / ref) * np.minimum(1.0, 20.0 / np.array(vix))
    expected[2] = 0.0  # backwardation
    np.testing.assert_allclose(s.forecast(m).to_numpy(), expected, rtol=1e-12)
    # without a spot VIX (real futures data) the VIX level is the front future's price
    no_index = m.replace(index=pd.DataFrame(index=m.calendar))
    front = curve_front_next(m.curves[s.traded_id(m)])[0]
    expected = np.minimum(1.0, ry / ref) * np.minimum(1.0, 20.0 / front)
    expected[2] = 0.0
    np.testing.assert_allclose(s.forecast(no_index).to_numpy(), expected, rtol=1e-12)
    assert s.approximated(m) is None and "front VIX future" in s.approximated(no_index)


# --------------------------------------------------------------------------- option cycle
@pytest.mark.parametrize(
    "month, expiry",
    [
        ("2024-03", "2024-03-15"),
        ("2008-03", "2008-03-20"),
        ("2019-04", "2019-04-18"),
        ("2026-06", "2026-06-18"),
        ("2024-12", "2024-12-20"),
    ],
)
def test_monthly_expiry_is_third_friday_or_previous_session(month, expiry):
    exp = monthly_expiries(month + "-01", month + "-01")
    assert pd.Timestamp(expiry) in exp
    assert len(exp) == 3  # the month and the two after it


def test_strike_rounding():
    np.testing.assert_array_equal(
        option_strike([4803.0, 4802.4, 4802.5, 4000.0], 1.0, 5.0), [4805.0, 4800.0, 4805.0, 4000.0]
    )
    assert option_strike(4000.0, 0.95, 5.0) == 3800.0
    assert option_strike(4013.0, 0.9, 25.0) == 3600.0  # 3611.7 -> 3600


def test_roll_dates_on_a_hand_made_calendar():
    # Weekdays of Jan-Mar 2024 without Fri 16 Feb (a pretend holiday): the Feb-16 put settles on
    # the last day before it and the next one is sold on the first day on/after it (Mon 19 Feb).
    cal = pd.bdate_range("2024-01-02", "2024-03-29").drop(pd.Timestamp("2024-02-16"))
    expiries = monthly_expiries(cal[0], cal[-1])
    tradable = np.ones(len(cal), dtype=bool)
    cyc = option_cycles(cal, expiries, tradable)
    sold = list(cal[cyc.sale_row].strftime("%Y-%m-%d"))
    assert sold == ["2024-01-19", "2024-02-19", "2024-03-15"]  # partial January cycle skipped
    assert list(cyc.expiry.strftime("%Y-%m-%d")) == ["2024-02-16", "2024-03-15", "2024-04-19"]
    assert list(cal[cyc.end_row[:2]].strftime("%Y-%m-%d")) == ["2024-02-19", "2024-03-15"]
    assert cyc.end_row[2] == len(cal)  # beyond the calendar
    tradable[cal.get_loc(pd.Timestamp("2024-02-19"))] = False
    cyc2 = option_cycles(cal, expiries, tradable)
    assert list(cal[cyc2.sale_row].strftime("%Y-%m-%d")) == ["2024-01-19", "2024-03-15"]


# --------------------------------------------------------------------------- sleeves
def test_book_returns_and_sleeve_vol_scale_by_hand():
    w = np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 0.0], [1.0, 0.0]])
    r = np.array([[0.5, 0.5], [0.1, 0.2], [0.3, np.nan], [0.4, 0.0]])
    np.testing.assert_allclose(book_returns(w, r), [np.nan, 0.1, 0.6, np.nan])
    p = np.r_[np.nan, np.tile([0.01, -0.01], 50)]
    scale = sleeve_vol_scale(p, 0.10, 30.0, warmup_days=10, max_scale=5.0)
    assert (scale[:10] == 0).all()
    np.testing.assert_allclose(scale[10:], 0.10 / (0.01 * np.sqrt(252)), rtol=1e-12)
    capped = sleeve_vol_scale(p, 0.10, 30.0, 10, max_scale=0.5)
    assert capped.max() == 0.5
    hold = np.zeros(len(p), dtype=bool)
    hold[[5, 20]] = True
    held = sleeve_vol_scale(p * np.r_[1.0, np.ones(20), 2 * np.ones(80)], 0.1, 30.0, 1, 9.0, hold)
    assert (held[:5] == 0).all() and np.ptp(held[5:20]) == 0 and np.ptp(held[20:]) == 0


# --------------------------------------------------------------------------- put writing
def test_put_write_book_on_hand_market():
    m = _option_market()
    pos = PutWrite().target_positions(m)
    spx = m.index["SPX"]
    sales = ["2024-01-19", "2024-02-16", "2024-03-15", "2024-04-19"]
    expiries = ["2024-02-16", "2024-03-15", "2024-04-19", "2024-05-17"]
    ids = [
        IndexOption("SPX", pd.Timestamp(e), float(np.floor(spx[s] / 5 + 0.5) * 5), False).id
        for s, e in zip(sales, expiries, strict=True)
    ]
    assert list(pos.columns) == ids
    assert pos.index.equals(m.calendar)
    assert (pos.loc[:"2024-01-18"] == 0).all().all()
    first = pos[ids[0]]
    assert (first.loc["2024-01-19":"2024-02-15"] == -1.0).all()
    assert (first.loc["2024-02-16":] == 0.0).all()
    assert pos.loc["2024-02-16", ids[1]] == -1.0  # rolled on the expiry date
    assert (pos.abs().sum(axis=1) <= 1.0).all()
    half = PutWrite(notional_fraction=0.5, moneyness=0.9).target_positions(m)
    assert half.min().min() == -0.5
    assert half.columns[0].endswith(f"-P-{np.floor(0.9 * spx['2024-01-19'] / 5 + 0.5) * 5:g}")


def test_batched_option_returns_equal_instrument_returns():
    m = _option_market(skew=-0.8)
    pos = PutWrite(moneyness=0.95).target_positions(m)
    fast = option_book_returns(m, pos)
    slow = instrument_returns(m, list(pos.columns))
    window = fast.notna()
    assert window.sum().iloc[:3].min() > 15  # the last one is cut by the calendar end
    np.testing.assert_allclose(
        fast[window].fillna(0), slow[window].fillna(0), rtol=1e-12, atol=1e-15
    )
    held = pos.ne(0).to_numpy()
    # every row a position held at the previous close can earn (lag included) is in the window
    assert window.to_numpy()[1:][held[:-1]].all()


def test_put_write_requirements():
    m = _option_market()
    with pytest.raises(StrategyInputError, match="vol_surface"):
        check_requirements(PutWrite(), m.replace(vol_surface=pd.DataFrame(index=m.calendar)))
    with pytest.raises(StrategyInputError, match="NDX"):
        PutWrite(underlying="NDX").target_positions(m)


# --------------------------------------------------------------------------- straddle
def test_straddle_legs_and_delta_hedge_on_hand_market():
    m = _option_market(skew=-0.5)
    unit = ShortStraddle().unit_book(m)
    legs = [c for c in unit.columns if c != "ES"]
    assert len(legs) == 8 and legs[0].split("-")[-1] == legs[1].split("-")[-1]  # same strike
    assert legs[0].count("-P-") == 1 and legs[1].count("-C-") == 1
    date = pd.Timestamp("2024-02-05")
    spot = m.index.at[date, "SPX"]
    hedge = 0.0
    for c in legs:
        e = unit.at[date, c]
        if e == 0:
            continue
        opt = IndexOption.from_id(c)
        tau = (opt.expiry - date).days / 365.0
        vol = m.implied_vol(opt.strike, opt.expiry, [date]).iloc[0]
        g = bs_greeks(spot, opt.strike, tau, 0.04, 0.015, vol, opt.is_call)
        hedge -= e * g.delta
        assert -1.0 <= e < 0
    assert unit.at[date, "ES"] == pytest.approx(hedge, rel=1e-12)
    assert unit.loc["2024-01-19", legs[:2]].tolist() == [-1.0, -1.0]  # fresh straddle: -1 a leg


# --------------------------------------------------------------------------- 5-year market
def test_sleeves_on_synthetic_5y(synthetic_5y):
    m = synthetic_5y
    vix = ShortVixFutures().target_positions(m)["VX"]
    front, nxt, *_ = curve_front_next(m.curves["VX"])
    assert (vix <= 0).all() and (vix < 0).mean() > 0.4
    assert (vix[~contango(front, nxt)] == 0).all()
    pw = PutWrite(vol_target_annual=0.10).target_positions(m)
    live = pw[pw.ne(0).any(axis=1)]
    assert (live.min(axis=1) >= -1.0).all() and (live.ne(0).sum(axis=1) == 1).all()
    for c in pw.columns:  # constant exposure within each cycle
        col = pw[c][pw[c] != 0]
        assert col.empty or np.ptp(col.to_numpy()) == 0
    blend = VolatilityPremium().target_positions(m)
    assert set(blend.columns) == {"VX"} | set(PutWrite().target_positions(m).columns)
    assert np.isfinite(blend.to_numpy()).all() and blend.abs().sum(axis=1).max() <= 4.0 + 1e-12
    late = blend.loc["2016":]
    assert (late["VX"] < 0).mean() > 0.4 and (late.drop(columns="VX") < 0).any(axis=1).mean() > 0.9


# --------------------------------------------------------------------------- 20-year market
@pytest.fixture(scope="module")
def returns_20y(synthetic_20y):
    m = synthetic_20y
    out = {}
    for name, s in {"short_vix": ShortVixFutures(), "put_write": PutWrite()}.items():
        pos = s.target_positions(m)
        ret = pd.concat(
            [
                instrument_returns(m, [c for c in pos.columns if c == "VX"]),
                option_book_returns(m, pos),
            ],
            axis=1,
        )[pos.columns]
        out[name] = (pos, exposure_returns(pos, m, returns=ret).loc["2006":])
    return out


def _calm_years(spx: pd.Series) -> list[int]:
    """Calendar years whose within-year SPX drawdown stays under 15%."""
    dd = spx.groupby(spx.index.year).apply(lambda s: (s / s.cummax() - 1).min())
    return [int(y) for y, d in dd.items() if d > -0.15]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["short_vix", "put_write"])
def test_vol_premium_earns_in_calm_years_and_loses_in_crashes(synthetic_20y, returns_20y, name):
    r = returns_20y[name][1]
    spx = synthetic_20y.index["SPX"].loc["2006":]
    calm = _calm_years(spx)
    assert 5 <= len(calm) <= 16
    assert r[r.index.year.isin(calm)].mean() > 0
    worst = (spx / spx.shift(1) - 1).nsmallest(20).index
    assert r.loc[worst].sum() < 0


@pytest.mark.slow
def test_put_write_expiries_are_sessions_and_settle_at_intrinsic(synthetic_20y, returns_20y):
    m = synthetic_20y
    pos = returns_20y["put_write"][0]
    opts = [IndexOption.from_id(c) for c in pos.columns]
    settled = [o for o in opts if o.expiry <= m.end]
    assert len(settled) >= 235 and len(opts) - len(settled) <= 1
    assert all(o.expiry in m.calendar for o in settled)
    for o in settled[::40]:
        level = m.index.at[o.expiry, "SPX"]
        value = m.option_price(o, [o.expiry]).iloc[0]
        assert value == max(o.strike - level, 0.0)
        assert pos.at[o.expiry, o.id] == 0 and pos[o.id].shift(1).at[o.expiry] == -1.0
    assert any(m.option_price(o, [o.expiry]).iloc[0] > 0 for o in settled)  # some expire ITM


@pytest.mark.slow
def test_straddle_is_hedged_and_near_target(synthetic_20y):
    m = synthetic_20y
    pos = ShortStraddle().target_positions(m)
    ret = pd.concat([option_book_returns(m, pos), instrument_returns(m, ["ES"])], axis=1)
    r = exposure_returns(pos, m, returns=ret[pos.columns]).loc["2006":]
    spx = (m.index["SPX"] / m.index["SPX"].shift(1) - 1).loc["2006":]
    assert abs(r.corr(spx)) < 0.3
    assert 0.06 < r.std() * np.sqrt(252) < 0.16


@pytest.mark.parametrize("strategy", [PutWrite(), ShortStraddle(), VolatilityPremium()])
def test_no_look_ahead_around_an_expiry(synthetic_5y, strategy):
    """Cut the day before, on and after an option expiry (where a roll could peek ahead)."""
    m = synthetic_5y
    full = strategy.target_positions(m)
    expiry = pd.Timestamp("2017-03-17")
    i = m.calendar.get_loc(expiry)
    for cut in m.calendar[i - 1 : i + 2]:
        part = strategy.target_positions(m.until(cut))
        extra = [c for c in part.columns if c not in full.columns]
        assert not extra
        pd.testing.assert_frame_equal(part, full.loc[:cut, part.columns], check_exact=True)
        assert (full.loc[:cut, full.columns.difference(part.columns)] == 0).all().all()
    assert (full.loc[expiry, [c for c in full.columns if "2017-03-17" in c]] == 0).all()


@pytest.mark.parametrize("seed", range(8))
def test_book_returns_kernel_equals_its_numpy_twin(seed):
    """Column-ordered books (the kernel) and row-ordered ones (numpy): the twin's bits, with
    missing and infinite values, signed zeros, books of one column and of none, and rows
    where the held positions earn exactly 0."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 60)), int(rng.integers(0, 300))
    w = rng.normal(size=(n, k)) * (rng.random((n, k)) < 0.3)
    w[rng.random((n, k)) < 0.05] = -0.0
    w[rng.random((n, k)) < 0.03] = np.nan
    w[rng.random((n, k)) < 0.01] = np.inf
    r = rng.normal(0, 0.01, (n, k))
    r[rng.random((n, k)) < 0.1] = 0.0
    r[rng.random((n, k)) < 0.1] = -0.0
    r[rng.random((n, k)) < 0.05] = np.nan
    r[rng.random((n, k)) < 0.01] = -np.inf
    for a, b in ((np.asfortranarray(w), np.asfortranarray(r)), (w, r)):  # the twin, as laid out
        with np.errstate(over="ignore", invalid="ignore"):
            got, want = book_returns(a, b), book_returns_py(a, b)
        assert np.array_equal(got.view(np.int64), want.view(np.int64))
    one, r1 = np.asfortranarray(w[:, :1]), np.asfortranarray(r[:, :1])
    with np.errstate(over="ignore", invalid="ignore"):
        got, want = book_returns(one, r1), book_returns_py(one, r1)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_book_returns_of_the_default_books_equal_the_twin(synthetic_20y):
    """The volatility premium's own books (frames' column-ordered arrays): the same bits."""
    m = synthetic_20y
    vp = VolatilityPremium()
    books = [leg.target_positions(m) for leg in vp.legs(m)[0].values()]
    blend = pd.concat(books, axis=1)
    returns = pd.concat(
        [instrument_returns(m, [c for c in blend if not is_option_id(c)]),
         option_book_returns(m, blend)], axis=1,
    )  # fmt: skip
    for book in (*books, blend):
        w, r = book.to_numpy(), returns[book.columns].to_numpy()
        assert w.flags.f_contiguous and r.flags.f_contiguous  # the kernel's path
        got, want = book_returns(w, r), book_returns_py(w, r)
        assert np.isfinite(got).sum() > 1000
        assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_option_path_returns_equal_the_paths_returns(synthetic_20y):
    """The returns-only path: the dense paths' returns to the bit, for the put book's own
    windows and for odd ones (first row 0, the last row, after expiry, calls and puts)."""
    m = synthetic_20y
    book = PutWrite().target_positions(m)
    opts = [IndexOption.from_id(c) for c in book.columns]
    held = book.to_numpy() != 0
    first = np.where(held.any(axis=0), held.argmax(axis=0), len(m.calendar) - 1)
    n = len(m.calendar)
    rng = np.random.default_rng(2)
    odd = np.r_[0, n - 1, rng.integers(0, n, len(opts) - 2)]
    calls = [IndexOption(o.root, o.expiry, o.strike, is_call=True) for o in opts[::7]]
    for options, rows in ((opts, first), (opts, odd), (calls, first[::7])):
        got = option_path_returns(m, options, rows)
        want = option_paths(m, options, rows).returns
        assert np.isfinite(got).sum() > 100
        assert np.array_equal(got.view(np.int64), want.view(np.int64))
    assert option_path_returns(m, [], []).shape == (n, 0)
