"""The seeded synthetic market: regimes, stochastic volatility with crash jumps, VIX and its
futures, G10 rates and FX, futures curves, a volatility surface and an equity universe.

:func:`synthetic_market` is the entry point (:mod:`backtest.synthetic.build`); the parameters are
frozen dataclasses in :mod:`backtest.synthetic.params`, the model stages live in
:mod:`backtest.synthetic.models`, the numba path recursions and draws in
:mod:`backtest.synthetic.recursions`, and contract schedules, curves and prices in
:mod:`backtest.synthetic.contracts`. Depends only on :mod:`backtest.market`.
"""

from backtest.synthetic.build import synthetic_market
from backtest.synthetic.params import SyntheticParams, UniverseParams

__all__ = ["SyntheticParams", "UniverseParams", "synthetic_market"]
