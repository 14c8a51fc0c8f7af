"""NYSE sessions by rule (backtest.market.nyse) against exchange_calendars' XNYS, and the
calendar functions built on them."""

from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from backtest.market import calendar as C
from backtest.market import nyse


@pytest.fixture(scope="module")
def xnys_sessions() -> np.ndarray:
    cal = xcals.get_calendar(
        "XNYS", start=pd.Timestamp(nyse.FIRST_YEAR, 1, 1), end=pd.Timestamp(nyse.LAST_YEAR, 12, 31)
    )
    sessions = cal.sessions.tz_localize(None) if cal.sessions.tz else cal.sessions
    return sessions.to_numpy().astype("datetime64[D]")


def test_rules_equal_exchange_calendars_over_the_whole_span(xnys_sessions):
    ours = nyse.sessions()
    assert ours[0] == np.datetime64(f"{nyse.FIRST_YEAR}-01-04")  # 1 Jan 1971 closed, 2-3 weekend
    np.testing.assert_array_equal(ours, xnys_sessions)
    assert not ours.flags.writeable


def test_hand_checked_closures():
    # 2022: New Year's Day a Saturday (not observed on Friday 31 Dec 2021), Juneteenth a Sunday
    # (Monday 20 June), Christmas a Sunday (Monday 26 Dec); Easter 17 April → Good Friday 15th
    h = set(nyse.holidays(2022))
    assert dt.date(2021, 12, 31) not in h and dt.date(2022, 1, 1) not in h
    assert {dt.date(2022, 6, 20), dt.date(2022, 12, 26), dt.date(2022, 4, 15)} <= h
    assert len(h) == 9  # MLK, Presidents, Good Friday, Memorial, June, July, Labor, Thanks, Xmas
    days = nyse.sessions()
    assert np.datetime64("2021-12-31") in days
    assert np.datetime64("2012-10-29") not in days and np.datetime64("2012-10-31") in days
    assert nyse.easter(2024) == dt.date(2024, 3, 31) and nyse.easter(2038) == dt.date(2038, 4, 25)
    with pytest.raises(ValueError, match="1971..2099"):
        nyse.holidays(1970)


def test_xnys_calendar_is_the_exchange_calendars_index():
    for start, end in (("2005-01-03", "2024-12-31"), ("1999-12-31", "2000-01-03"),
                       ("2024-03-29", "2024-03-29"), ("2024-01-06", "2024-01-05")):  # fmt: skip
        got = C.xnys_calendar(start, end)
        cal = C._calendar_spanning(pd.Timestamp(start), pd.Timestamp(end))
        want = cal.sessions_in_range(start, end)
        want = pd.DatetimeIndex(want.tz_localize(None) if want.tz else want).to_numpy()
        pd.testing.assert_index_equal(got, pd.DatetimeIndex(want, name="date"), exact=True)
        assert got.dtype == np.dtype("datetime64[ns]") and got.freq is None


def test_xnys_calendar_outside_the_rules_falls_back():
    got = C.xnys_calendar("1968-06-10", "1968-06-14")  # paperwork crisis: Wednesdays closed
    assert list(got.strftime("%Y-%m-%d")) == ["1968-06-10", "1968-06-11", "1968-06-13",
                                              "1968-06-14"]  # fmt: skip


@pytest.mark.parametrize("last", ["2024-03-28", "2024-12-24", "2024-12-31", "2025-01-08",
                                  "2024-03-29", "2024-06-15"])  # fmt: skip
def test_next_session_equals_exchange_calendars(last):
    cal = C._xnys(2000, 2030)
    day = pd.Timestamp(last)
    want = (pd.Timestamp(cal.next_session(day)).tz_localize(None) if cal.is_session(day)
            else day + pd.offsets.BDay(1))  # fmt: skip
    got = C.next_session(pd.DatetimeIndex([day]))
    assert got == want and got.unit == want.unit
