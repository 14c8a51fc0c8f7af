"""Read :class:`~backtest.market.MarketData` folders and define our folder layout (with
:mod:`backtest.data.writer` and :mod:`backtest.data.pysystemtrade`, the modules that touch files).

:func:`load_market` reads two layouts: ours (below, a folder with ``manifest.json``) and the open
pysystemtrade CSV layout (see :mod:`backtest.data.pysystemtrade`).
:func:`backtest.data.writer.write_market` writes ours, with the constants defined here.
:func:`validate_dataset` loads a folder and summarises it. Bad data raises
:class:`backtest.data.validation.DataError` naming the file, row (1-based data row, header
excluded), date and column.

Folder layout (format version 1)
--------------------------------
``EXT`` is ``.parquet`` (default; one Parquet file per table, written with pyarrow) or ``.csv``
(UTF-8, comma-separated, one header line; floats written as their shortest repr so they read
back bit for bit; blank cell = missing; dates ISO ``YYYY-MM-DD``)::

    manifest.json          format_version (1), layout ("multistrat"), name, format ("parquet" |
                           "csv"), calendar {start, end, length}, files: one entry per file
                           {path, field, rows, columns, dtypes} (+ root for curves). ``dtypes``
                           names every column that is not float64 (e.g. "Int64", "str", "bool",
                           "datetime64[ns]") so CSV files read back with their exact types.
    calendar.EXT           column ``date``: the trading days, strictly increasing. Every dated file
                           below has exactly these dates, in this order.
    instruments.EXT        column ``id`` then the instrument table columns
                           (:data:`backtest.market.instruments.TABLE_COLUMNS`): kind (an
                           InstrumentKind
                           value, e.g. ``equity_index_future``), currency (ISO code, quotes are in
                           it), multiplier (currency value of a one-point move per contract/share),
                           asset_class, industry, country, liquidity (liquid|illiquid), exchange,
                           isg_member (True|False), subsidiary_only (True|False), root.
    prices.EXT             date + one column per instrument id: settlement price in the
                           instrument's currency (> 0 except commodity futures).
    adjusted.EXT           date + one column per futures root: back-adjusted (Panama) price, points;
                           may be negative.
    fx.EXT                 date + one column per currency code: USD per unit (USD = 1), > 0.
    rates.EXT              date + one column per currency code: short rate, annual decimal,
                           ACT/360.
    index.EXT              date + one column per index name (e.g. SPX, SPX_DY, VIX): levels,
                           yields (annual decimal).
    vol_surface.EXT        date + atm_1m, atm_2m, atm_3m, atm_6m, atm_12m (annual vols, > 0), skew,
                           curvature.
    dividends.EXT          date + one column per equity id: cash dividend per share going ex.
    benchmarks.EXT         date + one column per comparator: total-return level (> 0).
    curves/ROOT.EXT        date + price, price_contract, price_expiry, carry, carry_contract,
                           carry_expiry, forward, forward_contract, forward_expiry: prices in the
                           root's currency, contract ids as integers ``YYYYMMDD`` (``DD = 00`` for
                           monthly ids), expiries as dates. ROOT must be an instrument id or root.

Checks on load: dates parse, strictly increasing, identical to ``calendar``; values numeric and
finite; prices, FX, benchmark levels and ATM vols positive; currencies known (and every
non-USD instrument currency has an FX column); every column of prices / adjusted / dividends and
every curve root is a defined instrument; on curves, contract ids are integers and no nearer
contract expires after a farther one; manifest paths stay inside the folder; ids and names
cannot start a spreadsheet formula; values in plausible ranges (:mod:`backtest.data.ranges`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from backtest.data.pysystemtrade import load_pysystemtrade
from backtest.data.pysystemtrade_config import find_pysystemtrade_root
from backtest.data.ranges import Warn, check_ranges
from backtest.data.validation import (
    NA_TEXT,
    DataError,
    check_ascending,
    check_calendar,
    check_currency_codes,
    check_curve_order,
    check_defined,
    check_finite,
    check_instrument_currencies_have_fx,
    check_instrument_table,
    check_integer,
    check_names,
    check_numeric,
    check_positive,
    fmt_date,
    parse_dates,
    require_columns,
    summarise,
)
from backtest.data.validation import DatasetSummary as DatasetSummary  # re-exported
from backtest.market.instruments import TABLE_COLUMNS, InstrumentKind
from backtest.market.market_data import CURVE_COLUMNS, DATED_FIELDS, MarketData
from backtest.progress import progress_bar

FORMAT_VERSION = 1
LAYOUT = "multistrat"
Format = Literal["parquet", "csv"]
EXTENSIONS = {"parquet": ".parquet", "csv": ".csv"}
MANIFEST = "manifest.json"
#: Dated fields whose values must be strictly positive (all their columns).
_POSITIVE_FIELDS = ("fx", "benchmarks")
#: Dated fields whose columns must be defined instruments / currency codes.
_ID_FIELDS = ("prices", "adjusted", "dividends")
_CURRENCY_FIELDS = ("fx", "rates")
#: Column types used when a manifest entry does not record them (hand-written manifests).
_TABLE_DTYPES = {"multiplier": "float64", "isg_member": "bool", "subsidiary_only": "bool"}
_CURVE_DTYPES = {
    **{f"{leg}_contract": "Int64" for leg in ("price", "carry", "forward")},
    **{f"{leg}_expiry": "datetime64[ns]" for leg in ("price", "carry", "forward")},
}


# ================================================================================ loading
def detect_layout(path: str | os.PathLike) -> tuple[str, Path]:
    """``("multistrat", folder)`` or ``("pysystemtrade", folder)``; DataError if neither."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"market data folder not found (or not a folder): {folder}")
    if (folder / MANIFEST).is_file():
        return LAYOUT, folder
    if find_pysystemtrade_root(folder) is not None:
        return "pysystemtrade", folder
    raise DataError(
        str(folder),
        f"not a market data folder: no {MANIFEST} (our layout) and no adjusted_prices_csv/ "
        "multiple_prices_csv/ fx_prices_csv/ csvconfig folders (pysystemtrade layout)",
    )


