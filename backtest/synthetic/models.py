"""The model stages of the synthetic market (see :mod:`backtest.synthetic` for the model).

Each ``simulate_*`` function draws from the generator it is given and returns float64 paths with
time on axis 0 (the dataclasses :class:`Drivers`, :class:`RatePaths`, :class:`EquityPaths`,
:class:`VolPaths`, :class:`StockPaths`, or arrays of shape (n, k)). The recursions and draws they
are built from are in :mod:`backtest.synthetic.recursions`; the contracts priced on the paths are
in :mod:`backtest.synthetic.contracts`.

Prefix stability: the paths are built so that day ``t``'s values depend only on the seed, the
start and days ``0..t`` — never on how many days are simulated — so a longer window extends a
shorter one without rewriting it. The rules that guarantee it: every random array is drawn from
a generator of its own (``Generator.spawn``; a generator that draws a second array after an
``n``-sized one would make the second depend on ``n``), with time on the FIRST axis (row-major, so
row ``t`` is the same whatever ``n``); per-instrument draws (sizes independent of ``n``) come
from their own generator too; nothing is normalised or rescaled over the whole sample, and
every recursion and filter runs forward in time (no bridges, centred or backward smoothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtest.synthetic.params import (
    CommodityParams,
    CommoditySpec,
    CurrencySpec,
    EquityParams,
    FxParams,
    IndexSpec,
    RatesParams,
    RegimeParams,
    UniverseParams,
    VolParams,
)
from backtest.synthetic.recursions import (
    DT_YEARS,
    TRADING_DAYS,
    crash_jumps,
    ewma,
    heston_paths,
    mean_reversion_average,
    ou_paths,
    regime_path,
)


# ----------------------------------------------------------------------------- model stages
@dataclass(frozen=True, slots=True)
class Drivers:
    """Common drivers, each of shape (n,): regime (0 calm / 1 crisis), crash log-jumps, and the
    equity index's return and variance normals (shared with the assets correlated to it);
    ``jump_per_year`` lets other assets' drifts compensate their crash exposure on average."""

    regime: np.ndarray
    jumps: np.ndarray
    z_equity: np.ndarray
    z_variance: np.ndarray
    jump_per_year: float  # expected sum of log-jumps per year (<= 0), from the parameters


def simulate_drivers(rng: np.random.Generator, n: int, p: RegimeParams) -> Drivers:
    """Regime path, crash jumps and the equity normals for ``n`` days (a generator each)."""
    regime_rng, jump_rng, z_rng = rng.spawn(3)
    regime = regime_path(
        regime_rng,
        n,
        p.calm_mean_years * TRADING_DAYS,
        (round(p.crisis_min_months * 21), round(p.crisis_max_months * 21)),
        round(p.first_crisis_within_years * TRADING_DAYS) if p.ensure_crisis else None,
    )
    jumps = crash_jumps(
        jump_rng, regime, (p.crashes_per_year_calm, p.crashes_per_year_crisis), p.crash_size_range
    )
    z = z_rng.standard_normal((n, 2))
    crisis_years = (p.crisis_min_months + p.crisis_max_months) / 24.0
    share = crisis_years / (crisis_years + p.calm_mean_years)
    rate = (1 - share) * p.crashes_per_year_calm + share * p.crashes_per_year_crisis
    jump_per_year = -rate * 0.5 * (p.crash_size_range[0] + p.crash_size_range[1])
    return Drivers(regime, jumps, z[:, 0].copy(), z[:, 1].copy(), jump_per_year)


@dataclass(frozen=True, slots=True)
class RatePaths:
    """Short rates (n, k) of the currencies, the global cycle ``g`` (n,), local deviations
    ``local`` and term-premium factors ``term`` (n, k); methods give the market's expectations."""

    short: np.ndarray
    g: np.ndarray
    local: np.ndarray
    term: np.ndarray
    spread: np.ndarray
    beta: np.ndarray
    p: RatesParams

    def expected(self, j: int, h) -> np.ndarray:
        """Expected short rate of currency ``j`` in ``h`` years (shape (n,))."""
        p = self.p
        g = p.market_long_run + (self.g - p.market_long_run) * np.exp(-p.market_reversion * h)
        r = self.spread[j] + self.beta[j] * g + self.local[:, j] * np.exp(-p.local_reversion * h)
        return np.maximum(r, p.floor)

    def average(self, j: int, h) -> np.ndarray:
        """Average expected short rate of currency ``j`` over the next ``h`` years."""
        p = self.p
        dev = (self.g - p.market_long_run) * mean_reversion_average(p.market_reversion, h)
        local = self.local[:, j] * mean_reversion_average(p.local_reversion, h)
        r = self.spread[j] + self.beta[j] * (p.market_long_run + dev) + local
        return np.maximum(r, p.floor)

    def zero_yield(self, j: int, h) -> np.ndarray:
        """Yield of maturity ``h`` years: average expected rate plus the term premium."""
        load = -np.expm1(-np.asarray(h, dtype=np.float64) / self.p.term_premium_scale_years)
        return self.average(j, h) + (self.p.term_premium + self.term[:, j]) * load

    def forward_yield(self, j: int, start, maturity: float) -> np.ndarray:
        """Yield of a ``maturity``-year bond starting in ``start`` years (continuous approx)."""
        end = start + maturity
        return (end * self.zero_yield(j, end) - start * self.zero_yield(j, start)) / maturity


