"""The futures columns of the simulator: all roots at once equal each root on its own, to the bit
(gaps in the legs and contract ids, unknown expiries, a root without a curve), and the kernel's
arrays hold them sanitised, as the per-root arrays and a whole-array nan_to_num gave before."""

import dataclasses

import numpy as np
import pandas as pd

from backtest.engine.config import FundConfig
from backtest.engine.fill import nan_to_num_columns
from backtest.engine.futures import (
    cached_futures_arrays,
    ffill,
    futures_arrays,
    futures_arrays_batch,
    futures_roll_flags,
)
from backtest.engine.kernel import nan_to_num_inplace
from backtest.engine.simulator import prepare_inputs


def gappy_curves(market, seed=3):
    """The market with holes punched in its curves: NaN legs and contract ids (runs of days,
    the first days too), unknown expiries, -0.0 prices; and one root left without a curve."""
    rng = np.random.default_rng(seed)
    curves = {}
    for k, (root, c) in enumerate(market.curves.items()):
        c = c.copy()
        n = len(c)
        for col in ("price", "carry", "forward", "price_contract", "forward_contract"):
            if col.endswith("contract"):
                c[col] = c[col].astype("float64")
            values = c[col].to_numpy(dtype="float64", copy=True)
            values[rng.random(n) < 0.03] = np.nan
            lo = int(rng.integers(0, n - 10))
            values[lo : lo + int(rng.integers(1, 8))] = np.nan
            if k % 3 == 0:
                values[:5] = np.nan
            c[col] = values
        expiry = c["price_expiry"].copy()
        expiry[rng.random(n) < 0.03] = pd.NaT
        c["price_expiry"] = expiry
        price = c["price"].to_numpy(copy=True)
        price[rng.random(n) < 0.01] = -0.0
        c["price"] = price
        curves[root] = c
    dropped = next(r for r in curves if r in market.prices.columns)
    del curves[dropped]
    return dataclasses.replace(market, curves=curves), dropped


def test_all_roots_at_once_equal_each_root_alone_to_the_bit(synthetic_5y):
    market, dropped = gappy_curves(synthetic_5y)
    roots = [dropped, *list(market.curves)[::-1]]  # any order, a root without a curve first
    for roll_days in (0, 5):
        batch = futures_arrays_batch(market, roots, roll_days)
        rolls = 0
        for root, got in zip(roots, batch, strict=True):
            want = futures_arrays(market, root, roll_days)
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and g.shape == w.shape == (len(market.calendar),)
                assert np.array_equal(g.view(np.uint8), w.view(np.uint8)), (root, roll_days)
            rolls += int(got[2].sum())
        assert rolls > 100  # the roll flags are exercised, not all False


def test_cached_arrays_are_computed_once_per_market_and_shared(synthetic_5y):
    market = dataclasses.replace(synthetic_5y)  # a fresh cache
    first = cached_futures_arrays(market, ["ES", "CL"], 5)
    again = cached_futures_arrays(market, ["CL", "ZN", "ES"], 5)
    assert again[0] is first[1] and again[2] is first[0]
    assert futures_roll_flags(market, "ZN", 5) is again[1][2]
    # the cost model's roll flags (one root at a time) are the simulator's
    assert np.array_equal(futures_roll_flags(market, "ES", 5), futures_arrays(market, "ES", 5)[2])


def test_two_dimensional_ffill_fills_each_row_as_pandas():
    rng = np.random.default_rng(1)
    values = np.where(rng.random((5, 40)) < 0.4, np.nan, rng.normal(size=(5, 40)))
    values[0, :3] = np.nan
    values[1, 7] = np.inf
    values[2, 9] = -0.0
    got = ffill(values)
    want = pd.DataFrame(values.T).ffill().to_numpy().T
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    full = np.ones((2, 3))
    assert ffill(full) is full


def test_nan_to_num_of_some_columns_is_the_whole_arrays_on_them():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 8))
    a[rng.random(a.shape) < 0.2] = np.nan
    a[3, 1], a[4, 5], a[5, 6] = np.inf, -np.inf, -0.0
    cols = np.array([1, 5, 6], dtype=np.int64)
    got, want = a.copy(), a.copy()
    nan_to_num_columns(got, cols)
    nan_to_num_inplace(want)
    twin = a.copy()
    nan_to_num_columns.py_func(twin, cols)  # the plain-Python twin
    assert np.array_equal(twin.view(np.int64), got.view(np.int64))
    assert np.array_equal(got[:, cols].view(np.int64), want[:, cols].view(np.int64))
    others = np.setdiff1d(np.arange(8), cols)
    assert np.array_equal(got[:, others], a[:, others], equal_nan=True)  # untouched


def test_kernel_arrays_hold_the_sanitised_per_root_futures_and_nothing_unsanitised(synthetic_5y):
    """Futures (with gaps), forwards, non-USD instruments, securities and an option in one book:
    the futures' columns are each root's arrays through nan_to_num, and every float array is
    its own nan_to_num (the column-wise sanitising missed no column)."""
    market, dropped = gappy_curves(synthetic_5y)
    kinds = market.instruments["kind"]
    futures = [r for r in market.instruments.index[kinds.str.endswith("_future")]][:12]
    futures.append(dropped)
    forwards = list(market.instruments.index[kinds == "currency_forward"][:3])
    prices, rates = market.prices.copy(), market.rates.copy()
    prices.iloc[:4, prices.columns.get_indexer(forwards)] = np.nan  # forwards' leading gaps
    ccys = market.instruments.loc[forwards, "root"]
    rates.iloc[:3, rates.columns.get_indexer(ccys)] = np.nan
    index, fx = market.index.copy(), market.fx.copy()
    index.iloc[:3] = np.nan  # the options' underlying levels (and so marks) start unknown
    fx.iloc[:2] = np.nan  # the non-USD instruments' rates too
    market = dataclasses.replace(market, prices=prices, rates=rates, index=index, fx=fx)
    stocks = list(market.ids(["equity"])[:4])
    cal = market.calendar
    level = market.index["SPX"].dropna().iloc[0]
    assert (market.instruments.loc[futures, "currency"] != "USD").any()
    option = f"SPX-{cal[len(cal) // 2]:%Y-%m-%d}-P-{5 * round(level * 0.9 / 5)}"
    ids = sorted(set(futures + forwards + stocks)) + [option]
    targets = pd.DataFrame(np.nan, index=cal, columns=ids)
    arrays = prepare_inputs(market, targets, FundConfig()).arrays
    for root in futures:
        j = ids.index(root)
        held, prev_ref, rolled = futures_arrays(market, root, FundConfig().roll_days_before_expiry)
        assert np.array_equal(arrays["price"][:, j].view(np.int64),
                              np.nan_to_num(held, nan=0.0).view(np.int64))  # fmt: skip
        assert np.array_equal(arrays["prev_ref"][:, j].view(np.int64),
                              np.nan_to_num(prev_ref, nan=0.0).view(np.int64))  # fmt: skip
        assert np.array_equal(arrays["rolled"][:, j], rolled)
        assert np.array_equal(arrays["under"][:, j], arrays["price"][:, j])
    assert any(np.isnan(futures_arrays(market, r, 5)[0]).any() for r in futures)  # NaN to clean
    for name in ("price", "prev_ref", "under", "fx", "rate_for", "div"):
        a = arrays[name]
        assert np.array_equal(a.view(np.int64), np.nan_to_num(a, nan=0.0).view(np.int64)), name
    assert (arrays["fx"][:, [ids.index(f) for f in forwards]] == 1.0).all()
