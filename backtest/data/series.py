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


def read_dated_csv(path: str | Path, choices: tuple[tuple[str, ...], ...]):
    """Read and check a small user CSV: a ``date`` column plus one set of numeric columns.

    ``choices`` lists the accepted column sets in order of preference, e.g.
    ``(("level",), ("return",))``; exactly one must be present in full. Dates must be ISO 8601,
    unique and ascending; values numeric, present and finite.

    Returns
    -------
    (DatetimeIndex, DataFrame)
        The dates and the chosen columns as float64 (a RangeIndex frame).

    Raises
    ------
    backtest.data.validation.DataError
        Naming the file, row (1-based data row), date and column of the first problem.
    """
    path = Path(path)
    file = path.name
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=NA_TEXT)
    except FileNotFoundError:
        raise DataError(file, f"file not found ({path})") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(file, f"not a readable CSV file ({exc})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    wanted = " or ".join("+".join(repr(c) for c in cols) for cols in choices)
    if "date" not in raw.columns:
        raise DataError(file, f"missing column (need 'date' and {wanted})", column="date")
    present = [cols for cols in choices if set(cols) <= set(raw.columns)]
    if len(present) != 1:
        problem = (
            f"has columns for more than one of {wanted}; keep one"
            if present
            else f"missing column (need {wanted})"
        )
        raise DataError(file, problem, column=choices[0][0])
    cols = list(present[0])
    if raw.empty:
        raise DataError(file, "no data rows")
    dates = parse_dates(raw["date"], file)
    check_ascending(dates, file)
    values = check_numeric(raw[cols], file, dates)
    v = values.to_numpy(dtype="float64")
    rows, at = np.nonzero(~np.isfinite(v))
    if rows.size:
        i, j = int(rows[0]), int(at[0])
        problem = "value is missing" if np.isnan(v[i, j]) else f"value is not finite ({v[i, j]!r})"
        raise DataError(file, problem, row=i + 1, date=fmt_date(dates[i]), column=cols[j])
    return pd.DatetimeIndex(dates, name="date"), values.astype("float64").reset_index(drop=True)


def load_user_benchmark(path: str | Path, start_level: float = 100.0) -> pd.Series:
    """A benchmark from a CSV file with columns ``date,level`` or ``date,return``.

    ``level``: index levels, strictly positive. ``return``: daily simple returns in decimal
    (> −1), turned into a level that starts at ``start_level`` *before* the first row
    (``level_t = start_level × Π_{s≤t}(1 + r_s)``). Dates must be ISO 8601, unique and ascending;
    no cell may be missing.

    Returns
    -------
    Series
        Levels indexed by date, named after the file's stem.

    Raises
    ------
    backtest.data.validation.DataError
        Naming the file, row (1-based data row), date and column of the first problem: bad or
        missing date, duplicate or unsorted dates, non-numeric or missing value, non-positive
        level, return ≤ −1, missing or ambiguous columns.
    """
    path = Path(path)
    dates, values = read_dated_csv(path, (("level",), ("return",)))
    col = values.columns[0]
    v = values[col].to_numpy()
    bad = np.flatnonzero(v <= 0.0 if col == "level" else v <= -1.0)
    if bad.size:
        i = int(bad[0])
        what = "level must be positive" if col == "level" else "return must be greater than -1"
        raise DataError(
            path.name, f"{what} ({v[i]!r})", row=i + 1, date=fmt_date(dates[i]), column=col
        )
    level = v if col == "level" else start_level * np.cumprod(1.0 + v)
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
            f"price must be positive ({v[i, j]!r})",
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
