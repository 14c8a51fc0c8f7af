"""Historical VaR kernels: the rolling VaR of a book (:func:`_rolling_var`), of a reference
portfolio over several look-backs at once (:func:`reference_var_windows`), and the quantile they
read (:func:`_quantile`), with their plain-Python twins for the tests.

Used by :mod:`allocator.limits` (the Rule 18f-4 test before and after trading). Units: returns
and VaR as decimals of net assets; arrays float64 unless stated.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from backtest.market.arrays import readonly_c


def _rolling_var(
    returns: np.ndarray,
    weights: np.ndarray,
    rows: np.ndarray,
    lookback: int,
    horizon: int,
    q: float,
    min_obs: int,
) -> np.ndarray:
    """Historical VaR of ``weights[t]`` over the last ``lookback`` overlapping ``horizon``-day
    returns up to row t (inclusive), for t in ``rows``; a loss fraction floored at 0, NaN with
    fewer than ``min_obs`` days of history.

    ``returns`` and ``weights`` are (n_dates, n_instruments) float64 arrays of any memory
    layout; ``rows`` (n_rows,) int64. Within a row only the instruments with a non-zero weight
    are summed, in column order, so the figures equal the dense sum's exactly. The kernel
    (:func:`_rolling_var_kernel`) reads them instrument by instrument: a frame's array from
    pandas is column-major, so its transpose is handed over without a copy. (A ``prange`` over
    rows compiles four times slower, ~20 s cold, for little gain on two cores: see the speed
    notes in the README.)
    """
    by_instrument = readonly_c(np.asarray(returns, dtype=np.float64).T)
    weights_by_instrument = readonly_c(np.asarray(weights, dtype=np.float64).T)
    return _rolling_var_kernel(by_instrument, weights_by_instrument, readonly_c(rows, np.int64),
                               lookback, horizon, q, min_obs)  # fmt: skip


@njit(cache=True)
def _rolling_var_kernel(
    returns_t: np.ndarray,
    weights_t: np.ndarray,
    rows: np.ndarray,
    lookback: int,
    horizon: int,
    q: float,
    min_obs: int,
) -> np.ndarray:
    """Kernel of :func:`_rolling_var` on instrument-major arrays: ``returns_t`` and
    ``weights_t`` of shape (n_instruments, n_dates), C-contiguous.

    Two consecutive rows that hold the same instruments are summed in one pass over their
    windows (:func:`_add_held_two`): each return is loaded once for both, and each row's terms
    are still added one by one in column order, so each figure is the one row's alone."""
    m, n = returns_t.shape
    # missing returns as 0, by instrument: the inner loop runs down contiguous memory. Per day
    # the terms are still added in column order, and adding a signed zero leaves a sum that
    # started at +0.0 unchanged, so the figures equal skipping the missing returns exactly.
    # Only the instruments some row holds are read.
    by_instrument = np.zeros((m, n))
    for i in range(m):
        used = False
        for k in range(rows.shape[0]):
            if weights_t[i, rows[k]] != 0.0:
                used = True
                break
        if used:
            for s in range(n):
                r = returns_t[i, s]
                if np.isfinite(r):
                    by_instrument[i, s] = r
    out = np.full(rows.shape[0], np.nan)
    size = max(1, min(lookback, n)) + 1  # one set of buffers for every row (and pair of rows)
    first_buf, second_buf = np.empty(size), np.empty(size)
    cum_buf, hor_buf = np.empty(size), np.empty(size)
    held = np.empty(m, dtype=np.int64)
    need = max(min_obs, 2 * horizon)
    k = 0
    while k < rows.shape[0]:
        t = rows[k]
        start = max(0, t - lookback + 1)
        length = t - start + 1
        if length < need:
            k += 1
            continue
        n_held = _held_columns(weights_t, t, held)
        if not (k + 1 < rows.shape[0] and rows[k + 1] == t + 1
                and _holds_the_same(weights_t, t + 1, held, n_held)):  # fmt: skip
            daily = first_buf[:length]
            _add_held_one(by_instrument, weights_t, held, n_held, t, start, daily)
            out[k] = _var_of_daily(daily, horizon, q, cum_buf, hor_buf)
            k += 1
            continue
        # rows t and t + 1: one pass over [start, t + 1]; row t reads [start, t] of the first
        # buffer, row t + 1 [its own start, t + 1] of the second (its earlier days unread)
        span = t + 2 - start
        first, second = first_buf[:span], second_buf[:span]
        _add_held_two(by_instrument, weights_t, held, n_held, t, start, first, second)
        out[k] = _var_of_daily(first[:length], horizon, q, cum_buf, hor_buf)
        next_start = max(0, t + 1 - lookback + 1)
        if t + 2 - next_start >= need:
            daily = second[next_start - start :]
            out[k + 1] = _var_of_daily(daily, horizon, q, cum_buf, hor_buf)
        k += 2
    return out


