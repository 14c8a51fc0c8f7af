"""Volatility risk premium: option-implied volatility exceeds the volatility that follows.

Investors pay for protection against equity crashes, so index options and VIX futures are priced
off an implied volatility that is above, on average, the realised volatility that follows. Selling
that insurance earns a premium in calm markets and loses in crashes (negative skew, positive
correlation to equities in sell-offs). Three ways to sell it, and an equal-risk blend:

- :class:`ShortVixFutures` (``"short_vix"``): short the held VIX future when the curve is in
  contango, sized by the annualised roll yield and cut as VIX rises; flat in backwardation.
- :class:`PutWrite` (``"put_write"``): CBOE PUT-index style, sell a one-month SPX put on each
  monthly expiry, fully collateralised, hold it to cash settlement, roll.
- :class:`ShortStraddle` (``"short_straddle"``): sell one-month ATM straddles and delta-hedge them
  daily with equity index futures: the variance premium without the equity beta.
- :class:`VolatilityPremium` (``"vol_premium"``): short VIX and put writing with equal risk.

Output of every ``target_positions``: dates × instruments (the VIX future's id, real option ids
such as ``"SPX-2024-03-15-P-4800"`` — one column per option sold — and the hedge future), notional
exposure as a fraction of capital (options: on the underlying, quantity × multiplier × index
level), negative = short, finite, 0 where nothing is held; row ``t`` uses data up to ``t`` only.
The signal math is in :mod:`strategies.vol_signals`.

References: Carr & Wu (2009), "Variance risk premiums", RFS 22(3); Israelov & Nielsen (2015),
"Still not cheap: portfolio protection in calm markets", JPM 41(4); CBOE PUT methodology.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from backtest.market.instruments import IndexOption, InstrumentKind, is_option_id
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from strategies.base import StrategyInputError, check_requirements, register
from strategies.sizing import vol_target
from strategies.vol_signals import (
    OptionCycles,
    book_returns,
    curve_front_next,
    expanding_positive_mean,
    monthly_expiries,
    option_cycles,
    option_path_returns,
    option_paths,
    option_strike,
    short_vix_forecast,
    sleeve_vol_scale,
    vix_roll_yield,
)

_K = InstrumentKind


def _need_index(market: MarketData, owner: object, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in market.index.columns]
    if missing:
        raise StrategyInputError(
            f"{type(owner).__name__} needs index series {missing}, which {market.name!r} lacks"
        )


def option_book_returns(market: MarketData, positions: pd.DataFrame) -> pd.DataFrame:
    """Daily returns of the option columns of a position frame, priced in one batch.

    Equal to :func:`backtest.market.returns.instrument_returns` for those ids on every row where a
    position held at the previous close can earn a return (from the option's first non-zero
    row to the day after its settlement); NaN elsewhere, which books read as 0. Non-option
    columns are left out. About 7× faster than pricing each option over the whole calendar
    (0.1 s against 0.7 s for the 240 monthly puts of 20 years).
    """
    ids = [c for c in positions.columns if is_option_id(c)]
    if not ids:
        return pd.DataFrame(index=market.calendar, dtype="float64")
    held = positions[ids].to_numpy(np.float64) != 0
    first = np.where(held.any(axis=0), held.argmax(axis=0), len(market.calendar) - 1)
    parsed = [IndexOption.from_id(i) for i in ids]
    out = []
    for root in dict.fromkeys(o.root for o in parsed):
        cols = [j for j, o in enumerate(parsed) if o.root == root]
        opts = [parsed[j] for j in cols]
        returns = option_path_returns(market, opts, first[cols])
        out.append(pd.DataFrame(returns, index=market.calendar, columns=[ids[j] for j in cols]))
    return pd.concat(out, axis=1)[ids]


@register("short_vix")
@dataclass(frozen=True)
class ShortVixFutures:
    """Short the VIX future in contango, sized by the roll yield, cut as VIX rises.

    Economics: VIX futures trade above spot VIX most of the time (contango) because buyers pay
    for crash insurance; a short position earns the roll-down as the future converges to spot.
    The position is ``-unit × forecast``: ``unit`` is the short vol-targeted with
    :func:`strategies.sizing.vol_target` (EWMA ex-ante vol), ``forecast`` in ``[0, forecast_cap]``
    is the annualised roll yield ``(next - front) / front / gap`` over its causal average in
    contango, times ``min(1, vix_ref / VIX)``; 0 in backwardation (front above next).

    Parameters
    ----------
    root : futures root / instrument id of the VIX future (``curves[root]``, ``prices[root]``).
    vix_ref : VIX level (points) above which the position is cut in proportion.
    forecast_cap : cap on the forecast (a full-conviction position is 1).
    roll_yield_min_days : contango days seen before the roll-yield average is trusted.
    vol_target_annual : annualised volatility of a full-conviction (forecast 1) position.
    halflife_days, warmup_days : EWMA half-life and warm-up of the ex-ante covariance.

    Inputs: ``curves[root]`` (front/next prices and expiries), ``index["VIX"]``, prices and
    adjusted prices of the future. Without ``root`` in the market, the market's only VIX future
    with a curve is traded (``"VIX"`` in the pysystemtrade sample). **Approximation** without
    ``index["VIX"]`` (real futures data carries no spot index): the VIX level is the front
    future's price, which sits above spot in contango, so the cut starts a little earlier.
    Output: one column (the traded id), exposure ≤ 0 (fraction of capital).
    Reference: Simon & Campasano (2014), J. Derivatives 21(3).
    """

    root: str = "VX"
    vix_ref: float = 20.0
    forecast_cap: float = 1.0
    roll_yield_min_days: int = 20
    vol_target_annual: float = 0.10
    halflife_days: float = 30.0
    warmup_days: int = 60

    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"instruments", "prices", "adjusted", "curves"}
    )
    required_kinds: ClassVar[frozenset[str]] = frozenset({_K.VIX_FUTURE.value})

    def traded_id(self, market: MarketData) -> str:
        """``root`` when the market has its curve and prices, else its only VIX future that
        has both; raises :class:`StrategyInputError` otherwise."""
        if self.root in market.curves and self.root in market.prices:
            return self.root
        found = [
            i for i in market.ids([_K.VIX_FUTURE]) if i in market.curves and i in market.prices
        ]
        usd = [i for i in found if market.instruments.at[i, "currency"] == "USD"]
        if len(usd) == 1:
            return usd[0]
        raise StrategyInputError(
            f"ShortVixFutures needs curves and prices for {self.root!r} (or a single USD VIX "
            f"future with a curve) in {market.name!r}"
        )

    def approximated(self, market: MarketData) -> str | None:
        """What is approximated on ``market`` (the VIX level from the front future), or None."""
        if "VIX" in market.index.columns:
            return None
        return "VIX level = front VIX future (no spot index in the data)"

    def forecast(self, market: MarketData) -> pd.Series:
        """Position size relative to a full-conviction short, in ``[0, forecast_cap]``."""
        ident = self.traded_id(market)
        front, nxt, e_front, e_next = curve_front_next(market.curves[ident])
        ry = vix_roll_yield(front, nxt, e_front, e_next)
        ref = expanding_positive_mean(ry, self.roll_yield_min_days)
        if self.approximated(market) is None:
            vix = market.index["VIX"].to_numpy(np.float64)
        else:
            vix = np.asarray(front, dtype=np.float64)
        size = short_vix_forecast(ry, vix, self.vix_ref, ref, self.forecast_cap)
        return pd.Series(size, index=market.calendar, name="forecast")

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure on the VIX future (dates × [root]), ≤ 0, fraction of capital."""
        size = self.forecast(market)
        ident = self.traded_id(market)
        price = market.prices[ident]
        short = pd.DataFrame({ident: np.where(price.notna(), -1.0, 0.0)}, index=market.calendar)
        returns = instrument_returns(market, [ident])
        unit = vol_target(
            short,
            market,
            self.vol_target_annual,
            self.halflife_days,
            self.warmup_days,
            returns=returns,
        )
        return unit.mul(size, axis=0)


