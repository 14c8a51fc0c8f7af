"""Load the open pysystemtrade CSV layout (Rob Carver's pysystemtrade ``data/`` folder).

Layout: a folder ``D`` holding the sub-folders below, either the path given or
``<path>/data/futures`` (the repository's own arrangement). Price files may be plain ``.csv`` or
gzip-compressed ``.csv.gz`` (the plain file wins when both exist)::

    D/csvconfig/*.csv                   instrument, cost and roll configuration (see
                                        :mod:`backtest.data.pysystemtrade_config`)
    D/adjusted_prices_csv/<I>.csv       DATETIME, price            back-adjusted (Panama) price
    D/multiple_prices_csv/<I>.csv       DATETIME, CARRY, CARRY_CONTRACT, PRICE, PRICE_CONTRACT,
                                        FORWARD, FORWARD_CONTRACT
    D/fx_prices_csv/<CCY>USD.csv        DATETIME, PRICE            USD per unit of CCY

When the path given is the repository's top folder, ``<path>/data/test/adjusted_prices_csv``
also supplies instruments missing from ``data/futures`` (the legacy EDOLLAR series).
FX files not quoted against USD are ignored.

Mapping to :class:`~backtest.market.MarketData` (:func:`load_pysystemtrade`):

* Daily values: rows are stamped ``23:00`` in early years and intraday (hourly / 15-minute) later,
  with a ``23:00`` daily-bar snapshot that can pair a leg with a quote from another time. Each
  file is reduced to one value per **calendar date of the timestamp** (not a business-day
  resample, which would move Sunday-evening stamps into Friday); Saturday/Sunday dates are then
  dropped. The **close of a leg** (PRICE, CARRY, FORWARD, an adjusted price or an FX rate) is its
  last quoted row stamped at or before :data:`CLOSE_TIME` (22:00, after every sample exchange's
  close), or, when the date quotes it only later (the daily history, and the sparse 2014-2017
  snapshots), its last quoted row of the date; its contract and expiry come from that same row.
  The **carry and forward legs** are then made consistent with the price close: ``price - s``,
  where ``s`` is the mean of ``PRICE - leg`` over the date's rows quoting both legs with the
  closing contracts (the rows at or before the close, else all such rows of the date), as
  pysystemtrade averages the per-row roll over the day; without such a row the leg's own close
  is kept.
* ``calendar``: sorted union of those weekday dates over the loaded adjusted and multiple price
  files (FX files do not extend it; FX is aligned to it, NaN where a currency has no value).
* ``instruments``: from ``csvconfig/instrumentconfig.csv`` (and moreinstrumentinfo.csv), mapped
  as :mod:`backtest.data.pysystemtrade_config` describes.
* ``prices[I]``: daily PRICE from multiple prices (NaN for instruments with adjusted prices only,
  e.g. BOBL, CAD, CHF, EDOLLAR in the shared sample). ``adjusted[I]``: daily adjusted price
  (negative values are normal: back-adjustment).
* ``curves[I]`` (instruments with multiple prices): price/carry/forward and their contract ids
  (nullable ``Int64``, ``YYYYMMDD`` with ``DD = 00``; NA before the instrument's first date).
  **Expiries are approximated** from the ids as the 15th of the contract month (the day itself
  when ``DD`` is not 00): the layout carries no expiry dates.
* ``fx``: one column per file currency plus ``USD`` = 1.0.
* ``index``, ``vol_surface``, ``rates``, ``benchmarks``: not in the layout, **derived**
  (:func:`backtest.market.proxies.with_futures_proxies`, each named in
  ``MarketData.approximations``): ``index["SPX"]`` from the SP500 front future less carry,
  the vol surface from the VIX futures curve (front / 100 = 30-day ATM vol, linear skew),
  ``rates["USD"] = 0`` and the equity and bond futures as comparators (``equity_index`` =
  SP500, ``bond_index`` = US10, ``future_<ID>``, equal-weight ``equity_futures`` and
  ``bond_futures``), so that index options can be priced and the fund compared with the
  sample's futures. ``dividends``: empty.

Costs and roll parameters are not part of MarketData: they are read by
:func:`backtest.data.pysystemtrade_config.load_pysystemtrade_config`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.pysystemtrade_config import (
    display_path,
    instrument_records,
    load_pysystemtrade_config,
    root_or_raise,
)
from backtest.data.validation import (
    NA_TEXT,
    DataError,
    check_ascending,
    check_curve_order,
    check_finite,
    check_integer,
    check_numeric,
    check_positive,
    parse_dates,
    require_columns,
)
from backtest.market.instruments import KNOWN_CURRENCIES, InstrumentKind
from backtest.market.market_data import CURVE_COLUMNS, MarketData
from backtest.market.proxies import with_futures_proxies

_LEGS = ("price", "carry", "forward")
#: Latest time of day (file time, London) of a row read as a date's close: the sample's
#: exchanges close by then (CME/CBOT/CFE 16:00 Chicago, Eurex 22:00 CET); later rows are the
#: next session's first quotes or the 23:00 daily-bar snapshot, which can pair a leg with a quote
#: from another time (SP500 2020-03-26 23:00: PRICE 2432.50 against CARRY 2612.00).
CLOSE_TIME = pd.Timedelta(hours=22)
_MULTIPLE_COLUMNS = (
    "CARRY",
    "CARRY_CONTRACT",
    "PRICE",
    "PRICE_CONTRACT",
    "FORWARD",
    "FORWARD_CONTRACT",
)


# ================================================================================ price files
def _price_files(folder: Path) -> dict[str, Path]:
    """``name -> file`` for ``name.csv`` / ``name.csv.gz`` in a folder (plain CSV preferred)."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for ext in (".csv.gz", ".csv"):
        for file in sorted(folder.glob(f"*{ext}")):
            found[file.name[: -len(ext)]] = file
    return found


