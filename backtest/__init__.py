"""multistrat's backtest package: market data, instruments, pricing, the fund simulator,
fund accounting, analytics, reports and the command line.

Heavy modules (the numba simulator, vectorbt, matplotlib) are imported lazily so that
``import backtest`` stays fast.
"""

from __future__ import annotations

import importlib

__all__ = ["MarketData", "load_market", "synthetic_market", "simulate", "FundConfig"]

_LAZY = {
    "MarketData": "backtest.market.market_data",
    "load_market": "backtest.data.folder",
    "synthetic_market": "backtest.synthetic.build",
    "simulate": "backtest.engine.simulator",
    "FundConfig": "backtest.engine.config",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'backtest' has no attribute {name!r}")
