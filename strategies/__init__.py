"""Pluggable strategies: carry, volatility risk premium and quantitative (trend, momentum,
equity market-neutral). Each produces target exposures as a fraction of its capital.

>>> from strategies import registry
>>> positions = registry["fx_carry"]().target_positions(market)   # doctest: +SKIP
"""

from strategies import carry, vol_premium  # noqa: F401  (registers the built-ins)
from strategies.base import (
    Strategy,
    StrategyInputError,
    cached_positions,
    check_requirements,
    register,
    registry,
    run_strategy,
    strategy_key,
)
from strategies.quant import market_neutral, momentum, trend  # noqa: F401

__all__ = [
    "Strategy",
    "StrategyInputError",
    "cached_positions",
    "check_requirements",
    "register",
    "registry",
    "run_strategy",
    "strategy_key",
]
