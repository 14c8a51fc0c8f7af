"""Option pricing: pure, vectorised Black-Scholes-Merton and Black-76 prices and greeks, implied
volatility and the project's volatility-surface model. Forwards, futures curves and rolls are in
:mod:`backtest.market.futures`, which shares the array helpers :func:`as_f64` and
:func:`as_output` defined here.

Every numeric function broadcasts its array arguments (numpy rules), accepts scalars, and returns
float64 ndarrays of the broadcast shape (a Python ``float`` when every input is a scalar).

Units used throughout: rates and dividend yields are continuously compounded annual decimals
(0.05 = 5% a year), ``tau_years`` is time to expiry in years, ``vol`` is annual volatility as a
decimal (0.20 = 20%). Greeks use these conventions:

- ``delta``: dPrice/dUnderlying (spot for Black-Scholes-Merton, forward for Black-76);
- ``gamma``: d2Price/dUnderlying2;
- ``vega``: dPrice/dVol per 1.00 of vol (divide by 100 for "per vol point");
- ``theta``: dPrice/dt per year of calendar time t, i.e. ``-dPrice/dtau`` (divide by 365 for
  "per day"); usually negative for a long option;
- ``rho``: dPrice/dRate per 1.00 of rate (the discount/domestic rate; the spot, forward and
  dividend yield are held fixed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

IV_VOL_MIN, IV_VOL_MAX = 1e-6, 10.0  # implied-vol search bracket (annual decimal)
IV_MAX_ITER = 100  # hard cap on implied-vol solver iterations
SURFACE_MIN_TAU_YEARS = 1.0 / 365.0  # tau floor in the surface's standardised moneyness
SURFACE_MIN_VOL = 0.01  # floor on the surface model's vol

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True, slots=True)
class Greeks:
    """Option sensitivities (see the module docstring for units), each of the inputs' shape."""

    delta: FloatArray | float
    gamma: FloatArray | float
    vega: FloatArray | float
    theta: FloatArray | float
    rho: FloatArray | float


@dataclass(frozen=True, slots=True)
class ImpliedVolResult:
    """Implied vols (annual decimal, NaN where unsolved) and per element why not (``""`` if solved).

    Reasons: ``"non-finite input"``, ``"non-positive spot or strike"``, ``"non-positive time to
    expiry"``, ``"price below intrinsic"``, ``"price above upper bound"``, ``"vol below solver
    range"`` (no time value left: price at most the value at ``IV_VOL_MIN``), ``"vol above solver
    range"``, ``"solver did not converge"``. Arrays of the inputs' shape; float / str for scalars.
    """

    vol: FloatArray | float
    reason: npt.NDArray[np.str_] | str


def as_f64(x: ArrayLike) -> FloatArray:
    """``x`` as a float64 array (no copy when it already is one)."""
    return np.asarray(x, dtype=np.float64)


def as_output(x: ArrayLike, shape: tuple[int, ...]) -> FloatArray | float:
    """``x`` broadcast to ``shape`` as a new float64 array, or a ``float`` when ``shape == ()``."""
    arr = np.array(np.broadcast_to(np.asarray(x, dtype=np.float64), shape))
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True, slots=True)
class _Terms:
    """Normal cdf/pdf terms of the Black formula; degenerate (zero-variance) cases filled in."""

    n_d1: FloatArray  # pdf(d1), 0 when degenerate
    cdf_d1: FloatArray
    cdf_d2: FloatArray
    cdf_md1: FloatArray  # cdf(-d1)
    cdf_md2: FloatArray
    std: FloatArray  # vol * sqrt(tau), 1 where degenerate (safe divisor)


def _terms(under_pv: FloatArray, strike_pv: FloatArray, total_std: FloatArray) -> _Terms:
    """Black terms from discounted underlying, discounted strike and ``vol * sqrt(tau)``.

    Where ``total_std <= 0`` the terms are the zero-variance limits: cdfs become the in-the-money
    indicator ``1{under_pv > strike_pv}`` and the pdf becomes 0.
    """
    degenerate, std, d1, d2, itm = _moneyness(under_pv, strike_pv, total_std)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    return _Terms(
        n_d1=np.where(degenerate, 0.0, pdf),
        cdf_d1=np.where(degenerate, itm, ndtr(d1)),
        cdf_d2=np.where(degenerate, itm, ndtr(d2)),
        cdf_md1=np.where(degenerate, 1.0 - itm, ndtr(-d1)),
        cdf_md2=np.where(degenerate, 1.0 - itm, ndtr(-d2)),
        std=std,
    )


