"""The fund end to end: its spec (:mod:`~backtest.fund.spec`), one run from strategies to
compliance (:mod:`~backtest.fund.run`) and single-strategy research helpers
(:mod:`~backtest.fund.research`). Notebooks, the CLI and the nightly job all run a fund through
:func:`run_fund`.
"""

from backtest.fund.run import STRATEGY_COST_BPS, FundRun, combine, fund_metrics, run_fund
from backtest.fund.spec import (
    AllocatorMethod,
    AllocatorSpec,
    DefensiveSpec,
    DisclosureSpec,
    FundSpec,
    MarketSpec,
    StrategySpec,
    build_allocator,
    build_limits,
    replace,
)

__all__ = [
    "STRATEGY_COST_BPS",
    "AllocatorMethod",
    "AllocatorSpec",
    "DefensiveSpec",
    "DisclosureSpec",
    "FundRun",
    "FundSpec",
    "MarketSpec",
    "StrategySpec",
    "build_allocator",
    "build_limits",
    "combine",
    "fund_metrics",
    "replace",
    "run_fund",
]
