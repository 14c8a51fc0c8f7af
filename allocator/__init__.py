"""Rules-based allocation across strategies, fund limits and book routing.

Allocators (:mod:`allocator.base` states the timing contract: row ``t`` of the weights uses
strategy returns of rows before ``t`` only)::

    from allocator import VolatilityTarget, Capped, EqualRiskContribution, Schedule

    rule = Schedule(
        VolatilityTarget(
            Capped(EqualRiskContribution(lookback_days=252), max_weight=0.5, min_weight=0.05),
            target_annual=0.08,
        ),
        frequency="monthly",
    )
    weights = rule.weights(strategy_returns)  # dates × strategies, fraction of capital

Fund limits and post-trade compliance live in :mod:`allocator.limits` and
:mod:`allocator.compliance`.
"""

from allocator.base import AllocationContext, Allocator, period_starts
from allocator.defensive import Defensive, RiskState, drawdown
from allocator.overlays import (
    Capped,
    RampIn,
    VolatilityTarget,
    cap_weights,
    ramp_factors,
    trailing_portfolio_vol,
)
from allocator.risk import (
    erc_weights,
    ledoit_wolf_intensity,
    risk_contributions,
    shrink_covariance,
    shrinkage_target,
)
from allocator.rules import EqualRiskContribution, EqualWeight, InverseVolatility
from allocator.schedule import Schedule, drift_weights

__all__ = [
    "AllocationContext",
    "Allocator",
    "Capped",
    "Defensive",
    "EqualRiskContribution",
    "EqualWeight",
    "InverseVolatility",
    "RampIn",
    "RiskState",
    "Schedule",
    "VolatilityTarget",
    "cap_weights",
    "drawdown",
    "drift_weights",
    "erc_weights",
    "ledoit_wolf_intensity",
    "period_starts",
    "ramp_factors",
    "risk_contributions",
    "shrink_covariance",
    "shrinkage_target",
    "trailing_portfolio_vol",
]