def _moneyness(under_pv: FloatArray, strike_pv: FloatArray, total_std: FloatArray):
    """``(degenerate, std, d1, d2, itm)`` of :func:`_terms`: where ``total_std <= 0``
    (``degenerate``) ``std`` is 1 (a safe divisor) and ``itm`` is ``1{under_pv > strike_pv}``."""
    degenerate = ~(total_std > 0)
    std = np.where(degenerate, 1.0, total_std)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1 = np.log(under_pv / strike_pv) / std + 0.5 * std
    d2 = d1 - std
    itm = (under_pv > strike_pv).astype(np.float64)
    return degenerate, std, d1, d2, itm


def _black_value(under_pv, strike_pv, t: _Terms, is_call) -> FloatArray:
    call = under_pv * t.cdf_d1 - strike_pv * t.cdf_d2
    put = strike_pv * t.cdf_md2 - under_pv * t.cdf_md1
    return np.maximum(np.where(is_call, call, put), 0.0)


def _black_value_of_one_type(under_pv, strike_pv, total_std, is_call: bool) -> FloatArray:
    """:func:`_black_value` of options all of one type: only that type's two cdf terms are
    computed (from the same :func:`_moneyness` as :func:`_terms`, so the same bits; no pdf, no other
    side), about half the work."""
    degenerate, _, d1, d2, itm = _moneyness(under_pv, strike_pv, total_std)
    if is_call:
        value = under_pv * np.where(degenerate, itm, ndtr(d1))
        value = value - strike_pv * np.where(degenerate, itm, ndtr(d2))
    else:
        value = strike_pv * np.where(degenerate, 1.0 - itm, ndtr(-d2))
        value = value - under_pv * np.where(degenerate, 1.0 - itm, ndtr(-d1))
    return np.maximum(value, 0.0)


def _pv_inputs(spot, strike, tau_years, rate, div_yield, vol, is_call):
    """Broadcast shape, float inputs (tau floored at 0), S e^{-q tau}, K e^{-r tau}."""
    s, k, tau, r, q, v = map(as_f64, (spot, strike, tau_years, rate, div_yield, vol))
    call = np.asarray(is_call, dtype=bool)
    shape = np.broadcast_shapes(s.shape, k.shape, tau.shape, r.shape, q.shape, v.shape, call.shape)
    tau = np.maximum(tau, 0.0)
    under_pv, strike_pv = s * np.exp(-q * tau), k * np.exp(-r * tau)
    return shape, (s, tau, r, q, v, call), under_pv, strike_pv


def _bsm_inputs(*args):
    """Broadcast shape, float inputs (tau floored at 0), S e^{-q tau}, K e^{-r tau}, terms."""
    shape, (s, tau, r, q, v, call), under_pv, strike_pv = _pv_inputs(*args)
    terms = _terms(under_pv, strike_pv, v * np.sqrt(tau))
    return shape, (s, tau, r, q, v, call), under_pv, strike_pv, terms


