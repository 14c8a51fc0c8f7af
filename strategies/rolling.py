"""Trailing-window means of many columns in one numba pass, the arithmetic of pandas' own.

``DataFrame.rolling(window, min_periods).mean()`` runs pandas' compiled ``roll_mean`` once per
column behind a Python loop (~50 µs of overhead a column: 0.03 s of the market-neutral book's
four rolling means of 120 stocks). :func:`rolling_mean` runs the same algorithm over every
column at once:

- a running sum with Kahan compensation (one compensation for the values entering the window,
  one for those leaving it), a count of the values and of the negative ones (sign bit);
- the mean ``sum / count`` once ``count >= min_periods``, replaced by the last value when the
  window's values are all that same value, and by 0 when their signs contradict the sum's (all
  positive but the sum below 0, or all negative but above), as pandas removes those rounding
  artefacts (pandas GH#42064 and the ``neg_ct`` rule);
- ±inf counts as missing (pandas turns it into NaN before its kernels).

The tests hold it to ``DataFrame.rolling(...).mean()`` (:func:`rolling_mean_py`) bit for bit.

:func:`rolling_std` does the same for ``DataFrame.rolling(window, min_periods).std()``: pandas'
``roll_var`` (Welford's running mean and sum of squared deviations, each update with its Kahan
compensation, one for the values entering the window and one for those leaving it; the window
recomputed from scratch after an update that cancels catastrophically; divisor ``n − ddof``)
and its square root (0 for a negative variance, pandas' ``zsqrt``).

:func:`ewm_mean` does the same for ``DataFrame.ewm(com=..., adjust=True).mean()`` (pandas'
``ewm`` recursion: ``y = (w·y + x) / (w + 1)``, ``w ← (1 − α)·w + 1``; a missing value ages the
weight, a repeated value leaves the mean as it is).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from backtest.market.arrays import readonly_c

__all__ = [
    "ewm_mean",
    "ewm_mean_py",
    "rolling_mean",
    "rolling_mean_py",
    "rolling_beta",
    "rolling_std",
    "rolling_std_py",
]


def _columns(values, what: str) -> tuple[np.ndarray, bool]:
    """``values`` as the kernels' read-only C-contiguous float64 (n_dates, n_columns) array,
    and whether it was one column given as a 1-D array (the result is then 1-D too).
    ValueError naming ``what`` for any other number of dimensions."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"{what}: values must be 1-D (n_dates,) or 2-D (n_dates, n_columns), "
                         f"got shape {a.shape}")  # fmt: skip
    return readonly_c(a[:, None] if a.ndim == 1 else a), a.ndim == 1


def _shaped(out: np.ndarray, one_column: bool) -> np.ndarray:
    return out[:, 0] if one_column else out


