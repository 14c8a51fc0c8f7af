"""Pure functions behind the volatility-risk-premium strategies (:mod:`strategies.vol_premium`).

Three groups, none of which reads a file, holds state or looks ahead (row ``t`` of every output
uses rows ``<= t`` of its inputs, and option expiries come from a fixed rule, not from later data):

- the VIX futures curve: roll yield, contango flag, the short-VIX forecast;
- the monthly index-option cycle: expiry dates, strikes, the sale/expiry schedule of a
  CBOE PUT-index style book;
- option books: batched model values, deltas and returns of many on-demand options at once, and
  the causal volatility scaling of a whole book (a sleeve) from its own past returns.

Units: prices in points, returns as decimals per day, yields and vols as annual decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from backtest.market.arrays import readonly_c
from backtest.market.calendar import xnys_calendar
from backtest.market.instruments import IndexOption
from backtest.market.market_data import SURFACE_COLUMNS, SURFACE_TENORS_YEARS, MarketData
from backtest.market.pricing import bs_greeks, bs_price, surface_vol
from strategies.sizing import TRADING_DAYS_PER_YEAR

#: Days in a year for converting the gap between futures expiries into years.
DAYS_PER_YEAR = 365.25


# --------------------------------------------------------------------------- VIX futures curve
def vix_roll_yield(front, next_, front_expiry, next_expiry) -> np.ndarray:
    """Annualised roll yield of a two-contract VIX futures curve, ``(next - front) / front / gap``.

    ``gap`` is the time between the two expiries in years (calendar days / 365.25). Positive in
    contango (the front below the next contract): a short position earns it as the futures roll
    down towards spot VIX. NaN where the gap is not positive, ``front <= 0`` or an input is NaN.

    Parameters
    ----------
    front, next_ : array_like of shape (n_dates,)
        Prices (VIX points) of the nearer and the farther contract.
    front_expiry, next_expiry : array_like of datetime64, shape (n_dates,)
        Their expiry dates.

    Returns
    -------
    ndarray of float64, shape (n_dates,): annual decimal. Reference: Simon & Campasano (2014),
    "The VIX futures basis: evidence and trading strategies", J. Derivatives 21(3).
    """
    f, n = np.asarray(front, dtype=np.float64), np.asarray(next_, dtype=np.float64)
    d0 = np.asarray(front_expiry, dtype="datetime64[ns]")
    d1 = np.asarray(next_expiry, dtype="datetime64[ns]")
    gap = (d1 - d0).astype("timedelta64[s]").astype(np.float64) / 86_400.0 / DAYS_PER_YEAR
    gap = np.where(np.isnat(d0) | np.isnat(d1), np.nan, gap)
    ok = (gap > 0) & (f > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (n - f) / f / gap
    return np.where(ok, out, np.nan)


def contango(front, next_) -> np.ndarray:
    """True where the front contract is below the next one (NaN compares False)."""
    return np.asarray(front, dtype=np.float64) < np.asarray(next_, dtype=np.float64)


def curve_front_next(curve: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(front, next, front_expiry, next_expiry) of a futures curve frame.

    The nearer of the held (``price``) and ``carry`` contracts is taken as the front, by expiry,
    so a curve whose carry contract is the previous one is read the right way round.
    """
    held, other = curve["price"].to_numpy(np.float64), curve["carry"].to_numpy(np.float64)
    e_held = curve["price_expiry"].to_numpy("datetime64[ns]")
    e_other = curve["carry_expiry"].to_numpy("datetime64[ns]")
    other_first = e_other < e_held
    return (
        np.where(other_first, other, held),
        np.where(other_first, held, other),
        np.where(other_first, e_other, e_held),
        np.where(other_first, e_held, e_other),
    )


