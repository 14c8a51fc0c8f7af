"""NYSE sessions from the shipped closures file (backtest.market.nyse) against exchange_calendars'
XNYS, and the calendar functions built on them."""

from __future__ import annotations

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


def test_sessions_equal_exchange_calendars_over_the_whole_span(xnys_sessions):
    ours = nyse.sessions()
    assert ours[0] == np.datetime64(f"{nyse.FIRST_YEAR}-01-04")  # 1 Jan 1971 closed, 2-3 weekend
    np.testing.assert_array_equal(ours, xnys_sessions)
    assert not ours.flags.writeable


def test_the_closures_file_is_what_exchange_calendars_says_today(tmp_path):
    """The shipped file against the installed exchange_calendars (an upgrade that adds a
    closure fails here: rewrite the file with write_closures), and write_closures writes it
    again byte for byte (a version line aside)."""
    shipped = nyse.CLOSURES_FILE.read_text(encoding="utf-8").splitlines()
    dates = [line for line in shipped if not line.startswith("#")]
    assert dates == list(nyse.closures_from_exchange_calendars().astype(str))
    again = tmp_path / "closures.txt"
    assert nyse.write_closures(again) == len(dates)
    assert again.read_text(encoding="utf-8").splitlines() == shipped
    assert list(tmp_path.iterdir()) == [again]  # no temporary file left


def test_hand_checked_closures():
    # 2022: New Year's Day a Saturday (not observed on Friday 31 Dec 2021), Juneteenth a Sunday
    # (Monday 20 June), Christmas a Sunday (Monday 26 Dec); Easter 17 April → Good Friday 15th
    days = nyse.sessions()
    open_, shut = ["2021-12-31", "2012-10-31", "2022-06-17", "2022-12-27", "2001-09-17"], [
        "2022-06-20", "2022-12-26", "2022-04-15", "2012-10-29", "2012-10-30", "2001-09-11",
        "2001-09-14", "2018-12-05", "2025-01-09", "2024-11-28", "2099-12-25"]  # fmt: skip
    assert all(np.datetime64(d) in days for d in open_)
    assert not any(np.datetime64(d) in days for d in shut)
    in_2022 = days[(days >= np.datetime64("2022-01-01")) & (days <= np.datetime64("2022-12-31"))]
    assert len(in_2022) == 251  # 260 weekdays less 9 holidays


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
