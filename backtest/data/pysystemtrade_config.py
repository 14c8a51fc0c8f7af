"""Locate the open pysystemtrade CSV layout and read its configuration: the ``csvconfig`` tables
and the instrument table mapped from them (the price files are read by
:mod:`backtest.data.pysystemtrade`).

The layout folder ``D`` (:func:`find_pysystemtrade_root`: the path given or
``<path>/data/futures``, whichever holds any of :data:`SUBFOLDERS`) has the configuration files::

    D/csvconfig/instrumentconfig.csv    Instrument, Description, Pointsize, Currency, AssetClass,
                                        PerBlock, Percentage, PerTrade, Region   (required)
    D/csvconfig/spreadcosts.csv         Instrument, SpreadCost (half bid-ask, price points)
    D/csvconfig/rollconfig.csv          Instrument, HoldRollCycle, RollOffsetDays, CarryOffset,
                                        PricedRollCycle, ExpiryOffset
    D/csvconfig/moreinstrumentinfo.csv  Instrument, AssetClass, SubClass, SubSubClass, Style,
                                        Country, Duration, Description

Mapping to the instrument table of :class:`~backtest.market.MarketData`
(:func:`instrument_records`): id = pysystemtrade code; kind from AssetClass (Equity, Sector ->
equity_index_future; Bond -> bond_future, or rate_future for STIR (AssetClass STIR,
moreinstrumentinfo SubClass STIR, or SOFR / EURIBOR / EDOLLAR); FX -> currency_future; Vol ->
vix_future; Metals, OilGas, Ags, CommodityIndex -> commodity_future; other classes are refused);
multiplier = Pointsize; currency = Currency (kept as written, e.g. ``MXP``); exchange from a small
table of known contracts, else CME for Region US and ``unknown`` (not an ISG member) otherwise;
country from moreinstrumentinfo (Region otherwise).

Costs and roll parameters are not part of MarketData: :func:`load_pysystemtrade_config` returns
them as a :class:`PysystemtradeConfig`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.validation import DataError, check_numeric, require_columns
from backtest.market.instruments import (
    ISG_EXCHANGES,
    KNOWN_CURRENCIES,
    BondFuture,
    CommodityFuture,
    CurrencyFuture,
    EquityIndexFuture,
    InstrumentKind,
    RateFuture,
    VIXFuture,
    instruments_table,
)

SUBFOLDERS = ("adjusted_prices_csv", "multiple_prices_csv", "fx_prices_csv", "csvconfig")

_KIND_BY_ASSET_CLASS = {
    "Equity": InstrumentKind.EQUITY_INDEX_FUTURE,
    "Sector": InstrumentKind.EQUITY_INDEX_FUTURE,
    "Bond": InstrumentKind.BOND_FUTURE,
    "STIR": InstrumentKind.RATE_FUTURE,
    "FX": InstrumentKind.CURRENCY_FUTURE,
    "Vol": InstrumentKind.VIX_FUTURE,
    "Metals": InstrumentKind.COMMODITY_FUTURE,
    "OilGas": InstrumentKind.COMMODITY_FUTURE,
    "Ags": InstrumentKind.COMMODITY_FUTURE,
    "CommodityIndex": InstrumentKind.COMMODITY_FUTURE,
}
_FACTORY = {
    InstrumentKind.EQUITY_INDEX_FUTURE: EquityIndexFuture,
    InstrumentKind.BOND_FUTURE: BondFuture,
    InstrumentKind.RATE_FUTURE: RateFuture,
    InstrumentKind.VIX_FUTURE: VIXFuture,
    InstrumentKind.COMMODITY_FUTURE: CommodityFuture,
    InstrumentKind.CURRENCY_FUTURE: CurrencyFuture,
}
_STIR = frozenset({"SOFR", "EURIBOR", "EDOLLAR"})
#: Listing exchange of well-known contracts (the layout does not say).
_EXCHANGE = {
    **dict.fromkeys(
        (
            "SP500",
            "NASDAQ",
            "SOFR",
            "EDOLLAR",
            "EUR",
            "JPY",
            "GBP",
            "AUD",
            "CAD",
            "CHF",
            "NZD",
            "MXP",
        ),
        "CME",
    ),
    **dict.fromkeys(("US10", "US5", "US2", "US20", "US30", "CORN", "WHEAT", "SOYBEAN"), "CBOT"),
    **dict.fromkeys(("GOLD", "SILVER", "COPPER"), "COMEX"),
    **dict.fromkeys(("CRUDE_W", "GAS_US", "HEATOIL", "GASOLINE"), "NYMEX"),
    **dict.fromkeys(("EUROSTX", "V2X", "BUND", "BOBL", "SHATZ", "OAT", "BTP", "BUXL"), "EUREX"),
    "VIX": "CFE",
    "EURIBOR": "ICEEU",
}
_COUNTRY_BY_REGION = {"US": "US", "EMEA": "EU"}


@dataclass(frozen=True)
class PysystemtradeConfig:
    """The ``csvconfig`` tables, each indexed by ``Instrument`` (empty when the file is absent).

    ``instruments``: instrumentconfig.csv (Pointsize, Currency, AssetClass, PerBlock, Percentage,
    PerTrade, Region); ``spread_costs``: spreadcosts.csv (SpreadCost, price points);
    ``roll``: rollconfig.csv (HoldRollCycle, RollOffsetDays, CarryOffset, PricedRollCycle,
    ExpiryOffset); ``more_info``: moreinstrumentinfo.csv (AssetClass, SubClass, ...).
    """

    instruments: pd.DataFrame
    spread_costs: pd.DataFrame
    roll: pd.DataFrame
    more_info: pd.DataFrame


_CONFIG_FILES = {
    "instruments": (
        "instrumentconfig.csv",
        ("Pointsize", "Currency", "AssetClass"),
        ("Pointsize", "PerBlock", "Percentage", "PerTrade"),
    ),
    "spread_costs": ("spreadcosts.csv", ("SpreadCost",), ("SpreadCost",)),
    "roll": (
        "rollconfig.csv",
        ("HoldRollCycle", "RollOffsetDays", "CarryOffset"),
        ("RollOffsetDays", "CarryOffset", "ExpiryOffset"),
    ),
    "more_info": ("moreinstrumentinfo.csv", ("AssetClass", "SubClass"), ("Duration",)),
}


# ================================================================================ locating
def find_pysystemtrade_root(path: str | os.PathLike) -> Path | None:
    """The folder holding the layout's sub-folders: ``path`` or ``path/data/futures``."""
    base = Path(path)
    for folder in (base, base / "data" / "futures"):
        if any((folder / sub).is_dir() for sub in SUBFOLDERS):
            return folder
    return None