def load_market(path: str | os.PathLike, progress: bool = False, warn: Warn | None = None
                ) -> MarketData:  # fmt: skip
    """Load a market data folder in our layout or the pysystemtrade layout (detected).

    Raises :class:`~backtest.data.validation.DataError` naming file, row, date and column on bad
    data, including values out of any plausible range (:mod:`backtest.data.ranges`); ``warn``
    receives the range warnings (suspicious values used as they are).
    """
    layout, folder = detect_layout(path)
    if layout == "pysystemtrade":
        market, files = load_pysystemtrade(folder, progress=progress), None
    else:
        market, files = read_folder(folder, progress)
    check_names(market, files)
    check_ranges(market, files, warn)
    return market


def read_folder(folder: Path, progress: bool = False) -> tuple[MarketData, dict[str, str]]:
    """A folder in our layout with the file checks but not the plausibility ranges (the file
    format only; :func:`load_market` adds them): the market and the file of each field."""
    manifest = _read_manifest(folder)
    fmt = manifest["format"]
    by_field: dict[str, dict] = {}
    curve_entries = []
    for entry in manifest["files"]:
        if not (folder / entry["path"]).is_file():
            raise DataError(entry["path"], f"listed in {MANIFEST} but missing")
        if entry["field"] == "curves":
            curve_entries.append(entry)
        else:
            by_field[entry["field"]] = entry
    for field in ("calendar", "instruments"):
        if field not in by_field:
            raise DataError(MANIFEST, f"no {field} file listed", column="files")
    bar = progress_bar(len(manifest["files"]), "loading", unit="file", show=progress)
    try:
        calendar = _read_calendar(folder, by_field["calendar"], fmt, manifest)
        bar.update()
        instruments = _read_instruments(folder, by_field["instruments"], fmt)
        bar.update()
        ctx = _Context(
            folder,
            fmt,
            calendar,
            by_field["calendar"]["path"],
            instruments,
            by_field["instruments"]["path"],
        )
        frames = {}
        for field in DATED_FIELDS:
            if field not in by_field:
                frames[field] = pd.DataFrame(index=calendar, dtype="float64")
                continue
            frame, dates = _read_dated(ctx, by_field[field])
            _check_field(ctx, field, frame, dates, by_field[field]["path"])
            frames[field] = frame
            bar.update()
        curves = {}
        for entry in curve_entries:
            root = entry.get("root") or Path(entry["path"]).stem
            frame, dates = _read_dated(ctx, entry, defaults=_CURVE_DTYPES)
            curves[root] = _check_curve(ctx, root, frame, dates, entry["path"])
            bar.update()
    finally:
        bar.close()
    fx_name = by_field.get("fx", {}).get("path", "fx")
    check_instrument_currencies_have_fx(instruments, frames["fx"].columns, ctx.ins_name, fx_name)
    market = MarketData(
        calendar=calendar,
        instruments=instruments,
        curves=curves,
        name=str(manifest.get("name", folder.name)),
        **frames,
    )
    files = {field: entry["path"] for field, entry in by_field.items()}
    files |= {f"curves/{e.get('root') or Path(e['path']).stem}": e["path"] for e in curve_entries}
    return market, files


