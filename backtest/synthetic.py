"""A seeded synthetic market that needs no files and behaves like the real one (2005–2024 style).

``synthetic_market(seed, start, end, params)`` returns a :class:`backtest.market.MarketData` on
the NYSE calendar. One ``numpy`` generator per stage is spawned from ``seed`` in a fixed order,
so a seed always gives the same market (``MarketData.equals``). Time step ``dt = 1/252`` year
per trading day; "annual" means per year; rates and yields are annual decimals.

Model (parameter names in ``code``; groups are the dataclasses below)
----------------------------------------------------------------------
**Regimes** (:class:`RegimeParams`): a two-state semi-Markov chain, calm spells geometric with
mean ``calm_mean_years``, crisis spells uniform between ``crisis_min_months`` and
``crisis_max_months`` (21 trading days a month); ``ensure_crisis`` puts one crisis in a path that
drew none. Crash days arrive as a Bernoulli approximation of a Poisson process with
``crashes_per_year_calm`` / ``crashes_per_year_crisis``, log-jump ``-U(crash_size_range)``.

**Equity index** ``SPX`` (:class:`EquityParams`; level ``spx_start`` points before the first
day's return): Heston-style variance ``v``::

    d ln S = (r_USD + mu_s - q_bar - v/2) dt + sqrt(v) dW_S + J
    dv = kappa (theta_s - v) dt + xi_s sqrt(v) dW_v + c |J|,   corr(dW_S, dW_v) = rho_s

with ``mu_s`` = ``excess_drift_calm`` / ``excess_drift_crisis`` (annual excess of cash; in calm
plus ``recovery_rate`` × the log drawdown from the running peak, so markets recover after crises),
``q_bar`` = ``dividend_yield``, ``kappa`` = ``variance_reversion`` (1/yr), ``sqrt(theta_s)`` =
``long_run_vol_calm`` / ``long_run_vol_crisis``, ``xi_s`` = ``vol_of_variance_calm`` /
``vol_of_variance_crisis``, ``rho_s`` = ``leverage_calm`` / ``leverage_crisis``, ``c`` =
``crash_variance_per_jump`` (variance per unit of log-jump), ``v`` floored at ``vol_floor``²,
started at ``vol_start``². ``SPX_DY`` = ``dividend_yield`` × exp(OU noise,
``dividend_yield_noise``/``dividend_yield_reversion``) × (EWMA(S)/S)^``dividend_price_elasticity``
(EWMA half-life ``dividend_halflife_days``), clipped to ``dividend_yield_bounds``. Secondary indices
(:class:`IndexSpec`): log return = ``beta`` × SPX log return + ``idio_vol`` noise + dividend-yield
difference; their yield is ``dividend_yield`` × SPX_DY / SPX's mean.

**Implied vol** (:class:`VolParams`): risk-neutral variance reverts at ``reversion_q`` (1/yr) to
``long_run_vol_q``² and carries a multiplicative premium ``P = variance_premium`` × exp(OU noise)::

    atm(tau)^2 = P [theta_Q + (v - theta_Q) (1 - e^{-kappa_Q tau}) / (kappa_Q tau)]

at :data:`~backtest.market.SURFACE_TENORS_YEARS`; ``VIX = 100 atm(30/365)`` (the smile's
contribution to the variance swap, ~0.1 vol point, is neglected). Surface (the model of
:func:`backtest.pricing.surface_vol`): ``vol = atm(tau) (1 + skew m + curvature m^2)``, ``m =
ln(K/F)/sqrt(tau)``, floored at 0.01. ``skew = -skew_level / atm_1m`` × noise (clipped to
``skew_bounds``): about -1.1 at 17% vol and -0.45 at 40%, so the 90% 1-month put is ~5–9 vol
points over ATM whatever the level (relative skew steeper in calm); ``curvature`` × noise.
In these ``m`` units a skew of -0.1 would be an almost flat smile. The premium, skew and
curvature noises are OU processes in logs (``*_noise_reversion`` 1/yr, ``*_noise_vol`` annual).
VIX futures (``VX``): ``F = V_bar + (VIX - V_bar) e^{-kappa_Q tau}`` with ``V_bar = 100 sqrt(P
theta_Q)`` above the average VIX: contango when VIX < ``V_bar``, backwardation when it spikes.

**Rates** (:class:`RatesParams`, :class:`CurrencySpec`): a global cycle ``g`` (from
``global_start``) reverting to ``calm_target`` at ``calm_reversion`` in calm and to
``crisis_target`` at ``crisis_reversion`` in crisis (cuts), vol ``global_vol``; currency ``c``:
``r_c = max(rate_spread + rate_beta g + u_c, floor)`` with local OU ``u_c`` (``local_reversion``,
``local_vol``). The market expects ``g`` to revert to ``market_long_run`` at
``market_reversion`` and ``u_c`` to 0. Zero yield of maturity ``h``: average expected short rate
over ``h`` + (``term_premium`` + ``x_c``)(1 - e^{-h/term_premium_scale_years}), ``x_c`` an OU
term-premium factor (``term_reversion``, ``term_vol``; a ``term_common_share`` of its variance
is common across currencies and correlated ``term_equity_corr`` with equity shocks; level
``term_crisis_level`` in crisis: flight to quality). Rates are ACT/360 money-market rates.

**FX** (:class:`FxParams`): for each non-USD currency (USD per unit)::

    d ln X_c = (l_c b lambda_J - k (r_c - r_USD)) dt + s (D + l_c C + e_c) + l_c b J - var/2

``k`` = ``uip_coefficient`` (< 1: carry earns ``(1-k)`` × the rate differential), dollar factor
``D`` (``dollar_vol``, ``dollar_equity_corr``), carry factor ``C`` (``carry_vol``, correlation
with equity shocks ``carry_equity_corr_calm`` / ``carry_equity_corr_crisis``) loaded by ``l_c``
= the cross-sectional z-score of yesterday's rate differential (clipped ±2, dispersion floored
at ``loading_min_dispersion``), idiosyncratic ``e_c`` (``CurrencySpec.fx_vol``), ``s`` =
``crisis_vol_multiplier`` in crisis; on crash days ``b`` = ``carry_crash_beta`` makes high-rate
currencies fall and JPY/CHF rise; the drift ``l_c b lambda_J`` pays that crash risk on average
(``lambda_J`` = the expected log-jump per year implied by :class:`RegimeParams`).

**Commodities** (:class:`CommodityParams`, :class:`CommoditySpec`): log spot = trend (start
``spot``, growth ``trend_growth`` a year) + a deviation ``x`` reverting at ``price_reversion``
(1/yr) with shocks of ``vol`` (× ``crisis_vol_multiplier`` in crisis), correlation
``equity_corr`` with equity shocks, ``common_share`` of a common factor, ``crash_beta`` × crash
jumps, and drift ``r_USD - mean_yield + premium - crash_beta lambda_J``, ``premium`` =
``premium_calm`` / ``premium_crisis`` (annual). Convenience yield ``y = mean_yield +
price_reversion x + e`` with ``e`` OU (``yield_vol``, ``yield_reversion``, ``yield_spot_corr``
with the spot shock): backwardation when prices are high, contango when low. Futures
``F = S e^{(r_USD - y) tau}``; a rolled position earns about ``premium + e`` (carry pays).

**Stocks** (:class:`UniverseParams`): total log return = r dt + beta (market total excess
return) + ``industry_vol`` industry factor + idiosyncratic vol, both scaled by
sqrt(index vol / ``reference_vol``); ``n_stocks`` ids ``EQ001``.., ``industries`` assigned in
turn, beta, idiosyncratic vol (annual), start price (USD) and dividend yield (annual, payers
only; ``non_payer_share`` pay none) drawn uniformly from the ``*_range`` pairs; quarterly
ex-dates (every 63 sessions, staggered), the price drops by the dividend (yield/4 of the
pre-dividend price). ``n_late_listings`` stocks list between 5% and 70% of the sample (NaN
prices before); ``illiquid_share`` of the stocks are marked illiquid.

**Instruments** (default: 48 + 120 stocks): ``TBILL-3M``, ``MMF``, ``SPY``; equity index
futures ``ES NQ RTY FESX FDAX Z`` (indices ``SPX NDX RUT SX5E DAX UKX`` with ``_DY`` columns);
bond futures ``ZT ZF ZN ZB FGBS FGBM FGBL R CGB``; rate futures ``SR3 FEI SO3``; forwards
``FWD-XXX-1M`` for EUR JPY GBP CHF AUD NZD CAD SEK NOK; currency futures ``6E 6J 6B 6A 6C 6S
6N``; commodity futures ``CL NG HO GC SI HG ZC ZS ZW LE`` and ``VX`` (Subsidiary only). Their
listings (:class:`ContractSpec`: multiplier, exchange, country, months, expiry rule) live in
``EquityParams.indices``, ``RatesParams.bond_futures`` / ``rate_futures``, ``FxParams.futures``,
``CommodityParams.specs`` and ``VolParams.vix_future``.

Contracts and conventions
-------------------------
Every futures root is priced by one closed form of ``tau`` (calendar days to expiry / 365) so a
contract's price is continuous day to day; the held contract is the front until
``roll_days_before_expiry`` trading days before its expiry, then the next (``carry`` = ``forward``
= the next contract; ids ``YYYYMMDD`` of the expiry day). ``adjusted`` is the Panama series.

- equity index futures: ``S e^{(r - q) tau}`` (as :meth:`MarketData.index_forward`);
- currency forwards ``FWD-XXX-1M`` and currency futures: covered interest parity with simple
  ACT/360 rates, ``X (1 + r_USD d/360) / (1 + r_c d/360)``, ``d`` = ``FxParams.forward_days`` (30)
  for forwards, calendar days to expiry for futures;
- bond futures: a ``bond_coupon`` semi-annual bond of ``maturity_years`` priced at the *forward*
  yield from expiry to expiry + maturity (upward curve → nearer contract higher → positive
  roll-down carry); ``rate futures``: ``100 - 100 (E[r at expiry] + futures_term_premium tau)``;
- ``TBILL-3M``: accrual index from 100 at the USD rate, ACT/360; ``MMF``: 1.0; ``SPY`` = SPX/10
  with quarterly dividends (SPX_DY accrued, ex on the 3rd Friday of Mar/Jun/Sep/Dec);
- benchmarks: ``equity_index`` = SPX total return from 100; ``bond_index``: a
  ``bond_index_duration``-year duration portfolio earning the USD ``bond_index_maturity_years``
  zero yield, return ``y dt - duration Δy``, from 100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backtest import synthetic_models as sm
from backtest.instruments import (
    ETF,
    BondFuture,
    CommodityFuture,
    CurrencyForward,
    CurrencyFuture,
    Equity,
    EquityIndexFuture,
    Instrument,
    Liquidity,
    MoneyMarket,
    RateFuture,
    TBill,
    VIXFuture,
    instruments_table,
)
from backtest.market import (
    CURVE_COLUMNS,
    SURFACE_COLUMNS,
    SURFACE_TENORS_YEARS,
    MarketData,
    xnys_calendar,
)
from backtest.synthetic_models import ExpiryRule

QUARTERLY = (3, 6, 9, 12)
PriceFn = Callable[[np.ndarray], np.ndarray]  # tau_years (n,) -> contract price on each day
MONTHLY = tuple(range(1, 13))
R = ExpiryRule


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """Listing of a futures root: ``multiplier`` (currency per point), exchange (ISG member),
    ISO ``country``, contract ``months``, expiry ``rule`` (``day`` for the day-of-month rules) and
    ``underlying`` (the foreign currency of a currency future)."""

    root: str
    currency: str
    multiplier: float
    exchange: str
    country: str
    months: tuple[int, ...] = QUARTERLY
    rule: ExpiryRule = ExpiryRule.THIRD_FRIDAY
    day: int = 1
    underlying: str = ""


@dataclass(frozen=True, slots=True)
class CurrencySpec:
    """A currency: ISO ``code``, ``country``, start ``spot_usd`` (USD per unit), short rate
    ``rate_spread`` + ``rate_beta`` × global cycle (annual decimals), idiosyncratic ``fx_vol``."""

    code: str
    country: str
    spot_usd: float
    rate_spread: float
    rate_beta: float
    fx_vol: float


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An equity index with its future: start ``level`` (points), ``beta`` to SPX log returns,
    annual ``idio_vol``, mean ``dividend_yield``. The first spec must be SPX (beta 1, no noise)."""

    name: str
    level: float
    beta: float
    idio_vol: float
    dividend_yield: float
    contract: ContractSpec


