"""Time-series trend following: multi-speed EWMA crossovers on futures and FX (pysystemtrade style).

Economics: prices of futures and currencies trend (under-reaction to news, then over-reaction
and hedging demand), so the sign of a past trend predicts the next month's return of the same
asset. Trend is long volatility in effect: it tends to earn in prolonged crises, when assets
fall for months and the crossovers turn short.

Steps (all causal, row ``t`` uses data up to ``t``):

1. price series: back-adjusted prices for futures, spot (``fx``) for FX forwards, forward-filled;
2. per speed ``(fast, slow)``: ``ewmac = (EWMA_fast - EWMA_slow) / σ_price`` with ``σ_price`` the
   EWMA volatility of daily price changes (:func:`strategies.signals.ewmac`);
3. each speed scaled to an average absolute forecast of 10 (a causal scalar pooled across
   instruments, :func:`strategies.signals.forecast_scalar`, starting from the random-walk value)
   and capped at ``±forecast_cap``; the speeds are averaged;
4. raw weight = forecast / 10 / annualised return vol of the instrument (equal risk per unit of
   forecast), then :func:`strategies.sizing.vol_target`.

EWMAs use pandas (``adjust=True``, exact and causal, no vectorbt import at run time); sweeps
in ``backtest.research.trend_batch`` batch the same arithmetic with vectorbt's numba EWMA
kernel. pysystemtrade's forecast diversification multiplier is omitted: the final
vol target does that job.

Reference: Moskowitz, Ooi & Pedersen (2012), "Time Series Momentum", *Journal of Financial
Economics* 104(2); Carver, *Systematic Trading* (2015), ch. 15; Hurst, Ooi & Pedersen (2017),
"A Century of Evidence on Trend-Following Investing", *Journal of Portfolio Management* 44(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from backtest.market.instruments import FUTURE_KINDS, InstrumentKind
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from strategies.base import register
from strategies.signals import (
    FORECAST_TARGET_ABS,
    ewmac,
    ewmac_random_walk_abs,
    forecast_scalar,
    live_mask,
    price_vol,
    return_vol,
    scaled_forecast,
)
from strategies.sizing import vol_target

#: Futures and FX forwards: what trend trades by default.
TREND_KINDS = frozenset({k.value for k in FUTURE_KINDS} | {InstrumentKind.CURRENCY_FORWARD.value})


def trend_prices(market: MarketData, ids: list[str]) -> pd.DataFrame:
    """Price series trend reads (dates × ids): back-adjusted futures prices (the held
    contract's price when there is no adjusted series), FX spot for forwards and held prices
    otherwise; NaN where the instrument has no data that day."""
    table = market.instruments
    cols = {}
    for i in ids:
        kind = table.at[i, "kind"]
        if kind == InstrumentKind.CURRENCY_FORWARD and table.at[i, "root"] in market.fx:
            cols[i] = market.fx[table.at[i, "root"]].where(market.prices[i].notna())
        elif i in market.adjusted and market.adjusted[i].notna().any():
            cols[i] = market.adjusted[i]
        else:
            cols[i] = market.prices[i]
    return pd.DataFrame(cols, index=market.calendar, columns=ids, dtype="float64")


def trend_forecast(
    price: pd.DataFrame,
    speeds: tuple[tuple[int, int], ...],
    forecast_cap: float,
    vol_span_days: int = 35,
) -> pd.DataFrame:
    """Combined trend forecast (dates × instruments): the mean over ``speeds`` of each capped,
    scaled EWMA crossover; average absolute value about 10, within ``±forecast_cap``.

    ``price`` in price points; NaN until an instrument has ``price_vol`` history.

    The crossovers and scalars are the signal functions' frames; the capping
    (:func:`~strategies.signals.scaled_forecast`), sum and count over speeds are the same
    element-wise arithmetic on arrays (the values of :func:`trend_forecast_py`'s frame
    operations, bit for bit, and the frame's (ids × dates) memory order).
    """
    vol = price_vol(price, vol_span_days)
    total = np.zeros((price.shape[1], price.shape[0]))  # (ids × dates), as pandas' block
    count = np.zeros(total.shape)
    lower, upper = -forecast_cap, forecast_cap
    for fast, slow in speeds:
        raw = ewmac(price, vol, fast, slow)
        scalar = forecast_scalar(raw, prior_abs=ewmac_random_walk_abs(fast, slow))
        capped = raw.to_numpy(dtype="float64").T * scalar.to_numpy(dtype="float64")[None, :]
        capped = np.where(capped < lower, lower, capped)  # DataFrame.clip: NaN stays NaN
        capped = np.where(capped > upper, upper, capped)
        known = ~np.isnan(capped)
        total += np.where(known, capped, 0.0)
        count += known
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return pd.DataFrame(mean.T, index=price.index, columns=price.columns, copy=False)


def trend_forecast_py(
    price: pd.DataFrame,
    speeds: tuple[tuple[int, int], ...],
    forecast_cap: float,
    vol_span_days: int = 35,
) -> pd.DataFrame:
    """Plain twin of :func:`trend_forecast` (frame operations throughout), for the tests."""
    vol = price_vol(price, vol_span_days)
    total = pd.DataFrame(0.0, index=price.index, columns=price.columns)
    count = pd.DataFrame(0.0, index=price.index, columns=price.columns)
    for fast, slow in speeds:
        raw = ewmac(price, vol, fast, slow)
        scalar = forecast_scalar(raw, prior_abs=ewmac_random_walk_abs(fast, slow))
        capped = scaled_forecast(raw, scalar, forecast_cap)
        total += capped.fillna(0.0)
        count += capped.notna()
    return (total / count).where(count > 0)


@register("trend")
@dataclass(frozen=True)
class Trend:
    """Multi-speed EWMA-crossover trend following on futures and FX forwards.

    Parameters
    ----------
    speeds : tuple of (fast_span, slow_span) pairs, trading days.
    forecast_cap : cap on each speed's absolute forecast (average absolute value 10).
    vol_target_annual : annualised volatility the strategy is sized to.
    instrument_kinds : instrument kinds traded (default: all futures and FX forwards).
    vol_span_days : EWMA span of the price and return vols, trading days.

    Inputs: ``adjusted`` futures prices, ``fx`` spot for forwards, ``prices`` (data presence).
    Output: exposure per instrument as a fraction of capital (dates × instruments), finite; 0
    before an instrument has data and during the vol estimates' warm-up (10 days) and the
    covariance warm-up of :func:`strategies.sizing.vol_target` (60 days). See the module
    docstring for the economics and references.
    """

    speeds: tuple[tuple[int, int], ...] = ((8, 32), (16, 64), (32, 128), (64, 256))
    forecast_cap: float = 20.0
    vol_target_annual: float = 0.10
    instrument_kinds: frozenset[str] = TREND_KINDS
    vol_span_days: int = 35

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices"})
    required_kinds: ClassVar[frozenset[str]] = TREND_KINDS

    def instrument_ids(self, market: MarketData) -> list[str]:
        """Instruments of ``instrument_kinds`` with a price column, in table order."""
        return [i for i in market.ids(self.instrument_kinds) if i in market.prices]

    def forecast(self, market: MarketData) -> pd.DataFrame:
        """Combined capped forecast per instrument (dates × ids), average |forecast| ≈ 10."""
        price = trend_prices(market, self.instrument_ids(market))
        return trend_forecast(price.ffill(), self.speeds, self.forecast_cap, self.vol_span_days)

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per instrument as a fraction of capital (dates × ids), vol-targeted."""
        ids = self.instrument_ids(market)
        if not ids:
            return pd.DataFrame(index=market.calendar, dtype="float64")
        returns = instrument_returns(market, ids)
        price = trend_prices(market, ids)  # read once: for the live mask and the forecast
        live = live_mask(price)
        vol = return_vol(returns, self.vol_span_days).where(live)
        forecast = trend_forecast(price.ffill(), self.speeds, self.forecast_cap, self.vol_span_days)
        raw = (forecast.where(live) / FORECAST_TARGET_ABS / vol).fillna(0.0)
        raw = raw.where(raw.abs() < float("inf"), 0.0)
        return vol_target(raw, market, self.vol_target_annual, returns=returns)