# ================================================================================ series
def _read_series(file: Path, name: str, columns):
    """One price file: timestamps (checked strictly increasing), numeric finite values, and the
    timestamps as written (for messages)."""
    try:
        raw = pd.read_csv(file, dtype={"DATETIME": str}, keep_default_na=False, na_values=NA_TEXT)
    except Exception as exc:
        raise DataError(name, f"cannot read the CSV file ({type(exc).__name__}: {exc})") from None
    require_columns(raw.columns, ["DATETIME", *columns], name)
    stamps = parse_dates(raw["DATETIME"], name, column="DATETIME")
    check_ascending(stamps, name, column="DATETIME")
    labels = raw["DATETIME"].to_numpy()
    values = raw[list(columns)]
    contracts = [c for c in columns if c.endswith("_CONTRACT")]
    values = check_numeric(values, name, labels, what="value")
    check_finite(values, name, labels)
    check_integer(values[contracts], name, labels)
    return stamps, values, labels


def contract_expiry(ids, name: str = "", labels=None, column: str | None = None) -> np.ndarray:
    """Approximate expiries (datetime64[ns]) of ``YYYYMMDD`` contract ids; NaN ids give NaT.

    ``DD = 00`` (monthly ids) -> the 15th of the month; otherwise the day itself.
    """
    ids = np.asarray(ids, dtype="float64")
    out = np.full(ids.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(ids)
    uniq, inverse = np.unique(ids[ok].astype("int64"), return_inverse=True)
    year, month, day = uniq // 10000, uniq // 100 % 100, uniq % 100
    day = np.where(day == 0, 15, day)
    dates = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce"
    )
    bad = np.flatnonzero(dates.isna().to_numpy() | (year < 1900))
    if bad.size:
        i = int(np.flatnonzero(ok)[np.flatnonzero(inverse == bad[0])[0]])
        raise DataError(
            name,
            f"contract id {uniq[bad[0]]} is not a YYYYMMDD date",
            row=i + 1,
            date=None if labels is None else str(labels[i]),
            column=column,
        )
    out[ok] = dates.to_numpy(dtype="datetime64[ns]")[inverse]
    return out


def _day_codes(stamps: pd.DatetimeIndex):
    """``(days, codes, early)``: the sorted calendar dates of the rows, each row's date number and
    whether it is stamped at or before :data:`CLOSE_TIME`."""
    day = stamps.normalize().asi8
    days, codes = np.unique(day, return_inverse=True)
    return days, codes, (stamps.asi8 - day) <= CLOSE_TIME.value


def _close_row(codes: np.ndarray, n_days: int, quoted: np.ndarray, early: np.ndarray):
    """Per date, the row giving its close: the last ``quoted`` row stamped at or before
    :data:`CLOSE_TIME`, else the last ``quoted`` row of the date, else -1."""
    rows = np.arange(len(codes))
    best_early = np.full(n_days, -1)
    np.maximum.at(best_early, codes[quoted & early], rows[quoted & early])
    best_any = np.full(n_days, -1)
    np.maximum.at(best_any, codes[quoted], rows[quoted])
    return np.where(best_early >= 0, best_early, best_any)


