"""The fund simulator: :class:`FundConfig` (the fund's rules), :func:`simulate` (pandas at the
edge) and the numba kernel over arrays (:mod:`backtest.engine.kernel`). Depends only on
:mod:`backtest.market` (see ``docs/ARCHITECTURE.md`` for the timing convention).
"""

from backtest.engine.config import CostModel, Flow, FlowKind, FlowSchedule, FundConfig
from backtest.engine.simulator import SimulationResult, simulate

__all__ = [
    "CostModel",
    "Flow",
    "FlowKind",
    "FlowSchedule",
    "FundConfig",
    "SimulationResult",
    "simulate",
]