@dataclass(frozen=True)
class _Context:
    """What every dated file is checked against while loading one folder."""

    folder: Path
    fmt: str
    calendar: pd.DatetimeIndex
    cal_name: str
    instruments: pd.DataFrame
    ins_name: str


def _read_calendar(folder: Path, entry: Mapping, fmt: str, manifest: dict) -> pd.DatetimeIndex:
    name = entry["path"]
    raw = _read_table(folder, name, fmt)
    require_columns(raw.columns, ["date"], name)
    calendar = parse_dates(raw["date"], name)
    check_ascending(calendar, name)
    _check_manifest_calendar(manifest, calendar, name)
    return pd.DatetimeIndex(calendar, name="date")


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(MANIFEST, f"cannot read the manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise DataError(MANIFEST, "the manifest must be a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(
            MANIFEST,
            f"format_version {version!r} is not supported "
            f"(this program reads version {FORMAT_VERSION})",
            column="format_version",
        )
    if manifest.get("format") not in EXTENSIONS:
        raise DataError(
            MANIFEST,
            f"format must be 'parquet' or 'csv', not {manifest.get('format')!r}",
            column="format",
        )
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("field"), str)
        for e in files
    ):
        raise DataError(
            MANIFEST, "files must be a list of {path, field, ...} objects", column="files"
        )
    for i, entry in enumerate(files, start=1):
        check_inside(folder, entry["path"], f"files entry {i}")
    return manifest


def check_inside(folder: Path, rel: str, where: str) -> None:
    """A manifest path stays inside the data folder: relative, no ``..``, no symlink (of the
    file or a folder on its way) leading out of it."""
    parts = Path(rel).parts
    if Path(rel).is_absolute() or rel.startswith(("/", "\\")) or ".." in parts or not parts:
        raise DataError(MANIFEST, f"{where}: path {rel!r} must be relative to the data folder "
                        "(no absolute path, no '..')", column="files")  # fmt: skip
    root = folder.resolve()
    target = (folder / rel).resolve()
    if not target.is_relative_to(root):
        raise DataError(MANIFEST, f"{where}: path {rel!r} leads outside the data folder (to "
                        f"{target}) through a symbolic link", column="files")  # fmt: skip


def _check_manifest_calendar(manifest: dict, calendar: pd.DatetimeIndex, cal_name: str) -> None:
    summary = manifest.get("calendar") or {}
    found = {
        "length": len(calendar),
        "start": fmt_date(calendar[0]) if len(calendar) else None,
        "end": fmt_date(calendar[-1]) if len(calendar) else None,
    }
    for key, value in found.items():
        if key in summary and summary[key] != value:
            raise DataError(
                MANIFEST,
                f"calendar {key} is {summary[key]!r} but {cal_name} has {value!r}",
                column=f"calendar.{key}",
            )


def _read_table(folder: Path, rel: str, fmt: str, as_text: bool = False) -> pd.DataFrame:
    path = folder / rel
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path).to_pandas()
            if "date" not in table.columns and table.index.name in ("date", "id"):
                table = table.reset_index()
            return table
        if as_text:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        return pd.read_csv(path, dtype={"date": str}, keep_default_na=False, na_values=NA_TEXT)
    except DataError:
        raise
    except Exception as exc:  # pyarrow / pandas parser errors: report them as data errors
        raise DataError(rel, f"cannot read the {fmt} file ({type(exc).__name__}: {exc})") from None


def _read_instruments(folder: Path, entry: Mapping, fmt: str) -> pd.DataFrame:
    name = entry["path"]
    raw = _read_table(folder, name, fmt, as_text=True)
    require_columns(raw.columns, ["id", *TABLE_COLUMNS], name)
    table = raw.set_index("id")
    if "dtypes" in entry:
        dtypes = {c: entry["dtypes"].get(c, "float64") for c in table.columns}
    else:
        dtypes = {c: _TABLE_DTYPES.get(c, "str") for c in table.columns}
    columns = {}
    for col in table.columns:
        want = dtypes[col]
        series = table[col]
        if want == "bool" and not pd.api.types.is_bool_dtype(series.dtype):
            text = series.astype(str)
            bad = np.flatnonzero(~text.isin(["True", "False"]).to_numpy())
            if bad.size:
                i = int(bad[0])
                raise DataError(
                    name, f"flag must be True or False ({text.iloc[i]!r})", row=i + 1, column=col
                )
            series = text == "True"
        elif want == "float64":
            series = check_numeric(table[[col]], name, what=col)[col]
        columns[col] = series.astype(want)
    table = pd.DataFrame(columns, index=table.index)
    table.index.name = "id"
    check_instrument_table(table, name)
    return table


