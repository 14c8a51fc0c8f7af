"""MarketData: slicing knows nothing after the cut; construction from plain prices; instruments."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import (
    Book,
    CommodityFuture,
    CurrencyForward,
    Equity,
    IndexOption,
    VIXFuture,
    instrument_from_row,
    instruments_table,
)
from backtest.market.market_data import DATED_FIELDS, MarketData
from backtest.market.pricing import bs_price


def test_until_contains_nothing_after_the_cut(synthetic_5y):
    market = synthetic_5y
    rng = np.random.default_rng(0)
    for cut in rng.choice(market.calendar[10:-10], 5, replace=False):
        cut = pd.Timestamp(cut)
        past = market.until(cut)
        assert past.calendar[-1] == cut
        for name in DATED_FIELDS:
            frame = getattr(past, name)
            assert frame.index.max() == cut, name
            pd.testing.assert_frame_equal(frame, getattr(market, name).loc[:cut])
        for root, curve in past.curves.items():
            assert curve.index.max() == cut, root
    # a non-trading cut keeps everything up to the previous session
    sat = pd.Timestamp("2016-03-05")
    assert market.until(sat).calendar[-1] == pd.Timestamp("2016-03-04")


def test_from_prices_takes_columns_as_usd_equities():
    dates = pd.bdate_range("2022-01-03", periods=5)
    prices = pd.DataFrame({"AAA": [1.0, 2, 3, 4, 5], "BBB": [5.0, 4, 3, 2, 1]}, index=dates)
    market = MarketData.from_prices(prices)
    assert list(market.instruments["kind"]) == ["equity", "equity"]
    assert list(market.instruments["currency"]) == ["USD", "USD"]
    assert market.calendar.equals(pd.DatetimeIndex(dates))
    np.testing.assert_array_equal(market.notional_per_unit_usd().to_numpy(), prices.to_numpy())
    assert market.until(dates[2]).prices.shape == (3, 2)


def test_calendar_mismatch_and_unknown_instruments_are_rejected():
    dates = pd.bdate_range("2022-01-03", periods=5)
    prices = pd.DataFrame({"AAA": 1.0}, index=dates)
    table = instruments_table([Equity("AAA", "Tech")])
    with pytest.raises(ValueError, match="fx index does not match"):
        MarketData(calendar=dates, instruments=table, prices=prices,
                   fx=pd.DataFrame({"USD": 1.0}, index=dates[:4]))  # fmt: skip
    with pytest.raises(ValueError, match="not defined in the table: \\['ZZZ'\\]"):
        MarketData(calendar=dates, instruments=table, prices=prices.assign(ZZZ=1.0))


def test_instrument_routing_and_table_round_trip():
    assert VIXFuture("VX").book is Book.SUBSIDIARY
    assert CommodityFuture("CL", multiplier=1000.0).book is Book.SUBSIDIARY
    assert Equity("AAA", "Tech").book is Book.FUND
    fwd = CurrencyForward("EUR")
    assert fwd.id == "FWD-EUR-1M" and fwd.root == "EUR" and fwd.currency == "USD"
    items = [VIXFuture("VX", multiplier=1000.0), fwd, Equity("AAA", "Tech", liquidity="illiquid")]
    table = instruments_table(items)
    assert [instrument_from_row(i, table.loc[i]) for i in table.index] == items


def test_option_id_dates_are_strftimes():
    """The id's date written from the expiry's fields is ``f"{expiry:%Y-%m-%d}"`` (and the
    strike as before) over the whole range of pandas' timestamps, times of day included."""
    days = pd.date_range("1677-09-22", "2262-04-11", freq="37D").append(
        pd.DatetimeIndex(["2024-03-15 16:30", "2000-02-29", "1999-12-31 23:59:59"])
    )
    for k, d in enumerate(days):
        strike = (4800.0, 4812.5, 0.25, 12345.0)[k % 4]
        opt = IndexOption("SPX", d, strike, is_call=bool(k % 2))
        text = f"{strike:g}" if float(strike).is_integer() else f"{strike}"
        assert opt.id == f"SPX-{d:%Y-%m-%d}-{'C' if k % 2 else 'P'}-{text}"


def test_option_ids_round_trip_and_reject_garbage():
    opt = IndexOption.from_id("SPX-2024-03-15-P-4800")
    assert (opt.root, opt.strike, opt.is_call) == ("SPX", 4800.0, False)
    assert opt.expiry == pd.Timestamp("2024-03-15") and opt.id == "SPX-2024-03-15-P-4800"
    with pytest.raises(ValueError, match="'SPX-March-P-4800' is not ROOT-YYYY-MM-DD"):
        IndexOption.from_id("SPX-March-P-4800")