@dataclass(frozen=True, slots=True)
class BondFutureSpec:
    """A bond future on a ``maturity_years`` bond of the contract's currency."""

    contract: ContractSpec
    maturity_years: float


@dataclass(frozen=True, slots=True)
class CommoditySpec:
    """A commodity future: start ``spot`` (price units), annual ``vol``, futures premium in
    crisis ``premium_crisis`` (annual; negative for energy and metals), ``equity_corr``,
    ``crash_beta`` (log move per unit equity crash jump), convenience yield ``mean_yield`` and its
    OU vol ``yield_vol`` (annual decimals)."""

    contract: ContractSpec
    spot: float
    vol: float
    premium_crisis: float
    equity_corr: float
    crash_beta: float
    mean_yield: float
    yield_vol: float


def _c(root, ccy, mult, exch, country, months=QUARTERLY, rule=R.THIRD_FRIDAY, day=1, und=""):
    return ContractSpec(root, ccy, float(mult), exch, country, months, rule, day, und)


DEFAULT_CURRENCIES = (
    CurrencySpec("USD", "US", 1.0, 0.0, 1.0, 0.0),
    CurrencySpec("EUR", "EU", 1.35, -0.004, 0.85, 0.055),
    CurrencySpec("JPY", "JP", 0.0097, 0.0, 0.12, 0.07),
    CurrencySpec("GBP", "GB", 1.90, 0.004, 1.0, 0.055),
    CurrencySpec("CHF", "CH", 0.87, -0.005, 0.45, 0.06),
    CurrencySpec("AUD", "AU", 0.78, 0.025, 0.8, 0.065),
    CurrencySpec("NZD", "NZ", 0.71, 0.03, 0.8, 0.07),
    CurrencySpec("CAD", "CA", 0.83, 0.002, 0.9, 0.05),
    CurrencySpec("SEK", "SE", 0.148, -0.003, 0.8, 0.06),
    CurrencySpec("NOK", "NO", 0.162, 0.008, 0.85, 0.065),
)
DEFAULT_INDICES = (
    IndexSpec("SPX", 1200.0, 1.0, 0.0, 0.02, _c("ES", "USD", 50, "CME", "US")),
    IndexSpec("NDX", 1620.0, 1.15, 0.10, 0.008, _c("NQ", "USD", 20, "CME", "US")),
    IndexSpec("RUT", 650.0, 1.15, 0.09, 0.013, _c("RTY", "USD", 50, "CME", "US")),
    IndexSpec("SX5E", 2950.0, 0.95, 0.13, 0.032, _c("FESX", "EUR", 10, "EUREX", "DE")),
    IndexSpec("DAX", 4250.0, 1.0, 0.13, 0.025, _c("FDAX", "EUR", 25, "EUREX", "DE")),
    IndexSpec("UKX", 4800.0, 0.8, 0.11, 0.035, _c("Z", "GBP", 10, "ICEEU", "GB")),
)
_FNOT, _EUREX = R.PRIOR_MONTH_END, dict(rule=R.MONTH_DAY, day=8)
DEFAULT_BOND_FUTURES = (
    BondFutureSpec(_c("ZT", "USD", 2000, "CBOT", "US", rule=_FNOT), 2.0),
    BondFutureSpec(_c("ZF", "USD", 1000, "CBOT", "US", rule=_FNOT), 5.0),
    BondFutureSpec(_c("ZN", "USD", 1000, "CBOT", "US", rule=_FNOT), 10.0),
    BondFutureSpec(_c("ZB", "USD", 1000, "CBOT", "US", rule=_FNOT), 20.0),
    BondFutureSpec(_c("FGBS", "EUR", 1000, "EUREX", "DE", **_EUREX), 2.0),
    BondFutureSpec(_c("FGBM", "EUR", 1000, "EUREX", "DE", **_EUREX), 5.0),
    BondFutureSpec(_c("FGBL", "EUR", 1000, "EUREX", "DE", **_EUREX), 10.0),
    BondFutureSpec(_c("R", "GBP", 1000, "ICEEU", "GB", rule=_FNOT), 10.0),
    BondFutureSpec(_c("CGB", "CAD", 1000, "MONTREAL", "CA", rule=_FNOT), 10.0),
)
DEFAULT_RATE_FUTURES = (
    _c("SR3", "USD", 2500, "CME", "US", rule=R.THIRD_WEDNESDAY),
    _c("FEI", "EUR", 2500, "ICEEU", "GB", rule=R.IMM_MONDAY),
    _c("SO3", "GBP", 2500, "ICEEU", "GB", rule=R.THIRD_WEDNESDAY),
)
DEFAULT_FX_FUTURES = tuple(
    _c(root, "USD", mult, "CME", "US", rule=R.IMM_MONDAY, und=ccy)
    for root, ccy, mult in (
        ("6E", "EUR", 125_000), ("6J", "JPY", 12_500_000), ("6B", "GBP", 62_500),
        ("6A", "AUD", 100_000), ("6C", "CAD", 100_000), ("6S", "CHF", 125_000),
        ("6N", "NZD", 100_000),
    )
)  # fmt: skip
_ODD, _HG = (2, 4, 6, 8, 10, 12), (3, 5, 7, 9, 12)
DEFAULT_COMMODITIES = (
    CommoditySpec(_c("CL", "USD", 1000, "NYMEX", "US", MONTHLY, R.PRIOR_MONTH_DAY, 20),
                  43.0, 0.33, -0.3, 0.35, 1.0, 0.02, 0.10),
    CommoditySpec(_c("NG", "USD", 10000, "NYMEX", "US", MONTHLY, R.PRIOR_MONTH_DAY, 26),
                  6.2, 0.35, -0.15, 0.10, 0.3, -0.01, 0.15),
    CommoditySpec(_c("HO", "USD", 42000, "NYMEX", "US", MONTHLY, _FNOT),
                  1.25, 0.30, -0.25, 0.30, 0.9, 0.02, 0.08),
    CommoditySpec(_c("GC", "USD", 100, "COMEX", "US", _ODD, _FNOT),
                  430.0, 0.17, 0.10, 0.0, -0.2, 0.002, 0.006),
    CommoditySpec(_c("SI", "USD", 5000, "COMEX", "US", _HG, _FNOT),
                  6.8, 0.28, 0.0, 0.20, 0.4, 0.001, 0.008),
    CommoditySpec(_c("HG", "USD", 25000, "COMEX", "US", _HG, _FNOT),
                  1.45, 0.26, -0.3, 0.35, 0.8, 0.025, 0.07),
    CommoditySpec(_c("ZC", "USD", 50, "CBOT", "US", _HG, R.MONTH_DAY, 14),
                  200.0, 0.25, -0.05, 0.15, 0.2, -0.01, 0.10),
    CommoditySpec(_c("ZS", "USD", 50, "CBOT", "US", (1, 3, 5, 7, 8, 9, 11), R.MONTH_DAY, 14),
                  550.0, 0.22, -0.05, 0.15, 0.2, 0.01, 0.09),
    CommoditySpec(_c("ZW", "USD", 50, "CBOT", "US", _HG, R.MONTH_DAY, 14),
                  310.0, 0.28, -0.05, 0.10, 0.2, -0.03, 0.09),
    CommoditySpec(_c("LE", "USD", 400, "CME", "US", _ODD, R.MONTH_END),
                  88.0, 0.15, -0.05, 0.10, 0.2, 0.03, 0.07),
)  # fmt: skip
INDUSTRIES = (
    "Technology", "Financials", "Health Care", "Consumer Discretionary", "Consumer Staples",
    "Industrials", "Energy", "Materials", "Utilities", "Real Estate", "Communication Services",
    "Transportation",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """Calm/crisis chain and crash days (see the module docstring; units in the names)."""

    calm_mean_years: float = 7.0
    crisis_min_months: float = 3.0
    crisis_max_months: float = 15.0
    ensure_crisis: bool = True
    crashes_per_year_calm: float = 0.25
    crashes_per_year_crisis: float = 3.0
    crash_size_range: tuple[float, float] = (0.04, 0.10)


@dataclass(frozen=True, slots=True)
class EquityParams:
    """SPX stochastic volatility, drift and dividend yield; secondary ``indices`` (SPX first)."""

    spx_start: float = 1200.0
    excess_drift_calm: float = 0.07
    excess_drift_crisis: float = -0.12
    recovery_rate: float = 0.5
    vol_start: float = 0.13
    long_run_vol_calm: float = 0.14
    long_run_vol_crisis: float = 0.28
    variance_reversion: float = 5.0
    vol_of_variance_calm: float = 0.35
    vol_of_variance_crisis: float = 0.6
    leverage_calm: float = -0.7
    leverage_crisis: float = -0.8
    crash_variance_per_jump: float = 1.0
    vol_floor: float = 0.06
    dividend_yield: float = 0.02
    dividend_yield_reversion: float = 1.0
    dividend_yield_noise: float = 0.15
    dividend_halflife_days: float = 126.0
    dividend_price_elasticity: float = 0.6
    dividend_yield_bounds: tuple[float, float] = (0.01, 0.045)
    indices: tuple[IndexSpec, ...] = DEFAULT_INDICES


@dataclass(frozen=True, slots=True)
class VolParams:
    """Risk-neutral variance, premium, smile and the VIX future listing."""

    variance_premium: float = 1.25
    long_run_vol_q: float = 0.20
    reversion_q: float = 3.0
    premium_noise_reversion: float = 10.0
    premium_noise_vol: float = 0.45
    skew_level: float = 0.18
    skew_noise_reversion: float = 5.0
    skew_noise_vol: float = 0.3
    skew_bounds: tuple[float, float] = (-1.6, -0.05)
    curvature: float = 0.5
    curvature_noise_reversion: float = 5.0
    curvature_noise_vol: float = 0.3
    vix_future: ContractSpec = _c("VX", "USD", 1000, "CFE", "US", MONTHLY, R.VIX)


@dataclass(frozen=True, slots=True)
class RatesParams:
    """Short-rate cycle, market expectations, term premia, bond/rate futures, bond index."""

    global_start: float = 0.022
    calm_target: float = 0.045
    calm_reversion: float = 0.35
    crisis_target: float = -0.002
    crisis_reversion: float = 2.5
    global_vol: float = 0.006
    local_reversion: float = 0.5
    local_vol: float = 0.004
    floor: float = -0.0075
    market_long_run: float = 0.03
    market_reversion: float = 0.3
    futures_term_premium: float = 0.002
    term_premium: float = 0.015
    term_premium_scale_years: float = 4.0
    term_reversion: float = 0.5
    term_vol: float = 0.007
    term_common_share: float = 0.6
    term_equity_corr: float = 0.3
    term_crisis_level: float = -0.005
    bond_coupon: float = 0.06
    bond_index_maturity_years: float = 6.0
    bond_index_duration: float = 6.0
    bond_futures: tuple[BondFutureSpec, ...] = DEFAULT_BOND_FUTURES
    rate_futures: tuple[ContractSpec, ...] = DEFAULT_RATE_FUTURES


@dataclass(frozen=True, slots=True)
class FxParams:
    """FX factors, UIP failure, forwards tenor and the currency futures listed."""

    uip_coefficient: float = 0.4
    dollar_vol: float = 0.06
    dollar_equity_corr: float = 0.2
    carry_vol: float = 0.04
    carry_equity_corr_calm: float = 0.2
    carry_equity_corr_crisis: float = 0.5
    carry_crash_beta: float = 0.5
    crisis_vol_multiplier: float = 1.6
    loading_min_dispersion: float = 0.01
    forward_days: int = 30
    futures: tuple[ContractSpec, ...] = DEFAULT_FX_FUTURES


@dataclass(frozen=True, slots=True)
class CommodityParams:
    """Shared commodity dynamics and the per-root ``specs``."""

    premium_calm: float = 0.03
    trend_growth: float = 0.02
    price_reversion: float = 0.3
    common_share: float = 0.3
    crisis_vol_multiplier: float = 1.4
    yield_reversion: float = 1.5
    yield_spot_corr: float = 0.3
    specs: tuple[CommoditySpec, ...] = DEFAULT_COMMODITIES


@dataclass(frozen=True, slots=True)
class UniverseParams:
    """The single-stock universe ``EQ001``..: sizes, ranges (annual decimals, USD prices)."""

    n_stocks: int = 120
    industries: tuple[str, ...] = INDUSTRIES
    beta_range: tuple[float, float] = (0.6, 1.5)
    idio_vol_range: tuple[float, float] = (0.15, 0.35)
    industry_vol: float = 0.10
    reference_vol: float = 0.16
    start_price_range: tuple[float, float] = (20.0, 200.0)
    dividend_yield_range: tuple[float, float] = (0.005, 0.04)
    non_payer_share: float = 0.15
    n_late_listings: int = 10
    illiquid_share: float = 0.05


@dataclass(frozen=True, slots=True)
class SyntheticParams:
    """Every parameter of the synthetic market, grouped; sweep with ``dataclasses.replace``."""

    regime: RegimeParams = field(default_factory=RegimeParams)
    equity: EquityParams = field(default_factory=EquityParams)
    vol: VolParams = field(default_factory=VolParams)
    rates: RatesParams = field(default_factory=RatesParams)
    fx: FxParams = field(default_factory=FxParams)
    commodity: CommodityParams = field(default_factory=CommodityParams)
    universe: UniverseParams = field(default_factory=UniverseParams)
    currencies: tuple[CurrencySpec, ...] = DEFAULT_CURRENCIES
    roll_days_before_expiry: int = 5


_STAGES = ("regimes", "rates", "equity", "volatility", "fx", "indices", "commodities", "stocks",
           "futures", "frames")  # fmt: skip
_N_STREAMS = 8  # random streams spawned from the seed, one per simulated stage, in stage order


@dataclass(frozen=True, slots=True)
class _Paths:
    """Every simulated path, time on axis 0 (see the ``simulate_*`` functions for shapes)."""

    drivers: sm.Drivers
    rates: sm.RatePaths
    equity: sm.EquityPaths
    vol: sm.VolPaths
    fx: np.ndarray  # (n, k-1) USD per unit, currencies after USD
    index_level: np.ndarray  # (n, m) secondary indices
    index_yield: np.ndarray
    commodity_spot: np.ndarray  # (n, c)
    commodity_yield: np.ndarray
    stocks: sm.StockPaths


def synthetic_market(
    seed: int = 7,
    start: str | pd.Timestamp = "2005-01-03",
    end: str | pd.Timestamp = "2024-12-31",
    params: SyntheticParams | None = None,
    progress: bool = False,
) -> MarketData:
    """The seeded synthetic market on the NYSE calendar from ``start`` to ``end`` (inclusive).

    Parameters
    ----------
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives an equal market.
    start, end : date-like
        First and last calendar date (sessions in between come from ``exchange_calendars``).
    params : SyntheticParams, optional
        Model parameters (defaults when None); see the module docstring.
    progress : bool
        Show a tqdm progress bar over the generation stages.

    Returns
    -------
    MarketData
        Instruments (cash, SPY, equity index / bond / rate / currency / commodity / VIX futures,
        1-month currency forwards, single stocks), prices, curves, adjusted series, fx, rates,
        index levels, vol surface, dividends and benchmarks.
    """
    from tqdm.auto import tqdm

    p = SyntheticParams() if params is None else params
    if not p.currencies or p.currencies[0].code != "USD":
        raise ValueError("SyntheticParams.currencies must start with USD")
    if not p.equity.indices or p.equity.indices[0].name != "SPX":
        raise ValueError("EquityParams.indices must start with SPX")
    calendar = xnys_calendar(start, end)
    n = len(calendar)
    if n < 2:
        raise ValueError(f"synthetic_market needs at least 2 trading days, got {n}")
    streams = iter(np.random.default_rng(seed).spawn(_N_STREAMS))
    with tqdm(total=len(_STAGES), desc="synthetic market", disable=not progress) as bar:

        def done(stage: str) -> None:
            bar.set_postfix_str(stage, refresh=False)
            bar.update(1)

        drivers = sm.simulate_drivers(next(streams), n, p.regime)
        done("regimes")
        rates = sm.simulate_rates(next(streams), drivers, p.rates, p.currencies)
        done("rates")
        eq = sm.simulate_equity(next(streams), drivers, rates.short[:, 0], p.equity)
        done("equity")
        vol = sm.simulate_vol(next(streams), eq, np.asarray(SURFACE_TENORS_YEARS), p.vol)
        done("volatility")
        spot0 = np.array([c.spot_usd for c in p.currencies[1:]])
        idio = np.array([c.fx_vol for c in p.currencies[1:]])
        fx = sm.simulate_fx(next(streams), drivers, rates, p.fx, spot0, idio)
        done("fx")
        others = p.equity.indices[1:]
        levels, yields = sm.simulate_indices(next(streams), eq, others, p.equity.dividend_yield)
        done("indices")
        spot, cy = sm.simulate_commodities(
            next(streams), drivers, rates.short[:, 0], p.commodity.specs, p.commodity
        )
        done("commodities")
        stocks = sm.simulate_stocks(next(streams), eq, rates.short[:, 0], p.universe)
        done("stocks")
        paths = _Paths(drivers, rates, eq, vol, fx, levels, yields, spot, cy, stocks)
        curves, adjusted = _futures(calendar, paths, p)
        done("futures")
        market = _assemble(calendar, paths, p, curves, adjusted, f"synthetic(seed={seed})")
        done("frames")
    return market


# ----------------------------------------------------------------------------- futures
def _pricers(paths: _Paths, p: SyntheticParams) -> list[tuple[ContractSpec, PriceFn]]:
    """(listing, price(tau_years) -> (n,) prices) for every futures root, in table order."""
    codes = [c.code for c in p.currencies]
    rates = paths.rates
    short = rates.short
    out: list[tuple[ContractSpec, PriceFn]] = []

    def index_future(level, q, r):
        return lambda tau: level * np.exp((r - q) * tau)

    def bond_future(j, maturity):
        return lambda tau: sm.bond_price(
            p.rates.bond_coupon, maturity, rates.forward_yield(j, tau, maturity)
        )

    def rate_future(j):
        return lambda tau: (
            100.0 - 100.0 * (rates.expected(j, tau) + p.rates.futures_term_premium * tau)
        )

    def fx_future(spot, r_foreign):
        return lambda tau: sm.cip_forward(spot, short[:, 0], r_foreign, tau * 365.0)

    def commodity_future(spot, y):
        return lambda tau: spot * np.exp((short[:, 0] - y) * tau)

    def vix_future(vix, long_run, kappa):
        return lambda tau: long_run + (vix - long_run) * np.exp(-kappa * tau)

    eq = paths.equity
    for i, spec in enumerate(p.equity.indices):
        r = short[:, codes.index(spec.contract.currency)]
        level, q = (
            (eq.level, eq.dividend_yield)
            if i == 0
            else (paths.index_level[:, i - 1], paths.index_yield[:, i - 1])
        )
        out.append((spec.contract, index_future(level, q, r)))
    for b in p.rates.bond_futures:
        out.append((b.contract, bond_future(codes.index(b.contract.currency), b.maturity_years)))
    for c in p.rates.rate_futures:
        out.append((c, rate_future(codes.index(c.currency))))
    for c in p.fx.futures:
        j = codes.index(c.underlying)
        out.append((c, fx_future(paths.fx[:, j - 1], short[:, j])))
    for k, s in enumerate(p.commodity.specs):
        out.append(
            (s.contract, commodity_future(paths.commodity_spot[:, k], paths.commodity_yield[:, k]))
        )
    out.append((p.vol.vix_future, vix_future(paths.vol.vix, paths.vol.vix_long_run,
                                             p.vol.reversion_q)))  # fmt: skip
    return out


def _futures(
    calendar: pd.DatetimeIndex, paths: _Paths, p: SyntheticParams
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """Curves (pysystemtrade multiple-prices shape) and Panama series for every root."""
    days = calendar.to_numpy().astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    curves, adjusted = {}, {}
    for spec, price_fn in _pricers(paths, p):
        expiries = sm.contract_expiries(spec.months, spec.rule, spec.day, years[0], years[-1] + 3)
        cols, adjusted[spec.root] = sm.curve_columns(
            days, expiries, p.roll_days_before_expiry, price_fn
        )
        curves[spec.root] = pd.DataFrame(cols, index=calendar)[list(CURVE_COLUMNS)]
    return curves, adjusted


# ----------------------------------------------------------------------------- assembly
def _instruments(p: SyntheticParams, stocks: sm.StockPaths) -> list[Instrument]:
    def kw(c: ContractSpec) -> dict:
        return dict(currency=c.currency, multiplier=c.multiplier, exchange=c.exchange,
                    country=c.country)  # fmt: skip

    out = [TBill(exchange="OTC"), MoneyMarket(exchange="OTC"), ETF("SPY")]
    out += [EquityIndexFuture(s.contract.root, **kw(s.contract)) for s in p.equity.indices]
    out += [BondFuture(b.contract.root, **kw(b.contract)) for b in p.rates.bond_futures]
    out += [RateFuture(c.root, **kw(c)) for c in p.rates.rate_futures]
    out += [CurrencyForward(c.code, country=c.country) for c in p.currencies[1:]]
    out += [CurrencyFuture(c.root, **kw(c)) for c in p.fx.futures]
    out += [CommodityFuture(s.contract.root, **kw(s.contract)) for s in p.commodity.specs]
    out.append(VIXFuture(p.vol.vix_future.root, **kw(p.vol.vix_future)))
    u = p.universe
    for i in range(u.n_stocks):
        liq = Liquidity.ILLIQUID if stocks.illiquid[i] else Liquidity.LIQUID
        out.append(Equity(_stock_id(i), industry=u.industries[stocks.industry[i]], liquidity=liq))
    return out


def _stock_id(i: int) -> str:
    return f"EQ{i + 1:03d}"


def _assemble(
    calendar: pd.DatetimeIndex,
    paths: _Paths,
    p: SyntheticParams,
    curves: dict[str, pd.DataFrame],
    adjusted: dict[str, np.ndarray],
    name: str,
) -> MarketData:
    n = len(calendar)
    days = np.zeros(n)
    days[1:] = np.diff(calendar.asi8) / 86_400e9
    codes = [c.code for c in p.currencies]
    rates, eq, vol = paths.rates, paths.equity, paths.vol
    r_usd = rates.short[:, 0]
    table = instruments_table(_instruments(p, paths.stocks))

    prices: dict[str, np.ndarray] = {}
    growth = np.concatenate([[1.0], 1.0 + r_usd[:-1] * days[1:] / 360.0])
    prices["TBILL-3M"] = 100.0 * np.cumprod(growth)
    prices["MMF"] = np.ones(n)
    prices["SPY"] = eq.level / 10.0
    for root, curve in curves.items():
        prices[root] = curve["price"].to_numpy()
    for j, code in enumerate(codes[1:], start=1):
        prices[f"FWD-{code}-1M"] = sm.cip_forward(
            paths.fx[:, j - 1], r_usd, rates.short[:, j], p.fx.forward_days
        )
    stock_ids = [_stock_id(i) for i in range(p.universe.n_stocks)]
    prices.update(zip(stock_ids, paths.stocks.prices.T, strict=True))
    prices_df = pd.DataFrame(prices, index=calendar)[list(table.index)]

    index = {"SPX": eq.level, "SPX_DY": eq.dividend_yield, "VIX": vol.vix}
    for j, spec in enumerate(p.equity.indices[1:]):
        index[spec.name] = paths.index_level[:, j]
        index[f"{spec.name}_DY"] = paths.index_yield[:, j]
    surface = np.column_stack([vol.atm, vol.skew, vol.curvature])
    dividends = dict(zip(stock_ids, paths.stocks.dividends.T, strict=True))
    dividends["SPY"] = _spy_dividends(calendar, eq, days)
    return MarketData(
        calendar=calendar,
        instruments=table,
        prices=prices_df,
        adjusted=pd.DataFrame(adjusted, index=calendar),
        curves=curves,
        fx=pd.DataFrame(np.column_stack([np.ones(n), paths.fx]), index=calendar, columns=codes),
        rates=pd.DataFrame(rates.short, index=calendar, columns=codes),
        index=pd.DataFrame(index, index=calendar),
        vol_surface=pd.DataFrame(surface, index=calendar, columns=list(SURFACE_COLUMNS)),
        dividends=pd.DataFrame(dividends, index=calendar),
        benchmarks=_benchmarks(calendar, paths, p, days),
        name=name,
    )


def _spy_dividends(calendar: pd.DatetimeIndex, eq: sm.EquityPaths, days: np.ndarray) -> np.ndarray:
    """SPY's quarterly dividends: SPX_DY accrued on SPX/10, paid on the 3rd Friday of each
    quarter-end month (the first session on or after it)."""
    cal = calendar.to_numpy().astype("datetime64[D]")
    years = cal.astype("datetime64[Y]").astype(np.int64) + 1970
    ex = sm.contract_expiries(QUARTERLY, R.THIRD_FRIDAY, 1, years[0], years[-1])
    ex_idx = np.unique(np.searchsorted(cal, ex, side="left"))
    ex_idx = ex_idx[(ex_idx > 0) & (ex_idx < len(cal))]
    accrued = np.cumsum(eq.level / 10.0 * eq.dividend_yield * days / 365.0)
    out = np.zeros(len(cal))
    out[ex_idx] = np.diff(np.concatenate([[0.0], accrued[ex_idx]]))
    return out


def _benchmarks(
    calendar: pd.DatetimeIndex, paths: _Paths, p: SyntheticParams, days: np.ndarray
) -> pd.DataFrame:
    eq = paths.equity
    level = eq.level
    tr = np.ones(len(level))
    tr[1:] = (level[1:] + level[:-1] * eq.dividend_yield[:-1] * days[1:] / 365.0) / level[:-1]
    y = paths.rates.zero_yield(0, p.rates.bond_index_maturity_years)
    bond = np.ones(len(level))
    bond[1:] = 1.0 + y[:-1] * days[1:] / 365.0 - p.rates.bond_index_duration * np.diff(y)
    return pd.DataFrame(
        {"equity_index": 100.0 * np.cumprod(tr), "bond_index": 100.0 * np.cumprod(bond)},
        index=calendar,
    )
