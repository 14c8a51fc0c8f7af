"""NYSE (XNYS) sessions by rule, 1971–2099, without importing ``exchange_calendars``.

Importing ``exchange_calendars`` and building its XNYS calendar costs ~0.3 s in a fresh
process, and every command that builds or simulates a market needs the sessions. The
weekday closures of the NYSE since the Uniform Monday Holiday Act (1971) follow a few rules,
plus a short list of unscheduled closures; :func:`sessions` applies them.
``tests/backtest/market/test_nyse.py`` holds them equal, day for day, to ``exchange_calendars``'
XNYS over the whole span; :mod:`backtest.market.calendar` falls back to ``exchange_calendars``
outside it.

Rules (a holiday on a Saturday is observed on the Friday before, on a Sunday the Monday after,
except New Year's Day, not observed when it falls on a Saturday): New Year's Day; Martin Luther
King Jr. Day (third Monday of January, from 1998); Washington's Birthday (third Monday of
February); Good Friday; Memorial Day (last Monday of May); Juneteenth (19 June, from 2022);
Independence Day; Labor Day (first Monday of September); presidential election days (the
Tuesday after the first Monday of November, every four years until 1980); Thanksgiving (fourth
Thursday of November); Christmas.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

#: First and last year whose sessions :func:`sessions` knows.
FIRST_YEAR, LAST_YEAR = 1971, 2099

#: Unscheduled full-day closures (weekdays) in the span, with their reason.
UNSCHEDULED_CLOSURES = (
    ("1972-12-28", "funeral of President Truman"),
    ("1973-01-25", "funeral of President Johnson"),
    ("1977-07-14", "New York City blackout"),
    ("1985-09-27", "Hurricane Gloria"),
    ("1994-04-27", "funeral of President Nixon"),
    ("2001-09-11", "September 11 attacks"),
    ("2001-09-12", "September 11 attacks"),
    ("2001-09-13", "September 11 attacks"),
    ("2001-09-14", "September 11 attacks"),
    ("2004-06-11", "funeral of President Reagan"),
    ("2007-01-02", "national day of mourning for President Ford"),
    ("2012-10-29", "Hurricane Sandy"),
    ("2012-10-30", "Hurricane Sandy"),
    ("2018-12-05", "national day of mourning for President George H. W. Bush"),
    ("2025-01-09", "national day of mourning for President Carter"),
)

_DAY = dt.timedelta(days=1)
_MON, _TUE, _THU = 0, 1, 3


def easter(year: int) -> dt.date:
    """Easter Sunday of ``year`` (Gregorian calendar; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year, month + 1, 1) - _DAY
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Saturday → the Friday before, Sunday → the Monday after."""
    return day - _DAY if day.weekday() == 5 else day + _DAY if day.weekday() == 6 else day


def holidays(year: int) -> list[dt.date]:
    """The scheduled weekday closures of ``year`` (FIRST_YEAR..LAST_YEAR; see the module
    docstring), unscheduled ones excluded."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"NYSE rules cover {FIRST_YEAR}..{LAST_YEAR}, not {year}")
    new_year = dt.date(year, 1, 1)
    out = [] if new_year.weekday() == 5 else [_observed(new_year)]
    if year >= 1998:
        out.append(_nth_weekday(year, 1, _MON, 3))
    out += [
        _nth_weekday(year, 2, _MON, 3),
        easter(year) - 2 * _DAY,
        _last_weekday(year, 5, _MON),
    ]
    if year >= 2022:
        out.append(_observed(dt.date(year, 6, 19)))
    out += [_observed(dt.date(year, 7, 4)), _nth_weekday(year, 9, _MON, 1)]
    if year <= 1980 and year % 4 == 0:
        out.append(_nth_weekday(year, 11, _MON, 1) + _DAY)
    out += [_nth_weekday(year, 11, _THU, 4), _observed(dt.date(year, 12, 25))]
    return out


@functools.lru_cache(maxsize=1)
def sessions() -> np.ndarray:
    """Every NYSE session from FIRST_YEAR to LAST_YEAR, sorted ``datetime64[D]`` (read-only).

    Built once per process (~2 ms); the sessions are calendar facts known in advance, so
    sharing them changes no result."""
    closed = [d for y in range(FIRST_YEAR, LAST_YEAR + 1) for d in holidays(y)]
    closed += [dt.date.fromisoformat(d) for d, _ in UNSCHEDULED_CLOSURES]
    days = np.arange(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR + 1}-01-01", dtype="datetime64[D]")
    out = days[np.is_busday(days, holidays=np.array(closed, dtype="datetime64[D]"))]
    out.flags.writeable = False
    return out
