"""A cut market (``between``) starts with the instrument returns its parent computed, and they
equal, to the last bit, what the cut computes on its own from an empty cache: for every kind,
options expiring before and after the cut, and a future whose held price changes on the cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.market.cuts import RETURN_KEY
from backtest.market.instruments import FUTURE_KINDS, IndexOption
from backtest.market.returns import instrument_returns

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pysystemtrade"


def _options(m) -> list[str]:
    spx = m.index["SPX"]
    return [
        IndexOption("SPX", m.calendar[k], round(spx.iloc[k - 30] * f), call).id
        for k, f, call in ((200, 0.9, True), (400, 1.0, False), (900, 0.95, True))
    ]


def _assert_cut_equals_fresh(parent, ids, start, end) -> set[str]:
    """Returns computed on ``parent``, then on its cut: equal to a fresh cut's; the ids carried."""
    instrument_returns(parent, ids)
    cut = parent.between(start, end)
    carried = {k[1] for k in cut._memo if k[0] == RETURN_KEY}
    got = instrument_returns(cut, ids)
    fresh = instrument_returns(cut.replace(), ids)  # replace: a new market, an empty cache
    assert got.columns.equals(fresh.columns) and got.index.equals(fresh.index)
    for iid in ids:
        a, b = got[iid].to_numpy(), fresh[iid].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), iid
        ok = ~np.isnan(a)
        assert np.array_equal(a[ok].view(np.int64), b[ok].view(np.int64)), iid
    assert got.iloc[0].isna().all()
    return carried


CUTS = [("2015-01-02", "2019-12-31"), ("2016-02-10", "2018-07-02"), ("2017-06-01", "2019-12-31")]


@pytest.mark.parametrize(("start", "end"), CUTS)
def test_cut_returns_equal_a_fresh_cut(synthetic_5y, start, end):
    parent = synthetic_5y.replace()
    options = _options(parent)
    ids = [*parent.instruments.index, *options]
    carried = _assert_cut_equals_fresh(parent, ids, start, end)
    assert set(parent.instruments.index) <= carried  # every listed instrument was carried
    first = pd.Timestamp(start)
    for oid in options:  # marks of options that expired before the cut are recomputed
        assert (oid in carried) == (IndexOption.from_id(oid).expiry >= first)


def test_a_future_whose_held_price_changes_on_the_cut_is_recomputed(synthetic_5y):
    kinds = synthetic_5y.instruments["kind"]
    future = next(i for i in synthetic_5y.instruments.index[kinds.isin(
        [k.value for k in FUTURE_KINDS])] if i in synthetic_5y.prices)  # fmt: skip
    prices = synthetic_5y.prices.copy()
    prices.loc[:"2017-12-31", future] = np.nan  # no contract price before 2018: adjusted held
    parent = synthetic_5y.replace(prices=prices)
    carried = _assert_cut_equals_fresh(parent, list(parent.instruments.index), "2016-01-04",
                                       "2017-06-30")  # fmt: skip
    assert future not in carried
    carried = _assert_cut_equals_fresh(parent.replace(), list(parent.instruments.index),
                                       "2017-06-01", "2019-12-31")  # fmt: skip
    assert future in carried


def test_until_carries_no_returns(synthetic_5y):
    parent = synthetic_5y.replace()
    instrument_returns(parent)
    assert not any(k[0] == RETURN_KEY for k in parent.until("2017-06-30")._memo)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"pysystemtrade sample not found at {DATA}")
def test_cut_returns_equal_a_fresh_cut_on_real_data():
    from backtest.data.pysystemtrade import load_pysystemtrade  # a higher layer: test only

    parent = load_pysystemtrade(DATA)
    ids = list(parent.instruments.index)
    mid = parent.calendar[len(parent.calendar) // 3]
    _assert_cut_equals_fresh(parent, ids, mid, parent.end)


def test_a_cut_equals_the_checked_construction_and_is_independent(synthetic_5y):
    """``_take`` builds the cut without ``__post_init__``: every field equals the cut built
    through the constructor's checks, and writing to the cut's frames leaves the parent as is."""
    import dataclasses

    from backtest.market.market_data import DATED_FIELDS

    m, rows = synthetic_5y, slice(300, 900)
    checked = dataclasses.replace(
        m, calendar=m.calendar[rows], **{n: getattr(m, n).iloc[rows] for n in DATED_FIELDS},
        curves={root: c.iloc[rows] for root, c in m.curves.items()},
    )  # fmt: skip
    cut = m.between(m.calendar[300], m.calendar[899])
    assert cut.equals(checked) and cut.name == checked.name
    assert cut.calendar.name == "date" and cut.approximations == checked.approximations
    for name in DATED_FIELDS:
        a, b = getattr(cut, name), getattr(checked, name)
        assert a.index.name == b.index.name and list(a.columns) == list(b.columns), name
    for root, c in cut.curves.items():
        assert c.equals(checked.curves[root]) and list(c.columns) == list(
            checked.curves[root].columns
        )
    before = m.prices.iloc[300, 0]
    cut.prices.iloc[0, 0] = -1.0
    assert m.prices.iloc[300, 0] == before
