"""The kernel's inputs: the one-pass column fill against pandas, the shared-memory fast path
(``under`` is ``price`` when nothing needs an underlying of its own) against the general path,
read-only and constant arrays, and the passes the kernel skips (rows without targets, bookings
after days without orders) on a day that still trades."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine import kernel as sim_kernel
from backtest.engine.config import Flow, FlowSchedule, FundConfig
from backtest.engine.dense import DenseOutputs
from backtest.engine.fill import ffill_columns_into, finite_rows, first_infinite
from backtest.engine.futures import ffill as _ffill
from backtest.engine.simulator import flow_schedule, prepare_inputs, simulate
from backtest.market.instruments import IndexOption
from backtest.market.market_data import MarketData

BIG = np.finfo(np.float64).max


def gappy_table() -> pd.DataFrame:
    """6 days × 4 columns: leading NaN, gaps, ±inf (a value, carried forward), -0.0."""
    nan, inf = np.nan, np.inf
    return pd.DataFrame(
        [[nan, 1.5, -0.0, nan],
         [2.0, nan, nan, nan],
         [nan, inf, 3.0, nan],
         [nan, nan, nan, -inf],
         [4.0, 7.0, nan, nan],
         [nan, nan, -1.0, 5.0]]
    )  # fmt: skip


@pytest.mark.parametrize("order", ["C", "F"])
def test_one_pass_fill_equals_pandas_ffill_then_nan_to_num_bit_for_bit(order):
    table = gappy_table()
    src = np.asarray(table.to_numpy(), order=order)
    src_cols = np.array([3, 0, 1, 2], dtype=np.int64)  # permuted, into scattered columns
    dst_cols = np.array([4, 0, 2, 5], dtype=np.int64)
    dst = np.full((6, 7), 9.0)
    ffill_columns_into(src, src_cols, dst, dst_cols)
    expected = np.nan_to_num(table.ffill().to_numpy()[:, src_cols], nan=0.0)
    np.testing.assert_array_equal(dst[:, dst_cols], expected)
    np.testing.assert_array_equal(np.signbit(dst[:, dst_cols]), np.signbit(expected))  # -0.0
    assert (dst[:, [1, 3, 6]] == 9.0).all()  # other columns untouched
    # by hand: column 1 carries +inf (→ +max) over its gap; column 3 is 0 until its -inf
    np.testing.assert_array_equal(dst[:, 2], [1.5, 1.5, BIG, BIG, 7.0, 7.0])
    np.testing.assert_array_equal(dst[:, 4], [0.0, 0.0, 0.0, -BIG, -BIG, 5.0])
    # and the plain-Python twin
    twin = np.full((6, 7), 9.0)
    ffill_columns_into.py_func(src, src_cols, twin, dst_cols)
    np.testing.assert_array_equal(twin, dst)


@pytest.mark.parametrize("order", ["C", "F"])
def test_target_scans_equal_numpys(order):
    """The first ±inf (row-major) and the rows holding a finite value, against numpy."""
    rng = np.random.default_rng(5)
    values = np.where(rng.random((40, 7)) < 0.7, np.nan, rng.normal(size=(40, 7)))
    values[5] = np.nan  # a row without a decision
    values = np.asarray(values, order=order)
    for f in (finite_rows, finite_rows.py_func):
        np.testing.assert_array_equal(f(values), np.isfinite(values).any(axis=1))
    assert not finite_rows(values)[5]
    for f in (first_infinite, first_infinite.py_func):
        assert f(values) == -1
    values[30, 2], values[12, 6], values[12, 1] = np.inf, -np.inf, np.inf
    expected = np.ravel_multi_index(tuple(np.argwhere(np.isinf(values))[0]), values.shape)
    assert expected == 12 * 7 + 1
    for f in (first_infinite, first_infinite.py_func):
        assert f(values) == expected
    np.testing.assert_array_equal(finite_rows(values), np.isfinite(values).any(axis=1))
    assert not finite_rows(np.full((2, 3), np.inf)).any()  # infinities decide nothing


def test_security_prices_are_the_forward_filled_table_with_leading_gaps_at_zero():
    rng = np.random.default_rng(2)
    dates = pd.bdate_range("2021-01-04", periods=60)
    values = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 4)), axis=0))
    values[:10, 1] = np.nan  # listed late
    values[20:25, 2] = np.nan  # a suspension
    prices = pd.DataFrame(values, index=dates, columns=["A", "B", "C", "D"])
    market = MarketData.from_prices(prices)
    targets = pd.DataFrame(0.2, index=dates, columns=["D", "B", "C"])  # a subset, reordered
    arrays = prepare_inputs(market, targets, FundConfig.frictionless(1e6)).arrays
    expected = prices[["D", "B", "C"]].ffill().fillna(0.0).to_numpy()
    np.testing.assert_array_equal(arrays["price"], expected)
    assert arrays["price"][:10, 1].sum() == 0.0 and arrays["price"][22, 2] == values[19, 2]


@pytest.fixture(scope="module")
def two_paths(synthetic_5y):
    """One problem through both paths: equities and futures alone (``under`` is ``price``), and
    the same plus an option column that is never traded (``under`` an array of its own)."""
    market = synthetic_5y
    cal = market.calendar
    ids = market.ids(["equity"])[:8] + market.ids(["equity_index_future", "bond_future"])[:4]
    rng = np.random.default_rng(4)
    months = np.r_[True, cal.month[1:] != cal.month[:-1]]
    targets = pd.DataFrame(np.nan, index=cal, columns=ids)
    targets.loc[months] = rng.uniform(0.0, 0.12, (months.sum(), len(ids)))
    expiry = cal[len(cal) // 2]
    put = IndexOption("SPX", expiry, 5 * round(market.index["SPX"].iloc[0] / 5), False).id
    with_put = targets.assign(**{put: np.nan})
    cfg = FundConfig(initial_shares=2_000_000)
    return (prepare_inputs(market, targets, cfg), prepare_inputs(market, with_put, cfg), cfg,
            market, targets)  # fmt: skip


def test_fast_path_shares_the_price_array_and_the_general_path_copies_it(two_paths):
    fast, general, _, market, _ = two_paths
    assert fast.arrays["under"] is fast.arrays["price"]
    assert general.arrays["under"] is not general.arrays["price"]
    n = len(fast.ids)
    np.testing.assert_array_equal(general.arrays["under"][:, :n], fast.arrays["price"])
    np.testing.assert_array_equal(general.arrays["price"][:, :n], fast.arrays["price"])
    spx = market.index["SPX"].ffill().to_numpy()
    np.testing.assert_array_equal(general.arrays["under"][:, n], spx)  # the option's underlying


def test_fast_and_general_paths_give_identical_results(two_paths):
    fast, general, cfg, market, targets = two_paths
    n = len(fast.ids)
    compact = sim_kernel.run_kernel(**fast.arrays)
    a = DenseOutputs(sim_kernel.KernelOutputs(*compact), fast.arrays)
    b = DenseOutputs(sim_kernel.KernelOutputs(*sim_kernel.run_kernel(**general.arrays)),
                     general.arrays)  # fmt: skip
    assert (b.qty[:, n] == 0).all() and (a.trade_qty != 0).sum() > 100  # idle option; trades
    assert (a.qty[:, 8:] != 0).any()  # futures held
    for name in ("qty", "mv", "notional", "pnl", "cost", "trade_qty", "trade_cost"):
        np.testing.assert_array_equal(getattr(b, name)[:, :n], getattr(a, name), err_msg=name)
    np.testing.assert_array_equal(b.trade_price[:, :n], a.trade_price)
    np.testing.assert_array_equal(b.fund, a.fund)
    # the same with ``under`` as an array of its own on the fast path's problem
    under = fast.arrays["price"].copy()
    under.flags.writeable = False  # as prepare_inputs hands every array over
    own = sim_kernel.run_kernel(**{**fast.arrays, "under": under})
    for x, y in zip(own, compact, strict=True):
        np.testing.assert_array_equal(x, y)
    # and simulate() is the fast path's kernel run
    np.testing.assert_array_equal(simulate(market, targets, cfg).outputs.fund, a.fund)


def test_inputs_are_read_only_and_constant_ones_are_made_once_per_market_and_width(two_paths):
    fast, general, cfg, market, targets = two_paths
    for inputs in (fast, general):
        for name, a in inputs.arrays.items():
            if isinstance(a, np.ndarray):
                assert not a.flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        fast.arrays["price"][0, 0] = 1.0
    # the synthetic equities and futures here include non-USD ones: fx of its own
    assert (fast.arrays["fx"] != 1.0).any()
    usd = MarketData.from_prices(market.prices[market.ids(["equity"])[:3]])
    tg = pd.DataFrame(0.2, index=usd.calendar, columns=usd.prices.columns)
    a, b = (prepare_inputs(usd, tg, cfg).arrays for _ in range(2))
    assert a["fx"] is b["fx"] and (a["fx"] == 1.0).all() and a["fx"].shape == (len(tg), 3)
    # no futures, forwards or dividends: one array of zeros serves all three, bools for rolls
    assert a["prev_ref"] is a["div"] is a["rate_for"] is b["div"]
    assert (a["div"] == 0.0).all() and a["div"].shape == (len(tg), 3)
    assert a["rolled"] is b["rolled"] and a["rolled"].dtype == bool and not a["rolled"].any()
    assert a["price"] is not b["price"]
    # with futures (the synthetic book), their arrays are their own, the forwards' still shared
    assert fast.arrays["prev_ref"] is not fast.arrays["rate_for"]
    assert fast.arrays["rolled"].any() and (fast.arrays["prev_ref"] != 0).any()
    tg.iloc[0, 0] = 0.3  # the caller's frame stays writable (the target array is a view)
    c = prepare_inputs(usd, tg[tg.columns[:2]], cfg).arrays
    assert c["fx"].shape == (len(tg), 2)


def test_a_redemption_on_a_day_without_targets_still_sells_pro_rata_and_books_the_sales():
    """The kernel skips target rows with no finite value and the booking pass after days with
    no order: a cash redemption received on such a day must still raise cash (pro-rata sales of
    the securities, flagged) and the sales be booked the next day."""
    rng = np.random.default_rng(8)
    dates = pd.bdate_range("2021-01-04", periods=30)
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.01, (30, 3)), axis=0)),
                          index=dates, columns=["A", "B", "C"])  # fmt: skip
    market = MarketData.from_prices(prices)
    tg = pd.DataFrame(np.nan, index=dates, columns=prices.columns)
    tg.iloc[0] = 0.33  # 99% invested, then no decision at all
    day = 12
    cfg = FundConfig.frictionless(1e6, shares=200_000).replace(
        creation_unit_shares=100_000, min_shares_outstanding=0,
        flows=FlowSchedule(flows=(Flow(dates[day], -1, "cash"),)),
    )  # fmt: skip
    inputs = prepare_inputs(market, tg, cfg)
    assert not inputs.arrays["decided"][1:].any()
    result = simulate(market, tg, cfg)
    sales = result.trades[result.trades["date"] == dates[day]]
    assert len(sales) == 3 and (sales["quantity"] < 0).all()
    assert result.nav["cash_shortfall"].iloc[day]
    q = result.quantities
    np.testing.assert_array_equal(q.iloc[day + 1], q.iloc[day] + sales["quantity"].to_numpy())
    # half the fund left: the sales (≥ the redemption) were pro rata, within a share
    frac = -sales["quantity"].to_numpy() / q.iloc[day].to_numpy()
    assert np.ptp(frac) < 3 / q.iloc[day].min() and 0.49 < frac.mean() < 0.51
    assert result.nav["cash"].iloc[day + 1] >= 0.0
    assert result.nav["shares_outstanding"].iloc[day + 1] == 100_000


def test_option_columns_equal_each_options_own_series(synthetic_5y):
    """Several options on two roots among listed columns: each option's ``price`` column is
    its ``option_price(...).ffill()`` (sanitised) and its ``under`` the forward-filled level
    of its own root, bit for bit, whatever the order of the columns."""
    market = synthetic_5y
    cal = market.calendar
    roots = [r for r in ("SPX", "NDX", "RTY", "SX5E") if r in market.index.columns][:2]
    assert len(roots) == 2
    opts = []
    for k, root in enumerate(roots * 3):
        level = market.index[root].dropna().iloc[0]
        expiry = cal[len(cal) // (2 + k)]
        opts.append(IndexOption(root, expiry, 5 * round(level * (0.9 + 0.05 * k) / 5), k % 2 == 0))
    listed = market.ids(["equity"])[:3]
    scattered = [listed[0], opts[0].id, listed[1], *[o.id for o in opts[1:]], listed[2]]
    together = [listed[0], *[o.id for o in opts], *listed[1:]]  # one block: written as a slice
    for ids in (scattered, together):
        targets = pd.DataFrame(np.nan, index=cal, columns=ids)
        arrays = prepare_inputs(market, targets, FundConfig()).arrays
        for opt in opts:
            j = ids.index(opt.id)
            want = np.nan_to_num(market.option_price(opt).ffill().to_numpy(), nan=0.0)
            np.testing.assert_array_equal(arrays["price"][:, j], want)
            under = np.nan_to_num(market.index[opt.root].ffill().to_numpy(), nan=0.0)
            np.testing.assert_array_equal(arrays["under"][:, j], under)
        assert (arrays["kind"][[ids.index(o.id) for o in opts]] == sim_kernel.K_OPTION).all()
        for j in [ids.index(i) for i in listed]:  # the listed columns around them: their own
            np.testing.assert_array_equal(arrays["price"][:, j], arrays["under"][:, j])
            assert arrays["kind"][j] == sim_kernel.K_SECURITY


def test_consecutive_columns_are_a_slice():
    from backtest.engine.simulator import _block

    assert _block(np.array([3, 4, 5])) == slice(3, 6)
    assert _block(np.array([7])) == slice(7, 8)
    for cols in (np.array([3, 5, 6]), np.array([], dtype=np.int64)):
        assert _block(cols) is cols


def test_ffill_is_pandas_ffill_to_the_bit():
    """The futures legs' forward fill: leading NaN kept, ±inf carried as values, -0.0 kept."""
    table = gappy_table()
    for j in range(table.shape[1]):
        got = _ffill(table.iloc[:, j].to_numpy())
        want = table.iloc[:, j].ffill().to_numpy()
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), j
    assert np.isnan(_ffill(table.iloc[:, 0].to_numpy())[0])
    assert np.signbit(_ffill(table.iloc[:, 2].to_numpy())[1])
    full = np.arange(5.0)
    assert _ffill(full) is full  # nothing to fill: no copy