def test_option_price_is_black_scholes_on_the_surface_then_intrinsic(synthetic_5y):
    market = synthetic_5y
    d = pd.Timestamp("2017-06-01")
    spot = market.index.at[d, "SPX"]
    expiry = pd.Timestamp("2017-06-30")
    strike = 5 * round(spot * 0.95 / 5)
    opt = IndexOption("SPX", expiry, strike, is_call=False)
    prices = market.option_price(opt)
    tau = (expiry - d).days / 365
    vol = market.implied_vol(strike, expiry, [d]).iloc[0]
    expected = bs_price(spot, strike, tau, market.rates.at[d, "USD"],
                        market.index.at[d, "SPX_DY"], vol, False)  # fmt: skip
    assert prices[d] == pytest.approx(expected, rel=1e-12)
    settle = market.index.at[expiry, "SPX"]
    assert prices[expiry] == max(strike - settle, 0.0)
    assert (prices[expiry:] == prices[expiry]).all()
    # negative skew: the 95% put has a higher implied vol than the at-the-money one
    atm = market.implied_vol(spot, expiry, [d]).iloc[0]
    assert vol > atm


def test_cached_results_equal_fresh_ones_and_never_cross_a_cut(synthetic_5y):
    import pickle

    from backtest.market.returns import instrument_returns

    market = dataclasses.replace(synthetic_5y)  # a fresh market: empty cache
    opt = "SPX-2018-06-15-P-2600"
    first = market.option_price(opt)
    by_dates = market.option_price(opt, market.calendar)  # the look-up path, not cached
    np.testing.assert_array_equal(first.to_numpy(), by_dates.to_numpy())
    first.iloc[:] = -1.0  # callers get a copy: the cache is not theirs to change
    np.testing.assert_array_equal(market.option_price(opt).to_numpy(), by_dates.to_numpy())
    ids = ["ES", "FWD-EUR-1M", "EQ001", "MMF", opt]
    full = instrument_returns(market, ids)
    cut = market.until("2017-03-31")
    # a cut market starts with nothing computed on more data: only the rows of option marks,
    # which read each row's own data (test_a_cut_keeps_the_option_marks_it_would_compute)
    assert {k[0] for k in cut._memo} <= {"option_price"}
    pd.testing.assert_frame_equal(instrument_returns(cut, ids), full.loc[:"2017-03-31"])
    assert pickle.loads(pickle.dumps(market))._memo == {}


@pytest.mark.parametrize("window", [("until", "2017-03-31"), ("between", "2016-06-17", None),
                                    ("between", "2016-01-04", "2018-02-28")])  # fmt: skip
def test_a_cut_keeps_the_option_marks_it_would_compute(synthetic_5y, window):
    """Marks carried into a cut equal the marks the cut computes on its own, to the last bit:
    options expiring before the cut (not carried), on its first day, inside, after its end and
    after the market's end."""
    market = dataclasses.replace(synthetic_5y)
    cal = market.calendar
    how, a, *b = window
    cut_of = (lambda m: m.until(a)) if how == "until" else (
        lambda m: m.between(a, b[0] or m.end))  # fmt: skip
    fresh_cut = cut_of(dataclasses.replace(synthetic_5y))
    expiries = [cal[10], fresh_cut.start, cal[cal.searchsorted(fresh_cut.start) + 40],
                fresh_cut.end, cal[-1], cal[-1] + pd.Timedelta(days=90)]  # fmt: skip
    opts = [IndexOption("SPX", e, k, call).id for e in expiries
            for k, call in ((2000.0, False), (2400.0, True))]  # fmt: skip
    market.price_options(opts)
    cut = cut_of(market)
    carried = {k[1] for k in cut._memo}
    assert carried == {o for o in opts if IndexOption.from_id(o).expiry >= cut.start}
    # the ones expiring before a cut that starts later are recomputed
    assert (len(carried) < len(set(opts))) == (cut.start > market.start)
    for o in opts:
        np.testing.assert_array_equal(cut.option_price(o).to_numpy(),
                                      fresh_cut.option_price(o).to_numpy())  # fmt: skip
        pd.testing.assert_index_equal(cut.option_price(o).index, cut.calendar)


def test_options_priced_together_equal_each_priced_alone(synthetic_5y):
    """The vectorised batch (:meth:`MarketData.price_options`) is the same arithmetic, element
    by element: equal to the last bit, for calls and puts, live, expired and expiring later."""
    ids = ["SPX-2018-06-15-P-2600", "SPX-2016-01-15-C-2000", "SPX-2014-12-19-P-1900",
           "SPX-2021-03-19-P-3000", "SPX-2019-12-20-C-3100"]  # fmt: skip
    alone = {i: synthetic_5y.option_price(i, synthetic_5y.calendar).to_numpy() for i in ids}
    market = dataclasses.replace(synthetic_5y)
    market.price_options(ids, chunk=2)
    for i in ids:
        np.testing.assert_array_equal(market.option_price(i).to_numpy(), alone[i])
    table = market.option_prices([*ids, IndexOption.from_id(ids[0])])  # an id or an option
    assert list(table.columns) == [*ids, ids[0]]
    for j, i in enumerate(table.columns):
        np.testing.assert_array_equal(table.iloc[:, j].to_numpy(), alone[i])
    pd.testing.assert_index_equal(table.index, market.calendar)
    assert market.option_prices([]).shape == (len(market.calendar), 0)
