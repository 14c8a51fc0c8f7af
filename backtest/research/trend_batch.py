"""Single-strategy trend sweeps computed together, with vectorbt's numba EWMA kernel.

A sweep of :class:`strategies.quant.trend.Trend` over its parameters (``speeds``,
``forecast_cap``, ``vol_target_annual``, ``vol_span_days``, ``instrument_kinds``) on one market
repeats most of the work of each point: the price and return tables, the live mask, the
price and return volatilities and the EWMA of every span. :func:`trend_positions` computes the
points of a batch together: each of those once per batch (the EWMAs of every distinct span by
``vectorbt.generic.nb.ewm_mean_nb`` with ``adjust=True``, the same recursion as pandas'
``ewm(adjust=True).mean()``, bit for bit), each capped speed forecast once per distinct
(speed, cap, vol span), and per point only the combination of its speeds, the raw weights and
the vol targeting (the kernel of :func:`strategies.sizing.vol_target`). :func:`trend_daily`
adds each point's standalone daily series (:func:`backtest.research.evaluate.strategy_daily`:
the book's returns after the execution lag, less costs on turnover) on arrays.

Every step is the strategy's arithmetic in the strategy's order on numpy arrays instead of
pandas frames (row sums add the columns left to right, as pandas does), so a point's positions
and series equal the per-point path's (``tests/backtest/research/test_trend_batch.py`` checks
them and a sweep's rows to 1e-12 relative; they agree to the last bit on the markets tested),
and a point's result does not depend on which other points share its batch or in which
order: batches can be cut anywhere and results cached per point.

Measured in ``benchmarks/experiment_speed.py`` (single-strategy points, per-point path vs
batched) and ``benchmarks/trend_sweep.py`` (a 10 × 10 grid on 20 years). vectorbt is imported
on first use (~1.5–2.5 s once per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.fund.run import STRATEGY_COST_BPS
from backtest.fund.spec import FundSpec
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from backtest.research.design import Evaluation
from backtest.research.evaluate import Daily, cash_returns
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
from strategies.sizing import portfolio_vol_array

#: Pseudo-days of the random-walk prior of :func:`strategies.signals.forecast_scalar`.
PRIOR_DAYS = 250.0


def batchable(spec: FundSpec, evaluation: Evaluation) -> bool:
    """True when a point is one ``Trend`` evaluated standalone with whole-day EWMA spans (what
    this module computes; vectorbt's kernel takes an integer span)."""
    if evaluation is not Evaluation.STRATEGY or len(spec.strategies) != 1:
        return False
    (s,) = spec.strategies
    if registry[s.name] is not Trend:
        return False
    spans = [x for pair in Trend(**s.params).speeds for x in pair]
    return all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in spans)


@dataclass(frozen=True)
class _Inputs:
    """What every point of one instrument universe and vol span shares (numpy, n × m)."""

    ids: list[str]
    returns_array: np.ndarray  # daily return per unit of notional, NaN where unknown
    returns_zeroed: np.ndarray  # the same, NaN as 0 (what a book earns)
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
                returns_array=returns.to_numpy(dtype="float64"),
                returns_zeroed=returns.fillna(0.0).to_numpy(dtype="float64"),
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


def _vol_target(raw: np.ndarray, returns: np.ndarray, target_annual: float) -> np.ndarray:
    """:func:`strategies.sizing.vol_target` with its default half-life (30 days), warm-up (60
    days) and gross cap (10) on arrays (raw weights finite, returns aligned), in its order."""
    vol = portfolio_vol_array(raw, returns, 30.0, 60)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(vol > 1e-12, target_annual / vol, 0.0)
    sized = raw * scale[:, None]
    gross = _row_sums(np.abs(sized))
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where(gross > 10.0, 10.0 / gross, 1.0)
    out = sized * cap[:, None]
    out[np.isnan(out)] = 0.0
    return out


def _positions(t: Trend, shared: _Shared) -> np.ndarray:
    """``t.target_positions(market)`` as an array (n_dates × ids) from the shared arrays."""
    check_requirements(t, shared.market)  # the same refusal as run_strategy
    inputs = shared.inputs_of(t)
    n, m = inputs.price.shape
    if not m:
        return np.zeros((n, 0))
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
    return _vol_target(raw, inputs.returns_array, t.vol_target_annual)


def trend_positions(trends: Sequence[Trend], market: MarketData) -> list[pd.DataFrame]:
    """Positions of each ``Trend`` on ``market`` (dates × ids, fractions of capital), equal to
    ``trend.target_positions(market)``, computed together (module docstring)."""
    shared = _Shared(market)
    out = []
    for t in trends:
        ids = shared.inputs_of(t).ids
        out.append(pd.DataFrame(_positions(t, shared), index=market.calendar, columns=ids))
    return out


def trend_daily(trends: Sequence[Trend], market: MarketData) -> list[Daily]:
    """The daily series of each ``Trend`` standalone, equal to
    :func:`backtest.research.evaluate.strategy_daily` of its one-strategy spec: returns of the
    positions after the execution lag (decide ``t``, trade ``t+1``, earn from ``t+2``,
    :func:`backtest.market.returns.exposure_returns`) less ``STRATEGY_COST_BPS`` on turnover,
    in the same order of operations, on arrays."""
    shared = _Shared(market)
    cash = cash_returns(market)
    none = pd.Series(np.nan, index=market.calendar)
    out = []
    for t in trends:
        positions = _positions(t, shared)
        r = shared.inputs_of(t).returns_zeroed
        held = np.zeros_like(positions)
        held[2:] = positions[:-2]
        traded = np.zeros_like(positions)
        traded[1:] = positions[:-1]
        moved = np.abs(np.diff(traded, axis=0, prepend=traded[:1]))
        book_turnover = _row_sums(moved)
        book_turnover[0] = _row_sums(np.abs(traded[:1]))[0]
        returns = _row_sums(held * r) - book_turnover * STRATEGY_COST_BPS / 1e4
        turnover = _row_sums(np.abs(np.diff(positions, axis=0, prepend=positions[:1])))
        calendar = market.calendar
        out.append(
            Daily(
                returns=pd.Series(returns, index=calendar, name="return"),
                cash=cash,
                turnover=pd.Series(turnover, index=calendar),
                costs=pd.Series(turnover * STRATEGY_COST_BPS * 1e-4, index=calendar),
                breaches=none,
            )
        )
    return out
