"""Parameters of the synthetic market (:func:`backtest.synthetic.synthetic_market`): one frozen
dataclass per group, :class:`SyntheticParams` holding them all, and the default listings
(:class:`ContractSpec` and the ``DEFAULT_*`` tuples). Every public name here is re-exported by
:mod:`backtest.synthetic`.

Time step ``dt = 1/252`` year per trading day; "annual" means per year; rates and yields are
annual decimals.

Model (parameter names in ``code``; groups are the dataclasses below)
----------------------------------------------------------------------
**Regimes** (:class:`RegimeParams`): a two-state semi-Markov chain, calm spells geometric with
mean ``calm_mean_years``, crisis spells uniform between ``crisis_min_months`` and
``crisis_max_months`` (21 trading days a month); the path starts calm, and with ``ensure_crisis``
its first calm spell is drawn conditional on ending within ``first_crisis_within_years`` (so every
path longer than that has a crisis). Crash days arrive as a Bernoulli approximation of a Poisson
process with ``crashes_per_year_calm`` / ``crashes_per_year_crisis``, log-jump
``-U(crash_size_range)``.

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
:func:`backtest.market.pricing.surface_vol`): ``vol = atm(tau) (1 + skew m + curvature m^2)``, ``m =
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
pre-dividend price). ``n_late_listings`` stocks list between ``late_listing_years`` after the
start (NaN prices before; all of them are in the instrument table whatever the window);
``illiquid_share`` of the stocks are marked illiquid.

Windows (prefix stability)
--------------------------
The paths are defined from ``start``: for a seed and a start, a later ``end`` only appends days —
``synthetic_market(seed, start, end2).until(end1)`` equals ``synthetic_market(seed, start, end1)``
for ``end1 < end2`` (every field, the instrument table included), as a real market does not
rewrite its history. Every parameter given in years (regime spells, listing dates) counts trading
days from ``start``, never a share of the window. A different ``start`` gives a different path
(the first day is always the model's day 0), so ``start`` stability is not provided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ExpiryRule(StrEnum):
    """How the expiry (last trading) date of a contract month is found.

    Dates that fall on a weekend move back to the previous weekday.
    """

    THIRD_FRIDAY = "third_friday"  # equity index futures
    THIRD_WEDNESDAY = "third_wednesday"  # IMM date (SOFR / SONIA futures)
    IMM_MONDAY = "imm_monday"  # two days before the IMM date (currency futures, Euribor)
    VIX = "vix"  # 30 days before the 3rd Friday of the following month (a Wednesday)
    MONTH_DAY = "month_day"  # day ``day`` of the contract month
    PRIOR_MONTH_DAY = "prior_month_day"  # day ``day`` of the month before the contract month
    PRIOR_MONTH_END = "prior_month_end"  # last day of the prior month (first notice day)
    MONTH_END = "month_end"  # last day of the contract month


QUARTERLY = (3, 6, 9, 12)
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
    first_crisis_within_years: float = 15.0
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
    late_listing_years: tuple[float, float] = (1.0, 14.0)
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