@njit(cache=True)
def _held_columns(weights_t: np.ndarray, t: int, held: np.ndarray) -> int:
    """Write the instruments with a non-zero weight on row ``t`` into ``held`` (in column
    order); return how many."""
    n_held = 0
    for i in range(weights_t.shape[0]):
        if weights_t[i, t] != 0.0:
            held[n_held] = i
            n_held += 1
    return n_held


@njit(cache=True)
def _holds_the_same(weights_t: np.ndarray, t: int, held: np.ndarray, n_held: int) -> bool:
    """Whether row ``t`` holds exactly the instruments ``held[:n_held]``."""
    count = 0
    for i in range(weights_t.shape[0]):
        if weights_t[i, t] != 0.0:
            if count >= n_held or held[count] != i:
                return False
            count += 1
    return count == n_held


@njit(cache=True)
def _add_held_one(by_instrument, weights_t, held, n_held, t, start, daily) -> None:
    """``daily[s − start] = Σ_i weights_t[i, t] · by_instrument[i, s]`` over the held
    instruments in column order, one term at a time from +0.0, for s in ``[start, t]``."""
    length = daily.shape[0]
    daily[:] = 0.0
    j = 0
    while j + 4 <= n_held:  # four at a time: each day's terms still added one by one
        i0, i1, i2, i3 = held[j], held[j + 1], held[j + 2], held[j + 3]
        w0, w1, w2, w3 = weights_t[i0, t], weights_t[i1, t], weights_t[i2, t], weights_t[i3, t]
        r0 = by_instrument[i0, start : t + 1]
        r1 = by_instrument[i1, start : t + 1]
        r2 = by_instrument[i2, start : t + 1]
        r3 = by_instrument[i3, start : t + 1]
        for s in range(length):
            daily[s] = (((daily[s] + w0 * r0[s]) + w1 * r1[s]) + w2 * r2[s]) + w3 * r3[s]
        j += 4
    while j < n_held:
        i = held[j]
        w = weights_t[i, t]
        r_i = by_instrument[i, start : t + 1]
        for s in range(length):
            daily[s] += w * r_i[s]
        j += 1


@njit(cache=True)
def _add_held_two(by_instrument, weights_t, held, n_held, t, start, first, second) -> None:
    """:func:`_add_held_one` for rows ``t`` (into ``first``) and ``t + 1`` (into ``second``),
    which hold the same instruments, over the days ``[start, t + 1]`` (``first``'s last day
    belongs to no window of row t and is not read)."""
    span = first.shape[0]
    first[:] = 0.0
    second[:] = 0.0
    u = t + 1
    j = 0
    while j + 4 <= n_held:
        i0, i1, i2, i3 = held[j], held[j + 1], held[j + 2], held[j + 3]
        w0, w1, w2, w3 = weights_t[i0, t], weights_t[i1, t], weights_t[i2, t], weights_t[i3, t]
        v0, v1, v2, v3 = weights_t[i0, u], weights_t[i1, u], weights_t[i2, u], weights_t[i3, u]
        r0 = by_instrument[i0, start : u + 1]
        r1 = by_instrument[i1, start : u + 1]
        r2 = by_instrument[i2, start : u + 1]
        r3 = by_instrument[i3, start : u + 1]
        for s in range(span):
            x0, x1, x2, x3 = r0[s], r1[s], r2[s], r3[s]
            first[s] = (((first[s] + w0 * x0) + w1 * x1) + w2 * x2) + w3 * x3
            second[s] = (((second[s] + v0 * x0) + v1 * x1) + v2 * x2) + v3 * x3
        j += 4
    while j < n_held:
        i = held[j]
        w, v = weights_t[i, t], weights_t[i, u]
        r_i = by_instrument[i, start : u + 1]
        for s in range(span):
            first[s] += w * r_i[s]
            second[s] += v * r_i[s]
        j += 1