def test_ap_orders_are_the_day_by_day_draws():
    """The seeded AP process: an order on each day whose first draw is under the daily
    probability, sized, signed and typed by that day's other draws (the day-by-day loop it
    replaced, written out here), after the explicit flows; a shorter calendar gets the prefix."""
    dates = pd.bdate_range("2020-01-01", periods=600)
    fs = FlowSchedule(flows=(Flow(dates[10], 3),), ap_daily_prob=0.1, ap_max_units=3,
                      ap_in_kind_prob=0.3, seed=5)  # fmt: skip
    config = FundConfig(initial_shares=2_000_000, flows=fs)
    draw = np.random.default_rng(fs.seed).random((len(dates), 4))
    want = [(dates[10], 3, "cash")]
    for t in range(1, len(dates)):
        if draw[t, 0] < fs.ap_daily_prob:
            kind = "in_kind" if draw[t, 3] < fs.ap_in_kind_prob else "cash"
            sign = 1 if draw[t, 2] < fs.ap_creation_prob else -1
            want.append((dates[t], sign * (1 + int(draw[t, 1] * fs.ap_max_units)), kind))
    want = pd.DataFrame(want, columns=["date", "units", "kind"]).sort_values("date", kind="stable")
    got = flow_schedule(dates, config)
    assert len(got) == len(want) > 40 and (got["kind"] == "in_kind").any()
    assert list(got.itertuples(index=False)) == list(want.itertuples(index=False))
    short = flow_schedule(dates[:300], config)
    assert list(short.itertuples(index=False)) == list(got[got["date"] <= dates[299]]
                                                       .itertuples(index=False))  # fmt: skip


