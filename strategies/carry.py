"""Carry strategies: hold what pays to hold, across FX, rates, equity index and commodity futures.

Economics. An asset's carry is the return it earns if prices do not move: for an FX forward the
forward discount (the interest-rate differential), for a futures contract the roll-down along its
curve, ``(near - far) / years_apart / price``. High-carry assets have earned more than low-carry
ones in every asset class studied, with crash risk (carry trades unwind in risk-off episodes).

Every sleeve follows the same three steps, all causal (row ``t`` uses data up to ``t``):

1. raw carry per instrument (:meth:`carry`), annual decimal, from :mod:`strategies.signals`;
2. smoothed with an EWMA of centre of mass ``smooth_com_days`` (default 90, as published);
3. turned into risk-balanced raw weights (:meth:`raw_weights`), either
   ``"cross_sectional"`` (ranks of the smoothed carry, demeaned, inverse-vol, dollar-neutral:
   longs sum to +1, shorts to -1) or ``"time_series"`` (pysystemtrade: forecast = carry / vol,
   the **ratio** smoothed (``smooth = "ratio"``), scaled to an average absolute value of 10 and
   capped, position = forecast / 10 / vol);

Smoothing, as published and as this project did before. pysystemtrade's ``carry`` rule smooths
the carry/vol ratio with ``ewm(90)`` (centre of mass 90 days, span 181). Until issue 16 the
default here smoothed the carry alone with a 10-day span (``smooth = "carry"``,
``smooth_com_days = 4.5``) and divided by today's vol, so the forecast moved with every change
of vol and of the (noisy, intraday-snapped) daily roll. Measured on the real sample
(1990-2023, carry sleeve alone, 10% vol target, 2 bp cost) and on the default synthetic run,
the published smoothing cuts turnover several-fold at a similar or better Sharpe; the figures
are in the commit that changed the default. ``smooth = "carry", smooth_com_days = 4.5`` gives
the former behaviour exactly.

and is then vol-targeted with :func:`strategies.sizing.vol_target`. :class:`MultiAssetCarry`
vol-targets each available sleeve to the same volatility (equal risk), adds them and vol-targets
the sum.

Output of every ``target_positions``: dates × instruments, notional exposure as a fraction of
capital, finite, 0 where an instrument has no data. Reference: Koijen, Moskowitz, Pedersen &
Vrugt (2018), "Carry", *Journal of Financial Economics* 127(2); Carver, *Systematic Trading*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from backtest.market.instruments import InstrumentKind
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from strategies.base import StrategyInputError, register
from strategies.signals import (
    CARRY_SMOOTH_COM_DAYS,
    FORECAST_TARGET_ABS,
    CarrySmoothing,
    carry_forecast,
    demeaned_ranks,
    ewma_com,
    forecast_scalar,
    futures_curve_carry_rows,
    live_mask,
    long_short_weights,
    rate_differential,
    return_vol,
    scaled_forecast,
)
from strategies.sizing import vol_target

CarryMode = Literal["cross_sectional", "time_series"]

#: Average |carry / vol| assumed before any is observed: pysystemtrade's carry scalar is 30.
CARRY_PRIOR_ABS = FORECAST_TARGET_ABS / 30.0
_K = InstrumentKind


def _futures_root(market: MarketData, instrument_id: str) -> str:
    root = str(market.instruments.at[instrument_id, "root"]) or instrument_id
    return root if root in market.curves else instrument_id


def curve_ids(market: MarketData, kinds: frozenset[str]) -> list[str]:
    """Futures of ``kinds`` that have a curve and a price column in ``market``, in table order.

    A function of the market's table only, asked several times per sleeve and run: looked up
    once per market and set of kinds (a new list each call)."""

    def find() -> tuple[str, ...]:
        return tuple(
            i
            for i in market.ids(kinds)
            if _futures_root(market, i) in market.curves and i in market.prices
        )

    return list(market.cached(("curve_ids", *sorted(kinds)), find))


def curve_carry_table(market: MarketData, ids: list[str]) -> pd.DataFrame:
    """Raw annualised curve carry (dates × ids) from each future's curve; see
    :func:`strategies.signals.futures_curve_carry`."""
    if not ids:
        return pd.DataFrame(index=market.calendar, columns=ids, dtype="float64")
    # every curve is on the market's calendar (MarketData checks it): all of them at once,
    # (ids × dates) as pandas stores a frame's block, and handed over as is
    values = futures_curve_carry_rows([market.curves[_futures_root(market, i)] for i in ids])
    return pd.DataFrame(values.T, index=market.calendar, columns=ids, copy=False)


def forecast_weights(raw: pd.DataFrame, vol_annual: pd.DataFrame, forecast_cap: float):
    """``capped(scalar × raw) / 10 / vol``: positions from an unscaled forecast, NaN as 0."""
    scalar = forecast_scalar(raw, prior_abs=CARRY_PRIOR_ABS)
    forecast = scaled_forecast(raw, scalar, forecast_cap)
    weights = forecast / FORECAST_TARGET_ABS / vol_annual
    return weights.replace([np.inf, -np.inf], np.nan).fillna(0.0)


def carry_weights(
    carry: pd.DataFrame,
    vol_annual: pd.DataFrame,
    mode: CarryMode,
    forecast_cap: float,
) -> pd.DataFrame:
    """Raw risk-balanced weights from (already smoothed) annualised carry; see the module
    docstring.

    ``cross_sectional``: dollar-neutral rank weights (needs at least two instruments on a row);
    ``time_series``: ``capped(scalar × carry / vol) / 10 / vol``. NaN counts as 0.
    """
    match mode:
        case "cross_sectional":
            return long_short_weights(demeaned_ranks(carry), vol_annual)
        case "time_series":
            return forecast_weights(carry_forecast(carry, vol_annual), vol_annual, forecast_cap)
    raise ValueError(f"mode must be 'cross_sectional' or 'time_series', got {mode!r}")


@dataclass(frozen=True)
class _CarrySleeve:
    """Shared parameters and steps of the carry sleeves (not registered itself).

    Parameters
    ----------
    mode : ``"cross_sectional"`` or ``"time_series"``.
    smooth_com_days : centre of mass (trading days) of the EWMA smoothing; 90 as published.
    smooth : ``"ratio"`` smooths carry / vol (published, time-series mode); ``"carry"`` smooths
        the carry before dividing by vol. Cross-sectional mode always ranks the smoothed carry.
    vol_span_days : EWMA span of the instrument return vol used for risk balancing, days.
    forecast_cap : cap on the absolute time-series forecast (average absolute value 10).
    vol_target_annual : annualised volatility the sleeve is sized to.
    """

    mode: CarryMode = "time_series"
    smooth_com_days: float = CARRY_SMOOTH_COM_DAYS
    smooth: CarrySmoothing = "ratio"
    vol_span_days: int = 35
    forecast_cap: float = 20.0
    vol_target_annual: float = 0.10

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices", "curves"})
    required_kinds: ClassVar[frozenset[str]] = frozenset()

    def instrument_ids(self, market: MarketData) -> list[str]:
        """The instruments this sleeve trades in ``market``."""
        return curve_ids(market, self.required_kinds)

    def carry(self, market: MarketData) -> pd.DataFrame:
        """Raw (unsmoothed) annualised carry per instrument, dates × :meth:`instrument_ids`."""
        return curve_carry_table(market, self.instrument_ids(market))

    def raw_weights(self, market: MarketData, returns: pd.DataFrame) -> pd.DataFrame:
        """Risk-balanced raw weights (dates × ids) before vol targeting; ``returns`` are the
        instruments' daily returns (:func:`backtest.market.returns.instrument_returns`)."""
        ids = self.instrument_ids(market)
        live = live_mask(market.prices[ids])
        carry = self.carry(market)
        vol = return_vol(returns[ids], self.vol_span_days).where(live)
        if self.mode == "time_series":
            raw = carry_forecast(carry, vol, self.smooth_com_days, self.smooth).where(live)
            return forecast_weights(raw, vol, self.forecast_cap)
        smoothed = ewma_com(carry, self.smooth_com_days).where(live)
        return carry_weights(smoothed, vol, self.mode, self.forecast_cap)

    def _ids_or_raise(self, market: MarketData) -> list[str]:
        ids = self.instrument_ids(market)
        if not ids:
            raise StrategyInputError(
                f"{type(self).__name__} found none of {sorted(self.required_kinds)} with a futures "
                f"curve (or FX forwards with rates) in {market.name!r}"
            )
        return ids

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per instrument as a fraction of capital (dates × ids), vol-targeted."""
        returns = instrument_returns(market, self._ids_or_raise(market))
        raw = self.raw_weights(market, returns)
        return vol_target(raw, market, self.vol_target_annual, returns=returns)


@register("fx_carry")
@dataclass(frozen=True)
class FxCarry(_CarrySleeve):
    """FX carry: long high-rate, short low-rate currencies against USD.

    Economics: a 1-month forward buying currency XXX earns the forward discount
    ``r_XXX - r_USD`` if spot does not move (uncovered interest parity fails on average: the
    forward premium puzzle), at the price of losses when risk appetite collapses (carry crashes).

    Inputs: ``FWD-XXX-1M`` forwards with ``rates`` (signal = rate differential, equivalently
    ``ln(spot / forward) × 12``); without forwards, currency futures curves (signal = curve
    carry, which is the same differential by covered interest parity).
    Output: exposure per forward / currency future, fraction of capital; in the default
    cross-sectional mode the exposures sum to 0 on every row (dollar-neutral).
    Reference: Lustig, Roussanov & Verdelhan (2011), "Common Risk Factors in Currency Markets",
    *Review of Financial Studies* 24(11); Brunnermeier, Nagel & Pedersen (2008), "Carry Trades
    and Currency Crashes", *NBER Macroeconomics Annual* 23.
    """

    mode: CarryMode = "cross_sectional"

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices"})
    required_kinds: ClassVar[frozenset[str]] = frozenset(
        {_K.CURRENCY_FORWARD.value, _K.CURRENCY_FUTURE.value}
    )

    def _forwards(self, market: MarketData) -> list[str]:
        fwd = [i for i in market.ids([_K.CURRENCY_FORWARD]) if i in market.prices]
        have_rates = "USD" in market.rates.columns
        return [i for i in fwd if have_rates and market.instruments.at[i, "root"] in market.rates]

    def instrument_ids(self, market: MarketData) -> list[str]:
        """Forwards when the market has them (with rates), else currency futures with curves."""
        return self._forwards(market) or curve_ids(market, frozenset({_K.CURRENCY_FUTURE.value}))

    def carry(self, market: MarketData) -> pd.DataFrame:
        """Rate differential ``r_XXX - r_USD`` per forward, or the currency futures' curve carry."""
        ids = self._ids_or_raise(market)
        forwards = self._forwards(market)
        if not forwards:
            return curve_carry_table(market, ids)
        ccys = [str(market.instruments.at[i, "root"]) for i in forwards]
        diff = rate_differential(market.rates, ccys)
        diff.columns = pd.Index(forwards)
        return diff.where(market.prices[forwards].notna())