@njit(cache=True)
def _rolling_mean(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Kernel. values (n_dates, n_columns) float64, C order; returns the trailing means, same
    shape, NaN where fewer than ``min_periods`` values are known. Day by day, every column's
    running state updated in turn (independent chains: they overlap in the processor)."""
    n, m = values.shape
    out = np.empty((n, m))
    total = np.zeros(m)
    comp_add = np.zeros(m)
    comp_remove = np.zeros(m)
    nobs = np.zeros(m, dtype=np.int64)
    neg = np.zeros(m, dtype=np.int64)
    same = np.zeros(m, dtype=np.int64)
    prev = np.full(m, np.nan)
    if n:
        for c in range(m):
            if np.isfinite(values[0, c]):
                prev[c] = values[0, c]
    for i in range(n):
        for c in range(m):
            if window == 1:  # pandas starts each one-row window afresh
                total[c], comp_add[c], nobs[c], neg[c], same[c] = 0.0, 0.0, 0, 0, 0
                prev[c] = values[i, c] if np.isfinite(values[i, c]) else np.nan
            elif i >= window:  # the value leaving the window
                v = values[i - window, c]
                if np.isfinite(v):
                    nobs[c] -= 1
                    y = -v - comp_remove[c]
                    t = total[c] + y
                    comp_remove[c] = t - total[c] - y
                    total[c] = t
                    if np.signbit(v):
                        neg[c] -= 1
            v = values[i, c]  # the value entering it
            if np.isfinite(v):
                nobs[c] += 1
                y = v - comp_add[c]
                t = total[c] + y
                comp_add[c] = t - total[c] - y
                total[c] = t
                if np.signbit(v):
                    neg[c] += 1
                if v == prev[c]:
                    same[c] += 1
                else:
                    same[c] = 1
                prev[c] = v
            k = nobs[c]
            if k >= min_periods and k > 0:
                result = total[c] / k
                if same[c] >= k:
                    result = prev[c]
                elif neg[c] == 0 and result < 0:
                    result = 0.0
                elif neg[c] == k and result > 0:
                    result = 0.0
                out[i, c] = result
            else:
                out[i, c] = np.nan
    return out


@njit(cache=True, inline="always")
def _mean_enter(v, total, comp, nobs, neg, same, prev):
    """:func:`_rolling_mean`'s update for a value entering the window (missing: unchanged)."""
    if np.isfinite(v):
        nobs += 1
        yy = v - comp
        t = total + yy
        comp = t - total - yy
        total = t
        if np.signbit(v):
            neg += 1
        if v == prev:
            same += 1
        else:
            same = 1
        prev = v
    return total, comp, nobs, neg, same, prev


@njit(cache=True, inline="always")
def _mean_leave(v, total, comp, nobs, neg):
    """:func:`_rolling_mean`'s update for a value leaving the window (missing: unchanged)."""
    if np.isfinite(v):
        nobs -= 1
        yy = -v - comp
        t = total + yy
        comp = t - total - yy
        total = t
        if np.signbit(v):
            neg -= 1
    return total, comp, nobs, neg


@njit(cache=True, inline="always")
def _mean_of(total, nobs, neg, same, prev, min_periods):
    """:func:`_rolling_mean`'s mean of the window's state (NaN below ``min_periods``)."""
    if nobs >= min_periods and nobs > 0:
        result = total / nobs
        if same >= nobs:
            return prev
        if neg == 0 and result < 0:
            return 0.0
        if neg == nobs and result > 0:
            return 0.0
        return result
    return np.nan


@njit(cache=True, inline="always")
def _pair(xv, yv):
    """``x``, ``y``, ``x·y``, ``x·x`` of one row where both are finite, NaN otherwise."""
    if np.isfinite(xv) and np.isfinite(yv):
        return xv, yv, xv * yv, xv * xv
    return np.nan, np.nan, np.nan, np.nan


@njit(cache=True)
def _rolling_beta(y: np.ndarray, x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Kernel of :func:`rolling_beta`: the four trailing means of :func:`_rolling_mean` (of
    ``x``, ``y``, ``x·y`` and ``x·x`` where both are known) run side by side, each with its own
    state and arithmetic, then ``(E[xy] − E[x]E[y]) / (E[xx] − E[x]²)`` where the variance is
    positive, NaN elsewhere. y (n_dates, n_columns) C order, x (n_dates,). Column by column,
    the four states in registers."""
    n, m = y.shape
    out = np.empty((n, m))
    for c in range(m):
        a0 = c0 = r0 = 0.0  # x: sum, compensation of additions, of removals
        a1 = c1 = r1 = 0.0  # y
        a2 = c2 = r2 = 0.0  # x·y
        a3 = c3 = r3 = 0.0  # x·x
        k0 = k1 = k2 = k3 = 0  # counts
        g0 = g1 = g2 = g3 = 0  # negative values
        s0 = s1 = s2 = s3 = 0  # run of one value
        p0 = p1 = p2 = p3 = np.nan  # last value
        if n:
            v0, v1, v2, v3 = _pair(x[0], y[0, c])
            p0 = v0 if np.isfinite(v0) else np.nan
            p1 = v1 if np.isfinite(v1) else np.nan
            p2 = v2 if np.isfinite(v2) else np.nan
            p3 = v3 if np.isfinite(v3) else np.nan
        for i in range(n):
            v0, v1, v2, v3 = _pair(x[i], y[i, c])
            if window == 1:  # pandas starts each one-row window afresh
                a0 = c0 = a1 = c1 = a2 = c2 = a3 = c3 = 0.0
                k0 = k1 = k2 = k3 = g0 = g1 = g2 = g3 = s0 = s1 = s2 = s3 = 0
                p0 = v0 if np.isfinite(v0) else np.nan
                p1 = v1 if np.isfinite(v1) else np.nan
                p2 = v2 if np.isfinite(v2) else np.nan
                p3 = v3 if np.isfinite(v3) else np.nan
            elif i >= window:  # the values leaving the window
                u0, u1, u2, u3 = _pair(x[i - window], y[i - window, c])
                a0, r0, k0, g0 = _mean_leave(u0, a0, r0, k0, g0)
                a1, r1, k1, g1 = _mean_leave(u1, a1, r1, k1, g1)
                a2, r2, k2, g2 = _mean_leave(u2, a2, r2, k2, g2)
                a3, r3, k3, g3 = _mean_leave(u3, a3, r3, k3, g3)
            a0, c0, k0, g0, s0, p0 = _mean_enter(v0, a0, c0, k0, g0, s0, p0)
            a1, c1, k1, g1, s1, p1 = _mean_enter(v1, a1, c1, k1, g1, s1, p1)
            a2, c2, k2, g2, s2, p2 = _mean_enter(v2, a2, c2, k2, g2, s2, p2)
            a3, c3, k3, g3, s3, p3 = _mean_enter(v3, a3, c3, k3, g3, s3, p3)
            ex = _mean_of(a0, k0, g0, s0, p0, min_periods)
            ey = _mean_of(a1, k1, g1, s1, p1, min_periods)
            exy = _mean_of(a2, k2, g2, s2, p2, min_periods)
            exx = _mean_of(a3, k3, g3, s3, p3, min_periods)
            cov = exy - ex * ey
            var = exx - ex * ex
            out[i, c] = cov / var if var > 0 else np.nan
    return out


def rolling_beta(y: np.ndarray, x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Trailing OLS slope of each column of ``y`` (n_dates, n_columns), or of ``y`` (n_dates,),
    on ``x`` (n_dates,) over the rows where both are known: ``(mean(xy) − mean(x) mean(y)) /
    (mean(x²) − mean(x)²)`` with :func:`rolling_mean`'s means (pandas' to the bit), NaN where
    that variance is not positive; ``y``'s shape. The bits of :func:`rolling_beta_py`, in one
    pass."""
    if window < 1 or min_periods < 0:
        raise ValueError("rolling_beta: window must be >= 1 and min_periods >= 0")
    yy, one_column = _columns(y, "rolling_beta")
    xx = np.asarray(x, dtype=np.float64)
    if xx.shape != (yy.shape[0],):
        raise ValueError(f"rolling_beta: x must be 1-D with one value per row of y "
                         f"({yy.shape[0]},), got shape {xx.shape}")  # fmt: skip
    out = _rolling_beta(yy, readonly_c(xx), int(window), int(min_periods))
    return _shaped(out, one_column)


def rolling_beta_py(y: np.ndarray, x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """The array twin of :func:`rolling_beta` (four :func:`rolling_mean` calls), for the tests."""
    y = np.asarray(y, dtype=np.float64)
    xb = np.broadcast_to(np.asarray(x, dtype=np.float64)[:, None], y.shape)
    both = np.isfinite(y) & np.isfinite(xb)
    xm, ym = np.where(both, xb, np.nan), np.where(both, y, np.nan)
    ex, ey = rolling_mean(xm, window, min_periods), rolling_mean(ym, window, min_periods)
    cov = rolling_mean(xm * ym, window, min_periods) - ex * ey
    var = rolling_mean(xm * xm, window, min_periods) - ex * ex
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, cov / var, np.nan)


def rolling_mean(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Trailing mean over ``window`` rows of each column of ``values`` (n_dates, n_columns),
    or of ``values`` (n_dates,); NaN with fewer than ``min_periods`` known values; ``values``'
    shape. Equal to the last bit to
    ``pd.DataFrame(values).rolling(window, min_periods=min_periods).mean()``."""
    if window < 1 or min_periods < 0:
        raise ValueError("rolling_mean: window must be >= 1 and min_periods >= 0")
    columns, one_column = _columns(values, "rolling_mean")
    return _shaped(_rolling_mean(columns, int(window), int(min_periods)), one_column)


def rolling_mean_py(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """The pandas twin of :func:`rolling_mean` (one compiled pass per column), for the tests."""
    frame = pd.DataFrame(np.asarray(values, dtype=np.float64))
    return frame.rolling(window, min_periods=min_periods).mean().to_numpy()


#: pandas' threshold for a catastrophic cancellation in the running sum of squares
#: (``InvCondTol``: an update that leaves fewer than ~3 significant digits).
_INV_COND_TOL = np.finfo(np.float64).eps * 1e3


@njit(cache=True)
def _var_add(v, state, c, comp):
    """pandas' ``add_var``: ``state`` rows 0..4 are nobs, mean, ssq, the add and remove
    compensations of each column; ``comp`` the row of the compensation used. Returns True
    when the update cancelled catastrophically (the window is then recomputed)."""
    if np.isnan(v):
        return False
    prev_m2 = state[2, c]
    state[0, c] += 1.0
    prev_mean = state[1, c] - state[comp, c]
    y = v - state[comp, c]
    t = y - state[1, c]
    state[comp, c] = t + state[1, c] - y
    state[1, c] = state[1, c] + t / state[0, c]
    state[2, c] = state[2, c] + (v - prev_mean) * (v - state[1, c])
    return prev_m2 * _INV_COND_TOL > state[2, c]


@njit(cache=True)
def _rolling_var(values: np.ndarray, window: int, min_periods: int, ddof: int) -> np.ndarray:
    """Kernel of :func:`rolling_std`: pandas' ``roll_var`` (Welford with Kahan compensation,
    removals before additions, the window recomputed after a catastrophic cancellation) on
    every column of values (n_dates, n_columns) float64, C order, NaN as missing (±inf made NaN
    by the caller, as pandas does). Returns the trailing variances, same shape, NaN with fewer
    than ``max(min_periods, 1)`` or ``ddof + 1`` known values."""
    n, m = values.shape
    out = np.empty((n, m))
    state = np.zeros((5, m))  # nobs, mean, ssq, compensation of additions, of removals
    unstable = np.zeros(m, dtype=np.bool_)
    minp = max(min_periods, 1)
    for i in range(n):
        s = max(0, i - window + 1)
        for c in range(m):
            if i > 0 and s < i:  # the window overlaps the last one: update it
                if s > 0:  # the value leaving the window (pandas' remove_var)
                    v = values[s - 1, c]
                    if not np.isnan(v):
                        prev_m2 = state[2, c]
                        state[0, c] -= 1.0
                        if state[0, c] != 0.0:
                            prev_mean = state[1, c] - state[4, c]
                            y = v - state[4, c]
                            t = y - state[1, c]
                            state[4, c] = t + state[1, c] - y
                            state[1, c] = state[1, c] - t / state[0, c]
                            state[2, c] = state[2, c] - (v - prev_mean) * (v - state[1, c])
                            if prev_m2 * _INV_COND_TOL > state[2, c]:
                                unstable[c] = True
                        else:
                            state[1, c], state[2, c] = 0.0, 0.0
                            unstable[c] = False
                if _var_add(values[i, c], state, c, 3):
                    unstable[c] = True
                recompute = unstable[c]
            else:
                recompute = True
            if recompute:
                for k in range(5):
                    state[k, c] = 0.0
                for j in range(s, i + 1):
                    _var_add(values[j, c], state, c, 3)
                unstable[c] = False
            k = state[0, c]
            out[i, c] = state[2, c] / (k - ddof) if k >= minp and k > ddof else np.nan
    return out


def rolling_std(values: np.ndarray, window: int, min_periods: int, ddof: int = 1) -> np.ndarray:
    """Trailing standard deviation over ``window`` rows of each column of ``values`` (n_dates,
    n_columns), or of ``values`` (n_dates,), divisor ``n − ddof``; NaN with fewer than
    ``min_periods`` known values; ``values``' shape. Equal to the last bit to
    ``pd.DataFrame(values).rolling(window, min_periods).std(ddof)``."""
    if window < 1 or min_periods < 0 or ddof < 0:
        raise ValueError("rolling_std: window must be >= 1, min_periods and ddof >= 0")
    if min_periods > window:  # as pandas' rolling
        raise ValueError(f"rolling_std: min_periods {min_periods} must be <= window {window}")
    columns, one_column = _columns(values, "rolling_std")
    x = np.array(columns)  # a writable copy: pandas makes ±inf missing before its kernels
    x[np.isinf(x)] = np.nan
    var = _shaped(_rolling_var(readonly_c(x), int(window), int(min_periods), int(ddof)), one_column)
    with np.errstate(invalid="ignore"):
        std = np.sqrt(var)
    std[var < 0] = 0.0  # pandas' zsqrt
    return std


def rolling_std_py(values: np.ndarray, window: int, min_periods: int, ddof: int = 1) -> np.ndarray:
    """The pandas twin of :func:`rolling_std`, for the tests."""
    frame = pd.DataFrame(np.asarray(values, dtype=np.float64))
    return frame.rolling(window, min_periods=min_periods).std(ddof=ddof).to_numpy()


@njit(cache=True)
def _ewm_mean(values: np.ndarray, com: float, min_periods: int) -> np.ndarray:
    """Kernel of :func:`ewm_mean`. values (n_dates, n_columns) float64, C order (±inf as
    missing); returns the means, same shape. Day by day, every column in turn."""
    n, m = values.shape
    out = np.empty((n, m))
    if n == 0:
        return out
    alpha = 1.0 / (1.0 + com)
    old_wt_factor = 1.0 - alpha
    new_wt = 1.0
    weighted = np.empty(m)
    old_wt = np.ones(m)
    nobs = np.zeros(m, dtype=np.int64)
    for c in range(m):
        v = values[0, c]
        weighted[c] = v if np.isfinite(v) else np.nan
        nobs[c] = 1 if np.isfinite(v) else 0
        out[0, c] = weighted[c] if nobs[c] >= min_periods else np.nan
    for i in range(1, n):
        for c in range(m):
            cur = values[i, c]
            is_observation = np.isfinite(cur)
            if is_observation:
                nobs[c] += 1
            w = weighted[c]
            if not np.isnan(w):
                old_wt[c] *= old_wt_factor
                if is_observation:
                    if w != cur:  # a repeated value leaves the mean as it is
                        w = old_wt[c] * w + new_wt * cur
                        w = w / (old_wt[c] + new_wt)
                        weighted[c] = w
                    old_wt[c] += new_wt
            elif is_observation:
                weighted[c] = cur
            out[i, c] = weighted[c] if nobs[c] >= min_periods else np.nan
    return out


def ewm_mean(values: np.ndarray, com: float, min_periods: int = 1) -> np.ndarray:
    """Exponentially weighted mean (``adjust=True``, centre of mass ``com``) of each column of
    ``values`` (n_dates, n_columns), or of ``values`` (n_dates,); NaN until
    ``max(min_periods, 1)`` values are known; ``values``' shape. Equal to the last bit to
    ``pd.DataFrame(values).ewm(com=com, min_periods=...).mean()``."""
    if not com >= 0:
        raise ValueError("ewm_mean: com must be >= 0")
    columns, one_column = _columns(values, "ewm_mean")
    return _shaped(_ewm_mean(columns, float(com), max(int(min_periods), 1)), one_column)


def ewm_mean_py(values: np.ndarray, com: float, min_periods: int = 1) -> np.ndarray:
    """The pandas twin of :func:`ewm_mean`, for the tests."""
    frame = pd.DataFrame(np.asarray(values, dtype=np.float64))
    return frame.ewm(com=com, min_periods=min_periods, adjust=True).mean().to_numpy()
