"""The kernel's outputs as dense (T days, N instruments) arrays, built on first access.

The kernel (:func:`backtest.engine.kernel.run_kernel`) stores dense only what changes every day
(``pnl``, the fund table); changes of holdings, executions and roll costs are records, forwards'
marks a column per forward (:class:`~backtest.engine.layout.KernelOutputs`). Writing all eight
(T, N) arrays on every run touched ~8 × T × N × 8 bytes of fresh memory (160 MB on 5,000 days ×
500 stocks): its first-touch page faults were most of ``simulate()``'s run-to-run spread.

:class:`DenseOutputs` rebuilds the (T, N) arrays the kernel used to write, bit for bit:

- ``qty``: each holding-change record carried forward to the next one of its instrument (the
  values are copied, no arithmetic);
- ``trade_qty``, ``trade_price`` (NaN where nothing traded), ``trade_cost``: the execution
  records put in place, then the roll costs added to the day before their booking
  (``0 + execution cost + roll cost``, the kernel's order of additions);
- ``cost`` (costs booked at ``t``): ``trade_cost[t-1]`` — what the kernel booked at ``t`` is the
  cost of ``t-1``'s executions, then ``t``'s roll costs, the same two additions from 0;
- ``mv``: ``qty × mult × price × fx`` (the kernel's product, in its order) for held securities
  and options, 0 for futures and flat positions, ``fwd_mv`` for forwards;
- ``notional``: ``qty × mult × under × fx`` where held, 0 elsewhere.

:meth:`DenseOutputs.at_rows` gives the same arrays at a few rows (an :class:`OutputRows`),
from the records, without the (T, N) arrays: the nightly job books one day of a 20-year run.

Elementwise numpy products in the same order are the same IEEE operations as the compiled
kernel's (no fast-math, no contraction), so the bits agree: checked against the previous
kernel's dense outputs when the change was made (every array, two 5-year problems with every
instrument kind, flows and costs), and tested cell by cell against plain-Python rebuilds and
the kernel's own balance-sheet sums (``tests/backtest/engine/test_dense.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from backtest.engine.layout import K_FORWARD, K_OPTION, K_SECURITY, KernelOutputs

__all__ = ["DenseOutputs", "OutputRows", "carry_forward_rows"]


@njit(cache=True)
def carry_forward_rows(n_inst, day, inst, value, rows):
    """(R, n_inst) float64 at the rows ``rows`` ((R,) int64, ascending): ``value[k]`` in column
    ``inst[k]`` from row ``day[k]`` until the next record of that column, 0.0 before the first.
    ``day`` (K,) int64 non-decreasing, ``inst`` (K,) int64, ``value`` (K,) float64; at most one
    record per (day, column). Every row (``arange(n_days)``) gives the dense array; a few rows
    only the same values at those rows (copies: the same bits)."""
    out = np.empty((rows.shape[0], n_inst))
    cur = np.zeros(n_inst)
    k = 0
    for r in range(rows.shape[0]):
        t = rows[r]
        while k < day.shape[0] and day[k] <= t:
            cur[inst[k]] = value[k]
            k += 1
        out[r, :] = cur
    return out


def _held_product(qty, mult, price_like, fx) -> np.ndarray:
    """``qty × mult × price_like × fx`` (the kernel's product, in its order) where ``qty`` is
    non-zero, 0.0 elsewhere; (R, N) arrays but ``mult`` (N,)."""
    with np.errstate(all="ignore"):
        prod = qty * mult * price_like * fx
    return np.where(qty != 0.0, prod, 0.0)


def _market_value(qty, arrays, price, fx, fwd_mv) -> np.ndarray:
    """(R, N) market value: held securities and options at :func:`_held_product` of ``price``,
    futures 0 (variation margin is settled in cash), forwards at their marks ``fwd_mv`` (R, F)."""
    kind = arrays["kind"]
    valued = (kind == K_SECURITY) | (kind == K_OPTION)
    a = _held_product(qty, arrays["mult"], price, fx)
    a[:, ~valued] = 0.0
    a[:, kind == K_FORWARD] = fwd_mv
    return a


def row_sums(values: np.ndarray) -> np.ndarray:
    """(T,) each row of a (T, N) array summed in column order, one term after the other (0 for
    N = 0). A column that is 0 on a row leaves that row's sum as it is, to the bit, so a day's
    total does not depend on the instruments the book holds on other days (numpy's pairwise
    row sums group the same terms differently by column count: a run cut at a date, with
    fewer instruments, and a longer run differed in the last bit of past days' totals)."""
    T, N = values.shape
    if N == 0:
        return np.zeros(T)
    return np.cumsum(values, axis=1)[:, -1].copy()


def _trade_cost(shape, executions, rolls) -> np.ndarray:
    """``shape`` zeros plus each execution's cost, then each roll's (``0 + execution cost +
    roll cost``, the kernel's order); ``executions`` / ``rolls``: (rows, columns, costs)."""
    a = np.zeros(shape)
    row, col, cost = executions
    a[row, col] += cost  # one execution per day and instrument
    row, col, cost = rolls
    a[row, col] += cost  # one roll per day and instrument
    return a


@dataclass(frozen=True)
class DenseOutputs:
    """The kernel's outputs by name, each a (T, N) float64 array (``fund`` (T, N_COLS)); USD
    unless stated. ``compact`` is what the kernel returned, ``arrays`` its inputs (the keyword
    arguments of :func:`~backtest.engine.kernel.run_kernel`). The derived arrays are built on
    first access and kept; treat them as read-only."""

    compact: KernelOutputs
    arrays: Mapping[str, object]

    @property
    def shape(self) -> tuple[int, int]:
        """``(T, N)``: days × instruments."""
        return self.compact.pnl.shape

    @cached_property
    def qty(self) -> np.ndarray:
        """(T, N) booked holdings at each close (contracts / shares / units)."""
        c = self.compact
        T, N = self.shape
        return carry_forward_rows(N, c.hold_day, c.hold_inst, c.hold_qty, np.arange(T))

    @property
    def pnl(self) -> np.ndarray:
        """(T, N) P&L by instrument (price, carry, dividends, borrow; before costs)."""
        return self.compact.pnl

    @property
    def fund(self) -> np.ndarray:
        """(T, N_COLS) the per-day fund table, columns ``C_*`` of :mod:`backtest.engine.layout`."""
        return self.compact.fund

    def _exec_index(self) -> tuple[np.ndarray, np.ndarray]:
        return self.compact.exec_day, self.compact.exec_inst

    @cached_property
    def trade_qty(self) -> np.ndarray:
        """(T, N) units executed at ``t``'s close (booked at ``t+1``), 0 where none."""
        a = np.zeros(self.shape)
        a[self._exec_index()] = self.compact.exec_qty
        return a

    @cached_property
    def trade_price(self) -> np.ndarray:
        """(T, N) execution price at ``t``, instrument currency; NaN where nothing traded."""
        a = np.full(self.shape, np.nan)
        a[self._exec_index()] = self.compact.exec_price
        return a

    @cached_property
    def trade_cost(self) -> np.ndarray:
        """(T, N) cost of the execution at ``t`` plus the cost of a futures roll made at ``t``'s
        close (paid at ``t+1``)."""
        c = self.compact
        executions = (c.exec_day, c.exec_inst, c.exec_cost)
        return _trade_cost(self.shape, executions, (c.roll_day - 1, c.roll_inst, c.roll_cost))

    @cached_property
    def cost(self) -> np.ndarray:
        """(T, N) costs booked at ``t``: those of ``t-1``'s executions and rolls; row 0 is 0."""
        a = np.zeros(self.shape)
        a[1:] = self.trade_cost[:-1]
        return a

    def cost_by_day(self) -> np.ndarray:
        """(T,) costs booked each day, USD: ``row_sums(cost)`` bit for bit, without building
        ``cost``: only the rows where a cost was booked are laid out (a (D, N) block) and
        summed along the row in column order, as :func:`row_sums`; the other days are 0."""
        c = self.compact
        T, N = self.shape
        if "cost" in self.__dict__:  # already built
            return row_sums(self.cost)
        # costs booked at t+1 are trade_cost[t]: executions at t, rolls paid at t+1 (records in
        # the order of the days; rows found through a mask, no sort)
        ex_ok = c.exec_day < T - 1
        e_day, e_inst, e_cost = c.exec_day[ex_ok], c.exec_inst[ex_ok], c.exec_cost[ex_ok]
        r_day = c.roll_day - 1
        has = np.zeros(T, dtype=bool)
        has[e_day] = True
        has[r_day] = True
        rows = np.flatnonzero(has)
        row_of = np.cumsum(has) - 1  # day -> its row in the block
        block = np.zeros((len(rows), N))
        block[row_of[e_day], e_inst] += e_cost
        block[row_of[r_day], c.roll_inst] += c.roll_cost
        out = np.zeros(T)
        out[rows + 1] = row_sums(block)
        return out

    def at_rows(self, rows) -> OutputRows:
        """The (T, N) arrays at ``rows`` (row numbers, ascending, no repeats): an
        :class:`OutputRows`, bit for bit ``qty[rows]`` etc."""
        rows = np.asarray(rows, dtype=np.int64)
        T = self.shape[0]
        if rows.ndim != 1 or (len(rows) and (rows[0] < 0 or rows[-1] >= T)):
            raise IndexError(f"rows must be 1-D row numbers in 0..{T - 1}")
        if (np.diff(rows) <= 0).any():
            raise ValueError("rows must be ascending without repeats")
        return OutputRows(self, rows)

    @cached_property
    def mv(self) -> np.ndarray:
        """(T, N) market value: securities and options at ``qty × mult × price × fx``, futures
        0 (variation margin is settled in cash), forwards at their mark (``fwd_mv``)."""
        a = self.arrays
        return _market_value(self.qty, a, a["price"], a["fx"], self.compact.fwd_mv)

    @cached_property
    def notional(self) -> np.ndarray:
        """(T, N) notional exposure, ``qty × mult × under × fx`` where held."""
        a = self.arrays
        return _held_product(self.qty, a["mult"], a["under"], a["fx"])


@dataclass(frozen=True)
class OutputRows:
    """Rows ``rows`` ((R,) int64, ascending) of the arrays of ``outputs``: each attribute is
    the (R, N) array ``getattr(outputs, name)[rows]``, bit for bit. Sliced from the dense array
    when it is built already, else rebuilt from the records at those rows only (the same
    copies, additions and products, element by element, as :class:`DenseOutputs`)."""

    outputs: DenseOutputs
    rows: np.ndarray

    def _built(self, name: str) -> np.ndarray | None:
        return self.outputs.__dict__[name][self.rows] if name in self.outputs.__dict__ else None

    def _exec_cells(self, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of the records whose ``day`` is one of ``rows``, their position in ``rows``)."""
        i = np.searchsorted(self.rows, day)
        hit = i < len(self.rows)
        hit[hit] = self.rows[i[hit]] == day[hit]
        return hit, i[hit]

    def _exec_array(self, values: np.ndarray, fill: float) -> np.ndarray:
        c = self.outputs.compact
        a = np.full((len(self.rows), self.outputs.shape[1]), fill)
        hit, i = self._exec_cells(c.exec_day)
        a[i, c.exec_inst[hit]] = values[hit]
        return a

    @cached_property
    def qty(self) -> np.ndarray:
        """(R, N) booked holdings at each row's close."""
        built = self._built("qty")
        if built is not None:
            return built
        c = self.outputs.compact
        return carry_forward_rows(self.outputs.shape[1], c.hold_day, c.hold_inst, c.hold_qty,
                                  self.rows)  # fmt: skip

    @cached_property
    def trade_qty(self) -> np.ndarray:
        """(R, N) units executed at each row's close, 0 where none."""
        built = self._built("trade_qty")
        return built if built is not None else self._exec_array(self.outputs.compact.exec_qty, 0.0)

    @cached_property
    def trade_price(self) -> np.ndarray:
        """(R, N) execution price, instrument currency; NaN where nothing traded."""
        built = self._built("trade_price")
        if built is not None:
            return built
        return self._exec_array(self.outputs.compact.exec_price, np.nan)

    @cached_property
    def trade_cost(self) -> np.ndarray:
        """(R, N) execution cost plus the cost of a roll made at the row's close: ``0 +
        execution cost + roll cost``, the order of :attr:`DenseOutputs.trade_cost`."""
        built = self._built("trade_cost")
        if built is not None:
            return built
        c = self.outputs.compact
        hit, i = self._exec_cells(c.exec_day)
        executions = (i, c.exec_inst[hit], c.exec_cost[hit])
        hit, j = self._exec_cells(c.roll_day - 1)
        rolls = (j, c.roll_inst[hit], c.roll_cost[hit])
        return _trade_cost((len(self.rows), self.outputs.shape[1]), executions, rolls)

    @cached_property
    def mv(self) -> np.ndarray:
        """(R, N) market value (:attr:`DenseOutputs.mv`)."""
        built = self._built("mv")
        if built is not None:
            return built
        a, r = self.outputs.arrays, self.rows
        return _market_value(self.qty, a, a["price"][r], a["fx"][r], self.outputs.compact.fwd_mv[r])

    @cached_property
    def notional(self) -> np.ndarray:
        """(R, N) notional exposure (:attr:`DenseOutputs.notional`)."""
        built = self._built("notional")
        if built is not None:
            return built
        a, r = self.outputs.arrays, self.rows
        return _held_product(self.qty, a["mult"], a["under"][r], a["fx"][r])