@njit(cache=True)
def _var_of_daily(daily: np.ndarray, horizon: int, q: float, cum_buf, hor_buf) -> float:
    """The VaR figure of one window's daily portfolio returns: the ``horizon``-day sums from
    their running sum, the ``1 − q`` quantile, its loss floored at 0."""
    length = daily.shape[0]
    cum = cum_buf[:length]
    acc = 0.0  # np.cumsum as numba computes it: a running sum started at 0.0
    for s in range(length):
        acc += daily[s]
        cum[s] = acc
    hor = hor_buf[: length - horizon + 1]
    hor[0] = cum[horizon - 1]  # x − 0.0 is x, to the bit
    for j in range(1, hor.shape[0]):
        hor[j] = cum[j + horizon - 1] - cum[j - 1]
    return max(-_quantile(hor, 1.0 - q), 0.0)


@njit(cache=True)
def _quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) as numba computes it, to the last bit,
    for a 1-D array of finite float64 values (reordered in place); NaN when one is NaN.

    numba's own ``np.quantile`` compiles ~2.8 s of generic code (cold start); this is its scalar
    path: ``rank = 1 + (n − 1)·(100q / 100)``, the order statistics ``k = ⌊rank⌋ − 1`` and
    ``k + 1``, and ``lower·(1 − m) + upper·m`` with ``m = rank − ⌊rank⌋``. Order statistics do
    not depend on how they are found, so a plain quickselect gives the same two values, and so
    does keeping the ``k + 2`` smallest in one pass when ``k`` is small (the VaR tail).
    """
    n = values.shape[0]
    for i in range(n):
        if np.isnan(values[i]):
            return np.nan
    if n == 1:
        return values[0]
    percentile = q * 100.0
    if percentile == 100.0 or percentile == 0.0:  # the largest or the smallest value
        best = values[0]
        for i in range(1, n):
            if (values[i] > best) if percentile == 100.0 else (values[i] < best):
                best = values[i]
        return best
    rank = 1 + (n - 1) * (percentile / 100.0)
    f = math.floor(rank)
    m = rank - f
    k = int(f - 1)
    if k + 2 <= _SMALL_RANK:  # e.g. the 1% tail of 480 values: the 5th and 6th smallest
        lower, upper = _two_smallest_from(values, k)
        return lower * (1 - m) + upper * m
    lower = _select(values, k)
    upper = values[k + 1]
    for i in range(k + 2, n):  # the partition left values[k + 1:] >= lower: their minimum
        if values[i] < upper:
            upper = values[i]
    return lower * (1 - m) + upper * m


#: :func:`_quantile` finds order statistics below this rank with :func:`_two_smallest_from`
_SMALL_RANK = 32


@njit(cache=True)
def _two_smallest_from(values: np.ndarray, k: int) -> tuple[float, float]:
    """The ``k``-th and ``k+1``-th smallest values (0-based) of ``values`` (no NaN, more than
    ``k + 1`` of them), from one pass that keeps the ``k + 2`` smallest sorted (insertion).

    Order statistics do not depend on how they are found, so these are the values
    :func:`_select` and the scan after it give; for a small ``k`` (a VaR tail) this pass is a
    few times quicker than partitioning the whole window."""
    size = k + 2
    kept = np.empty(size)
    count = 0
    for i in range(values.shape[0]):
        v = values[i]
        if count < size:
            j = count
            count += 1
        elif v < kept[size - 1]:
            j = size - 1
        else:
            continue
        while j > 0 and kept[j - 1] > v:
            kept[j] = kept[j - 1]
            j -= 1
        kept[j] = v
    return kept[k], kept[k + 1]


@njit(cache=True)
def _select(a: np.ndarray, k: int) -> float:
    """The ``k``-th smallest value (0-based) of ``a``, partitioning ``a`` in place so that
    ``a[:k] <= a[k] <= a[k + 1:]`` (quickselect, median-of-three pivot)."""
    lo, hi = 0, a.shape[0] - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[lo], a[mid] = a[mid], a[lo]
        if a[hi] < a[lo]:
            a[lo], a[hi] = a[hi], a[lo]
        if a[mid] < a[hi]:
            a[mid], a[hi] = a[hi], a[mid]
        pivot = a[hi]  # the median of the three
        i = lo
        for j in range(lo, hi):
            if a[j] < pivot:
                a[i], a[j] = a[j], a[i]
                i += 1
        a[i], a[hi] = a[hi], a[i]
        if i == k:
            break
        if i < k:
            lo = i + 1
        else:
            hi = i - 1
    return a[k]


def rolling_var_py(returns, weights, rows, lookback, horizon, q, min_obs) -> np.ndarray:
    """Plain-Python twin of :func:`_rolling_var` (dense sums, no numba), for the tests."""
    out = np.full(len(rows), np.nan)
    for k, t in enumerate(rows):
        start = max(0, t - lookback + 1)
        if t - start + 1 < max(min_obs, 2 * horizon):
            continue
        w = weights[t]
        r = returns[start : t + 1]
        daily = np.where((w != 0.0) & np.isfinite(r), r * w, 0.0).sum(axis=1)
        cum = np.cumsum(daily)
        hor = cum[horizon - 1 :] - np.concatenate(([0.0], cum[: len(cum) - horizon]))
        out[k] = max(-np.quantile(hor, 1.0 - q), 0.0)
    return out


@njit(cache=True)
def _quantile_of_prefix(values: np.ndarray, q: float, scratch: np.ndarray) -> float:
    """:func:`_quantile` of ``values`` without reordering them: the small-rank pass reads them
    as they are; the quickselect (a larger rank) works on a copy in ``scratch`` (at least as
    long as ``values``). The same value as :func:`_quantile`, to the bit."""
    n = values.shape[0]
    percentile = q * 100.0  # the test of _quantile's special cases, as it makes it
    if n >= 2 and percentile != 100.0 and percentile != 0.0:
        for i in range(n):
            if np.isnan(values[i]):
                return np.nan
        rank = 1 + (n - 1) * (percentile / 100.0)
        f = math.floor(rank)
        k = int(f - 1)
        if k + 2 <= _SMALL_RANK:
            lower, upper = _two_smallest_from(values, k)
            m = rank - f
            return lower * (1 - m) + upper * m
    scratch[:n] = values
    return _quantile(scratch[:n], q)


@njit(cache=True)
def _reference_var_kernel(
    returns: np.ndarray,
    lookback: int,
    n_windows: int,
    horizon: int,
    q: float,
    min_obs: int,
) -> np.ndarray:
    """Kernel of :func:`reference_var_windows`: returns (n_dates,), out (n_windows, n_dates).

    Window ``j`` at row ``t`` is ``[max(0, t − (lookback − j) + 1), t]``, so the windows that
    start on one day are prefixes of the longest one: its running sum and horizon sums are
    computed once and each window's quantile read from a prefix
    (:func:`_quantile_of_prefix`). The arithmetic is :func:`_rolling_var_kernel`'s for a weight of 1
    (``0.0 + 1.0·r``, missing returns as 0), so the figures equal it to the last bit.
    """
    n = returns.shape[0]
    out = np.full((n_windows, n), np.nan)
    daily = np.empty(n)
    for s in range(n):
        r = returns[s] if np.isfinite(returns[s]) else 0.0
        daily[s] = 0.0 + 1.0 * r
    size = max(1, min(lookback, n))
    cum, hor, scratch = np.empty(size), np.empty(size), np.empty(size)
    figures = np.empty(size)
    need = max(min_obs, 2 * horizon)
    for a in range(n):  # the first day of the windows
        if a > 0 and a + lookback - n_windows > n - 1:
            break  # no window starting here or later ends inside the data
        last = min(a + lookback - 1, n - 1)  # the longest window's last row
        length = last - a + 1
        if length < need:
            continue
        acc = 0.0
        for s in range(length):
            acc += daily[a + s]
            cum[s] = acc
        hor[0] = cum[horizon - 1]
        for i in range(1, length - horizon + 1):
            hor[i] = cum[i + horizon - 1] - cum[i - 1]
        # the prefixes some window reads: lengths shortest .. longest (a > 0: n_windows lengths
        # in a row; a = 0: every length from the first full one), their figures in one pass
        shortest, longest = size, 0
        for j in range(n_windows):
            span = lookback - j
            first_t = 0 if a == 0 else a + span - 1  # rows whose window j starts on day a
            last_t = min(span - 1, n - 1) if a == 0 else a + span - 1
            lo, hi = max(first_t, a + need - 1), min(last_t, n - 1)
            if lo <= hi:
                shortest = min(shortest, lo - a + 1 - horizon + 1)
                longest = max(longest, hi - a + 1 - horizon + 1)
        if longest < shortest:
            continue
        _prefix_figures(hor, shortest, longest, 1.0 - q, scratch, figures)
        for j in range(n_windows):
            span = lookback - j
            first_t = 0 if a == 0 else a + span - 1
            last_t = min(span - 1, n - 1) if a == 0 else a + span - 1
            for t in range(max(first_t, a + need - 1), min(last_t, n - 1) + 1):
                out[j, t] = figures[t - a + 1 - horizon + 1 - shortest]
    return out


@njit(cache=True)
def _prefix_figures(hor, shortest, longest, q, scratch, figures) -> None:
    """``figures[L − shortest] = max(−_quantile(hor[:L], q), 0)`` for L in ``shortest ..
    longest``, to the bit, without reordering ``hor``.

    When every one of these quantiles reads a small rank (the VaR tail), one insertion pass
    keeps the ``S`` smallest values of the prefix read so far, in the order a stable sort puts
    them (:func:`_two_smallest_from` with a larger buffer: a value equal to the last kept one
    is dropped, as a stable sort would put it after), and each prefix's two order statistics
    are read from it as the pass reaches its end: the same values as one pass per prefix.
    Otherwise (or for one value, or the 0 / 100 percentiles) one :func:`_quantile_of_prefix`
    per prefix."""
    percentile = q * 100.0  # _quantile's arithmetic, for the largest rank of the prefixes
    big = _SMALL_RANK + 1  # _quantile's special cases (one value, 0 / 100): prefix by prefix
    if shortest >= 2 and percentile != 100.0 and percentile != 0.0:
        rank = 1 + (longest - 1) * (percentile / 100.0)
        big = int(math.floor(rank) - 1) + 2
    if big > _SMALL_RANK:
        for length in range(shortest, longest + 1):
            figures[length - shortest] = max(-_quantile_of_prefix(hor[:length], q, scratch), 0.0)
        return
    kept = scratch[:big]
    count = 0
    for i in range(longest):
        v = hor[i]
        if np.isnan(v):  # this prefix and every longer one: _quantile's NaN, one by one
            for length in range(max(i + 1, shortest), longest + 1):
                value = _quantile_of_prefix(hor[:length], q, scratch)
                figures[length - shortest] = max(-value, 0.0)
            return
        if count < big:
            j = count
            count += 1
        elif v < kept[big - 1]:
            j = big - 1
        else:
            j = -1
        if j >= 0:
            while j > 0 and kept[j - 1] > v:
                kept[j] = kept[j - 1]
                j -= 1
            kept[j] = v
        length = i + 1
        if length >= shortest:
            rank = 1 + (length - 1) * (percentile / 100.0)
            f = math.floor(rank)
            m = rank - f
            k = int(f - 1)
            figures[length - shortest] = max(-(kept[k] * (1 - m) + kept[k + 1] * m), 0.0)


def reference_var_windows(
    returns: np.ndarray, lookback: int, n_windows: int, horizon: int, q: float, min_obs: int
) -> np.ndarray:
    """Historical VaR of a reference portfolio (weight 1 on ``returns``, shape (n_dates,)) on
    every date over the look-backs ``lookback − j``, j = 0 .. n_windows − 1 (the windows without
    their j oldest days): shape (n_windows, n_dates), NaN with too little history. Equal to
    :func:`_rolling_var` run once per look-back, to the last bit, in about a third of the time.
    """
    r = readonly_c(np.asarray(returns, dtype=np.float64).ravel())
    return _reference_var_kernel(r, int(lookback), int(n_windows), int(horizon), float(q),
                                 int(min_obs))  # fmt: skip