@dataclass(frozen=True)
class _MonthlyOptionBook:
    """Shared parameters of the monthly option books (not registered itself)."""

    underlying: str = "SPX"
    moneyness: float = 1.0
    strike_step_points: float = 5.0

    required_fields: ClassVar[frozenset[str]] = frozenset({"index", "vol_surface", "rates"})
    required_kinds: ClassVar[frozenset[str]] = frozenset()

    def cycles(self, market: MarketData) -> tuple[OptionCycles, np.ndarray]:
        """The sale/expiry schedule and the strike of each cycle (points)."""
        _need_index(market, self, (self.underlying,))
        level = market.index[self.underlying].to_numpy(np.float64)
        tradable = np.isfinite(level) & np.isfinite(market.vol_surface.to_numpy()).all(axis=1)
        tradable &= np.isfinite(market.rates["USD"].to_numpy(np.float64))
        expiries = monthly_expiries(market.start, market.end)
        cyc = option_cycles(market.calendar, expiries, tradable)
        strikes = option_strike(level[cyc.sale_row], self.moneyness, self.strike_step_points)
        return cyc, strikes

    def approximated(self, market: MarketData) -> str | None:
        """What the market derived rather than read among the book's inputs (the index level,
        the vol surface, the USD rate: ``MarketData.approximations``), or None."""
        keys = (f"index.{self.underlying}", "vol_surface", "rates.USD")
        found = [k for k in keys if k in market.approximations]
        if not found:
            return None
        return f"options priced on {', '.join(found)} derived by the loader (see the data notes)"

    def options(self, market: MarketData, is_call: bool) -> tuple[list[IndexOption], OptionCycles]:
        cyc, strikes = self.cycles(market)
        opts = [
            IndexOption(self.underlying, e, float(k), is_call)
            for e, k in zip(cyc.expiry, strikes, strict=True)
        ]
        return opts, cyc