def simulate_rates(
    rng: np.random.Generator, d: Drivers, p: RatesParams, currencies: tuple[CurrencySpec, ...]
) -> RatePaths:
    """Global cycle, local deviations, term premia and floored short rates of ``currencies``."""
    n, k = d.regime.shape[0], len(currencies)
    z = rng.standard_normal((n, 2 + 2 * k))
    crisis = d.regime == 1
    kappa = np.where(crisis, p.crisis_reversion, p.calm_reversion)[:, None]
    theta = np.where(crisis, p.crisis_target, p.calm_target)[:, None]
    g = ou_paths(p.global_start, kappa, theta, p.global_vol, z[:, :1])[:, 0]
    local = ou_paths(0.0, p.local_reversion, 0.0, p.local_vol, z[:, 2 : 2 + k])
    rho = p.term_equity_corr
    common = rho * d.z_equity + np.sqrt(1 - rho**2) * z[:, 1]
    share = p.term_common_share
    z_term = np.sqrt(share) * common[:, None] + np.sqrt(1 - share) * z[:, 2 + k :]
    target = np.where(crisis, p.term_crisis_level, 0.0)[:, None]
    term = ou_paths(0.0, p.term_reversion, target, p.term_vol, z_term)
    spread = np.array([c.rate_spread for c in currencies])
    beta = np.array([c.rate_beta for c in currencies])
    short = np.maximum(spread + beta * g[:, None] + local, p.floor)
    return RatePaths(short, g, local, term, spread, beta, p)


@dataclass(frozen=True, slots=True)
class EquityPaths:
    """SPX level, daily log return, instantaneous variance and dividend yield, each (n,)."""

    level: np.ndarray
    ret: np.ndarray
    var: np.ndarray
    dividend_yield: np.ndarray


def simulate_equity(
    rng: np.random.Generator, d: Drivers, r_usd: np.ndarray, p: EquityParams
) -> EquityPaths:
    """SPX from :func:`heston_paths` and its dividend yield."""
    n = d.regime.shape[0]
    z_dy = rng.standard_normal((n, 1))
    drift = r_usd + np.where(d.regime == 1, p.excess_drift_crisis, p.excess_drift_calm)
    drift = drift - p.dividend_yield
    ret, var = heston_paths(
        d.regime,
        d.jumps,
        d.z_equity,
        d.z_variance,
        drift,
        p.vol_start**2,
        p.variance_reversion,
        np.array([p.long_run_vol_calm, p.long_run_vol_crisis]) ** 2,
        np.array([p.vol_of_variance_calm, p.vol_of_variance_crisis]),
        np.array([p.leverage_calm, p.leverage_crisis]),
        p.crash_variance_per_jump,
        p.vol_floor**2,
        p.recovery_rate,
        DT_YEARS,
    )
    level = p.spx_start * np.exp(np.cumsum(ret))
    noise = ou_paths(0.0, p.dividend_yield_reversion, 0.0, p.dividend_yield_noise, z_dy)[:, 0]
    rich = ewma(level, p.dividend_halflife_days) / level
    dy = p.dividend_yield * np.exp(noise) * rich**p.dividend_price_elasticity
    return EquityPaths(level, ret, var, np.clip(dy, *p.dividend_yield_bounds))


@dataclass(frozen=True, slots=True)
class VolPaths:
    """ATM implied vols (n, n_tenors), skew and curvature (n,), VIX (n,) in vol points."""

    atm: np.ndarray
    skew: np.ndarray
    curvature: np.ndarray
    vix: np.ndarray
    vix_long_run: float


