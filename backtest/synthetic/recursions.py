"""Numerical building blocks of the synthetic market's paths (see :mod:`backtest.synthetic` for
the model). Pure functions on float64 arrays with time on axis 0:

- the two day-by-day recursions, written as plain Python (``heston_paths_py``, ``ou_paths_py``)
  and compiled with numba (``heston_paths``, ``ou_paths``); tests check that both agree;
- regime and crash-jump draws;
- the exponentially weighted average (``ewma``, a noiseless ``ou_paths``) and the closed-form
  mean-reversion average (``mean_reversion_average``) used by the expectations of the model.

Every recursion and filter here runs forward in time and every draw has time on its first axis,
as the prefix-stability rules in :mod:`backtest.synthetic.models` require.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Trading days per year: the time step of every simulated recursion is ``1 / TRADING_DAYS``.
TRADING_DAYS = 252
DT_YEARS = 1.0 / TRADING_DAYS


# ----------------------------------------------------------------------------- recursions
def heston_paths_py(
    regime: np.ndarray,
    jumps: np.ndarray,
    z_ret: np.ndarray,
    z_var: np.ndarray,
    drift: np.ndarray,
    v0: float,
    kappa: float,
    theta: np.ndarray,
    xi: np.ndarray,
    rho: np.ndarray,
    jump_var: float,
    v_floor: float,
    recovery: float,
    dt: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Euler (full-truncation style, floored) Heston path with regime-dependent parameters.

    Parameters
    ----------
    regime : int ndarray of shape (n,)
        0 calm / 1 crisis; indexes ``theta``, ``xi`` and ``rho`` (each of shape (2,)).
    jumps : ndarray of shape (n,)
        Log-return jumps (0 on ordinary days); each adds ``jump_var * |jump|`` to the variance.
    z_ret, z_var : ndarray of shape (n,)
        Independent standard normals; the variance shock is ``rho z_ret + sqrt(1-rho^2) z_var``.
    drift : ndarray of shape (n,)
        Annual arithmetic drift of the price.
    v0, kappa, theta, xi, v_floor : float / ndarray
        Start variance, mean-reversion speed (1/yr), long-run variance, vol of variance, floor.
    recovery : float
        Extra calm-regime drift per unit of log drawdown from the running peak (1/yr).
    dt : float
        Step in years.

    Returns
    -------
    (ret, var) : ndarrays of shape (n,)
        Daily log return of day ``t`` and the instantaneous variance at ``t``'s close.
    """
    n = regime.shape[0]
    ret = np.empty(n)
    var = np.empty(n)
    v = v0
    sq = np.sqrt(dt)
    log_level = 0.0
    log_peak = 0.0
    for t in range(n):
        s = regime[t]
        vol = np.sqrt(v)
        mu = drift[t] + (recovery * (log_peak - log_level) if s == 0 else 0.0)
        ret[t] = (mu - 0.5 * v) * dt + vol * sq * z_ret[t] + jumps[t]
        log_level += ret[t]
        log_peak = max(log_peak, log_level)
        zv = rho[s] * z_ret[t] + np.sqrt(1.0 - rho[s] * rho[s]) * z_var[t]
        v = v + kappa * (theta[s] - v) * dt + xi[s] * vol * sq * zv + jump_var * abs(jumps[t])
        v = max(v, v_floor)
        var[t] = v
    return ret, var


def ou_paths_py(
    x0: np.ndarray,
    kappa: np.ndarray,
    theta: np.ndarray,
    sigma: np.ndarray,
    z: np.ndarray,
    dt: float,
) -> np.ndarray:
    """Euler paths of ``dx = kappa (theta - x) dt + sigma dW`` with time-varying parameters.

    ``x0`` has shape (k,); ``kappa``, ``theta``, ``sigma`` and the normals ``z`` shape (n, k).
    Returns the (n, k) values at each step's end.
    """
    n, k = z.shape
    out = np.empty((n, k))
    x = x0.copy()
    sq = np.sqrt(dt)
    for t in range(n):
        for j in range(k):
            x[j] += kappa[t, j] * (theta[t, j] - x[j]) * dt + sigma[t, j] * sq * z[t, j]
            out[t, j] = x[j]
    return out


heston_paths = njit(cache=True)(heston_paths_py)
_ou_paths_nb = njit(cache=True)(ou_paths_py)