def _cycle_frame(market: MarketData, opts, cyc: OptionCycles, value: float) -> pd.DataFrame:
    """``value`` on each option's live rows ``[sale_row, end_row)``, 0 elsewhere."""
    out = np.zeros((len(market.calendar), len(opts)))
    for j, (a, b) in enumerate(zip(cyc.sale_row, cyc.end_row, strict=True)):
        out[a:b, j] = value
    return pd.DataFrame(out, index=market.calendar, columns=[o.id for o in opts])


def _roll_mask(n: int, cyc: OptionCycles) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[cyc.sale_row] = True
    return mask


@register("put_write")
@dataclass(frozen=True)
class PutWrite(_MonthlyOptionBook):
    """Collateralised one-month index put writing, CBOE PUT-index style.

    Economics: index puts are priced off an implied vol above the realised vol that follows and
    carry a crash premium; selling them monthly and holding to expiry harvests both, at the cost
    of equity-like losses in sell-offs. On each monthly expiry (third Friday, the previous NYSE
    session on a holiday; a cycle starts on the first trading day on or after it) a put expiring
    at the next monthly expiry is sold at strike ``moneyness × level`` rounded to
    ``strike_step_points``, held to its cash settlement at the expiry date's close, and rolled.
    Each monthly option is its own column (``"SPX-2024-03-15-P-4800"``): exposure
    ``-notional_fraction`` while live (from its sale up to the day before expiry), 0 from its
    expiry on. With ``moneyness <= 1`` the strike notional is at most the exposure, so the book
    is fully collateralised at ``notional_fraction = 1``.

    Parameters
    ----------
    underlying : index name in ``market.index`` (with ``{underlying}_DY`` if it pays dividends).
    moneyness : strike / index level at sale (1.0 = at the money).
    strike_step_points : strike grid, index points.
    notional_fraction : short underlying notional per unit of capital; with a vol target, its cap.
    vol_target_annual : ``None`` (default) for pure collateral sizing; otherwise each cycle's
        exposure is ``-min(notional_fraction, target / vol)``, ``vol`` the EWMA vol of the
        unit book's past returns at the sale date (:func:`strategies.vol_signals.sleeve_vol_scale`).
    halflife_days, warmup_days : of that EWMA vol estimate.

    On a futures-only market the index level, vol surface and rate may be derived by the loader
    (:meth:`approximated` names them; on the pysystemtrade sample: SPX from the SP500 future
    less carry, ATM vol from the VIX futures curve, which overstates it, and a zero rate).

    Output units: fraction of capital, on the underlying's notional. Reference: CBOE, *S&P 500
    PutWrite Index methodology*; Israelov & Nielsen (2015), JPM 41(4).
    """

    notional_fraction: float = 1.0
    vol_target_annual: float | None = None
    halflife_days: float = 60.0
    warmup_days: int = 60

    def unit_book(self, market: MarketData) -> tuple[pd.DataFrame, OptionCycles]:
        """Exposure -1 on each live put (dates × option ids) and the cycle schedule."""
        opts, cyc = self.options(market, is_call=False)
        return _cycle_frame(market, opts, cyc, -1.0), cyc

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per option id (dates × options sold), ≤ 0, fraction of capital."""
        unit, cyc = self.unit_book(market)
        if self.vol_target_annual is None:
            return unit * self.notional_fraction
        returns = option_book_returns(market, unit)
        p = book_returns(unit.to_numpy(), returns.to_numpy())
        scale = sleeve_vol_scale(
            p,
            self.vol_target_annual,
            self.halflife_days,
            self.warmup_days,
            self.notional_fraction,
            hold=_roll_mask(len(unit), cyc),
        )
        return unit.mul(scale, axis=0)


@register("short_straddle")
@dataclass(frozen=True)
class ShortStraddle(_MonthlyOptionBook):
    """One-month ATM straddles sold monthly, delta-hedged daily with index futures.

    Economics: a delta-hedged short straddle earns the gap between implied and realised variance
    (its P&L is about ``½ Γ S² (σ_implied² - σ_realised²) dt`` a day) with little equity beta,
    plus a short vega exposure that loses when implied vol jumps. On the PUT-index roll dates a
    put and a call at the same strike (``moneyness × level``, rounded) are sold and held to
    expiry. Each day:

    - each leg's cash gamma is capped at its sale-date level: its exposure is
      ``-min(1, Γ_0 S_0 / (Γ_t S_t))`` (``Γ S`` the per-notional gamma on the surface vol at its
      strike, ``0`` the sale date), so a fresh straddle is -1 per leg and the book is cut as
      an at-the-money option's gamma grows towards expiry (``∝ 1/√τ``), which keeps the
      daily P&L scale of the book steady through the cycle;
    - the hedge future's exposure is ``-Σ_i e_i Δ_i`` (:func:`backtest.market.pricing.bs_greeks`),
    so
      the book is delta-neutral at each close;
    - the whole book is scaled to ``vol_target_annual`` by the EWMA vol of its past returns
      (:func:`strategies.vol_signals.sleeve_vol_scale`), each leg capped at
      ``max_notional_fraction``.

    Parameters
    ----------
    underlying, moneyness, strike_step_points : as :class:`PutWrite`.
    hedge_id : the equity index future (or ETF) used for the delta hedge.
    vol_target_annual, halflife_days, slow_halflife_days, warmup_days : sizing; the vol estimate
        is the larger of a fast and a slow EWMA (short gamma: calm spells understate risk).
    max_notional_fraction : cap on each option leg's exposure.

    Output: option columns ≤ 0 and the hedge column, fraction of capital. Reference: Carr & Wu
    (2009), RFS 22(3); Bakshi & Kapadia (2003), "Delta-hedged gains and the negative market
    volatility risk premium", RFS 16(2).
    """

    hedge_id: str = "ES"
    vol_target_annual: float = 0.10
    halflife_days: float = 30.0
    slow_halflife_days: float | None = 250.0
    warmup_days: int = 60
    max_notional_fraction: float = 2.0

    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"instruments", "prices", "index", "vol_surface", "rates"}
    )
    required_kinds: ClassVar[frozenset[str]] = frozenset({_K.EQUITY_INDEX_FUTURE.value})

    def unit_book(self, market: MarketData) -> pd.DataFrame:
        """Constant-cash-gamma short legs plus the delta hedge (dates × option ids + hedge)."""
        if self.hedge_id not in market.prices:
            raise StrategyInputError(
                f"ShortStraddle hedges with {self.hedge_id!r}, which {market.name!r} lacks"
            )
        puts, cyc = self.options(market, is_call=False)
        calls, _ = self.options(market, is_call=True)
        opts = [o for pair in zip(puts, calls, strict=True) for o in pair]
        starts, ends = np.repeat(cyc.sale_row, 2), np.repeat(cyc.end_row, 2)
        live = np.zeros((len(market.calendar), len(opts)), dtype=bool)
        for j, (a, b) in enumerate(zip(starts, ends, strict=True)):
            live[a:b, j] = True
        paths = option_paths(market, opts, starts)
        level = market.index[self.underlying].to_numpy(np.float64)[:, None]
        cash_gamma = np.nan_to_num(paths.gamma) * level
        at_sale = cash_gamma[starts, np.arange(len(opts))]
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.minimum(1.0, at_sale / cash_gamma)
        legs = np.where(live & np.isfinite(size), -size, 0.0)
        hedge = -(legs * np.nan_to_num(paths.delta)).sum(axis=1)
        hedge = np.where(market.prices[self.hedge_id].notna(), hedge, 0.0)
        frame = pd.DataFrame(legs, index=market.calendar, columns=[o.id for o in opts])
        frame[self.hedge_id] = hedge
        return frame

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per option id and on the hedge future (dates × ids), fraction of capital."""
        unit = self.unit_book(market)
        returns = pd.concat(
            [option_book_returns(market, unit), instrument_returns(market, [self.hedge_id])],
            axis=1,
        )[unit.columns]
        p = book_returns(unit.to_numpy(), returns.to_numpy())
        scale = sleeve_vol_scale(
            p,
            self.vol_target_annual,
            self.halflife_days,
            self.warmup_days,
            np.inf,
            slow_halflife_days=self.slow_halflife_days,
        )
        sized = unit.mul(scale, axis=0)
        biggest = sized.drop(columns=[self.hedge_id]).abs().max(axis=1)
        cap = (self.max_notional_fraction / biggest).where(
            biggest > self.max_notional_fraction, 1.0
        )
        return sized.mul(cap, axis=0)


