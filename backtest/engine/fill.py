"""Filling the kernel's (T, N) input arrays: securities' prices in one compiled pass, and the
constant arrays shared by every run on a market.

:func:`backtest.engine.simulator.prepare_inputs` used to build each block of columns as
``frame[ids].ffill().to_numpy()`` assigned through a fancy index, then sanitised with
:func:`backtest.engine.kernel.nan_to_num_inplace`: three full-size temporaries and a strided
copy per block (on 5,000 days × 500 stocks, ~25 ms of the ~45 ms spent outside the kernel).
:func:`ffill_columns_into` does the same in one pass, writing straight into the kernel's array;
the result is the same bits (forward fill and the NaN/inf substitution copy values, they do no
arithmetic), tested against the pandas path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest.market.market_data import MarketData

__all__ = [
    "constant_array", "ffill_columns_into", "fill_securities", "finite_rows", "first_infinite",
    "nan_to_num_columns",
]  # fmt: skip


@njit(cache=True)
def first_infinite(values) -> int:
    """Flat (row-major) position of the first ±inf of a 2-D float64 array (any layout), -1 when
    there is none: ``np.argwhere(np.isinf(values))[0]`` without the (T, N) temporaries."""
    n_rows, n_cols = values.shape
    for i in range(n_rows):
        for j in range(n_cols):
            if np.isinf(values[i, j]):
                return i * n_cols + j
    return -1


@njit(cache=True)
def finite_rows(values) -> np.ndarray:
    """bool (T,): row ``t`` of the 2-D float64 array holds a finite value,
    ``np.isfinite(values).any(axis=1)`` stopping at each row's first finite value."""
    n_rows, n_cols = values.shape
    out = np.zeros(n_rows, dtype=np.bool_)
    for i in range(n_rows):
        for j in range(n_cols):
            if np.isfinite(values[i, j]):
                out[i] = True
                break
    return out


@njit(cache=True)
def ffill_columns_into(src, src_cols, dst, dst_cols) -> None:
    """``dst[:, dst_cols[j]] = nan_to_num(ffill(src[:, src_cols[j]]))`` for every ``j``.

    Parameters
    ----------
    src : ndarray of shape (T, M), float64, any memory layout (read only) — e.g. a market table's
        values, dates × columns.
    src_cols : ndarray of shape (K,), int64 — the columns of ``src`` to read.
    dst : ndarray of shape (T, N), float64, C-contiguous — written in place.
    dst_cols : ndarray of shape (K,), int64 — where column ``src_cols[j]`` goes.

    Forward fill as :meth:`pandas.DataFrame.ffill` (a NaN takes the last non-NaN value above it;
    infinities are values), then as ``np.nan_to_num(..., nan=0.0)``: NaN left before the first
    value becomes 0, ±inf the largest finite float of that sign.
    """
    big = np.finfo(np.float64).max
    k = src_cols.shape[0]
    last = np.full(k, np.nan)
    for t in range(src.shape[0]):
        for j in range(k):
            v = src[t, src_cols[j]]
            if np.isnan(v):
                v = last[j]
            else:
                last[j] = v
            if not np.isfinite(v):
                v = 0.0 if np.isnan(v) else (big if v > 0 else -big)
            dst[t, dst_cols[j]] = v


@njit(cache=True)
def nan_to_num_columns(a, cols) -> None:
    """``np.nan_to_num(a[:, cols], nan=0.0)`` written back in place: NaN to 0, ±inf to the
    largest finite float of that sign, in the columns ``cols`` (int64) of a 2-D float64 array
    only (:func:`backtest.engine.kernel.nan_to_num_inplace` on those columns)."""
    big = np.finfo(np.float64).max
    for i in range(a.shape[0]):
        for j in cols:
            v = a[i, j]
            if not np.isfinite(v):
                a[i, j] = 0.0 if np.isnan(v) else (big if v > 0 else -big)


def constant_array(market: MarketData, n_ids: int, value: float | bool) -> np.ndarray:
    """A read-only (n_dates, n_ids) array of ``value`` (float64, or bool for a bool ``value``),
    made once per market, width and value: the ``fx`` of USD instruments, the zeros of inputs
    no column writes (a fresh one was 8 bytes per instrument-day of new memory every run)."""

    def make() -> np.ndarray:
        shape = (len(market.calendar), n_ids)
        # zeros: calloc'd, never paged in where never read (prev_ref, rate_for)
        a = np.full(shape, value, dtype=type(value)) if value else np.zeros(shape, type(value))
        a.flags.writeable = False
        return a

    return market.cached(("kernel_constant", n_ids, value, type(value).__name__), make)


def fill_securities(market: MarketData, sec_ids: list[str], sec: np.ndarray, price, under, div):
    """Securities' columns ``sec`` (int64 positions of ``sec_ids``) of the kernel's (n_dates,
    n_ids) float64 arrays: ``price`` (forward-filled and sanitised, in one pass from the market's
    price table, instrument currency), ``under`` (the same, unless it *is* ``price``) and
    ``div`` (dividend per share on ex-dates, 0 elsewhere; None: no security pays any)."""
    src_cols = market.prices.columns.get_indexer(sec_ids)
    if (src_cols < 0).any():  # as pandas' frame[ids] raised it
        missing = [sec_ids[k] for k in np.flatnonzero(src_cols < 0)]
        raise KeyError(f"{missing[:10]} not in the market's prices")
    values = market.cached(("price_values",), lambda: market.prices.to_numpy(dtype="float64"))
    ffill_columns_into(values, src_cols.astype(np.int64), price, sec)
    if under is not price:
        under[:, sec] = price[:, sec]
    if div is not None:
        div[:, sec] = market.dividends.reindex(columns=sec_ids).fillna(0.0).to_numpy()
