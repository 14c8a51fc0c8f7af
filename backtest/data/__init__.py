"""Reading and writing market data: our folder layout (Parquet or CSV), the pysystemtrade CSV
layout, validation with file/row/date/column errors, and small user series (benchmarks,
secondary-market prices). Builds :class:`backtest.market.MarketData`; depends on nothing above
``backtest.market`` (see ``docs/ARCHITECTURE.md``).
"""

from backtest.data.folder import detect_layout, load_market, validate_dataset
from backtest.data.validation import DataError, DatasetSummary
from backtest.data.writer import write_market

__all__ = [
    "DataError",
    "DatasetSummary",
    "detect_layout",
    "load_market",
    "validate_dataset",
    "write_market",
]