@register("vol_premium")
@dataclass(frozen=True)
class VolatilityPremium:
    """Short VIX futures and index put writing combined with equal risk, vol-targeted.

    Each sleeve's positions are divided by the EWMA vol of its own past returns (unit ex-ante
    vol: with two sleeves this is equal risk contribution whatever their correlation), averaged,
    and the average is scaled by ``vol_target_annual`` over the EWMA vol of its past returns
    (the diversification between the sleeves is then levered back up), gross capped at
    ``max_gross``. All estimates are causal (:func:`strategies.vol_signals.sleeve_vol_scale`).

    Parameters
    ----------
    short_vix, put_write : the sleeves (nested strategy parameters, swept with ``replace``).
    vol_target_annual : annualised volatility of the blend.
    halflife_days, warmup_days : of the EWMA vol estimates.
    max_gross : cap on the sum of absolute exposures.

    Legs the market cannot support are dropped and named by :meth:`notes` (put writing needs an
    index level, a vol surface and rates); the legs left share the risk equally. On the real
    futures sample both legs run on approximations, which :meth:`notes` names: short VIX reads
    the VIX level from the front future, put writing prices its options on the index level, vol
    surface and rate the loader derived from the SP500 and VIX futures
    (:mod:`backtest.market.proxies`).

    Output: the VIX future's column and one column per put sold, fraction of capital.
    Reference: Roncalli, *Introduction to Risk Parity and Budgeting* (2013), ch. 2.
    """

    short_vix: ShortVixFutures = field(default_factory=ShortVixFutures)
    put_write: PutWrite = field(default_factory=PutWrite)
    vol_target_annual: float = 0.10
    halflife_days: float = 30.0
    warmup_days: int = 60
    max_gross: float = 4.0

    required_fields: ClassVar[frozenset[str]] = ShortVixFutures.required_fields
    required_kinds: ClassVar[frozenset[str]] = ShortVixFutures.required_kinds

    def legs(self, market: MarketData) -> tuple[dict[str, object], dict[str, str]]:
        """``(legs that run on market, dropped leg -> reason)``: a leg runs when the market has
        what it needs (put writing needs an index level, a vol surface and rates)."""
        running, dropped = {}, {}
        for name, leg in (("short_vix", self.short_vix), ("put_write", self.put_write)):
            try:
                check_requirements(leg, market)
                if isinstance(leg, ShortVixFutures):
                    leg.traded_id(market)
                else:
                    _need_index(market, leg, (leg.underlying,))
            except StrategyInputError as exc:
                dropped[name] = str(exc)
            else:
                running[name] = leg
        return running, dropped

    def notes(self, market: MarketData) -> dict[str, str]:
        """Legs dropped on ``market`` and approximations used, leg -> text (for run reports)."""
        running, dropped = self.legs(market)
        out = {k: f"dropped: {v}" for k, v in dropped.items()}
        for name, leg in running.items():
            if why := leg.approximated(market):
                out[name] = f"approximated: {why}"
        return out

    def _scale(self, positions: pd.DataFrame, returns: pd.DataFrame, target: float, cap: float):
        p = book_returns(positions.to_numpy(), returns[positions.columns].to_numpy())
        return sleeve_vol_scale(p, target, self.halflife_days, self.warmup_days, cap)

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure on the VIX future and the puts (dates × ids), fraction of capital; legs the
        market cannot support are left out (:meth:`legs`), the others share the risk."""
        running, dropped = self.legs(market)
        if not running:
            raise StrategyInputError(f"no volatility premium leg can run: {dropped}")
        books = [leg.target_positions(market) for leg in running.values()]
        returns = pd.concat(
            [
                part
                for book in books
                for part in (
                    instrument_returns(market, [c for c in book if not is_option_id(c)]),
                    option_book_returns(market, book),
                )
            ],
            axis=1,
        )
        share = 1.0 / len(books)
        sleeves = [s.mul(share * self._scale(s, returns, 1.0, np.inf), axis=0) for s in books]
        blend = pd.concat(sleeves, axis=1)
        sized = blend.mul(self._scale(blend, returns, self.vol_target_annual, np.inf), axis=0)
        gross = sized.abs().sum(axis=1)
        cap = (self.max_gross / gross).where(gross > self.max_gross, 1.0)
        return sized.mul(cap, axis=0).fillna(0.0)