def test_option_expiry_rows_are_the_last_session_on_or_before_expiry(synthetic_5y):
    """``expiry_idx``: the row of the last session on or before the expiry (a weekend expiry:
    the Friday); -1 for an expiry after the last date or before the first."""
    market = synthetic_5y
    cal = market.calendar
    level = 5 * round(market.index["SPX"].dropna().iloc[0] / 5)
    saturday = cal[100] + pd.offsets.Week(weekday=5)
    expiries = [cal[0], cal[100], saturday, cal[-1], cal[-1] + pd.Timedelta(days=30),
                cal[0] - pd.Timedelta(days=3)]  # fmt: skip
    opts = [IndexOption("SPX", e, level, is_call=k % 2 == 0) for k, e in enumerate(expiries)]
    ids = [o.id for o in opts]
    arrays = prepare_inputs(
        market, pd.DataFrame(np.nan, index=cal, columns=ids), FundConfig()
    ).arrays
    want = []
    for opt in opts:  # the per-option rule, one at a time
        ex = int(cal.searchsorted(opt.expiry, side="right")) - 1
        want.append(ex if opt.expiry <= cal[-1] and ex >= 0 else -1)
    np.testing.assert_array_equal(arrays["expiry_idx"], want)
    assert want[:3] == [0, 100, int(cal.searchsorted(saturday)) - 1] and want[4:] == [-1, -1]