def _take(values: np.ndarray, rows: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``values[rows]``, with ``values[fallback]`` where ``rows`` is -1."""
    return values[np.where(rows >= 0, rows, fallback)]


def _daily(stamps: pd.DatetimeIndex, frame: pd.DataFrame, groups) -> pd.DataFrame:
    """One row per calendar date (weekends dropped). ``groups`` maps a value column to the
    columns read with it (its contract and expiry): each group is taken from the value's close
    row (:func:`_close_row`); on a date where the value is never quoted, the value is NaN and
    the other columns come from the date's last row.
    """
    days, codes, early = _day_codes(stamps)
    last = np.full(len(days), -1)
    np.maximum.at(last, codes, np.arange(len(codes)))
    out = {}
    for col, carried in groups.items():
        rows = _close_row(codes, len(days), frame[col].notna().to_numpy(), early)
        values = frame[col].to_numpy(dtype="float64")
        out[col] = np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
        for other in carried:
            out[other] = _take(frame[other].to_numpy(), rows, last)
    index = pd.DatetimeIndex(days.astype("datetime64[ns]"), name="date")
    daily = pd.DataFrame(out, index=index)[list(frame.columns)]
    return daily[index.day_of_week < 5]


def row_spreads(stamps: pd.DatetimeIndex, curve: pd.DataFrame, daily: pd.DataFrame, leg: str):
    """Per date, the mean of ``PRICE - leg`` over the rows quoting both with the date's closing
    contracts (``daily``'s price and ``leg`` contracts): those stamped at or before
    :data:`CLOSE_TIME`, or all of the date's such rows when none is.

    Returns a Series on ``daily``'s index, NaN on dates without such a row.
    """
    days, codes, early = _day_codes(stamps)
    closing = daily.reindex(pd.DatetimeIndex(days.astype("datetime64[ns]")))
    spread = (curve["price"] - curve[leg]).to_numpy()
    same = np.isfinite(spread)
    for col in ("price_contract", f"{leg}_contract"):
        same &= curve[col].to_numpy() == closing[col].to_numpy(dtype="float64")[codes]
    has_early = np.bincount(codes, weights=(same & early).astype("float64"), minlength=len(days))
    use = same & (early | (has_early == 0)[codes])
    total = np.bincount(codes[use], weights=spread[use], minlength=len(days))
    count = np.bincount(codes[use], minlength=len(days))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = pd.Series(total / count, index=closing.index)
    return mean.reindex(daily.index)


def _read_adjusted(file: Path, name: str) -> pd.Series:
    stamps, values, _ = _read_series(file, name, ("price",))
    return _daily(stamps, values, {"price": ()})["price"]


def _read_multiple(file: Path, name: str, commodity: bool) -> pd.DataFrame:
    stamps, raw, labels = _read_series(file, name, _MULTIPLE_COLUMNS)
    curve = {}
    for leg in _LEGS:
        up = leg.upper()
        curve[leg] = raw[up].to_numpy(dtype="float64")
        curve[f"{leg}_contract"] = raw[f"{up}_CONTRACT"].to_numpy(dtype="float64")
        curve[f"{leg}_expiry"] = contract_expiry(
            curve[f"{leg}_contract"], name, labels, f"{up}_CONTRACT"
        )
    curve = pd.DataFrame(curve)[list(CURVE_COLUMNS)]
    if not commodity:
        positive = raw[[leg.upper() for leg in _LEGS]]
        check_positive(positive, name, labels)
    check_curve_order(curve, name, labels)
    daily = _daily(stamps, curve, {leg: (f"{leg}_contract", f"{leg}_expiry") for leg in _LEGS})
    for leg in ("carry", "forward"):
        spread = row_spreads(stamps, curve, daily, leg)
        daily[leg] = (daily["price"] - spread).fillna(daily[leg])
    return daily


def _read_fx(file: Path, name: str) -> pd.Series:
    stamps, values, labels = _read_series(file, name, ("PRICE",))
    check_positive(values, name, labels, what="FX rate")
    return _daily(stamps, values, {"PRICE": ()})["PRICE"]


# ================================================================================ loading
def load_pysystemtrade(
    path: str | os.PathLike, instruments=None, progress: bool = False
) -> MarketData:
    """Load a pysystemtrade data folder as MarketData (see the module docstring for the mapping).

    Parameters
    ----------
    path : the folder holding the layout, or a repository top folder with ``data/futures``.
    instruments : iterable of instrument codes to load (default: every instrument with an
        adjusted or multiple price file). FX files are always all loaded.
    progress : show a tqdm progress bar over the files.

    Raises :class:`~backtest.data.validation.DataError` (file, row, date, column) on bad data.
    """
    base = Path(path)
    root = root_or_raise(base)
    config = load_pysystemtrade_config(base)
    cfg_name = display_path(root / "csvconfig" / "instrumentconfig.csv", base)
    adjusted_files = _price_files(root / "adjusted_prices_csv")
    if root == base / "data" / "futures":
        extra = _price_files(base / "data" / "test" / "adjusted_prices_csv")
        adjusted_files = {**extra, **adjusted_files}
    multiple_files = _price_files(root / "multiple_prices_csv")
    fx_files = {
        k[:-3]: f
        for k, f in _price_files(root / "fx_prices_csv").items()
        if k.endswith("USD") and len(k) > 3
    }
    for code, file in fx_files.items():
        if code not in KNOWN_CURRENCIES:
            raise DataError(display_path(file, base), f"unknown currency {code!r} in the file name")
    ids = _select(instruments, adjusted_files, multiple_files, config, base)
    table = instrument_records(config, ids, cfg_name, set(fx_files))
    commodity = table["kind"] == InstrumentKind.COMMODITY_FUTURE.value

    jobs = [("adjusted", i, adjusted_files[i]) for i in ids if i in adjusted_files]
    jobs += [("multiple", i, multiple_files[i]) for i in ids if i in multiple_files]
    jobs += [("fx", c, f) for c, f in sorted(fx_files.items())]
    read = {"adjusted": {}, "multiple": {}, "fx": {}}
    for what, key, file in _progress(jobs, progress):
        name = display_path(file, base)
        if what == "adjusted":
            read[what][key] = _read_adjusted(file, name)
        elif what == "multiple":
            read[what][key] = _read_multiple(file, name, bool(commodity[key]))
        else:
            read[what][key] = _read_fx(file, name)
    return _assemble(table, read)


def _select(instruments, adjusted_files, multiple_files, config, base) -> list[str]:
    available = set(adjusted_files) | set(multiple_files)
    if instruments is None:
        ids = sorted(available)
    else:
        ids = list(dict.fromkeys(str(i) for i in instruments))
        for ident in ids:
            if ident not in available:
                raise DataError(
                    str(base),
                    f"no adjusted or multiple prices for instrument "
                    f"{ident!r} (available: {', '.join(sorted(available))})",
                )
    for ident in ids:
        if ident not in config.instruments.index:
            file = multiple_files.get(ident) or adjusted_files[ident]
            raise DataError(
                display_path(file, base),
                f"instrument {ident!r} is not defined in csvconfig/instrumentconfig.csv",
            )
    return ids


def _assemble(table: pd.DataFrame, read: dict) -> MarketData:
    days = [s.index for s in read["adjusted"].values()]
    days += [c.index for c in read["multiple"].values()]
    if not days:
        days = [s.index for s in read["fx"].values()]
    calendar = pd.DatetimeIndex(
        np.unique(np.concatenate([d.to_numpy() for d in days])) if days else [],
        dtype="datetime64[ns]",
        name="date",
    )
    ids = list(table.index)
    nan = pd.Series(np.nan, index=calendar)
    adjusted = pd.DataFrame(
        {i: read["adjusted"][i].reindex(calendar) if i in read["adjusted"] else nan for i in ids},
        index=calendar,
        columns=ids,
        dtype="float64",
    )
    curves = {}
    for ident, daily in read["multiple"].items():
        curve = daily.reindex(calendar)
        for leg in _LEGS:
            curve[f"{leg}_contract"] = curve[f"{leg}_contract"].astype("Int64")
        curves[ident] = curve
    prices = pd.DataFrame(
        {i: curves[i]["price"] if i in curves else nan for i in ids},
        index=calendar,
        columns=ids,
        dtype="float64",
    )
    fx = pd.DataFrame({"USD": 1.0}, index=calendar)
    for code, series in sorted(read["fx"].items()):
        fx[code] = series.reindex(calendar)
    market = MarketData(
        calendar=calendar,
        instruments=table,
        prices=prices,
        adjusted=adjusted,
        curves=curves,
        fx=fx,
        name="pysystemtrade",
    )
    return with_futures_proxies(market)


def _progress(items, progress: bool):
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="pysystemtrade", unit="file")
