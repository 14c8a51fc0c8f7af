"""The booked days' rows without the all-days tables (:mod:`backtest.ops.booked_rows`, the few-
days paths of :class:`backtest.ops.disclosure.DayBuilder` / ``Snapshot`` and of
:func:`backtest.ops.held_prices.check_held_prices`): the same rows, bit for bit, as the all-days
tables and arrays restricted to those days, on the default fund."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.compliance import check_limits
from backtest.analytics.substitute_basket import held_after_booking
from backtest.engine import kernel as K
from backtest.engine.dense import DenseOutputs
from backtest.engine.simulator import SimulationResult
from backtest.fund.run import run_fund, with_compliance
from backtest.fund.spec import FundSpec
from backtest.ops import booked_rows as br
from backtest.ops import disclosure as ds

LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"
BUILT = {"qty", "mv", "notional", "trade_qty", "trade_price", "trade_cost"}


@pytest.fixture(scope="module")
def fund(synthetic_20y):
    return run_fund(FundSpec.from_toml(LALT), synthetic_20y)


def assert_same(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Same rows, values bit for bit (an empty table: the same columns; pandas infers no
    string dtype from an empty column)."""
    if want.empty:
        assert got.empty and list(got.columns) == list(want.columns), what
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=what)


def fresh(result) -> SimulationResult:
    """The same result with no dense array built (as the nightly job's)."""
    out = result.outputs
    return SimulationResult(result.inputs, result.config, DenseOutputs(out.compact, out.arrays))


