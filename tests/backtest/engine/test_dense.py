"""The dense (T, N) outputs built on access (:class:`backtest.engine.dense.DenseOutputs`) from
the kernel's records, against the same numbers computed another way, cell by cell in plain
Python as the kernel used to write them, on a problem with every instrument kind (futures that
roll, currency forwards, equities long and short, an ETF, SPX puts that expire), creations and
redemptions in cash and in kind, and costs."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine import kernel as K
from backtest.engine.config import FlowSchedule, FundConfig
from backtest.engine.dense import DenseOutputs, carry_forward_rows, row_sums
from backtest.engine.simulator import simulate
from tests.conftest import monthly_puts


@pytest.fixture(scope="module")
def run(synthetic_5y):
    market = synthetic_5y
    cal = market.calendar
    rng = np.random.default_rng(11)
    kinds = ["equity_index_future", "bond_future", "rate_future", "currency_future",
             "currency_forward", "commodity_future", "vix_future"]  # fmt: skip
    ids = market.ids(kinds)
    weekly = np.r_[True, cal.day_of_week[1:] < cal.day_of_week[:-1]]
    tg = pd.DataFrame(np.nan, index=cal, columns=ids)
    tg.loc[weekly] = rng.normal(0.0, 0.08, (weekly.sum(), len(ids)))
    stocks = market.ids(["equity"])[:40] + market.ids(["etf"])
    eq = pd.DataFrame(np.nan, index=cal, columns=stocks)
    months = np.r_[True, cal.month[1:] != cal.month[:-1]]
    eq.loc[months] = rng.normal(0.0, 0.02, (months.sum(), len(stocks)))
    targets = pd.concat([tg, eq, monthly_puts(market)], axis=1)
    cfg = FundConfig(
        initial_shares=2_000_000,
        flows=FlowSchedule(ap_daily_prob=0.05, ap_in_kind_prob=0.4, ap_max_units=3, seed=4),
    )
    return simulate(market, targets, cfg)


def test_the_problem_exercises_every_record_kind(run):
    a, out = run.inputs.arrays, run.outputs
    kind, c = a["kind"], out.compact
    traded_kinds = set(kind[c.exec_inst].tolist())
    assert traded_kinds == {K.K_SECURITY, K.K_FUTURE, K.K_FORWARD, K.K_OPTION}
    assert len(c.roll_day) > 20 and c.fwd_mv.shape == (
        len(run.inputs.dates),
        (kind == K.K_FORWARD).sum(),
    )
    assert (out.qty[:, kind == K.K_SECURITY] < 0).any()  # shorts pay borrow
    expired = (a["expiry_idx"] >= 0) & (a["expiry_idx"] < len(run.inputs.dates))
    assert expired.sum() > 20
    flows = run.inputs.flows
    assert (flows["units"] > 0).any() and (flows["units"] < 0).any()
    assert (flows["kind"] == "in_kind").any() and (flows["kind"] == "cash").any()
    # records are in the order of the days, then of the instruments
    assert (np.diff(c.exec_day * len(kind) + c.exec_inst) > 0).all()
    assert (np.diff(c.roll_day * len(kind) + c.roll_inst) > 0).all()
    # a roll paid the day after an execution of the same future: both in one trade_cost cell
    cells = set(zip(c.exec_day.tolist(), c.exec_inst.tolist(), strict=True))
    rolls = zip(c.roll_day.tolist(), c.roll_inst.tolist(), strict=True)
    assert any((d - 1, i) in cells for d, i in rolls)
    # holdings: recorded when they change (positions closed and options settled: +0.0)
    assert (np.diff(c.hold_day) >= 0).all() and len(c.hold_day) < 0.2 * out.qty.size
    closed = c.hold_qty == 0.0
    assert closed.sum() > 20 and not np.signbit(c.hold_qty[closed]).any()


def forward_values(run) -> np.ndarray:
    """The forwards' marks rebuilt from the execution records and the inputs: a contract struck
    at an execution's price on day ``d`` (booked at ``d+1``, maturing 30 days after ``d``),
    rolled at maturity into a 1-month contract at that day's forward, valued at spot + points
    (covered interest parity, ACT/360, discounted) in between; (T, N), 0 off the forwards."""
    a, out = run.inputs.arrays, run.outputs
    T, N = out.qty.shape
    mv = np.zeros((T, N))
    c = out.compact
    struck = {
        (int(d), int(i)): p for d, i, p in zip(c.exec_day, c.exec_inst, c.exec_price, strict=True)
    }
    day, under, r_usd, r_for = a["day_number"], a["under"], a["r_usd"], a["rate_for"]
    for i in np.flatnonzero(a["kind"] == K.K_FORWARD):
        strike = mat = 0.0
        for t in range(T):
            if (t - 1, i) in struck:
                strike, mat = struck[(t - 1, i)], day[t - 1] + 30.0
            q = out.qty[t, i]
            if q == 0.0:
                continue
            if day[t] >= mat:  # settled; a new 1-month contract at today's forward
                tau = 30.0 / 360.0
                strike = under[t, i] * (1.0 + r_usd[t] * tau) / (1.0 + r_for[t, i] * tau)
                mat = day[t] + 30.0
            else:
                tau = max(mat - day[t], 0.0) / 360.0
                fwd = under[t, i] * (1.0 + r_usd[t] * tau) / (1.0 + r_for[t, i] * tau)
                mv[t, i] = q * (fwd - strike) / (1.0 + r_usd[t] * tau)
    return mv


def test_market_values_and_notionals_cell_by_cell(run):
    a, out = run.inputs.arrays, run.outputs
    T, N = out.qty.shape
    kind, mult, price, under, fx = a["kind"], a["mult"], a["price"], a["under"], a["fx"]
    mv = forward_values(run)
    notional = np.zeros((T, N))
    for t in range(T):
        for i in range(N):
            q = out.qty[t, i]
            if q == 0.0:
                continue
            notional[t, i] = q * mult[i] * under[t, i] * fx[t, i]
            if kind[i] in (K.K_SECURITY, K.K_OPTION):
                mv[t, i] = q * mult[i] * price[t, i] * fx[t, i]
    # bit for bit (signs of zeros included)
    np.testing.assert_array_equal(out.mv.view(np.int64), mv.view(np.int64))
    np.testing.assert_array_equal(out.notional.view(np.int64), notional.view(np.int64))
    assert (mv[:, kind == K.K_FORWARD] != 0).sum() > 100
    np.testing.assert_array_equal(run.market_values.to_numpy(), out.mv)


def test_market_values_add_up_to_the_kernels_total_assets_and_liabilities_bit_for_bit(run):
    """The kernel summed each book's positive and negative marks in instrument order into its
    balance sheet; the same sums of the rebuilt ``mv`` give the same bits."""
    a, out = run.inputs.arrays, run.outputs
    f, book = out.fund, a["book"]
    for t in range(f.shape[0]):
        pos, neg = [0.0, 0.0], [0.0, 0.0]
        for b in (0, 1):
            for i in np.flatnonzero(book == b):
                if out.qty[t, i] == 0.0:
                    continue
                m = out.mv[t, i]
                if m >= 0.0:
                    pos[b] += m
                else:
                    neg[b] -= m
        total = (f[t, K.C_CASH_FUND] + f[t, K.C_CASH_SUB] + f[t, K.C_ACC_INT_FUND]
                 + f[t, K.C_ACC_INT_SUB] + pos[0] + pos[1])  # fmt: skip
        assert total == f[t, K.C_TOTAL_ASSETS], t
        assert f[t, K.C_ACC_EXP] + neg[0] + neg[1] == f[t, K.C_LIABILITIES], t


def test_trades_and_costs_cell_by_cell(run):
    """Executions from the holdings they change (whole units: exact), their costs and the
    futures roll costs from the cost model, and the costs booked a day later."""
    a, out, cfg = run.inputs.arrays, run.outputs, run.config
    T, N = out.qty.shape
    kind, book, mult, under, fx = a["kind"], a["book"], a["mult"], a["under"], a["fx"]
    tq, tp, tc = out.trade_qty, out.trade_price, out.trade_cost
    traded = tq != 0.0
    assert np.isnan(tp[~traded]).all() and np.isfinite(tp[traded]).all()
    # booked the next day: holdings move by the trade (in-kind baskets move fund-book
    # securities too, options vanish on expiry)
    basket_days = a["flow_in_kind"] & (a["flow_units"] != 0)
    for t in range(T - 1):
        for i in range(N):
            if kind[i] == K.K_OPTION and a["expiry_idx"][i] == t + 1:
                continue
            if kind[i] == K.K_SECURITY and book[i] == 0 and basket_days[t]:
                continue
            assert out.qty[t + 1, i] == out.qty[t, i] + tq[t, i], (t, i)
    # the cost model: half spread + commission (+ impact, off here) on each execution; both
    # legs of a roll at yesterday's prices
    assert cfg.costs.impact_bps_per_pct_nav == 0.0
    bps, comm = a["cost_bps"], a["commission"]
    expected = np.zeros((T, N))
    for t, i in zip(*np.nonzero(traded), strict=True):
        tn = abs(tq[t, i]) * mult[i] * under[t, i] * fx[t, i]
        expected[t, i] = abs(tq[t, i]) * comm[i] + tn * bps[i] * 1e-4
    rolls = 0
    for t in range(1, T):
        for i in np.flatnonzero((kind == K.K_FUTURE) & a["rolled"][t] & (out.qty[t] != 0)):
            unit = mult[i] * under[t - 1, i] * fx[t - 1, i]
            expected[t - 1, i] += 2.0 * abs(out.qty[t, i]) * (comm[i] + unit * bps[i] * 1e-4)
            rolls += 1
    assert rolls == len(out.compact.roll_day) > 20
    np.testing.assert_array_equal(tc, expected)
    # costs are booked (paid) the next business day
    np.testing.assert_array_equal(out.cost[1:], tc[:-1])
    assert (out.cost[0] == 0).all() and (tc[-1] >= 0).all()


def test_nav_costs_column_is_the_row_sums_of_the_dense_costs(run):
    compact, arrays = run.outputs.compact, run.inputs.arrays
    fresh = DenseOutputs(compact, arrays)
    by_day = fresh.cost_by_day()  # from the booked rows only
    assert "cost" not in fresh.__dict__  # the dense array was not built
    cost = fresh.cost
    in_order = cost[:, 0].copy()  # each row's costs added left to right
    for j in range(1, cost.shape[1]):
        in_order += cost[:, j]
    np.testing.assert_array_equal(by_day, in_order)
    np.testing.assert_allclose(by_day, cost.sum(axis=1), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(fresh.cost_by_day(), by_day)  # once built, from it
    np.testing.assert_array_equal(run.nav["costs"].to_numpy(), by_day)


def test_trades_table_lists_the_records(run):
    c = run.outputs.compact
    trades = run.trades
    assert len(trades) == len(c.exec_day)
    np.testing.assert_array_equal(trades["quantity"].to_numpy(), c.exec_qty)
    np.testing.assert_array_equal(trades["price"].to_numpy(), c.exec_price)
    assert (trades["date"].to_numpy() == run.inputs.dates[c.exec_day].to_numpy()).all()


def test_carry_forward_by_hand_and_its_plain_python_twin():
    day = np.array([0, 2, 2, 4], dtype=np.int64)
    inst = np.array([1, 0, 1, 1], dtype=np.int64)
    value = np.array([5.0, -3.0, 0.0, 7.0])
    expected = [[0.0, 5.0], [0.0, 5.0], [-3.0, 0.0], [-3.0, 0.0], [-3.0, 7.0], [-3.0, 7.0]]
    every = np.arange(6)
    np.testing.assert_array_equal(carry_forward_rows(2, day, inst, value, every), expected)
    np.testing.assert_array_equal(carry_forward_rows.py_func(2, day, inst, value, every), expected)


def test_quantities_are_the_carried_forward_changes(run):
    c = run.outputs.compact
    q = run.quantities.to_numpy()
    np.testing.assert_array_equal(q[c.hold_day, c.hold_inst], c.hold_qty)
    changed = np.zeros(q.shape, dtype=bool)
    changed[c.hold_day, c.hold_inst] = True
    prev = np.vstack([np.zeros((1, q.shape[1])), q[:-1]])
    np.testing.assert_array_equal(changed, q != prev)  # recorded exactly where they change


ROW_FIELDS = ("qty", "trade_qty", "trade_price", "trade_cost", "mv", "notional")


def row_sets(run) -> list[np.ndarray]:
    """First day, last day, a run of days, days around rolls and executions, all days."""
    c = run.outputs.compact
    T = run.outputs.shape[0]
    rolls = np.unique(np.r_[c.roll_day[:5] - 1, c.roll_day[:5]])
    return [np.array([0]), np.array([T - 1]), np.arange(100, 131), rolls,
            np.unique(c.exec_day[::97]), np.arange(T)]  # fmt: skip


def test_rows_from_the_records_equal_the_dense_rows_bit_for_bit(run):
    """``at_rows(R).x`` (rebuilt from the records, on a fresh DenseOutputs that has built no
    dense array) == the dense ``x[R]``, NaN equal, for every field and row set."""
    dense = run.outputs
    for rows in row_sets(run):
        fresh = DenseOutputs(dense.compact, dense.arrays)
        at = fresh.at_rows(rows)
        for name in ROW_FIELDS:
            got = getattr(at, name)
            assert got.shape == (len(rows), dense.shape[1])
            assert np.array_equal(got, getattr(dense, name)[rows], equal_nan=True), name
        assert not {"qty", "mv", "notional", "trade_qty"} & set(fresh.__dict__)  # none built


def test_rows_of_built_arrays_are_their_slices(run):
    rows = np.array([3, 50, 51])
    at = run.outputs.at_rows(rows)
    _ = run.outputs.qty  # built: sliced
    assert np.array_equal(at.qty, run.outputs.qty[rows])


def test_carry_forward_rows_by_hand():
    day = np.array([0, 2, 2, 5], dtype=np.int64)
    inst = np.array([0, 1, 0, 1], dtype=np.int64)
    value = np.array([1.0, 2.0, 3.0, 4.0])
    got = carry_forward_rows(2, day, inst, value, np.array([0, 1, 2, 4, 5, 7], dtype=np.int64))
    assert np.array_equal(got, [[1, 0], [1, 0], [3, 2], [3, 2], [3, 4], [3, 4]])


@pytest.mark.parametrize("rows", [[2, 1], [1, 1], [-1], [10**9]])
def test_at_rows_refuses_bad_rows(run, rows):
    with pytest.raises((ValueError, IndexError), match="rows must"):
        run.outputs.at_rows(rows)


def test_row_sums_add_each_row_left_to_right_and_ignore_idle_columns():
    """A day's total is the same whatever columns are idle (0) on it: the simulator's NAV
    ``pnl`` and ``costs`` of a past day do not move when a longer run lists more
    instruments."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(50, 37)) * 10.0 ** rng.integers(-6, 6, size=(50, 37))
    got = row_sums(values)
    want = np.array([sum(row[1:].tolist(), row[0]) for row in values])  # Python, in order
    assert got.tobytes() == want.tobytes()
    for _ in range(5):
        wider = values
        for k in rng.integers(0, values.shape[1], size=int(rng.integers(1, 30))):
            wider = np.insert(wider, int(k), 0.0, axis=1)
        assert row_sums(wider).tobytes() == got.tobytes()
    assert row_sums(np.zeros((4, 0))).tolist() == [0.0] * 4