def _read_dated(
    ctx: _Context, entry: Mapping, defaults: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """A dated file as a frame indexed by the calendar, and the dates as read (for messages).

    Columns get the dtypes recorded in the manifest entry (float64 when not named there); an
    entry without ``dtypes`` (a hand-written manifest) uses ``defaults`` instead.
    """
    name = entry["path"]
    raw = _read_table(ctx.folder, name, ctx.fmt)
    require_columns(raw.columns, ["date"], name)
    dates = parse_dates(raw["date"], name)
    check_ascending(dates, name)
    check_calendar(dates, ctx.calendar, name, ctx.cal_name)
    dtypes = entry["dtypes"] if "dtypes" in entry else (defaults or {})
    values = _apply_dtypes(raw.drop(columns="date"), dtypes, name, dates)
    values.index = ctx.calendar
    return values, dates


def _apply_dtypes(values: pd.DataFrame, dtypes: Mapping[str, str], name: str, dates):
    """Give every column its recorded dtype (float64 when not recorded), checking the cells."""
    columns = {}
    changed = False
    for col in values.columns:
        series = values[col]
        want = dtypes.get(col, "float64")
        if str(series.dtype) == want:
            columns[col] = series
            continue
        changed = True
        if want.startswith("datetime64"):
            parsed = pd.to_datetime(series, format="ISO8601", errors="coerce")
            bad = np.flatnonzero(parsed.isna().to_numpy() & series.notna().to_numpy())
            if bad.size:
                i = int(bad[0])
                raise DataError(
                    name,
                    f"not a valid date ({series.iloc[i]!r})",
                    row=i + 1,
                    date=fmt_date(dates[i]),
                    column=col,
                )
            columns[col] = parsed.astype(want)
            continue
        if want in ("float64", "int64", "Int64", "int32", "Int32"):
            series = check_numeric(values[[col]], name, dates)[col]
            if want != "float64":
                check_integer(series.to_frame(), name, dates)
                missing = np.flatnonzero(series.isna().to_numpy())
                if want.islower() and missing.size:
                    i = int(missing[0])
                    raise DataError(
                        name,
                        "integer value is missing",
                        row=i + 1,
                        date=fmt_date(dates[i]),
                        column=col,
                    )
        columns[col] = series.astype(want)
    if not changed:
        return values.copy()
    return pd.DataFrame(columns, index=values.index)


def _check_field(ctx: _Context, field: str, frame: pd.DataFrame, dates, name: str) -> None:
    instruments = ctx.instruments
    numeric = frame.select_dtypes("number")
    check_finite(numeric, name, dates)
    if field in _ID_FIELDS:
        known = set(instruments.index)
        if field == "adjusted":
            known |= set(instruments["root"].astype(str))
        check_defined(frame.columns, known, name, ctx.ins_name)
    if field in _CURRENCY_FIELDS:
        check_currency_codes(frame.columns, name)
    if field in _POSITIVE_FIELDS:
        check_positive(numeric, name, dates, what="value")
    elif field == "vol_surface":
        atm = [c for c in frame.columns if c.startswith("atm_")]
        check_positive(frame[atm], name, dates, what="volatility")
    elif field == "prices":
        kinds = instruments["kind"].reindex(frame.columns)
        must = [c for c in frame.columns if kinds[c] != InstrumentKind.COMMODITY_FUTURE.value]
        check_positive(frame[must], name, dates)


def _check_curve(ctx: _Context, root: str, frame, dates, name: str) -> pd.DataFrame:
    instruments, ins_name = ctx.instruments, ctx.ins_name
    require_columns(frame.columns, list(CURVE_COLUMNS), name)
    match = instruments.index == root
    if not match.any():
        match = (instruments["root"] == root).to_numpy()
    if not match.any():
        raise DataError(
            name, f"curve root {root!r} is not an instrument (or root) defined in {ins_name}"
        )
    legs = ["price", "carry", "forward"]
    check_finite(frame[legs + [f"{leg}_contract" for leg in legs]], name, dates)
    check_integer(frame[[f"{leg}_contract" for leg in legs]], name, dates)
    commodity = (instruments.loc[match, "kind"] == InstrumentKind.COMMODITY_FUTURE.value).all()
    if not commodity:
        check_positive(frame[legs], name, dates)
    check_curve_order(frame, name, dates)
    return frame


# ================================================================================ summary
def validate_dataset(path: str | os.PathLike) -> DatasetSummary:
    """Load a folder (either layout) with every check, and summarise it (with the range
    warnings of :mod:`backtest.data.ranges`).

    Raises :class:`~backtest.data.validation.DataError` on bad data.
    """
    layout, folder = detect_layout(path)
    warnings: list[str] = []
    market = load_market(folder, warn=warnings.append)
    summary = summarise(market, path=str(folder), layout=layout)
    return dataclasses.replace(summary, warnings=tuple(warnings))