def simulate_vol(
    rng: np.random.Generator, eq: EquityPaths, tenors: np.ndarray, p: VolParams
) -> VolPaths:
    """Risk-neutral ATM term structure at ``tenors`` (years), smile coefficients and VIX."""
    n = eq.var.shape[0]
    z = rng.standard_normal((n, 3))
    rev = np.array([p.premium_noise_reversion, p.skew_noise_reversion, p.curvature_noise_reversion])
    vol = np.array([p.premium_noise_vol, p.skew_noise_vol, p.curvature_noise_vol])
    noise = ou_paths(0.0, rev, 0.0, vol, z)
    theta_q = p.long_run_vol_q**2
    premium = p.variance_premium * np.exp(noise[:, :1])
    w = mean_reversion_average(p.reversion_q, tenors)[None, :]
    atm = np.sqrt(premium * (theta_q + (eq.var[:, None] - theta_q) * w))
    skew = np.clip(-p.skew_level / atm[:, 0] * np.exp(noise[:, 1]), *p.skew_bounds)
    curvature = p.curvature * np.exp(noise[:, 2])
    vix_long_run = 100.0 * np.sqrt(p.variance_premium * theta_q)
    return VolPaths(atm, skew, curvature, 100.0 * atm[:, 0], vix_long_run)


def simulate_fx(
    rng: np.random.Generator,
    d: Drivers,
    rates: RatePaths,
    p: FxParams,
    spot0: np.ndarray,
    idio_vol: np.ndarray,
) -> np.ndarray:
    """Spot (n, k) in USD per unit for the non-USD currencies (columns 1.. of ``rates``)."""
    n, k = d.regime.shape[0], spot0.shape[0]
    z = rng.standard_normal((n, 2 + k))
    diff = rates.short[:, 1:] - rates.short[:, :1]
    spread = np.maximum(diff.std(axis=1, keepdims=True), p.loading_min_dispersion)
    load = np.clip((diff - diff.mean(axis=1, keepdims=True)) / spread, -2.0, 2.0)
    load, diff = np.vstack([load[:1], load[:-1]]), np.vstack([diff[:1], diff[:-1]])  # at t-1
    crisis = d.regime == 1
    scale = np.where(crisis, p.crisis_vol_multiplier, 1.0)[:, None] * np.sqrt(DT_YEARS)
    rho_c = np.where(crisis, p.carry_equity_corr_crisis, p.carry_equity_corr_calm)
    carry = p.carry_vol * (rho_c * d.z_equity + np.sqrt(1 - rho_c**2) * z[:, 0])
    dollar = p.dollar_vol * (
        p.dollar_equity_corr * d.z_equity + np.sqrt(1 - p.dollar_equity_corr**2) * z[:, 1]
    )
    shock = scale * (dollar[:, None] + load * carry[:, None] + idio_vol * z[:, 2:])
    shock += load * (p.carry_crash_beta * d.jumps)[:, None]
    var = (p.dollar_vol**2 + (load * p.carry_vol) ** 2 + idio_vol**2) * scale**2
    compensation = -p.carry_crash_beta * d.jump_per_year * load  # crash risk paid on average
    ret = (compensation - p.uip_coefficient * diff) * DT_YEARS + shock - 0.5 * var
    return spot0 * np.exp(np.cumsum(ret, axis=0))


def simulate_indices(
    rng: np.random.Generator, eq: EquityPaths, specs: tuple[IndexSpec, ...], dy_mean: float
) -> tuple[np.ndarray, np.ndarray]:
    """Levels and dividend yields (n, m) of the secondary indices (beta to SPX + own noise)."""
    n, m = eq.ret.shape[0], len(specs)
    z = rng.standard_normal((n, m))
    beta = np.array([s.beta for s in specs])
    vol = np.array([s.idio_vol for s in specs])
    dy = np.array([s.dividend_yield for s in specs])
    ret = beta * eq.ret[:, None] + vol * np.sqrt(DT_YEARS) * z
    ret += (dy_mean - dy - 0.5 * vol**2) * DT_YEARS
    level = np.array([s.level for s in specs]) * np.exp(np.cumsum(ret, axis=0))
    return level, dy * (eq.dividend_yield / dy_mean)[:, None]


