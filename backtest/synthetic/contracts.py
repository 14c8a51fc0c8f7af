"""Contracts of the synthetic market (see :mod:`backtest.synthetic` for the model): their
schedules, held contracts, curves and prices, as pure functions on numpy arrays.

- closed forms used to price the synthetic contracts (coupon bonds per 100 face, covered
  interest parity with simple ACT/360 rates);
- contract expiry schedules (datetime64[D]), contract ids ``YYYYMMDD``, the held contract on
  each day (roll ``n`` trading days before expiry), the :data:`backtest.market.CURVE_COLUMNS` of
  one root and Panama (additive) adjustment anchored at the first day, so that a longer window
  extends a shorter one without rewriting it.
"""

from __future__ import annotations

import numpy as np

from backtest.synthetic.params import ExpiryRule


# ----------------------------------------------------------------------------- prices
def bond_price(coupon: float, maturity_years: float, yield_annual) -> np.ndarray:
    """Price per 100 face of a semi-annual ``coupon`` bond at a semi-annual ``yield_annual``."""
    y = np.asarray(yield_annual, dtype=np.float64)
    periods = 2.0 * maturity_years
    half = 0.5 * y
    discount = (1.0 + half) ** -periods
    small = np.abs(half) < 1e-9
    annuity = np.where(small, periods, (1.0 - discount) / np.where(small, 1.0, half))
    return 100.0 * (0.5 * coupon * annuity + discount)


def cip_forward(spot, rate_usd, rate_foreign, days) -> np.ndarray:
    """Outright forward (USD per unit) by covered interest parity, simple ACT/360 rates."""
    days = np.asarray(days, dtype=np.float64)
    return np.asarray(spot) * (1.0 + rate_usd * days / 360.0) / (1.0 + rate_foreign * days / 360.0)


# ----------------------------------------------------------------------------- contracts
def contract_expiries(
    months: tuple[int, ...], rule: ExpiryRule, day: int, first_year: int, last_year: int
) -> np.ndarray:
    """Sorted expiry dates (datetime64[D]) of the contract months in ``first_year..last_year``."""
    years = np.arange(first_year, last_year + 1)
    idx = (years[:, None] - 1970) * 12 + (np.asarray(months)[None, :] - 1)
    month = np.sort(idx.ravel()).astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    nxt = (month + 1).astype("datetime64[D]")
    prior = (month - 1).astype("datetime64[D]")
    match ExpiryRule(rule):
        case ExpiryRule.THIRD_FRIDAY:
            exp = np.busday_offset(first, 2, roll="forward", weekmask="Fri")
        case ExpiryRule.THIRD_WEDNESDAY:
            exp = np.busday_offset(first, 2, roll="forward", weekmask="Wed")
        case ExpiryRule.IMM_MONDAY:
            exp = np.busday_offset(first, 2, roll="forward", weekmask="Wed") - 2
        case ExpiryRule.VIX:
            exp = np.busday_offset(nxt, 2, roll="forward", weekmask="Fri") - 30
        case ExpiryRule.MONTH_DAY:
            exp = first + (day - 1)
        case ExpiryRule.PRIOR_MONTH_DAY:
            exp = prior + (day - 1)
        case ExpiryRule.PRIOR_MONTH_END:
            exp = first - 1
        case ExpiryRule.MONTH_END:
            exp = nxt - 1
    return np.busday_offset(exp, 0, roll="backward")


def held_contracts(
    calendar: np.ndarray,
    expiries: np.ndarray,
    roll_days: int,
    sessions_after: np.ndarray | None = None,
) -> np.ndarray:
    """Index into ``expiries`` of the contract held on each calendar day.

    Contract ``i`` is held until the trading day ``roll_days`` positions before its expiry
    (an expiry off the calendar maps to the last trading day on or before it), and contract
    ``i + 1`` from that day on — the rule of :func:`backtest.market.futures.roll_schedule`.
    Beyond the calendar's end the days counted are ``sessions_after`` (the trading days after it,
    known in advance: with them a roll near the end is placed as a longer calendar would place
    it), then weekdays. ``calendar``, ``expiries`` and ``sessions_after`` are datetime64[D].
    Raises ``ValueError`` when the last contract would be needed (no next contract for carry).
    """
    n = calendar.shape[0]
    last = calendar[-1]
    if sessions_after is not None and sessions_after.shape[0]:
        calendar = np.concatenate([calendar, sessions_after[sessions_after > last]])
        last = calendar[-1]
    end = max(expiries[-1], last) + 1
    extra = np.arange(last + 1, end + 1, dtype="datetime64[D]")
    ext = np.concatenate([calendar, extra[np.is_busday(extra)]])
    roll_pos = np.searchsorted(ext, expiries, side="right") - 1 - int(roll_days)
    held = np.searchsorted(roll_pos, np.arange(n), side="right")
    if held.max() + 1 >= expiries.shape[0]:
        raise ValueError("contract schedule too short for the calendar")
    return held


def contract_ids(expiries: np.ndarray) -> np.ndarray:
    """Contract ids ``YYYYMMDD`` (int64) from the expiry dates."""
    y = expiries.astype("datetime64[Y]").astype(np.int64) + 1970
    m = expiries.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (expiries - expiries.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


def curve_columns(
    days: np.ndarray,
    expiries: np.ndarray,
    roll_days: int,
    price_fn,
    sessions_after: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Columns of :data:`backtest.market.CURVE_COLUMNS` and the Panama series of one root.

    ``days`` and ``expiries`` are datetime64[D]; ``price_fn(tau_years)`` prices, on each day,
    the contract ``tau_years`` (calendar days / 365, shape (n,)) from expiry. The held contract
    follows :func:`held_contracts` (with ``sessions_after``); ``carry`` and ``forward`` are the
    next contract.
    """
    held = held_contracts(days, expiries, roll_days, sessions_after)
    ids = contract_ids(expiries)
    cols = {}
    for name, k in (("price", held), ("carry", held + 1)):
        tau = (expiries[k] - days).astype(np.float64) / 365.0
        cols[name] = np.asarray(price_fn(tau), dtype=np.float64)
        cols[f"{name}_contract"] = ids[k]
        cols[f"{name}_expiry"] = expiries[k].astype("datetime64[ns]")
    for col in ("", "_contract", "_expiry"):
        cols[f"forward{col}"] = cols[f"carry{col}"]
    return cols, panama(cols["price"], cols["carry"], held)


def panama(price: np.ndarray, forward: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Panama (additive) adjusted series starting at ``price[0]``.

    Its change on day ``t`` is the held contract's own change: ``price[t] - price[t-1]``, or,
    on a roll day (``held[t] != held[t-1]``), ``price[t] - forward[t-1]`` (yesterday's price of
    the contract rolled into). It is anchored at the first day, not back-adjusted to end at
    ``price[-1]``: a series anchored at the end would be rewritten by every later roll, so a
    longer history would change the earlier values. Only its differences carry meaning; it
    equals ``price`` until the first roll and differs from it by the sum of the roll gaps after.
    """
    prev = np.where(held[1:] == held[:-1], price[:-1], forward[:-1])
    adj = np.empty_like(price)
    adj[0] = price[0]
    adj[1:] = price[0] + np.cumsum(price[1:] - prev)
    return adj
