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

__all__ = ["DenseOutputs", "OutputRows", "carry_forward", "carry_forward_rows"]


@njit(cache=True)
def carry_forward(n_days, n_inst, day, inst, value):
    """(n_days, n_inst) float64: ``value[k]`` in column ``inst[k]`` from row ``day[k]`` until the
    next record of that column, 0.0 before the first. ``day`` (K,) int64 non-decreasing,
    ``inst`` (K,) int64, ``value`` (K,) float64; at most one record per (day, column)."""
    out = np.empty((n_days, n_inst))
    cur = np.zeros(n_inst)
    k = 0
    for t in range(n_days):
        while k < day.shape[0] and day[k] == t:
            cur[inst[k]] = value[k]
            k += 1
        out[t, :] = cur
    return out


@njit(cache=True)
def carry_forward_rows(n_inst, day, inst, value, rows):
    """(R, n_inst) float64: the rows ``rows`` ((R,) int64, ascending) of
    ``carry_forward(n_days, n_inst, day, inst, value)``, without the other rows (the same
    values copied: the same bits)."""
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
        return carry_forward(*self.shape, c.hold_day, c.hold_inst, c.hold_qty)

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
        a = np.zeros(self.shape)
        a[self._exec_index()] += c.exec_cost  # one execution per day and instrument
        a[c.roll_day - 1, c.roll_inst] += c.roll_cost  # one roll per day and instrument
        return a

    @cached_property
    def cost(self) -> np.ndarray:
        """(T, N) costs booked at ``t``: those of ``t-1``'s executions and rolls; row 0 is 0."""
        a = np.zeros(self.shape)
        a[1:] = self.trade_cost[:-1]
        return a

    def cost_by_day(self) -> np.ndarray:
        """(T,) costs booked each day, USD: ``cost.sum(axis=1)`` bit for bit, without building
        ``cost``: only the rows where a cost was booked are laid out (a (D, N) block) and
        summed by numpy along the row as it sums ``cost``'s rows; the other days are 0."""
        c = self.compact
        T, N = self.shape
        if "cost" in self.__dict__:  # already built
            return self.cost.sum(axis=1)
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
        out[rows + 1] = block.sum(axis=1)
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

    def _held_product(self, price_like: str) -> np.ndarray:
        """``qty × mult × arrays[price_like] × fx`` where ``qty`` is non-zero, 0.0 elsewhere."""
        a = self.arrays
        q = self.qty
        with np.errstate(all="ignore"):
            prod = q * a["mult"] * a[price_like] * a["fx"]
        return np.where(q != 0.0, prod, 0.0)

    @cached_property
    def mv(self) -> np.ndarray:
        """(T, N) market value: securities and options at ``qty × mult × price × fx``, futures
        0 (variation margin is settled in cash), forwards at their mark (``fwd_mv``)."""
        kind = self.arrays["kind"]
        valued = (kind == K_SECURITY) | (kind == K_OPTION)
        a = self._held_product("price")
        a[:, ~valued] = 0.0
        a[:, kind == K_FORWARD] = self.compact.fwd_mv
        return a

    @cached_property
    def notional(self) -> np.ndarray:
        """(T, N) notional exposure, ``qty × mult × under × fx`` where held."""
        return self._held_product("under")


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
        a = np.zeros((len(self.rows), self.outputs.shape[1]))
        hit, i = self._exec_cells(c.exec_day)
        a[i, c.exec_inst[hit]] += c.exec_cost[hit]
        hit, i = self._exec_cells(c.roll_day - 1)
        a[i, c.roll_inst[hit]] += c.roll_cost[hit]
        return a

    def _held_product(self, price_like: str) -> np.ndarray:
        a = self.outputs.arrays
        q = self.qty
        with np.errstate(all="ignore"):
            prod = q * a["mult"] * a[price_like][self.rows] * a["fx"][self.rows]
        return np.where(q != 0.0, prod, 0.0)

    @cached_property
    def mv(self) -> np.ndarray:
        """(R, N) market value (:attr:`DenseOutputs.mv`)."""
        built = self._built("mv")
        if built is not None:
            return built
        kind = self.outputs.arrays["kind"]
        valued = (kind == K_SECURITY) | (kind == K_OPTION)
        a = self._held_product("price")
        a[:, ~valued] = 0.0
        a[:, kind == K_FORWARD] = self.outputs.compact.fwd_mv[self.rows]
        return a

    @cached_property
    def notional(self) -> np.ndarray:
        """(R, N) notional exposure (:attr:`DenseOutputs.notional`)."""
        built = self._built("notional")
        return built if built is not None else self._held_product("under")