def simulate_commodities(
    rng: np.random.Generator,
    d: Drivers,
    r_usd: np.ndarray,
    specs: tuple[CommoditySpec, ...],
    p: CommodityParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Spot prices and convenience yields (n, m) of the commodities.

    The log spot's deviation ``x`` from its trend (growing at ``trend_growth``) reverts at
    ``price_reversion``; the convenience yield is ``mean_yield + price_reversion x`` + OU noise,
    so a futures position earns ``premium`` + the noise part of the yield on average.
    """
    n, m = d.regime.shape[0], len(specs)
    z = rng.standard_normal((n, 1 + 2 * m))
    crisis = d.regime == 1
    vol = np.array([s.vol for s in specs])
    rho = np.array([s.equity_corr for s in specs])
    c = p.common_share
    own = np.sqrt(c) * z[:, :1] + np.sqrt(1 - c) * z[:, 1 : 1 + m]
    shock = rho * d.z_equity[:, None] + np.sqrt(1 - rho**2) * own
    scale = np.where(crisis, p.crisis_vol_multiplier, 1.0)[:, None] * vol
    crash_beta = np.array([s.crash_beta for s in specs])
    mean = np.array([s.mean_yield for s in specs])
    premium = np.where(crisis[:, None], [s.premium_crisis for s in specs], p.premium_calm)
    drift = r_usd[:, None] - mean + premium - crash_beta * d.jump_per_year
    drift = drift - 0.5 * scale**2 - p.trend_growth
    phi = max(p.price_reversion, 1e-6)
    noise = scale * np.sqrt(DT_YEARS) * shock + crash_beta * d.jumps[:, None]
    dev = ou_paths(0.0, phi, drift / phi, 1.0 / np.sqrt(DT_YEARS), noise)
    trend = p.trend_growth * DT_YEARS * np.arange(1, n + 1)[:, None]
    spot = np.array([s.spot for s in specs]) * np.exp(trend + dev)
    ry = p.yield_spot_corr
    z_y = ry * shock + np.sqrt(1 - ry**2) * z[:, 1 + m :]
    yields = ou_paths(0.0, p.yield_reversion, 0.0, [s.yield_vol for s in specs], z_y)
    return spot, mean + p.price_reversion * dev + yields


@dataclass(frozen=True, slots=True)
class StockPaths:
    """Stock prices and ex-date dividends (n, N), with the per-stock draws behind them."""

    prices: np.ndarray
    dividends: np.ndarray
    beta: np.ndarray
    industry: np.ndarray
    illiquid: np.ndarray


def simulate_stocks(
    rng: np.random.Generator, eq: EquityPaths, r_usd: np.ndarray, p: UniverseParams
) -> StockPaths:
    """Single stocks: market beta + industry factor + idiosyncratic noise, quarterly dividends.

    The per-stock draws (one generator; sizes independent of ``n``) include the listing day, a
    trading-day count from the start in ``late_listing_years``: a stock listing after the last
    day has no price yet (NaN) but is in the universe all the same."""
    n, N, n_ind = eq.ret.shape[0], p.n_stocks, len(p.industries)
    static_rng, z_rng = rng.spawn(2)
    beta = static_rng.uniform(*p.beta_range, N)
    vol = static_rng.uniform(*p.idio_vol_range, N)
    start = static_rng.uniform(*p.start_price_range, N)
    pays = static_rng.random(N) >= p.non_payer_share
    yld = np.where(pays, static_rng.uniform(*p.dividend_yield_range, N), 0.0)
    phase = static_rng.integers(0, 63, N)
    late = static_rng.choice(N, p.n_late_listings, replace=False)
    listing = np.zeros(N, dtype=np.int64)
    first, last = (round(y * TRADING_DAYS) for y in p.late_listing_years)
    listing[late] = static_rng.integers(max(first, 1), max(last, first + 1), late.shape[0])
    illiquid = np.zeros(N, dtype=bool)
    illiquid[static_rng.choice(N, round(p.illiquid_share * N), replace=False)] = True
    z = z_rng.standard_normal((n, n_ind + N))
    industry = np.arange(N) % n_ind
    prev_var = np.concatenate([eq.var[:1], eq.var[:-1]])
    scale = np.sqrt(np.sqrt(prev_var) / p.reference_vol)[:, None] * np.sqrt(DT_YEARS)
    rf = r_usd[:, None] * DT_YEARS
    market = (eq.ret + eq.dividend_yield * DT_YEARS)[:, None] - rf
    ind = p.industry_vol * z[:, :n_ind][:, industry]
    ret = rf + beta * market + scale * (ind + vol * z[:, n_ind:])
    ret -= 0.5 * (p.industry_vol**2 + vol**2) * scale**2
    t = np.arange(n)[:, None]
    ex = ((t - phase) % 63 == 0) & (t > listing) & pays
    cut = np.log1p(-yld / 4.0)
    logp = np.cumsum(ret + ex * cut, axis=0)
    logp = logp - logp[np.minimum(listing, n - 1), np.arange(N)] + np.log(start)
    prices = np.where(t >= listing, np.exp(logp), np.nan)
    dividends = np.where(ex, prices * (yld / 4.0) / (1.0 - yld / 4.0), 0.0)
    return StockPaths(prices, dividends, beta, industry, illiquid)