def bs_price(
    spot: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray | float:
    """Black-Scholes-Merton price of a European option on a dividend-paying underlying.

    Parameters
    ----------
    spot, strike : array_like
        Underlying spot price and strike, in price units (> 0).
    tau_years : array_like
        Time to expiry in years; ``tau <= 0`` gives the payoff ``max(S-K, 0)`` / ``max(K-S, 0)``.
    rate, div_yield : array_like
        Continuously compounded annual risk-free rate and dividend yield (decimals).
    vol : array_like
        Annual volatility (decimal); ``vol <= 0`` gives the forward-discounted intrinsic value
        ``max(S e^{-q tau} - K e^{-r tau}, 0)`` (calls) / ``max(K e^{-r tau} - S e^{-q tau}, 0)``.
    is_call : array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray of float64 or float
        Price in the units of ``spot``. Reference: Hull, *Options, Futures and Other
        Derivatives*, ch. 15 and 17.
    """
    if np.ndim(is_call) == 0:  # one type (a pricing batch): its two cdf terms only
        shape, (_, tau, _, _, v, call), u, d = _pv_inputs(
            spot, strike, tau_years, rate, div_yield, vol, is_call
        )
        return as_output(_black_value_of_one_type(u, d, v * np.sqrt(tau), bool(call)), shape)
    shape, inputs, u, d, t = _bsm_inputs(spot, strike, tau_years, rate, div_yield, vol, is_call)
    return as_output(_black_value(u, d, t, inputs[-1]), shape)


def bs_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes-Merton greeks; arguments as :func:`bs_price`.

    Conventions (module docstring): delta per unit of spot, vega per 1.00 vol, theta per year of
    calendar time (``-dPrice/dtau``), rho per 1.00 of ``rate`` (``div_yield`` held fixed).
    Where ``tau <= 0`` or ``vol <= 0`` the greeks are those of the zero-volatility value
    (gamma = vega = 0, delta = ``±e^{-q tau}`` when in the money forward, else 0).

    Returns
    -------
    Greeks
        Arrays (floats for scalar inputs) of the broadcast shape of the inputs.
    """
    shape, inputs, u, d, t = _bsm_inputs(spot, strike, tau_years, rate, div_yield, vol, is_call)
    s, tau, r, q, v, call = inputs
    sqrt_tau, div_df = np.sqrt(tau), np.exp(-q * tau)
    decay = -u * t.n_d1 * v / (2.0 * np.where(sqrt_tau > 0, sqrt_tau, 1.0))
    theta_call = decay - r * d * t.cdf_d2 + q * u * t.cdf_d1
    theta_put = decay + r * d * t.cdf_md2 - q * u * t.cdf_md1
    return Greeks(
        delta=as_output(np.where(call, div_df * t.cdf_d1, -div_df * t.cdf_md1), shape),
        gamma=as_output(div_df * t.n_d1 / (s * t.std), shape),
        vega=as_output(u * t.n_d1 * sqrt_tau, shape),
        theta=as_output(np.where(call, theta_call, theta_put), shape),
        rho=as_output(tau * d * np.where(call, t.cdf_d2, -t.cdf_md2), shape),
    )


def black76_price(
    forward: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray | float:
    """Black (1976) price of a European option on a forward or futures price.

    ``e^{-r tau} [F N(d1) - K N(d2)]`` for calls, ``e^{-r tau} [K N(-d2) - F N(-d1)]`` for puts,
    ``d1 = (ln(F/K) + vol^2 tau / 2) / (vol sqrt(tau))``. Equals :func:`bs_price` with
    ``spot=forward`` and ``div_yield=rate``.

    Parameters
    ----------
    forward, strike : array_like
        Forward (futures) price and strike, in price units (> 0).
    tau_years, rate, vol, is_call : array_like
        As in :func:`bs_price`; ``rate`` is the discount rate, ``vol`` the forward's volatility.

    Returns
    -------
    ndarray of float64 or float
        Price in the units of ``forward``.

        Reference: Black (1976), "The pricing of commodity contracts", JFE 3; Hull ch. 18.
    """
    return bs_price(forward, strike, tau_years, rate, rate, vol, is_call)


def black76_greeks(
    forward: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-76 greeks; arguments as :func:`black76_price`.

    ``delta`` and ``gamma`` are with respect to the forward; vega per 1.00 vol; theta per year
    of calendar time with the forward held fixed (``r * price - e^{-r tau} F n(d1) vol /
    (2 sqrt(tau))``); rho per 1.00 rate with the forward held fixed (``-tau * price``).
    Returns :class:`Greeks` of the broadcast shape (floats for scalar inputs).
    """
    greeks = bs_greeks(forward, strike, tau_years, rate, rate, vol, is_call)
    price = as_f64(black76_price(forward, strike, tau_years, rate, vol, is_call))
    rho = -np.maximum(as_f64(tau_years), 0.0) * price
    return dataclasses.replace(greeks, rho=as_output(rho, price.shape))


def _price_vega(under_pv, strike_pv, sqrt_tau, vol, is_call) -> tuple[FloatArray, FloatArray]:
    t = _terms(under_pv, strike_pv, vol * sqrt_tau)
    return _black_value(under_pv, strike_pv, t, is_call), under_pv * t.n_d1 * sqrt_tau


def _solve_vol(under_pv, strike_pv, sqrt_tau, target, otm_call) -> tuple[FloatArray, FloatArray]:
    """Safeguarded Newton (in log price) with a bisection fallback, on out-of-the-money prices.

    Requires ``price(IV_VOL_MIN) < target < price(IV_VOL_MAX)``. Returns (vol, converged).
    """
    lo = np.full(target.shape, IV_VOL_MIN)
    hi = np.full(target.shape, IV_VOL_MAX)
    with np.errstate(divide="ignore", invalid="ignore"):
        moneyness_guess = np.sqrt(2.0 * np.abs(np.log(under_pv / strike_pv))) / sqrt_tau
        atm_guess = np.sqrt(2.0 * np.pi) * target / (np.sqrt(under_pv * strike_pv) * sqrt_tau)
    vol = np.clip(np.fmax(moneyness_guess, atm_guess), 2 * IV_VOL_MIN, IV_VOL_MAX / 2)
    vol = np.where(np.isfinite(vol), vol, 0.2)
    done = np.zeros(target.shape, dtype=bool)
    for _ in range(IV_MAX_ITER):
        a = np.flatnonzero(~done)
        if a.size == 0:
            break
        v, tgt = vol[a], target[a]
        price, vega = _price_vega(under_pv[a], strike_pv[a], sqrt_tau[a], v, otm_call[a])
        err = price - tgt
        lo[a] = np.where(err < 0, v, lo[a])
        hi[a] = np.where(err > 0, v, hi[a])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = (np.log(price) - np.log(tgt)) * price / vega
        newton = v - step
        bisect = ~np.isfinite(newton) | (newton <= lo[a]) | (newton >= hi[a])
        new = np.where(bisect, 0.5 * (lo[a] + hi[a]), newton)
        hit = np.abs(err) <= 1e-12 * tgt
        stalled = (~bisect & (np.abs(newton - v) <= 1e-14 * v)) | (hi[a] - lo[a] <= 1e-14 * hi[a])
        vol[a] = np.where(hit, v, new)
        done[a] = hit | stalled
    return vol, done


def implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    is_call: ArrayLike,
) -> ImpliedVolResult:
    """Black-Scholes-Merton implied volatility, vectorised and bounded.

    In-the-money options are converted to the out-of-the-money option of the same strike by
    put-call parity (better conditioned), then each element is solved on the bracket
    ``[IV_VOL_MIN, IV_VOL_MAX]`` by Newton steps on ``log(price)`` that fall back to bisection
    whenever a step leaves the bracket; at most ``IV_MAX_ITER`` iterations. Converged when the
    model price is within ``1e-12`` relative of the target (about 1e-10 or better in price for
    ordinary prices) or the bracket/step has collapsed to machine precision.

    Parameters
    ----------
    price : array_like
        Option price, in the units of ``spot``.
    spot, strike, tau_years, rate, div_yield, is_call : array_like
        As in :func:`bs_price`.

    Returns
    -------
    ImpliedVolResult
        ``vol`` and ``reason`` of the broadcast shape of the inputs.
    """
    arrays = np.broadcast_arrays(
        *map(as_f64, (price, spot, strike, tau_years, rate, div_yield)),
        np.asarray(is_call, dtype=bool),
    )
    shape = arrays[0].shape
    p, s, k, tau, r, q, call = (np.ravel(x) for x in arrays)
    reason = np.full(p.shape, "", dtype="<U32")
    finite = np.isfinite(p) & np.isfinite(s) & np.isfinite(k)
    finite &= np.isfinite(tau) & np.isfinite(r) & np.isfinite(q)
    reason[~finite] = "non-finite input"
    reason[finite & ((s <= 0) | (k <= 0))] = "non-positive spot or strike"
    reason[(reason == "") & (tau <= 0)] = "non-positive time to expiry"

    with np.errstate(invalid="ignore", over="ignore"):
        tau_ok = np.where(reason == "", tau, 1.0)
        under_pv, strike_pv = s * np.exp(-q * tau_ok), k * np.exp(-r * tau_ok)
        otm_call = strike_pv > under_pv
        # out-of-the-money price of the same strike (put-call parity for in-the-money options)
        parity = np.where(call, strike_pv - under_pv, under_pv - strike_pv)
        target = p + np.where(call == otm_call, 0.0, parity)
        slack = 1e-12 * np.maximum(under_pv, strike_pv)
        upper = np.where(call, under_pv, strike_pv)
        sqrt_tau = np.sqrt(tau_ok)
        p_lo, _ = _price_vega(under_pv, strike_pv, sqrt_tau, IV_VOL_MIN, otm_call)
        p_hi, _ = _price_vega(under_pv, strike_pv, sqrt_tau, IV_VOL_MAX, otm_call)
    checks = (
        (target < -slack, "price below intrinsic"),
        (p > upper + slack, "price above upper bound"),
        (target <= p_lo, "vol below solver range"),
        (target >= p_hi, "vol above solver range"),
    )
    for mask, why in checks:
        reason[(reason == "") & mask] = why

    vol = np.full(p.shape, np.nan)
    todo = np.flatnonzero(reason == "")
    if todo.size:
        solved, converged = _solve_vol(
            under_pv[todo], strike_pv[todo], sqrt_tau[todo], target[todo], otm_call[todo]
        )
        vol[todo] = np.where(converged, solved, np.nan)
        reason[todo[~converged]] = "solver did not converge"

    vol, reason = vol.reshape(shape), reason.reshape(shape)
    if vol.ndim == 0:
        return ImpliedVolResult(vol=float(vol), reason=str(reason))
    return ImpliedVolResult(vol=vol, reason=reason)


