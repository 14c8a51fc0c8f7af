"""Small user-supplied dated series: benchmark levels or returns, secondary-market prices.

Each reader checks the file and raises :class:`~backtest.data.validation.DataError` naming the
file, the 1-based data row, the date and the column of the first problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.validation import (
    NA_TEXT,
    DataError,
    check_ascending,
    check_numeric,
    fmt_date,
    parse_dates,
)

#: Share of returns above 1 in absolute value (±100% in a day) beyond which a return file is
#: taken to be in percent.
PERCENT_HINT_SHARE = 0.05


def _columns_found(columns) -> str:
    return ", ".join(repr(c) for c in columns) or "none"


def read_dated_csv(
    path: str | Path, choices: tuple[tuple[str, ...], ...], leading_missing: bool = False
):
    """Read and check a small user CSV: a ``date`` column plus one set of numeric columns.

    ``choices`` lists the accepted column sets in order of preference, e.g.
    ``(("level",), ("return",))``; exactly one must be present in full. Column names are
    matched without regard to case or surrounding blanks (``Date``, ``DATE`` and ``date`` are
    the same). Dates must be ISO 8601, unique and ascending; values numeric, present and
    finite — except, with ``leading_missing``, on the first row (a return series written by
    ``pct_change`` starts with a blank).

    Returns
    -------
    (DatetimeIndex, DataFrame)
        The dates and the chosen columns as float64 (a RangeIndex frame), named in lower case.

    Raises
    ------
    backtest.data.validation.DataError
        Naming the file, row (1-based data row), date and column of the first problem; a
        missing column names the columns the file has.
    """
    path = Path(path)
    file = path.name
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=NA_TEXT)
    except FileNotFoundError:
        raise DataError(file, f"file not found ({path})") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(file, f"not a readable CSV file ({exc})") from None
    found = [str(c).strip() for c in raw.columns]
    raw.columns = [c.lower() for c in found]
    wanted = " or ".join("+".join(repr(c) for c in cols) for cols in choices)
    if "date" not in raw.columns:
        raise DataError(file, f"missing column (need 'date' and {wanted}; found "
                        f"{_columns_found(found)})", column="date")  # fmt: skip
    present = [cols for cols in choices if set(cols) <= set(raw.columns)]
    if len(present) != 1:
        problem = (
            f"has columns for more than one of {wanted}; keep one"
            if present
            else f"missing column (need {wanted}; found {_columns_found(found)})"
        )
        raise DataError(file, problem, column=choices[0][0])
    cols = list(present[0])
    if raw.empty:
        raise DataError(file, "no data rows")
    dates = parse_dates(raw["date"], file)
    check_ascending(dates, file)
    values = check_numeric(raw[cols], file, dates)
    v = values.to_numpy(dtype="float64")
    bad = ~np.isfinite(v)
    if leading_missing:
        bad[0] &= ~np.isnan(v[0])
    rows, at = np.nonzero(bad)
    if rows.size:
        i, j = int(rows[0]), int(at[0])
        problem = "value is missing" if np.isnan(v[i, j]) else f"value is not finite ({v[i, j]})"
        raise DataError(file, problem, row=i + 1, date=fmt_date(dates[i]), column=cols[j])
    return pd.DatetimeIndex(dates, name="date"), values.astype("float64").reset_index(drop=True)


def _percent_hint(r: np.ndarray) -> str:
    """A hint when daily returns look like percents (|r| > 1 on many days), else ''."""
    big = np.abs(r[np.isfinite(r)]) > 1.0
    if big.size and big.mean() > PERCENT_HINT_SHARE:
        return (f"; {int(big.sum())} of {big.size} returns are beyond ±1 (±100% a day): are they "
                "in percent? Give decimal returns (0.01 = 1%)")  # fmt: skip
    return ""


def load_user_benchmark(path: str | Path, start_level: float = 100.0) -> pd.Series:
    """A benchmark from a CSV file with columns ``date,level`` or ``date,return`` (any case).

    ``level``: index levels, strictly positive. ``return``: daily simple returns in decimal
    (> −1), turned into a level that starts at ``start_level`` *before* the first row
    (``level_t = start_level × Π_{s≤t}(1 + r_s)``); a blank first return (as ``pct_change``
    writes it) makes the first row the base, at ``start_level``. Dates must be ISO 8601, unique
    and ascending; no other cell may be missing.

    Returns
    -------
    Series
        Levels indexed by date, named after the file's stem.

    Raises
    ------
    backtest.data.validation.DataError
        Naming the file, row (1-based data row), date and column of the first problem: bad or
        missing date, duplicate or unsorted dates, non-numeric or missing value, non-positive
        level, return ≤ −1 or returns that look like percents, missing or ambiguous columns
        (with the columns found).
    """
    path = Path(path)
    dates, values = read_dated_csv(path, (("level",), ("return",)), leading_missing=True)
    col = values.columns[0]
    v = values[col].to_numpy()
    if col == "level" and np.isnan(v[0]):
        raise DataError(path.name, "value is missing", row=1, date=fmt_date(dates[0]),
                        column=col)  # fmt: skip
    hint = _percent_hint(v) if col == "return" else ""
    bad = np.flatnonzero(v <= 0.0 if col == "level" else v <= -1.0)
    if bad.size:
        i = int(bad[0])
        what = "level must be positive" if col == "level" else "return must be greater than -1"
        raise DataError(
            path.name, f"{what} ({float(v[i]):g}){hint}", row=i + 1, date=fmt_date(dates[i]),
            column=col,
        )  # fmt: skip
    if hint:
        raise DataError(path.name, hint.removeprefix("; "), column=col)
    level = v if col == "level" else start_level * np.cumprod(1.0 + np.nan_to_num(v[:]))
    return pd.Series(level, index=dates, name=path.stem)


def load_market_prices(path: str | Path) -> pd.Series:
    """Closing midpoints from a CSV with ``date,midpoint`` or ``date,bid,ask`` (USD per share).

    Prices must be positive (and ``ask ≥ bid``); dates ISO 8601, unique and ascending.

    Raises
    ------
    backtest.data.validation.DataError
        Naming the file, row, date and column of the first problem.
    """
    path = Path(path)
    dates, values = read_dated_csv(path, (("midpoint",), ("bid", "ask")))
    v = values.to_numpy()
    rows, cols = np.nonzero(v <= 0)
    if rows.size:
        i, j = int(rows[0]), int(cols[0])
        raise DataError(
            path.name,
            f"price must be positive ({float(v[i, j]):g})",
            row=i + 1,
            date=fmt_date(dates[i]),
            column=values.columns[j],
        )
    if "bid" in values:
        crossed = np.flatnonzero(values["ask"].to_numpy() < values["bid"].to_numpy())
        if crossed.size:
            i = int(crossed[0])
            raise DataError(
                path.name, "ask is below bid", row=i + 1, date=fmt_date(dates[i]), column="ask"
            )
        mid = (values["bid"] + values["ask"]).to_numpy() / 2.0
    else:
        mid = values["midpoint"].to_numpy()
    return pd.Series(mid, index=dates, name="midpoint")