@register("rates_carry")
@dataclass(frozen=True)
class RatesCarry(_CarrySleeve):
    """Rates carry: bond and short-rate futures by the slope (roll-down) of their curves.

    Economics: with an upward-sloping yield curve a bond (or a short-rate future, price
    ``100 - rate``) rolls down towards higher prices as it ages; its futures curve slopes down
    (held contract above the next one) by the coupon-minus-repo carry plus roll-down.
    Inputs: ``curves`` of bond and rate futures. Signal: :func:`signals.futures_curve_carry`,
    which handles carry contracts nearer than the held one (SOFR, Euribor: CarryOffset -1).
    Output: exposure per future, fraction of capital. Reference: Koijen et al. (2018), §3.3–3.4.
    """

    required_kinds: ClassVar[frozenset[str]] = frozenset(
        {_K.BOND_FUTURE.value, _K.RATE_FUTURE.value}
    )


@register("equity_carry")
@dataclass(frozen=True)
class EquityCarry(_CarrySleeve):
    """Equity carry: index futures by implied dividend yield minus the financing rate.

    Economics: ``F = S e^{(r - q) τ}``, so the futures curve slope ``(near - far) / τ / price`` is
    ``q - r``: a long future earns the dividend yield in excess of the rate if the index is flat.
    Inputs: ``curves`` of equity index futures. Output: exposure per future, fraction of capital.
    Reference: Koijen et al. (2018), §3.2.
    """

    required_kinds: ClassVar[frozenset[str]] = frozenset({_K.EQUITY_INDEX_FUTURE.value})


