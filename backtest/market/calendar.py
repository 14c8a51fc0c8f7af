"""Trading calendars and the one home of the year-length convention.

NYSE sessions come from ``exchange_calendars``' XNYS: from 1971 to 2099 through its closures
kept in a file (:mod:`backtest.market.nyse`, without its ~0.3 s import and build), outside that
span from the library itself; calendar facts are known in advance, so using
them is no look-ahead. ``TRADING_DAYS_PER_YEAR`` is the annualisation convention of every
layer (metrics, strategies, allocator); see ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np
import pandas as pd

from backtest.market import nyse

#: Trading days per year: the one home for annualisation (metrics, strategies, allocator).
TRADING_DAYS_PER_YEAR = 252


@functools.lru_cache(maxsize=8)
def _xnys(first_year: int, last_year: int):
    """The XNYS ``ExchangeCalendar`` from 1 January ``first_year`` to 31 December ``last_year``.

    Building one takes ~0.15 s, so each span is built once per process; a calendar is immutable
    and its sessions are facts known in advance, so sharing it changes no result.
    """
    import exchange_calendars as xcals  # third-party, slow to import: only when asked

    return xcals.get_calendar(
        "XNYS", start=pd.Timestamp(first_year, 1, 1), end=pd.Timestamp(last_year, 12, 31)
    )


def _calendar_spanning(start: pd.Timestamp, end: pd.Timestamp):
    """A cached XNYS calendar covering ``start``..``end`` (at least 2000..2030)."""
    return _xnys(min(start.year, 2000), max(end.year, 2030))


#: The one date format accepted from users (flags, configs): ISO ``YYYY-MM-DD``.
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Latest date a user may name: exchange calendars and the synthetic market stop before 2100.
LAST_DATE = pd.Timestamp("2099-12-31")


def iso_date(value, what: str = "date") -> pd.Timestamp:
    """``value`` (``YYYY-MM-DD`` text, or a date) as a midnight Timestamp.

    ValueError naming ``what`` for anything else: ``01/07/2019`` (is it 7 January or 1 July?),
    ``2019``, ``now``, ``""``, an impossible day such as ``2019-02-30``, or a year after 2099.
    """
    if isinstance(value, dt.datetime):
        day = pd.Timestamp(value).normalize()
    elif isinstance(value, dt.date):
        day = pd.Timestamp(value)
    else:
        text = str(value).strip() if value is not None else ""
        if not ISO_DATE.fullmatch(text):
            raise ValueError(f"{what} {value!r} is not a date YYYY-MM-DD")
        try:
            day = pd.Timestamp(dt.date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a valid day") from None
    if not pd.Timestamp("1900-01-01") <= day <= LAST_DATE:
        raise ValueError(f"{what} {value!r} is out of range (1900-01-01 .. 2099-12-31)")
    return day


def _native(start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether :mod:`backtest.market.nyse` knows every session from ``start`` to ``end`` (naive
    midnight timestamps inside its years)."""
    return (
        start.tz is None
        and end.tz is None
        and start == start.normalize()
        and end == end.normalize()
        and nyse.FIRST_YEAR <= start.year
        and end.year <= nyse.LAST_YEAR
    )


def xnys_calendar(start, end) -> pd.DatetimeIndex:
    """NYSE trading sessions between two dates (inclusive), named ``date``: from the closures
    file of :mod:`backtest.market.nyse` from 1971 to 2099, else from ``exchange_calendars``.

    The ``exchange_calendars`` calendar is created with an explicit ``start`` so history older
    than 20 years works.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if _native(start, end):
        days = nyse.sessions()
        lo = days.searchsorted(np.datetime64(start.date()), side="left")
        hi = days.searchsorted(np.datetime64(end.date()), side="right")
        return pd.DatetimeIndex(days[lo:hi].astype("datetime64[ns]"), name="date")
    # a margin past ``end``: a range ending on a holiday at the calendar's last day must not raise
    cal = _calendar_spanning(start, end + pd.Timedelta(days=14))
    sessions = cal.sessions_in_range(start, end)
    sessions = sessions.tz_localize(None) if sessions.tz else sessions
    return pd.DatetimeIndex(sessions.to_numpy(), name="date")


def next_session(calendar: pd.DatetimeIndex) -> pd.Timestamp:
    """The trading day after the calendar's last: the next NYSE session when the calendar is on
    XNYS (holidays such as Good Friday respected), else the next weekday. Calendar facts are
    known in advance, so this is no look-ahead."""
    last = pd.Timestamp(calendar[-1])
    if _native(last, last + pd.Timedelta(days=30)):
        days = nyse.sessions()
        day = np.datetime64(last.date())
        i = int(days.searchsorted(day, side="left"))
        if days[i] == day:
            return pd.Timestamp(days[i + 1].astype("datetime64[ns]"))
        return last + pd.offsets.BDay(1)
    cal = _calendar_spanning(last, last + pd.Timedelta(days=30))
    if cal.is_session(last):
        return pd.Timestamp(cal.next_session(last)).tz_localize(None)
    return last + pd.offsets.BDay(1)


def month_end_flags(calendar: pd.DatetimeIndex) -> np.ndarray:
    """True on the last trading day of each month (the next session is in another month)."""
    months = calendar.month.to_numpy()
    return months != np.r_[months[1:], next_session(calendar).month]


def quarter_end_flags(calendar: pd.DatetimeIndex, fiscal_year_end_month: int = 12) -> np.ndarray:
    """True on the last trading day of each fiscal quarter."""
    fiscal = (calendar.month.to_numpy() - fiscal_year_end_month) % 3 == 0
    return month_end_flags(calendar) & fiscal