def root_or_raise(path: str | os.PathLike) -> Path:
    """:func:`find_pysystemtrade_root`, or :class:`DataError` when ``path`` holds no layout."""
    root = find_pysystemtrade_root(path)
    if root is None:
        raise DataError(
            str(path),
            "not a pysystemtrade data folder (no "
            f"{'/ '.join(SUBFOLDERS)} here or under data/futures)",
        )
    return root


# ================================================================================ config
def load_pysystemtrade_config(path: str | os.PathLike) -> PysystemtradeConfig:
    """Read the four ``csvconfig`` tables (instrumentconfig.csv is required)."""
    base = Path(path)
    root = root_or_raise(base)
    tables = {}
    for key, (filename, required, numeric) in _CONFIG_FILES.items():
        file = root / "csvconfig" / filename
        tables[key] = _read_config(
            file, display_path(file, base), required, numeric, must_exist=key == "instruments"
        )
    return PysystemtradeConfig(**tables)


def _read_config(file: Path, name: str, required, numeric, must_exist: bool) -> pd.DataFrame:
    if not file.is_file():
        if must_exist:
            raise DataError(name, "missing (the pysystemtrade layout needs it)")
        return pd.DataFrame(columns=list(required), index=pd.Index([], name="Instrument"))
    try:
        raw = pd.read_csv(file, dtype={"Instrument": str})
    except Exception as exc:
        raise DataError(name, f"cannot read the CSV file ({exc})") from None
    require_columns(raw.columns, ["Instrument", *required], name)
    ids = raw["Instrument"]
    blank = np.flatnonzero(ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy())
    if blank.size:
        raise DataError(
            name, "instrument code is blank", row=int(blank[0]) + 1, column="Instrument"
        )
    dup = np.flatnonzero(ids.duplicated().to_numpy())
    if dup.size:
        i = int(dup[0])
        raise DataError(
            name, f"instrument {ids.iloc[i]!r} is defined twice", row=i + 1, column="Instrument"
        )
    present = [c for c in numeric if c in raw.columns]
    raw[present] = check_numeric(raw[present], name)
    return raw.set_index("Instrument")


def display_path(file: Path, base: Path) -> str:
    """``file`` relative to ``base`` (POSIX) for messages; the full path when outside it."""
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return str(file)


# ================================================================================ instruments
def instrument_records(config: PysystemtradeConfig, ids: list[str], name: str, fx: set[str]):
    """Instrument records for ``ids`` from the config; DataError on what cannot be mapped."""
    table = config.instruments
    records = []
    for ident in ids:
        row_no = int(table.index.get_loc(ident)) + 1
        row = table.loc[ident]
        ccy = str(row["Currency"])
        if ccy not in KNOWN_CURRENCIES:
            raise DataError(
                name,
                f"unknown currency {ccy!r} of instrument {ident!r}",
                row=row_no,
                column="Currency",
            )
        if ccy != "USD" and ccy not in fx:
            raise DataError(
                name,
                f"currency {ccy!r} of instrument {ident!r} has no FX file "
                f"fx_prices_csv/{ccy}USD.csv[.gz]",
                row=row_no,
                column="Currency",
            )
        mult = float(row["Pointsize"])
        if not np.isfinite(mult) or mult <= 0:
            raise DataError(
                name,
                f"Pointsize of {ident!r} must be a positive number ({mult!r})",
                row=row_no,
                column="Pointsize",
            )
        kind = _kind_of(ident, str(row["AssetClass"]), config.more_info)
        if kind is None:
            raise DataError(
                name,
                f"asset class {row['AssetClass']!r} of instrument {ident!r} "
                "has no instrument kind here",
                row=row_no,
                column="AssetClass",
            )
        region = str(row.get("Region", ""))
        exchange = _EXCHANGE.get(ident, "CME" if region == "US" else "unknown")
        country = _text(config.more_info, ident, "Country") or _COUNTRY_BY_REGION.get(region, "")
        records.append(
            _FACTORY[kind](
                ident,
                currency=ccy,
                multiplier=mult,
                exchange=exchange,
                country=country,
                isg_member=exchange in ISG_EXCHANGES,
            )
        )
    return instruments_table(records)


def _text(frame: pd.DataFrame, ident: str, column: str) -> str:
    if ident not in frame.index or column not in frame.columns:
        return ""
    value = frame.at[ident, column]
    return "" if pd.isna(value) else str(value).strip()


def _kind_of(ident: str, asset_class: str, more_info: pd.DataFrame) -> InstrumentKind | None:
    kind = _KIND_BY_ASSET_CLASS.get(asset_class)
    if kind is InstrumentKind.BOND_FUTURE and (
        ident in _STIR or _text(more_info, ident, "SubClass") == "STIR"
    ):
        return InstrumentKind.RATE_FUTURE
    return kind