def surface_vol(
    atm_vols: ArrayLike,
    tenors_years: ArrayLike,
    skew: ArrayLike,
    curvature: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau_years: ArrayLike,
) -> FloatArray | float:
    """Implied volatility from the project's surface model (ATM term structure + quadratic smile).

    ATM total variance ``atm^2 T`` is interpolated linearly in ``T`` between tenors, with flat
    volatility outside ``[tenors[0], tenors[-1]]``. With standardised log-moneyness
    ``m = ln(K / F) / sqrt(tau)`` (``tau`` floored at ``SURFACE_MIN_TAU_YEARS``):
    ``vol = atm(tau) * (1 + skew * m + curvature * m^2)``, floored at ``SURFACE_MIN_VOL``.
    A negative ``skew`` makes low strikes (puts) richer.

    Parameters
    ----------
    atm_vols : array_like of shape (..., n_tenors)
        At-the-money annual vols at ``tenors_years``; leading dims are e.g. dates.
    tenors_years : array_like of shape (n_tenors,)
        Strictly increasing tenors in years.
    skew, curvature : array_like, broadcastable to the leading dims ``...``
        Smile coefficients (per unit of ``m`` and ``m^2``), e.g. shape (n_dates,) or scalars.
    forward, strike, tau_years : array_like, broadcastable to the leading dims ``...``
        Forward price, strike and time to expiry (years). For several strikes per date use
        ``atm_vols[:, None, :]`` and ``skew[:, None]`` with strikes of shape (n_dates, n_strikes).

    Returns
    -------
    ndarray of float64 or float
        Annual vol of shape ``broadcast(atm_vols.shape[:-1], skew, curvature, forward, strike,
        tau_years)``.
    """
    atm = as_f64(atm_vols)
    tenors = as_f64(tenors_years)
    sk, cv, f, k, tau = map(as_f64, (skew, curvature, forward, strike, tau_years))
    n = tenors.shape[0] if tenors.ndim == 1 else 0
    if n == 0 or atm.ndim == 0 or atm.shape[-1] != n:
        raise ValueError("tenors_years must be 1-D and match the last axis of atm_vols")
    if np.any(np.diff(tenors) <= 0) or tenors[0] <= 0:
        raise ValueError("tenors_years must be positive and strictly increasing")
    lead = np.broadcast_shapes(atm.shape[:-1], sk.shape, cv.shape, f.shape, k.shape, tau.shape)
    tau_eff = np.broadcast_to(np.maximum(tau, SURFACE_MIN_TAU_YEARS), lead)
    atm_b = np.broadcast_to(atm, lead + (n,))
    i_lo, i_hi = _tenor_brackets(tenors, tau_eff)

    def pick(i) -> FloatArray:
        return np.take_along_axis(atm_b, np.broadcast_to(i, lead)[..., None], axis=-1)[..., 0]

    vol = _smile_vol(pick(i_lo), pick(i_hi), atm_b[..., 0], atm_b[..., -1], i_lo, i_hi, tenors,
                     tau_eff, sk, cv, f, k)  # fmt: skip
    return as_output(vol, lead)


