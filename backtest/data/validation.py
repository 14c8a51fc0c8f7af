"""Checks on tables read from data files; every problem in input data raises :class:`DataError`.

The checks are plain functions over a frame as it was read, plus the file name (and the file's
date column) so that the error can name the place: file, row, date, column. Each check raises at
the first problem it finds (earliest row, then leftmost column), so a caller running them in
sequence reports exactly one clear error.

Row numbers are **1-based data rows**: row 1 is the first record of a file (header excluded; in a
CSV with a header line that is line 2).

Used by :mod:`backtest.data` (our folder layout) and :mod:`backtest.data.pysystemtrade`; also holds
:class:`DatasetSummary`, what :func:`backtest.data.validate_dataset` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backtest.data.quality import market_reversed_spikes
from backtest.errors import DataError
from backtest.market.instruments import KNOWN_CURRENCIES, AssetClass, InstrumentKind, Liquidity
from backtest.market.market_data import MarketData

#: The only cell texts read as a missing value: blank (what pandas writes) and NaN. Other
#: pandas defaults such as "n/a", "NULL" or "NA" are reported as non-numeric instead.
NA_TEXT = ["", "NaN", "nan"]


def fmt_date(value) -> str | None:
    """A date as ``YYYY-MM-DD`` (with the time when it is not midnight); None for NaT/None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    return f"{ts:%Y-%m-%d}" if ts == ts.normalize() else ts.isoformat(sep=" ")


def _date_at(dates, i: int) -> str | None:
    return None if dates is None else fmt_date(dates[i])


# ---------------------------------------------------------------------------- structure
def require_columns(columns: Iterable[str], required: Sequence[str], file: str) -> None:
    """Every required column is present; name the first missing one."""
    have = [str(c) for c in columns]
    for col in required:
        if col not in have:
            shown = ", ".join(repr(c) for c in have[:8]) + (", ..." if len(have) > 8 else "")
            raise DataError(
                file, f"missing column (the file has: {shown or 'no columns'})", column=col
            )


def parse_dates(raw: pd.Series, file: str, column: str = "date") -> pd.DatetimeIndex:
    """Parse a date/timestamp column (ISO 8601 text or datetime values) to nanosecond dates.

    Raises on the first cell that is missing or not a date.
    """
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.DatetimeIndex(raw)
        if parsed.tz is not None:
            parsed = parsed.tz_localize(None)
    else:
        parsed = pd.DatetimeIndex(pd.to_datetime(raw, format="ISO8601", errors="coerce"))
    bad = np.flatnonzero(pd.isna(parsed))
    if bad.size:
        i = int(bad[0])
        value = raw.iloc[i]
        what = (
            "date is missing"
            if pd.isna(value) or str(value).strip() == ""
            else (f"not a valid date ({value!r})")
        )
        raise DataError(file, what, row=i + 1, column=column)
    return parsed.as_unit("ns")


def check_ascending(dates: pd.DatetimeIndex, file: str, column: str = "date") -> None:
    """Strictly increasing: name the first duplicated or out-of-order row."""
    values = dates.asi8
    step = np.diff(values)
    bad = np.flatnonzero(step <= 0)
    if not bad.size:
        return
    i = int(bad[0]) + 1
    if step[i - 1] == 0:
        problem = f"duplicate {column} (same as row {i})"
    else:
        problem = f"{column}s are not in ascending order (row {i} has {fmt_date(dates[i - 1])})"
    raise DataError(file, problem, row=i + 1, date=fmt_date(dates[i]), column=column)


def check_calendar(
    dates: pd.DatetimeIndex, calendar: pd.DatetimeIndex, file: str, calendar_file: str
) -> None:
    """A dated file has exactly the calendar's dates; name the first row that differs."""
    if len(dates) == len(calendar) and (dates.asi8 == calendar.asi8).all():
        return
    n = min(len(dates), len(calendar))
    diff = np.flatnonzero(dates.asi8[:n] != calendar.asi8[:n])
    if diff.size:
        i = int(diff[0])
        problem = (
            f"date does not match the calendar in {calendar_file} "
            f"(expected {fmt_date(calendar[i])})"
        )
        raise DataError(file, problem, row=i + 1, date=fmt_date(dates[i]), column="date")
    if len(dates) > len(calendar):
        raise DataError(
            file,
            f"date is not in the calendar in {calendar_file}",
            row=n + 1,
            date=fmt_date(dates[n]),
            column="date",
        )
    raise DataError(
        file,
        f"file has {len(dates)} dates but the calendar in {calendar_file} has {len(calendar)} "
        f"(first missing: {fmt_date(calendar[n])})",
        column="date",
    )


