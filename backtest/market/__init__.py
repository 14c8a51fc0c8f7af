"""The ground floor: instruments, :class:`MarketData`, trading calendars, pricing and returns.

This is the only part of :mod:`backtest` that :mod:`strategies` and :mod:`allocator` import; it
imports nothing from the layers above it (see ``docs/ARCHITECTURE.md``).
"""

from backtest.market.calendar import (
    TRADING_DAYS_PER_YEAR,
    month_end_flags,
    next_session,
    quarter_end_flags,
    xnys_calendar,
)
from backtest.market.instruments import FUTURE_KINDS, IndexOption, Instrument, InstrumentKind
from backtest.market.market_data import (
    CURVE_COLUMNS,
    DATED_FIELDS,
    FIELD_NAMES,
    SURFACE_COLUMNS,
    SURFACE_TENORS_YEARS,
    MarketData,
)

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "month_end_flags",
    "next_session",
    "quarter_end_flags",
    "xnys_calendar",
    "FUTURE_KINDS",
    "IndexOption",
    "Instrument",
    "InstrumentKind",
    "CURVE_COLUMNS",
    "DATED_FIELDS",
    "FIELD_NAMES",
    "SURFACE_COLUMNS",
    "SURFACE_TENORS_YEARS",
    "MarketData",
]
