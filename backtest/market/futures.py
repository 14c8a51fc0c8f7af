"""Forwards and futures curves: pure, vectorised forward prices (cost of carry), roll schedules,
back-adjusted continuous series, curve carry and contract-id arithmetic. Option pricing is in
:mod:`backtest.market.pricing`.

The array convention is :mod:`backtest.market.pricing`'s: every numeric function broadcasts its
array arguments (numpy rules), accepts scalars, and returns float64 ndarrays of the broadcast
shape (a Python ``float`` when every input is a scalar); :func:`roll_schedule` returns a pandas
Series and :func:`back_adjust` always an ndarray with time on axis 0.

Units: prices in price units (the instrument's quote); rates continuously compounded annual
decimals (0.05 = 5% a year); ``tau_years`` and expiries in years; carry an annual decimal.
Contract ids are pysystemtrade's ``YYYYMMDD`` integers (``DD = 00`` for monthly ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from backtest.market.pricing import ArrayLike, FloatArray, as_f64, as_output

if TYPE_CHECKING:  # pandas is imported lazily by roll_schedule to keep this module light
    import pandas as pd


def forward_price(
    spot: ArrayLike, rate_domestic: ArrayLike, rate_foreign: ArrayLike, tau_years: ArrayLike
) -> FloatArray | float:
    """Forward price by covered interest parity / cost of carry: ``S e^{(r_d - r_f) tau}``.

    ``spot`` in price units (FX: domestic currency per unit of foreign); ``rate_domestic`` and
    ``rate_foreign`` continuously compounded annual decimals of the quote (domestic) and base
    (foreign) currency, or financing rate and yield for other assets; ``tau_years`` to delivery.
    Returns the forward in the units of ``spot``.
    """
    s, rd, rf, tau = map(as_f64, (spot, rate_domestic, rate_foreign, tau_years))
    shape = np.broadcast_shapes(s.shape, rd.shape, rf.shape, tau.shape)
    return as_output(s * np.exp((rd - rf) * tau), shape)


def forward_points(
    spot: ArrayLike, rate_domestic: ArrayLike, rate_foreign: ArrayLike, tau_years: ArrayLike
) -> FloatArray | float:
    """Forward points ``forward_price(...) - spot``, in price units (not pips); see
    :func:`forward_price` for the arguments."""
    s = as_f64(spot)
    fwd = as_f64(forward_price(s, rate_domestic, rate_foreign, tau_years))
    return as_output(fwd - s, fwd.shape)


def roll_schedule(
    expiries: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    calendar: pd.DatetimeIndex,
    days_before: int,
) -> pd.Series:
    """Which contract to hold on each trading day when rolling ``days_before`` days before expiry.

    Contract ``i`` is held while the date is before its roll date, the trading day
    ``days_before`` positions in ``calendar`` before expiry ``i``; from the roll date on,
    contract ``i + 1`` is held. An expiry not on the calendar maps to the last calendar day on or
    before it; an expiry after the calendar's end is placed by counting weekdays beyond the last
    calendar day (holidays there are unknown).

    Parameters
    ----------
    expiries : sequence of Timestamp
        Contract expiries, sorted ascending.
    calendar : DatetimeIndex
        Trading days, strictly increasing.
    days_before : int
        Trading days before expiry at which to roll (>= 0; 0 rolls on the expiry day).

    Returns
    -------
    Series of int64 indexed by ``calendar``
        0-based position into ``expiries`` of the contract held. Raises ``ValueError`` on
        unsorted/empty inputs or when a date is on or after the last contract's roll date (the
        message names the first such date).
    """
    import pandas as pd

    exp = pd.DatetimeIndex(expiries)
    cal = pd.DatetimeIndex(calendar)
    if days_before < 0 or len(exp) == 0 or len(cal) == 0:
        raise ValueError("need days_before >= 0 and non-empty expiries and calendar")
    if not (exp.is_monotonic_increasing and cal.is_monotonic_increasing and cal.is_unique):
        raise ValueError("expiries must be sorted ascending and calendar strictly increasing")
    if exp.tz is None and cal.tz is not None:
        exp = exp.tz_localize(cal.tz)
    elif exp.tz is not None and cal.tz is None:
        exp = exp.tz_localize(None)
    pos = np.searchsorted(cal.asi8, exp.asi8, side="right") - 1
    beyond = exp > cal[-1]
    if beyond.any():
        day = np.timedelta64(1, "D")
        start = np.datetime64(cal[-1].tz_localize(None).normalize(), "D") + day
        ends = exp[beyond].tz_localize(None).normalize().values.astype("datetime64[D]") + day
        pos[beyond] = len(cal) - 1 + np.busday_count(start, ends)
    roll_pos = pos - int(days_before)
    held = np.searchsorted(roll_pos, np.arange(len(cal)), side="right")
    past = np.flatnonzero(held >= len(exp))
    if past.size:
        raise ValueError(
            f"no contract to hold on {cal[past[0]].date()}: on or after the roll date of the "
            f"last expiry {exp[-1].date()} ({days_before} trading days before it)"
        )
    return pd.Series(held.astype(np.int64), index=calendar, name="contract")


def back_adjust(
    price: ArrayLike,
    next_price: ArrayLike,
    roll_at: ArrayLike,
    method: Literal["panama", "ratio"],
) -> FloatArray:
    """Continuous (back-adjusted) futures price series from the held contract's prices.

    ``price[t]`` is the held contract's settlement at ``t``. ``roll_at[t]`` True means the
    position rolls at ``t``'s close into the next contract, whose price at ``t`` is
    ``next_price[t]`` (so ``price[t + 1]`` is the new contract's). ``next_price`` is only read on
    roll rows. The adjusted series ends at ``price[-1]`` and its daily change is the held
    contract's own change: ``price[t+1] - next_price[t]`` across a roll, ``price[t+1] -
    price[t]`` otherwise.

    - ``"panama"`` (additive): ``adj[t] = price[t] + sum over rolls s >= t of
      (next_price[s] - price[s])``; daily differences are preserved.
    - ``"ratio"`` (multiplicative): ``adj[t] = price[t] * prod over rolls s >= t of
      next_price[s] / price[s]``; daily returns are preserved (prices at rolls must be > 0).

    A roll flagged on the last row has no later price to link to and is ignored.

    Parameters
    ----------
    price, next_price : array_like of shape (n_dates,) or (n_dates, ...)
        Held and next contract's prices (price units), time on axis 0.
    roll_at : array_like of bool, same shape
        Roll flags.
    method : {"panama", "ratio"}
        Additive or multiplicative adjustment.

    Returns
    -------
    ndarray of float64 of the shape of ``price``, in price units.
    """
    p = as_f64(price)
    nxt = np.broadcast_to(as_f64(next_price), p.shape)
    rolls = np.array(np.broadcast_to(np.asarray(roll_at, dtype=bool), p.shape))
    if p.ndim == 0:
        raise ValueError("price must have a time axis")
    rolls[-1] = False
    if method == "panama":
        gap = np.where(rolls, nxt - p, 0.0)
        adj = np.flip(np.cumsum(np.flip(gap, axis=0), axis=0), axis=0)
        return p + adj
    if method == "ratio":
        if np.any(rolls & ~((p > 0) & (nxt > 0))):
            raise ValueError("ratio back-adjustment needs positive prices on roll dates")
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(rolls, nxt / p, 1.0)
        return p * np.flip(np.cumprod(np.flip(factor, axis=0), axis=0), axis=0)
    raise ValueError(f"method must be 'panama' or 'ratio', got {method!r}")


def curve_carry(
    near_price: ArrayLike,
    far_price: ArrayLike,
    near_expiry_years: ArrayLike,
    far_expiry_years: ArrayLike,
    price: ArrayLike,
) -> FloatArray | float:
    """Annualised futures-curve carry ``(near - far) / (far_T - near_T) / price``.

    Positive when the curve is backwardated (near above far): a long position rolls up the curve.

    Prices (nearer and farther contract, and ``price`` to normalise by, usually the held
    contract's) in price units; expiries in years on any common origin (only the gap matters).
    Returns carry as an annual decimal, NaN where the gap is <= 0, ``price`` is 0 or an input
    is NaN.
    """
    near, far, t_near, t_far, px = map(
        as_f64, (near_price, far_price, near_expiry_years, far_expiry_years, price)
    )
    shape = np.broadcast_shapes(near.shape, far.shape, t_near.shape, t_far.shape, px.shape)
    gap = t_far - t_near
    valid = (gap > 0) & (px != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        carry = (near - far) / np.where(valid, gap * px, 1.0)
    return as_output(np.where(valid, carry, np.nan), shape)


def years_between(contract_a: ArrayLike, contract_b: ArrayLike) -> FloatArray | float:
    """Years from contract ``a`` to contract ``b`` for pysystemtrade ids ``YYYYMMDD`` (DD = 00).

    ``((year_b - year_a) * 12 + month_b - month_a) / 12``; the day digits are ignored.

    Ids are ints such as ``20231200`` (December 2023), or floats (NaN propagates). Returns ``b``
    minus ``a`` in years (negative when ``b`` is earlier); ``ValueError`` if a month is not 1..12.
    """
    a, b = as_f64(contract_a), as_f64(contract_b)
    shape = np.broadcast_shapes(a.shape, b.shape)

    def months(x: FloatArray) -> FloatArray:
        year, month = np.floor(x / 10000.0), np.floor(x / 100.0) % 100.0
        if np.any(np.isfinite(x) & ((month < 1) | (month > 12))):
            raise ValueError("contract ids must be YYYYMMDD with month 01..12")
        return year * 12.0 + month

    return as_output((months(b) - months(a)) / 12.0, shape)
