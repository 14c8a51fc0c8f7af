"""Filling the kernel's (T, N) input arrays from market tables in one compiled pass.

:func:`backtest.engine.simulator.prepare_inputs` used to build each block of columns as
``frame[ids].ffill().to_numpy()`` assigned through a fancy index, then sanitised with
:func:`backtest.engine.kernel.nan_to_num_inplace`: three full-size temporaries and a strided
copy per block (on 5,000 days × 500 stocks, ~20 ms of the ~45 ms spent outside the kernel).
:func:`ffill_columns_into` does the same in one pass, writing straight into the kernel's array;
the result is the same bits (forward fill and the NaN/inf substitution copy values, they do no
arithmetic), tested against the pandas path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ffill_columns_into"]


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