def short_vix_forecast(
    roll_yield: np.ndarray,
    vix: np.ndarray,
    vix_ref: float,
    roll_yield_ref: np.ndarray,
    cap: float = 2.0,
) -> np.ndarray:
    """Size of the short-VIX position relative to a full-conviction one, in ``[0, cap]``.

    ``clip(roll_yield / roll_yield_ref, 0, cap) × min(1, vix_ref / VIX)``: proportional to the
    contango's annualised roll yield (0 in backwardation, where ``roll_yield <= 0``) and cut as
    VIX rises above ``vix_ref`` (a spike is when the short loses most). NaN inputs give 0.
    """
    ry = np.asarray(roll_yield, dtype=np.float64)
    v = np.asarray(vix, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.clip(ry / roll_yield_ref, 0.0, cap) * np.minimum(1.0, vix_ref / v)
    return np.where(np.isfinite(size) & (ry > 0) & (v > 0), size, 0.0)


def expanding_positive_mean(values: np.ndarray, min_periods: int) -> np.ndarray:
    """Causal mean of the positive values seen so far (NaN before ``min_periods`` of them)."""
    x = np.asarray(values, dtype=np.float64)
    pos = np.isfinite(x) & (x > 0)
    count = np.cumsum(pos)
    total = np.cumsum(np.where(pos, x, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count >= min_periods, total / count, np.nan)


# --------------------------------------------------------------------------- option cycle
def monthly_expiries(start, end) -> pd.DatetimeIndex:
    """Standard monthly index-option expiries from ``start``'s month to two months after ``end``.

    The third Friday of each month; when it is not an NYSE session (Good Friday, Juneteenth) the
    previous session. Holidays come from the published exchange calendar (``exchange_calendars``
    XNYS), a fixed rule known in advance, so the dates never depend on the data's end.
    """
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    last = (pd.Timestamp(end).to_period("M") + 2).to_timestamp(how="end").normalize()
    months = pd.date_range(first, last, freq="MS").to_numpy().astype("datetime64[D]")
    fridays = np.busday_offset(months, 2, roll="forward", weekmask="Fri")
    sessions = xnys_calendar(first - pd.Timedelta(days=7), last).to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(sessions, fridays, side="right") - 1
    return pd.DatetimeIndex(sessions[pos].astype("datetime64[ns]"), name="expiry")


def option_strike(level, moneyness: float, step_points: float) -> np.ndarray:
    """Strike ``moneyness × level`` rounded to the nearest ``step_points`` (halves round up)."""
    x = np.asarray(level, dtype=np.float64) * moneyness / step_points
    return np.floor(x + 0.5) * step_points


@dataclass(frozen=True)
class OptionCycles:
    """The sale/expiry schedule of a monthly option book (one row per option sold).

    Attributes
    ----------
    sale_row : int ndarray of shape (n_cycles,): calendar row of the sale (the roll date).
    end_row : int ndarray: first row at or after the expiry (``n_dates`` if beyond the calendar);
        the option is held on rows ``sale_row <= t < end_row``.
    expiry : DatetimeIndex of length n_cycles.
    """

    sale_row: np.ndarray
    end_row: np.ndarray
    expiry: pd.DatetimeIndex


def option_cycles(
    calendar: pd.DatetimeIndex, expiries: pd.DatetimeIndex, tradable: np.ndarray
) -> OptionCycles:
    """Roll dates and expiries of a CBOE PUT-index style book: sell on expiry day, hold, roll.

    On each roll date, the first calendar day on or after an expiry, an option expiring at the
    next expiry after that day is sold and held until its own expiry, which is the next roll
    date. A cycle is only started on a roll date whose data is ``tradable``; the partial cycle
    before the first roll date inside the calendar is skipped (the index starts on a roll date).

    Parameters
    ----------
    calendar : DatetimeIndex of shape (n_dates,)
    expiries : DatetimeIndex, sorted (:func:`monthly_expiries`), covering the calendar.
    tradable : bool ndarray of shape (n_dates,): underlying level and surface known on the date.

    Returns
    -------
    OptionCycles. Reference: CBOE, *S&P 500 PutWrite Index (PUT) methodology*; Whaley (2002),
    "Return and risk of CBOE buy write monthly index", J. Derivatives 10(2).
    """
    cal = pd.DatetimeIndex(calendar).as_unit("ns").asi8
    exp = pd.DatetimeIndex(expiries).as_unit("ns").asi8
    nxt = np.searchsorted(exp, cal, side="right")  # index of the first expiry after each date
    if len(cal) and nxt[-1] >= len(exp):
        raise ValueError("expiries do not extend beyond the calendar's end")
    roll = np.zeros(len(cal), dtype=bool)
    roll[1:] = nxt[1:] != nxt[:-1]
    if len(cal):
        roll[0] = nxt[0] > 0 and exp[nxt[0] - 1] == cal[0]  # calendar starts on an expiry
    sale = np.flatnonzero(roll & np.asarray(tradable, dtype=bool))
    expiry = pd.DatetimeIndex(exp[nxt[sale]].astype("datetime64[ns]"), name="expiry")
    end = np.searchsorted(cal, expiry.asi8, side="left")
    return OptionCycles(sale_row=sale, end_row=end.astype(np.int64), expiry=expiry)


# --------------------------------------------------------------------------- option books
@dataclass(frozen=True)
class OptionPaths:
    """Model values, deltas and returns of several options (each array (n_dates, n_options)).

    ``value`` is the option's price in index points (as :meth:`MarketData.option_price`),
    ``delta`` dPrice/dSpot and ``gamma`` d²Price/dSpot² (0 at and after expiry), ``returns``
    the change of value over the previous day's underlying level (as
    :func:`backtest.market.returns.instrument_returns`). Entries
    outside each option's window are NaN (``returns``: NaN also on the window's first row).
    """

    value: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    returns: np.ndarray


def option_paths(market: MarketData, options: list[IndexOption], first_rows) -> OptionPaths:
    """Batched :meth:`MarketData.option_price` over each option's window, plus delta and gamma.

    The window of option ``k`` runs from ``first_rows[k] - 1`` to the row after its settlement
    (the last calendar day on or before expiry), clipped to the calendar: every row on which a
    position opened at ``first_rows[k]`` can earn a return. One vectorised pricing call for all
    (option, date) pairs instead of one full-calendar call per option.
    """
    n, k = len(market.calendar), len(options)
    value, delta, gamma = (np.full((n, k), np.nan) for _ in range(3))
    if k == 0:
        return OptionPaths(value, delta, gamma, value.copy())
    w = _window_marks(market, options, first_rows, greeks=True)
    value[w.row, w.col] = w.value
    delta[w.row, w.col] = np.where(w.live, w.greeks.delta, 0.0)
    gamma[w.row, w.col] = np.where(w.live, w.greeks.gamma, 0.0)
    prev_level = np.full(n, np.nan)
    prev_level[1:] = w.level[:-1]
    returns = np.full((n, k), np.nan)
    returns[1:] = (value[1:] - value[:-1]) / prev_level[1:, None]
    return OptionPaths(value, delta, gamma, returns)


def option_path_returns(market: MarketData, options: list[IndexOption], first_rows) -> np.ndarray:
    """``option_paths(market, options, first_rows).returns`` (n_dates, n_options) alone: the
    same pricing over the windows and the same ``(value[t] − value[t−1]) / level[t−1]`` on
    each window row after the first, without the dense value, delta and gamma arrays (NaN
    everywhere else, as there)."""
    n, k = len(market.calendar), len(options)
    returns = np.full((n, k), np.nan)
    if k == 0:
        return returns
    w = _window_marks(market, options, first_rows, greeks=False)
    later = np.flatnonzero(np.r_[False, w.col[1:] == w.col[:-1]])  # a window row after its first
    rows = w.row[later]
    returns[rows, w.col[later]] = (w.value[later] - w.value[later - 1]) / w.level[rows - 1]
    return returns


@dataclass(frozen=True)
class _WindowMarks:
    """Each option's marks over its window: (option, date) pairs option after option, rows
    ascending within an option (``row``, ``col``), ``live`` before expiry, ``value`` (the mark),
    ``greeks`` (or None), and ``level`` the underlying's level on every date."""

    row: np.ndarray
    col: np.ndarray
    live: np.ndarray
    value: np.ndarray
    greeks: object
    level: np.ndarray


def _window_marks(market: MarketData, options: list[IndexOption], first_rows, greeks: bool):
    """The windows of :func:`option_paths` and one vectorised pricing of all their pairs."""
    n, k = len(market.calendar), len(options)
    cal = market.calendar.as_unit("ns").asi8
    expiry_ns = np.array([o.expiry.as_unit("ns").value for o in options])
    settle = np.clip(np.searchsorted(cal, expiry_ns, side="right") - 1, 0, n - 1)
    lo = np.clip(np.asarray(first_rows, dtype=np.int64) - 1, 0, n - 1)
    hi = np.minimum(np.maximum(settle + 1, lo), n - 1)
    lengths = hi - lo + 1
    col = np.repeat(np.arange(k), lengths)
    row = np.concatenate([np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)])
    strike = np.array([o.strike for o in options])[col]
    is_call = np.array([o.is_call for o in options])[col]
    root = options[0].root
    if any(o.root != root for o in options):
        raise ValueError("option_paths prices options on one underlying at a time")
    days = (expiry_ns[col] - cal[row]) // 86_400_000_000_000
    tau = days.astype(np.float64) / 365.0
    idx = market.index
    spot = idx[root].to_numpy(np.float64)[row]
    dy = f"{root}_DY"
    q = idx[dy].to_numpy(np.float64)[row] if dy in idx else np.zeros(len(row))
    r = market.rates["USD"].to_numpy(np.float64)[row]
    surf = market.vol_surface
    atm = surf[list(SURFACE_COLUMNS[:5])].to_numpy(np.float64)[row]
    fwd = spot * np.exp((r - q) * tau)
    vol = surface_vol(
        atm,
        np.asarray(SURFACE_TENORS_YEARS),
        surf["skew"].to_numpy(np.float64)[row],
        surf["curvature"].to_numpy(np.float64)[row],
        fwd,
        strike,
        np.maximum(tau, 1 / 365),
    )
    live = tau > 0
    vol = np.where(live, vol, np.nan)
    price = bs_price(spot, strike, tau, r, q, vol, is_call)
    level = idx[root].to_numpy(np.float64)
    settle_level = level[settle][col]
    payoff = np.where(is_call, settle_level - strike, strike - settle_level)
    value = np.where(live, price, np.maximum(payoff, 0.0))
    g = bs_greeks(spot, strike, tau, r, q, vol, is_call) if greeks else None
    return _WindowMarks(row, col, live, value, g, level)


def book_returns(positions: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Daily return of a book held from close ``t-1`` to ``t``: ``Σ_i w[t-1, i] r[t, i]``.

    NaN returns count as 0; rows where nothing was held at ``t-1`` (and row 0) are NaN, so a
    volatility estimate skips them. Shapes (n_dates, n_instruments) → (n_dates,).

    Arrays in column order (Fortran, what ``DataFrame.to_numpy`` gives for a frame of one
    block) go through a numba kernel: numpy sums the products of such arrays column after
    column, and so does the kernel, so the bits are :func:`book_returns_py`'s without its
    three array copies; other layouts (numpy sums those rows pairwise) go through the twin.
    """
    w, r = np.asarray(positions, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    if w.ndim == 2 and w.shape == r.shape and w.flags.f_contiguous and r.flags.f_contiguous:
        # (instruments × dates) C views of the same memory: one compiled signature
        return _book_returns_by_column(readonly_c(w.T), readonly_c(r.T))
    return book_returns_py(w, r)


def book_returns_py(positions: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """:func:`book_returns` in numpy (the plain twin of its kernel, for the tests)."""
    w, r = np.nan_to_num(positions), np.nan_to_num(returns)
    out = np.full(w.shape[0], np.nan)
    if w.shape[0] > 1:
        held = np.abs(w[:-1]).sum(axis=1) > 0
        out[1:] = np.where(held, (w[:-1] * r[1:]).sum(axis=1), np.nan)
    return out


@njit(cache=True)
def _finite(x: float) -> float:
    """``numpy.nan_to_num`` of one value: NaN → 0, ±inf → ±the largest float."""
    if np.isnan(x):
        return 0.0
    if np.isinf(x):
        return _MAX_FLOAT if x > 0 else -_MAX_FLOAT
    return x


_MAX_FLOAT = float(np.finfo(np.float64).max)


@njit(cache=True)
def _book_returns_by_column(wt: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """Kernel of :func:`book_returns` for column-ordered (n_dates, n_instruments) arrays, given
    transposed (``wt``, ``rt``: (n_instruments, n_dates), C order): each column's products
    added in turn to a sum starting at +0.0 (numpy's order for such arrays, and its identity:
    a sum of -0.0 terms is +0.0), a row held when any of its positions is non-zero
    (``Σ|w| > 0``)."""
    k, n = wt.shape
    out = np.full(n, np.nan)
    if n < 2:
        return out
    total = np.zeros(n - 1)
    held = np.zeros(n - 1, dtype=np.bool_)
    for j in range(k):
        for t in range(n - 1):
            x = _finite(wt[j, t])
            term = x * _finite(rt[j, t + 1])
            total[t] = total[t] + term  # from +0.0, as numpy's sum (signed zeros too)
            if x != 0.0:
                held[t] = True
    for t in range(n - 1):
        if held[t]:
            out[t + 1] = total[t]
    return out


def sleeve_vol_scale(
    sleeve_returns: np.ndarray,
    target_annual: float,
    halflife_days: float,
    warmup_days: int,
    max_scale: float,
    hold: np.ndarray | None = None,
    slow_halflife_days: float | None = None,
) -> np.ndarray:
    """Causal leverage taking a sleeve to a volatility target: ``min(max_scale, target / vol_t)``.

    ``vol_t = sqrt(252 × EWMA_t(p²))`` over the sleeve's own past daily returns ``p`` (zero-mean
    RiskMetrics estimate, NaN rows skipped, bias-corrected weights as ``DataFrame.ewm(adjust=
    True)``); 0 until ``warmup_days`` returns have been seen. With ``hold`` (bool, e.g. roll
    dates) the scale is only reset on those rows and kept in between (0 before the first).
    With ``slow_halflife_days`` the vol is the larger of the fast and a slow EWMA estimate, a
    conservative choice for fat-tailed (short-gamma) books whose calm spells understate risk.
    This is :func:`strategies.sizing.vol_target`'s rule applied to one return stream: for an
    option book whose columns come and go it avoids a covariance over hundreds of options.

    Returns ndarray of shape (n_dates,), unitless. Reference: Moreira & Muir (2017),
    "Volatility-managed portfolios", JF 72(4).
    """
    p = pd.Series(np.asarray(sleeve_returns, dtype=np.float64))
    var = (p**2).ewm(halflife=halflife_days, adjust=True, ignore_na=True).mean().to_numpy()
    if slow_halflife_days is not None:
        slow = (p**2).ewm(halflife=slow_halflife_days, adjust=True, ignore_na=True).mean()
        var = np.fmax(var, slow.to_numpy())
    seen = np.cumsum(np.isfinite(p.to_numpy()))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.minimum(max_scale, target_annual / np.sqrt(var * TRADING_DAYS_PER_YEAR))
    scale = np.where((seen >= warmup_days) & np.isfinite(scale), scale, 0.0)
    if hold is not None:
        kept = pd.Series(np.where(hold, scale, np.nan)).ffill().fillna(0.0)
        scale = kept.to_numpy()
    return scale