def ou_paths(x0, kappa, theta, sigma, z: np.ndarray, dt: float = DT_YEARS) -> np.ndarray:
    """:func:`ou_paths_py` compiled, with every parameter broadcast to ``z``'s (n, k) shape."""
    n, k = np.shape(z)

    def full(a, shape=(n, k)) -> np.ndarray:  # writable C-contiguous copy: one compiled signature
        return np.array(np.broadcast_to(np.asarray(a, dtype=np.float64), shape), order="C")

    return _ou_paths_nb(full(x0, (k,)), full(kappa), full(theta), full(sigma), full(z), float(dt))


# ----------------------------------------------------------------------------- regimes, jumps
def regime_path(
    rng: np.random.Generator,
    n: int,
    calm_mean_days: float,
    crisis_days: tuple[int, int],
    first_calm_max_days: int | None = None,
) -> np.ndarray:
    """Alternating calm (0) / crisis (1) spells: a two-state semi-Markov chain.

    Calm spells are geometric with mean ``calm_mean_days``; crisis spells uniform on
    ``crisis_days`` (inclusive). The path starts calm. With ``first_calm_max_days`` the first
    calm spell is drawn conditional on lasting at most that many days (the geometric draw taken
    modulo the bound, which by memorylessness is exactly that conditional law), so every path
    longer than the bound has a crisis. Row ``i`` of one ``(spells, 2)`` uniform draw gives the
    ``i``-th calm and crisis lengths (inverse CDFs), so the first ``m`` days are the same for any
    ``n >= m``. Returns int64 of shape (n,).
    """
    lo, hi = int(crisis_days[0]), int(crisis_days[1])
    spells = n // max(lo, 1) + 2  # each calm + crisis pair lasts more than lo days
    u = rng.random((spells, 2))
    calm = np.ceil(np.log1p(-u[:, 0]) / np.log1p(-1.0 / calm_mean_days)).astype(np.int64)
    calm = np.maximum(calm, 1)  # geometric on 1, 2, ...: P(calm > k) = (1 - 1/mean)^k
    crisis = lo + np.floor(u[:, 1] * (hi - lo + 1)).astype(np.int64)
    if first_calm_max_days is not None:
        calm[0] = (calm[0] - 1) % max(int(first_calm_max_days), 1) + 1
    states = np.tile(np.array([0, 1], dtype=np.int64), spells)
    return np.repeat(states, np.column_stack([calm, crisis]).ravel())[:n]


def crash_jumps(
    rng: np.random.Generator,
    regime: np.ndarray,
    per_year: tuple[float, float],
    size_range: tuple[float, float],
    dt: float = DT_YEARS,
) -> np.ndarray:
    """Crash log-jumps: on each day with probability ``per_year[regime] × dt`` a jump of
    ``-U(size_range)``; 0 otherwise. Shape (n,). Day ``t``'s arrival and size uniforms are row
    ``t`` of one ``(n, 2)`` draw."""
    n = regime.shape[0]
    u = rng.random((n, 2))
    size = size_range[0] + (size_range[1] - size_range[0]) * u[:, 1]
    p = np.asarray(per_year, dtype=np.float64)[regime] * dt
    return np.where(u[:, 0] < p, -size, 0.0)


# ----------------------------------------------------------------------------- averages
def mean_reversion_average(kappa: float, horizon_years) -> np.ndarray:
    """``(1 - e^{-kappa h}) / (kappa h)``: average weight of today's deviation over ``[0, h]``."""
    kh = kappa * np.asarray(horizon_years, dtype=np.float64)
    safe = np.where(kh > 1e-10, kh, 1.0)
    return np.where(kh > 1e-10, -np.expm1(-safe) / safe, 1.0 - 0.5 * kh)


def ewma(x: np.ndarray, halflife_days: float) -> np.ndarray:
    """Exponentially weighted moving average of a 1-D series, started at ``x[0]`` (no look-ahead):
    ``y[t] = y[t-1] + alpha (x[t] - y[t-1])``, i.e. :func:`ou_paths` with no noise."""
    alpha = 1.0 - 0.5 ** (1.0 / halflife_days)
    z = np.zeros((x.shape[0], 1))
    return ou_paths(x[:1], alpha, x[:, None], 0.0, z, dt=1.0)[:, 0]
