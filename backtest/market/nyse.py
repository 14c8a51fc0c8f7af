"""NYSE (XNYS) sessions 1971–2099 from ``exchange_calendars``' closures, kept in a file.

Importing ``exchange_calendars`` and building its XNYS calendar costs ~0.3 s in a fresh
process, and every command that builds or simulates a market needs the sessions. The weekdays
its XNYS calendar closes from :data:`FIRST_YEAR` to :data:`LAST_YEAR` (holidays and unscheduled
closures such as 2001-09-11 or 2025-01-09) are written once to ``xnys_closures.txt`` next to
this module by :func:`write_closures`; :func:`sessions` reads them. No calendar rule is written
by hand: ``exchange_calendars`` stays the source, and ``tests/backtest/market/test_nyse.py``
fails when the file and the installed ``exchange_calendars`` disagree (after an upgrade that
adds an unscheduled closure, rewrite the file:
``python -c "from backtest.market.nyse import write_closures; write_closures()"``).
:mod:`backtest.market.calendar` uses ``exchange_calendars`` itself outside the span.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: First and last year whose sessions :func:`sessions` knows.
FIRST_YEAR, LAST_YEAR = 1971, 2099
#: The weekdays XNYS is closed, FIRST_YEAR..LAST_YEAR, ISO dates one a line (``#`` comments).
CLOSURES_FILE = Path(__file__).with_name("xnys_closures.txt")


def _weekdays() -> np.ndarray:
    days = np.arange(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR + 1}-01-01", dtype="datetime64[D]")
    return days[np.is_busday(days)]


@functools.lru_cache(maxsize=1)
def sessions() -> np.ndarray:
    """Every NYSE session from FIRST_YEAR to LAST_YEAR, sorted ``datetime64[D]`` (read-only):
    the weekdays less the closures of :data:`CLOSURES_FILE`.

    Read once per process (~2 ms); the sessions are calendar facts known in advance, so sharing
    them changes no result."""
    lines = CLOSURES_FILE.read_text(encoding="utf-8").splitlines()
    closed = np.array([s for s in lines if s and not s.startswith("#")], dtype="datetime64[D]")
    out = np.setdiff1d(_weekdays(), closed, assume_unique=True)
    out.flags.writeable = False
    return out


def closures_from_exchange_calendars() -> np.ndarray:
    """The weekdays (``datetime64[D]``, sorted) FIRST_YEAR..LAST_YEAR on which
    ``exchange_calendars``' XNYS has no session."""
    import exchange_calendars as xcals  # third-party, slow to import: only to (re)write the file

    cal = xcals.get_calendar("XNYS", start=pd.Timestamp(FIRST_YEAR, 1, 1),
                             end=pd.Timestamp(LAST_YEAR, 12, 31))  # fmt: skip
    open_days = cal.sessions.tz_localize(None) if cal.sessions.tz else cal.sessions
    return np.setdiff1d(_weekdays(), open_days.to_numpy().astype("datetime64[D]"))


def write_closures(path: Path = CLOSURES_FILE) -> int:
    """(Re)write the closures file from ``exchange_calendars`` (atomically); returns how many."""
    import exchange_calendars as xcals  # third-party, slow to import: only to (re)write the file

    closed = closures_from_exchange_calendars()
    head = (f"# Weekdays without an NYSE session, {FIRST_YEAR}-{LAST_YEAR}, from "
            f"exchange_calendars {xcals.__version__} XNYS.\n"
            "# Written by backtest.market.nyse.write_closures; do not edit by hand.\n")  # fmt: skip
    text = head + "".join(f"{d}\n" for d in closed.astype(str))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".xnys_closures.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return len(closed)