@register("commodity_carry")
@dataclass(frozen=True)
class CommodityCarry(_CarrySleeve):
    """Commodity carry: long backwardated, short contango commodities by curve slope.

    Economics: the slope is convenience yield minus storage and financing costs; backwardated
    commodities (scarce inventories) have earned more than those in contango.
    Inputs: ``curves`` of commodity futures (held in the Subsidiary). Output: exposure per
    future, fraction of capital. Reference: Gorton, Hayashi & Rouwenhorst (2013), "The
    Fundamentals of Commodity Futures Returns", *Review of Finance* 17(1); Koijen et al. (2018).
    """

    required_kinds: ClassVar[frozenset[str]] = frozenset({_K.COMMODITY_FUTURE.value})


@register("carry")
@dataclass(frozen=True)
class MultiAssetCarry:
    """Multi-asset carry: FX, rates, equity and commodity carry sleeves with equal risk.

    Each sleeve with instruments in the market builds its own
    risk-balanced weights, is vol-targeted to ``vol_target_annual``, and the sleeves are added
    and vol-targeted again, so diversification between sleeves lowers the gross. Sleeves whose
    instruments are absent are skipped: on pysystemtrade data, where there are no FX forwards,
    the FX sleeve uses currency futures curves.

    Parameters
    ----------
    fx, rates, equity, commodity : the sleeve strategies (their own ``vol_target_annual`` is not
        used here; each sleeve gets ``vol_target_annual``).
    vol_target_annual : annualised volatility of the combined book.

    Output: exposure per instrument, fraction of capital. Reference: Koijen et al. (2018),
    "Carry", §5 (global carry factor).
    """

    fx: FxCarry = field(default_factory=FxCarry)
    rates: RatesCarry = field(default_factory=RatesCarry)
    equity: EquityCarry = field(default_factory=EquityCarry)
    commodity: CommodityCarry = field(default_factory=CommodityCarry)
    vol_target_annual: float = 0.10

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices"})
    required_kinds: ClassVar[frozenset[str]] = (
        FxCarry.required_kinds
        | RatesCarry.required_kinds
        | EquityCarry.required_kinds
        | CommodityCarry.required_kinds
    )

    def sleeves(self, market: MarketData) -> dict[str, _CarrySleeve]:
        """The sleeves that have instruments in ``market``, by name."""
        named = {"fx": self.fx, "rates": self.rates, "equity": self.equity}
        named["commodity"] = self.commodity
        return {k: s for k, s in named.items() if s.instrument_ids(market)}

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per instrument as a fraction of capital (dates × instruments)."""
        sleeves = self.sleeves(market)
        if not sleeves:
            raise StrategyInputError(f"no carry sleeve has instruments in {market.name!r}")
        ids = [i for s in sleeves.values() for i in s.instrument_ids(market)]
        returns = instrument_returns(market, ids)
        book = pd.DataFrame(0.0, index=market.calendar, columns=ids)
        for sleeve in sleeves.values():
            sids = sleeve.instrument_ids(market)
            raw = sleeve.raw_weights(market, returns[sids])
            sized = vol_target(raw, market, self.vol_target_annual, returns=returns[sids])
            book[sids] = sized
        return vol_target(book, market, self.vol_target_annual, returns=returns)