def surface_vol_rows(atm_table: FloatArray, rows: npt.NDArray[np.int64], tenors_years: ArrayLike,
                     skew: FloatArray, curvature: FloatArray, forward: FloatArray,
                     strike: FloatArray, tau_years: FloatArray) -> FloatArray:  # fmt: skip
    """:func:`surface_vol` of elements that each read one row of a table of ATM vols: element
    ``i`` uses ``atm_table[rows[i]]`` (shape (n_dates, n_tenors)) and the ``i``-th entry of
    the other 1-D arrays (shape (n,)). The same arithmetic on the same values as
    ``surface_vol(atm_table[rows], ...)``, so the same bits, without gathering every tenor of
    every element (the marks of many options on many dates: :meth:`MarketData.price_options`).
    """
    atm, tenors = as_f64(atm_table), as_f64(tenors_years)
    if tenors.ndim != 1 or atm.ndim != 2 or atm.shape[1] != tenors.shape[0]:
        raise ValueError("tenors_years must be 1-D and match the columns of atm_table")
    if np.any(np.diff(tenors) <= 0) or tenors[0] <= 0:
        raise ValueError("tenors_years must be positive and strictly increasing")
    tau_eff = np.maximum(as_f64(tau_years), SURFACE_MIN_TAU_YEARS)
    i_lo, i_hi = _tenor_brackets(tenors, tau_eff)
    sk, cv, f, k = map(as_f64, (skew, curvature, forward, strike))
    v_lo, v_hi, v_first, v_last = atm[rows, i_lo], atm[rows, i_hi], atm[rows, 0], atm[rows, -1]
    return _smile_vol(v_lo, v_hi, v_first, v_last, i_lo, i_hi, tenors, tau_eff, sk, cv, f, k)