# ---------------------------------------------------------------------------- values
def check_numeric(frame: pd.DataFrame, file: str, dates=None, what: str = "value") -> pd.DataFrame:
    """Every column numeric; name the first cell that is not a number.

    Columns already of a numeric dtype pass untouched; text columns whose every cell parses are
    converted to float64. Blank cells (NaN) are allowed.
    """
    out = {}
    for col in frame.columns:
        series = frame[col]
        dtype = series.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & series.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise DataError(
                file,
                f"{what} is not a number ({series.iloc[i]!r})",
                row=i + 1,
                date=_date_at(dates, i),
                column=col,
            )
        out[col] = numbers.astype("float64")
    if not out:
        return frame
    frame = frame.copy()
    for col, values in out.items():
        frame[col] = values
    return frame


def _first_cell(mask: np.ndarray) -> tuple[int, int] | None:
    rows, cols = np.nonzero(mask)
    if not rows.size:
        return None
    return int(rows[0]), int(cols[0])  # np.nonzero is row-major: earliest row, leftmost column


def _float_values(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy(dtype="float64", na_value=np.nan)


def _raise_first(frame: pd.DataFrame, file: str, dates, bad: np.ndarray, values, problem: str):
    """Raise a DataError at the first cell flagged in ``bad`` (row-major: earliest row first),
    ``problem`` formatted with the cell's value."""
    hit = _first_cell(bad)
    if hit is not None:
        i, j = hit
        raise DataError(
            file,
            problem.format(value=repr(values[i, j])),
            row=i + 1,
            date=_date_at(dates, i),
            column=frame.columns[j],
        )


def check_finite(frame: pd.DataFrame, file: str, dates=None, what: str = "value") -> None:
    """No infinite values (NaN, a missing value, is allowed)."""
    if frame.shape[1] == 0:
        return
    values = _float_values(frame)
    _raise_first(frame, file, dates, np.isinf(values), values, what + " is not finite ({value})")


def check_positive(frame: pd.DataFrame, file: str, dates=None, what: str = "price") -> None:
    """Strictly positive where present (NaN allowed)."""
    if frame.shape[1] == 0:
        return
    values = _float_values(frame)
    with np.errstate(invalid="ignore"):
        bad = values <= 0
    _raise_first(frame, file, dates, bad, values, what + " must be positive ({value})")


def check_integer(frame: pd.DataFrame, file: str, dates=None, what: str = "contract id") -> None:
    """Integral values where present (NaN allowed), e.g. contract ids ``YYYYMMDD``."""
    if frame.shape[1] == 0:
        return
    values = _float_values(frame)
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(values) & (values != np.round(values)) | np.isinf(values)
    _raise_first(frame, file, dates, bad, values, what + " is not an integer ({value})")


# ---------------------------------------------------------------------------- references
def check_currency_codes(codes: Iterable[str], file: str, what: str = "column") -> None:
    """Column names that must be known currency codes (fx, rates)."""
    for code in codes:
        if code not in KNOWN_CURRENCIES:
            raise DataError(
                file,
                f"unknown currency {code!r} (known: {', '.join(sorted(KNOWN_CURRENCIES))})",
                column=code,
            )


def check_defined(names: Iterable[str], defined: Iterable[str], file: str, table_file: str) -> None:
    """Column names that must be instrument ids defined in the instrument table."""
    known = set(defined)
    for name in names:
        if name not in known:
            raise DataError(
                file, f"instrument {name!r} is not defined in {table_file}", column=name
            )


#: First characters that make a spreadsheet read a CSV cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")


def check_name(name, file: str, what: str = "instrument id", row: int | None = None) -> None:
    """An id or name that is written to CSV files: text, no leading/trailing blank, not
    starting a spreadsheet formula (``=``, ``+``, ``-``, ``@``), no control character."""
    text = str(name)
    problem = None
    if text != text.strip():
        problem = "has a leading or trailing blank"
    elif text.startswith(FORMULA_STARTS):
        problem = f"starts with {text[0]!r}, which a spreadsheet reads as a formula"
    elif any(ord(c) < 32 or ord(c) == 127 for c in text):
        problem = "contains a control character"
    if problem:
        raise DataError(file, f"{what} {text!r} {problem}", row=row,
                        column="id" if row is not None else text)  # fmt: skip


def check_names(market: MarketData, files: Mapping[str, str] | None = None) -> None:
    """Every instrument id and root, index and benchmark name passes :func:`check_name`."""
    files = files or {}
    ins = files.get("instruments", "instruments")
    for i, ident in enumerate(market.instruments.index):
        check_name(ident, ins, row=i + 1)
    if "root" in market.instruments.columns:
        for i, root in enumerate(market.instruments["root"].astype(str)):
            if root not in ("", "nan", "None"):
                check_name(root, ins, "instrument root", row=i + 1)
    for table in ("index", "benchmarks"):
        for name in getattr(market, table).columns:
            check_name(name, files.get(table, table), f"{table} name")


def check_instrument_table(table: pd.DataFrame, file: str) -> None:
    """The instrument table: unique ids and valid kind, currency, multiplier, enums, flags.

    ``table`` is indexed by id with at least :data:`TABLE_COLUMNS`.
    """
    ids = table.index
    dup = np.flatnonzero(ids.duplicated())
    if dup.size:
        i = int(dup[0])
        raise DataError(file, f"duplicate instrument id {ids[i]!r}", row=i + 1, column="id")
    blank = np.flatnonzero(ids.isna() | (ids.astype(str).str.strip() == ""))
    if blank.size:
        raise DataError(file, "instrument id is blank", row=int(blank[0]) + 1, column="id")
    for i, ident in enumerate(ids):
        check_name(ident, file, row=i + 1)
    allowed = {
        "kind": {k.value for k in InstrumentKind},
        "asset_class": {a.value for a in AssetClass},
        "liquidity": {v.value for v in Liquidity},
        "currency": set(KNOWN_CURRENCIES),
    }
    for col, ok in allowed.items():
        values = table[col].astype(str).to_numpy()
        bad = np.flatnonzero(~np.isin(values, list(ok)))
        if bad.size:
            i = int(bad[0])
            label = "currency" if col == "currency" else col.replace("_", " ")
            raise DataError(
                file,
                f"unknown {label} {values[i]!r} for instrument {ids[i]!r}",
                row=i + 1,
                column=col,
            )
    mult = check_numeric(table[["multiplier"]], file, what="multiplier")
    check_finite(mult, file, what="multiplier")
    check_positive(mult, file, what="multiplier")
    bad_nan = np.flatnonzero(mult["multiplier"].isna().to_numpy())
    if bad_nan.size:
        raise DataError(file, "multiplier is missing", row=int(bad_nan[0]) + 1, column="multiplier")
    for col in ("isg_member", "subsidiary_only"):
        if not pd.api.types.is_bool_dtype(table[col].dtype):
            values = table[col].astype(str).to_numpy()
            bad = np.flatnonzero(~np.isin(values, ["True", "False"]))
            i = int(bad[0]) if bad.size else 0
            raise DataError(
                file, f"flag must be True or False ({values[i]!r})", row=i + 1, column=col
            )


def check_instrument_currencies_have_fx(
    table: pd.DataFrame, fx_columns: Iterable[str], file: str, fx_file: str
) -> None:
    """Every non-USD instrument currency has an FX column (else its USD notional is unknown)."""
    have = set(fx_columns) | {"USD"}
    values = table["currency"].astype(str).to_numpy()
    for i, ccy in enumerate(values):
        if ccy not in have:
            raise DataError(
                file,
                f"currency {ccy!r} of instrument {table.index[i]!r} has no column in {fx_file}",
                row=i + 1,
                column="currency",
            )


# ---------------------------------------------------------------------------- curves
_CURVE_LEGS = ("price", "carry", "forward")


def check_curve_order(curve: pd.DataFrame, file: str, dates=None) -> None:
    """Contracts of a futures curve frame (:data:`backtest.market.CURVE_COLUMNS`) are consistent.

    On each row: the contract rolled into next (``forward``) is not before the held one
    (``price``); and of any two legs, the nearer contract (smaller ``YYYYMMDD`` id) does not
    expire after the farther one. Rows with missing ids or expiries are not checked.
    """
    ids = {leg: _float_values(curve[[f"{leg}_contract"]])[:, 0] for leg in _CURVE_LEGS}
    expiry = {leg: pd.DatetimeIndex(curve[f"{leg}_expiry"]).as_unit("ns") for leg in _CURVE_LEGS}
    ns = {leg: np.where(e.isna(), np.nan, e.asi8.astype("float64")) for leg, e in expiry.items()}
    problems = []  # (row index, column, text); the earliest row wins
    with np.errstate(invalid="ignore"):
        before = np.flatnonzero(ids["forward"] < ids["price"])
        if before.size:
            i = int(before[0])
            fwd, held = ids["forward"][i], ids["price"][i]
            text = f"forward contract {fwd:.0f} is before the held (price) contract {held:.0f}"
            problems.append((i, "forward_contract", text))
        for a, b in (("price", "carry"), ("price", "forward"), ("carry", "forward")):
            a_near = ids[a] < ids[b]
            b_near = ids[b] < ids[a]
            bad = np.flatnonzero((a_near & (ns[a] > ns[b])) | (b_near & (ns[b] > ns[a])))
            if bad.size:
                i = int(bad[0])
                near, far = (a, b) if a_near[i] else (b, a)
                text = (
                    f"near contract {ids[near][i]:.0f} ({near}) expires "
                    f"{fmt_date(expiry[near][i])}, after the far contract "
                    f"{ids[far][i]:.0f} ({far}, expires {fmt_date(expiry[far][i])})"
                )
                problems.append((i, f"{near}_expiry", text))
    if problems:
        i, column, problem = min(problems, key=lambda p: p[0])
        raise DataError(file, problem, row=i + 1, date=_date_at(dates, i), column=column)


# ---------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`validate_dataset` found in a folder.

    ``coverage`` is a DataFrame indexed by instrument id with columns kind, currency, first,
    last (first/last date with a price or adjusted price), days (dates with data) and gaps
    (calendar days between first and last without data). Findings that do not refuse the data:
    ``warnings``, values outside their plausible range (:mod:`backtest.data.ranges`), and
    ``spikes``, reversed one-day moves (:func:`backtest.data.quality.market_reversed_spikes`),
    one row per flagged date.
    """

    path: str
    layout: str
    name: str
    calendar_start: pd.Timestamp | None
    calendar_end: pd.Timestamp | None
    calendar_days: int
    n_instruments: int
    kinds: Mapping[str, int]
    currencies: tuple[str, ...]
    coverage: pd.DataFrame
    #: suspicious values (used as they are), from :mod:`backtest.data.ranges`
    warnings: tuple[str, ...] = ()
    #: one-day moves that reverse the next day, from :mod:`backtest.data.quality`
    spikes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: fields derived by the loader, not read (``MarketData.approximations``)
    derived: Mapping[str, str] = field(default_factory=dict)

    def format(self) -> str:
        """A human-readable text report."""
        span = (
            f"{fmt_date(self.calendar_start)} .. {fmt_date(self.calendar_end)}"
            if self.calendar_days
            else "empty"
        )
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds.items())
        lines = [
            f"Dataset {self.path} (layout {self.layout}, name {self.name!r})",
            f"Calendar:    {span}, {self.calendar_days} days",
            f"Instruments: {self.n_instruments} ({kinds})",
            f"Currencies:  {', '.join(self.currencies)}",
            "",
        ]
        table = self.coverage.copy()
        for col in ("first", "last"):
            table[col] = [fmt_date(v) or "-" for v in table[col]]
        lines.append(table.to_string() if len(table) else "(no instruments)")
        lines += [
            "",
            f"Reversed spikes: {len(self.spikes)} one-day moves above 5 sigma that the next day "
            "takes back by at least 3/4 (possible bad prints; see backtest.data.quality)",
        ]
        if len(self.spikes):
            shown = self.spikes.copy()
            shown["date"] = [fmt_date(v) for v in shown["date"]]
            lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        if self.derived:
            lines += ["", "Derived by the loader, not read (backtest.market.proxies):"]
            lines += [f"  {k}: {v}" for k, v in self.derived.items()]
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"Checks: passed ({len(self.warnings)} warning(s))")
        return "\n".join(lines)


def summarise(market: MarketData, path: str = "", layout: str = "multistrat") -> DatasetSummary:
    """The :class:`DatasetSummary` of a market already in memory."""
    ins = market.instruments
    has = market.prices.reindex(columns=ins.index).notna()
    adjusted = market.adjusted.reindex(columns=ins.index)
    has |= adjusted.notna()
    values = has.to_numpy()
    rows = []
    for j, ident in enumerate(ins.index):
        where = np.flatnonzero(values[:, j])
        if where.size:
            first, last = market.calendar[where[0]], market.calendar[where[-1]]
            gaps = int(where[-1] - where[0] + 1 - where.size)
        else:
            first = last = pd.NaT
            gaps = 0
        rows.append(
            (
                ident,
                ins.at[ident, "kind"],
                ins.at[ident, "currency"],
                first,
                last,
                int(where.size),
                gaps,
            )
        )
    coverage = pd.DataFrame(
        rows, columns=["id", "kind", "currency", "first", "last", "days", "gaps"]
    ).set_index("id")
    cal = market.calendar
    return DatasetSummary(
        path=path,
        layout=layout,
        name=market.name,
        calendar_start=cal[0] if len(cal) else None,
        calendar_end=cal[-1] if len(cal) else None,
        calendar_days=len(cal),
        n_instruments=len(ins),
        kinds=dict(sorted(ins["kind"].value_counts().to_dict().items())),
        currencies=tuple(sorted(set(ins["currency"]) | set(market.fx.columns))),
        coverage=coverage,
        spikes=market_reversed_spikes(market),
        derived=dict(market.approximations),
    )