def day_sets(fund) -> dict[str, np.ndarray]:
    """First and last day, an in-kind creation or redemption, a run of days with trades
    booked, days with forwards and futures traded, a few scattered days."""
    result = fund.result
    a, c = result.inputs.arrays, result.outputs.compact
    T = len(result.inputs.dates)
    in_kind = np.flatnonzero((a["flow_units"] != 0) & a["flow_in_kind"])
    fwd = np.unique(c.exec_day[a["kind"][c.exec_inst] == K.K_FORWARD])
    assert len(in_kind) and len(fwd)
    return {
        "first": np.array([0]),
        "last": np.array([T - 1]),
        "in_kind": in_kind[len(in_kind) // 2 : len(in_kind) // 2 + 1],
        "forward_traded": np.unique(np.r_[fwd[3], fwd[3] + 1]),
        "run": np.arange(2000, 2030),
        "scattered": np.unique(np.r_[0, 1, c.roll_day[::400], T - 2, T - 1]),
    }


def test_long_tables_at_rows_equal_the_all_days_tables(fund):
    result = fund.result
    dates = result.inputs.dates
    for name, days in day_sets(fund).items():
        part = fresh(result)
        got = br.holdings_at(part, part.outputs.at_rows(days))
        want = result.holdings[result.holdings["date"].isin(dates[days])].reset_index(drop=True)
        assert_same(got, want, f"holdings {name}")
        got = br.trades_booked_at(part, days)
        trades = result.trades
        want = trades[trades["booked"].isin(dates[days])].reset_index(drop=True)
        assert_same(got, want, f"trades {name}")
        assert not BUILT & set(part.outputs.__dict__), name


def test_held_or_traded_around_equals_the_dense_rule(fund):
    result = fund.result
    out = result.outputs
    active = (out.qty != 0.0) | (out.trade_qty != 0.0)
    previous = np.vstack([np.zeros_like(active[:1]), active[:-1]])
    for name, days in day_sets(fund).items():
        part = fresh(result)
        got = br.held_or_traded_around(part, days)
        assert np.array_equal(got, (active | previous)[days]), name
        assert not BUILT & set(part.outputs.__dict__), name
    all_days = np.arange(len(result.inputs.dates))
    assert np.array_equal(br.held_or_traded_around(result, all_days), active | previous)


def test_day_builder_on_a_few_days_gives_the_all_days_builders_rows(fund):
    """Holdings, trades, flows, limit checks, orders and Disclosed Portfolio of each day: the
    same tuples (repr: float bits, -0.0 and NaN included) from a builder of those days only
    (on a result with no dense array and the limit checks of those days) as from a builder of
    every day."""
    result = fund.result
    nxt, after = ds.calendar_after(result.inputs.dates)
    every = ds.DayBuilder(fund, result, after, nxt)
    for name, days in day_sets(fund).items():
        part = fresh(result)
        checks = check_limits(part, fund.market, fund.spec.limits, rows=days)
        run = dataclasses.replace(fund, result=part, compliance=checks, compliance_rows=days)
        assert len(run.compliance) == 10 * len(days)
        builder = ds.DayBuilder(run, part, after, nxt, list(days))
        assert builder.snap.row(int(days[-1])) == len(days) - 1  # the rows path was taken
        for t in days:
            got, want = builder.day(int(t)), every.day(int(t))
            assert (got.date, got.next_date) == (want.date, want.next_date)
            assert set(got.rows) == set(want.rows)
            for table in want.rows:
                assert repr(got.rows[table]) == repr(want.rows[table]), (name, t, table)
            held = builder.snap.post_booking(int(t))
            assert np.array_equal(held, held_after_booking(result, int(t))), (name, t)
        assert not BUILT & set(part.outputs.__dict__), name
    # the cases book trades, holdings, orders and an in-kind flow
    t = int(day_sets(fund)["in_kind"][0])
    rows = every.day(t).rows
    assert rows["holdings"] and rows["trades"] and rows["orders"] and rows["flows"]


def test_with_compliance_widens_to_every_day(fund):
    some = dataclasses.replace(fund, compliance=fund.compliance.iloc[:0],
                               compliance_rows=np.array([5]))  # fmt: skip
    wide = with_compliance(some)
    pd.testing.assert_frame_equal(wide.compliance, fund.compliance, check_exact=True)
    assert wide.compliance_rows is None and with_compliance(fund) is fund
    want = check_limits(fund.result, fund.market, fund.spec.limits, rows=np.array([5, 6]))
    pd.testing.assert_frame_equal(with_compliance(some, [5, 6]).compliance, want)


def test_instrument_names_by_hand(fund):
    """The Disclosed Portfolio's names: an equity with its industry, a future without one, an
    index option from its id."""
    snap = ds.Snapshot(fund.result, fund.market, ds.calendar_after(fund.result.inputs.dates)[1])
    table = fund.market.instruments
    ids = list(fund.result.inputs.ids)
    kinds = table["kind"].reindex(ids)
    eq = next(i for i in ids if kinds.get(i) == "equity")
    fut = next(i for i in ids if kinds.get(i) == "equity_index_future")
    opt = next(i for i in ids if i not in table.index)
    name = dict(zip(ids, snap.names, strict=True))
    row = table.loc[eq]
    assert name[eq] == f"{eq} equity, {row['industry']} ({row['exchange']})"
    assert row["industry"] and not table.loc[fut, "industry"]
    assert name[fut] == f"{fut} equity index future ({table.loc[fut, 'exchange']})"
    assert name[opt].startswith("SPX put ") and " expiring " in name[opt]
    assert dict(zip(ids, snap.kinds, strict=True))[opt] == "index_option"


def _sources_all_days(market, iid):
    """The held-price check's sources as it first read them: each series' availability over
    the whole calendar, cut to the dates afterwards (the reference for ``_Priced``)."""
    from backtest.market.instruments import IndexOption

    if iid not in market.instruments.index:
        opt = IndexOption.from_id(iid)
        level = market.index[opt.root] if opt.root in market.index else None
        ok = level.notna() if level is not None else pd.Series(False, index=market.calendar)
        return [("index", ok), ("vol_surface", market.vol_surface.notna().all(axis=1))]
    row = market.instruments.loc[iid]
    out = []
    if iid in market.curves:
        out.append((f"curves/{iid}", market.curves[iid]["price"].notna()))
    for field in ("prices", "adjusted"):
        frame = getattr(market, field)
        if iid in frame.columns and (field == "prices" or not out):
            out.append((field, frame[iid].notna()))
    if not out:
        out.append(("prices", pd.Series(False, index=market.calendar)))
    ccys = {str(row["currency"])} | (
        {str(row["root"])} if row["kind"] == "currency_forward" else set()
    )
    for ccy in sorted(ccys - {"USD"}):
        fx = market.fx[ccy] if ccy in market.fx else pd.Series(np.nan, index=market.calendar)
        out.append(("fx", fx.notna()))
    return out


def test_held_price_sources_at_the_booked_dates_are_the_whole_calendars_cut_to_them(fund):
    from backtest.ops.held_prices import _Priced

    market, ids = fund.market, list(fund.result.inputs.ids)
    calendar = market.calendar
    # days across the 20 years (instruments not yet listed, expired, rolled), the last day,
    # and a weekend the calendar does not have (no value on it, for every series)
    dates = pd.DatetimeIndex(
        [*calendar[[0, 1, 700, 2500, 4000, -2, -1]], pd.Timestamp("2020-02-01")]
    )
    priced = _Priced(market, dates)
    kinds = set()
    for iid in ids:
        got, want = priced.sources(iid), _sources_all_days(market, iid)
        assert [f for f, _ in got] == [f for f, _ in want], iid
        for (field, ok), (_, series) in zip(got, want, strict=True):
            expected = series.reindex(dates).fillna(False).to_numpy(dtype=bool)
            np.testing.assert_array_equal(ok, expected, err_msg=f"{iid} {field}")
            kinds.add(field.split("/")[0])
    assert {"curves", "prices", "index", "vol_surface", "fx"} <= kinds  # every kind of source
    assert not any(ok[-1] for iid in ids for _, ok in priced.sources(iid))  # the weekend