def _tenor_brackets(tenors: FloatArray, tau_eff: FloatArray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the tenors bracketing each ``tau_eff`` (clipped to the first/last pair)."""
    n = tenors.shape[0]
    i_lo = np.clip(np.searchsorted(tenors, tau_eff, side="right") - 1, 0, max(n - 2, 0))
    return i_lo, np.minimum(i_lo + 1, n - 1)


def _smile_vol(v_lo, v_hi, v_first, v_last, i_lo, i_hi, tenors, tau_eff, sk, cv, f, k):
    """The surface's arithmetic (:func:`surface_vol`) from the bracketing ATM vols ``v_lo``,
    ``v_hi`` and the first and last tenors' ``v_first``, ``v_last``."""
    t_lo, t_hi = tenors[i_lo], tenors[i_hi]
    gap = np.where(t_hi > t_lo, t_hi - t_lo, 1.0)
    w = np.clip((tau_eff - t_lo) / gap, 0.0, 1.0)
    total_var = (1.0 - w) * v_lo**2 * t_lo + w * v_hi**2 * t_hi
    atm_tau = np.sqrt(total_var / tau_eff)
    atm_tau = np.where(tau_eff <= tenors[0], v_first, atm_tau)
    atm_tau = np.where(tau_eff >= tenors[-1], v_last, atm_tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.log(k / f) / np.sqrt(tau_eff)
    return np.maximum(atm_tau * (1.0 + sk * m + cv * m * m), SURFACE_MIN_VOL)
