"""Single-strategy trend sweeps computed together, with vectorbt's numba EWMA kernel.

A sweep of :class:`strategies.quant.trend.Trend` over its parameters (``speeds``,
``forecast_cap``, ``vol_target_annual``, ``vol_span_days``, ``instrument_kinds``) on one market
repeats most of the work of each point: the price and return tables, the live mask, the
price and return volatilities and the EWMA of every span. :func:`trend_positions` computes the
points of a batch together: each of those once per batch (the EWMAs of every distinct span by
``vectorbt.generic.nb.ewm_mean_nb`` with ``adjust=True``, the same recursion as pandas'
``ewm(adjust=True).mean()``, bit for bit), each capped speed forecast once per distinct
(speed, cap, vol span), and per point only the combination of its speeds, the raw weights and
the vol targeting (:func:`strategies.sizing.vol_target`, the strategy's own function).

Every step is the strategy's arithmetic in the strategy's order on numpy arrays instead of
pandas frames, so a point's positions are equal to ``Trend(...).target_positions(market)``
(``tests/backtest/research/test_trend_batch.py`` checks the rows of a sweep against the
per-point path to 1e-12 relative; they agree to the last bit on the markets tested), and a
point's result does not depend on which other points share its batch or in which order:
batches can be cut anywhere and results cached per point.

Measured in ``benchmarks/experiment_speed.py`` (single-strategy points, per-point path vs
batched) and ``benchmarks/trend_sweep.py`` (a 10 × 10 grid on 20 years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.fund.spec import FundSpec
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from backtest.research.design import Evaluation
from strategies import registry
from strategies.base import check_requirements
from strategies.quant.trend import Trend, trend_prices
from strategies.signals import (
    FORECAST_TARGET_ABS,
    ewmac_random_walk_abs,
    live_mask,
    price_vol,
    return_vol,
)
from strategies.sizing import vol_target

#: Pseudo-days of the random-walk prior of :func:`strategies.signals.forecast_scalar`.
PRIOR_DAYS = 250.0


def batchable(spec: FundSpec, evaluation: Evaluation) -> bool:
    """True when a point is one ``Trend`` evaluated standalone (what this module computes)."""
    if evaluation is not Evaluation.STRATEGY or len(spec.strategies) != 1:
        return False
    return registry[spec.strategies[0].name] is Trend


@dataclass(frozen=True)
class _Inputs:
    """What every point of one instrument universe and vol span shares (numpy, n × m)."""

    ids: list[str]
    returns: pd.DataFrame  # daily return per unit of notional, dates × ids
    price: np.ndarray  # forward-filled trend prices
    live: np.ndarray  # bool, instrument trading (live_mask)
    vol_price: np.ndarray  # daily vol of price changes, price points
    vol_return: np.ndarray  # annualised return vol, NaN where not live


class _Shared:
    """Per-batch memo of the inputs, EWMAs and capped speed forecasts (no state beyond a call)."""

    def __init__(self, market: MarketData) -> None:
        self.market = market
        self.inputs: dict[tuple, _Inputs] = {}
        self.emas: dict[tuple, np.ndarray] = {}
        self.forecasts: dict[tuple, np.ndarray] = {}

    def inputs_of(self, t: Trend) -> _Inputs:
        key = (t.instrument_kinds, t.vol_span_days)
        if key not in self.inputs:
            ids = t.instrument_ids(self.market)
            returns = instrument_returns(self.market, ids)
            prices = trend_prices(self.market, ids)
            live = live_mask(prices)
            filled = prices.ffill()
            self.inputs[key] = _Inputs(
                ids=ids,
                returns=returns,
                price=np.ascontiguousarray(filled.to_numpy(dtype="float64")),
                live=live.to_numpy(),
                vol_price=price_vol(filled, t.vol_span_days).to_numpy(dtype="float64"),
                vol_return=return_vol(returns, t.vol_span_days).where(live).to_numpy("float64"),
            )
        return self.inputs[key]

    def ema(self, t: Trend, span: int) -> np.ndarray:
        """EWMA (adjust=True, from the first observation) of the forward-filled prices."""
        from vectorbt.generic.nb import ewm_mean_nb  # slow to import (~3 s): only sweeps need it

        key = (t.instrument_kinds, int(span))
        if key not in self.emas:
            self.emas[key] = ewm_mean_nb(self.inputs_of(t).price, int(span), 1, True)
        return self.emas[key]

    def capped_forecast(self, t: Trend, fast: int, slow: int) -> np.ndarray:
        """One speed's scaled, capped forecast (n × m), NaN where unknown, as
        :func:`strategies.quant.trend.trend_forecast` computes it."""
        key = (t.instrument_kinds, t.vol_span_days, fast, slow, t.forecast_cap)
        if key in self.forecasts:
            return self.forecasts[key]
        vol = self.inputs_of(t).vol_price
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = (self.ema(t, fast) - self.ema(t, slow)) / vol
        raw[np.isinf(raw)] = np.nan
        absolute = np.abs(raw)
        known = np.isfinite(absolute)
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = _row_sums(np.where(known, absolute, 0.0)) / known.sum(axis=1)
        seen = np.isfinite(pooled)
        total = np.cumsum(np.where(seen, pooled, 0.0))
        count = np.cumsum(seen)
        mean_abs = (PRIOR_DAYS * ewmac_random_walk_abs(fast, slow) + total) / (PRIOR_DAYS + count)
        scalar = FORECAST_TARGET_ABS / mean_abs
        capped = np.clip(raw * scalar[:, None], -t.forecast_cap, t.forecast_cap)
        self.forecasts[key] = capped
        return capped


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Sums of each row (n × m → n), adding the columns left to right as pandas does for a
    frame's ``sum(axis=1)`` (numpy's pairwise sum of a contiguous row rounds differently)."""
    return np.add.reduce(np.asfortranarray(values), axis=1)


def _positions(t: Trend, shared: _Shared) -> pd.DataFrame:
    """``t.target_positions(market)`` from the batch's shared arrays."""
    market = shared.market
    check_requirements(t, market)  # the same refusal as run_strategy
    inputs = shared.inputs_of(t)
    if not inputs.ids:
        return pd.DataFrame(index=market.calendar, dtype="float64")
    n, m = inputs.price.shape
    total, count = np.zeros((n, m)), np.zeros((n, m))
    for fast, slow in t.speeds:
        capped = shared.capped_forecast(t, int(fast), int(slow))
        known = ~np.isnan(capped)
        total = total + np.where(known, capped, 0.0)
        count = count + known
    with np.errstate(divide="ignore", invalid="ignore"):
        forecast = np.where(count > 0, total / count, np.nan)
        forecast = np.where(inputs.live, forecast, np.nan)
        raw = forecast / FORECAST_TARGET_ABS / inputs.vol_return
    raw[~np.isfinite(raw)] = 0.0
    frame = pd.DataFrame(raw, index=market.calendar, columns=inputs.ids)
    return vol_target(frame, market, t.vol_target_annual, returns=inputs.returns)


def trend_positions(trends: Sequence[Trend], market: MarketData) -> list[pd.DataFrame]:
    """Positions of each ``Trend`` on ``market`` (dates × ids, fractions of capital), equal to
    ``trend.target_positions(market)``, computed together (module docstring)."""
    shared = _Shared(market)
    return [_positions(t, shared) for t in trends]
