"""A seeded synthetic market that needs no files and behaves like the real one (2005–2024 style).

``synthetic_market(seed, start, end, params)`` returns a :class:`backtest.market.MarketData` on
the NYSE calendar. One ``numpy`` generator per stage is spawned from ``seed`` in a fixed order,
so a seed always gives the same market (``MarketData.equals``). The market is *prefix-stable*:
for the same seed and ``start``, a later ``end`` only appends days, ``synthetic_market(seed,
start, end2).until(end1)`` equals ``synthetic_market(seed, start, end1)`` (see "Windows" in
:mod:`backtest.synthetic.params` and the rules in :mod:`backtest.synthetic.models`); the path is
defined from ``start``, so another ``start`` gives another market. Time step ``dt = 1/252`` year
per trading day; "annual" means per year; rates and yields are annual decimals.

The model, and the meaning and units of every parameter, are documented with the parameters in
:mod:`backtest.synthetic.params` (one dataclass per group, all held by
:class:`SyntheticParams`; every public name there is re-exported here).

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
``roll_days_before_expiry`` trading days before its expiry (NYSE sessions, also past ``end``), then
the next (``carry`` = ``forward`` = the next contract; ids ``YYYYMMDD`` of the expiry day).
``adjusted`` is the Panama (additive) series anchored at the first day's price (not back-adjusted
to the last day's, which a longer window would rewrite): its differences are the held contract's
P&L per point.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.market.calendar import xnys_calendar
from backtest.market.instruments import (
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
from backtest.market.market_data import (
    CURVE_COLUMNS,
    SURFACE_COLUMNS,
    SURFACE_TENORS_YEARS,
    MarketData,
)
from backtest.progress import progress_bar
from backtest.synthetic import contracts as sc
from backtest.synthetic import models as sm
from backtest.synthetic.params import (
    DEFAULT_BOND_FUTURES,
    DEFAULT_COMMODITIES,
    DEFAULT_CURRENCIES,
    DEFAULT_FX_FUTURES,
    DEFAULT_INDICES,
    DEFAULT_RATE_FUTURES,
    INDUSTRIES,
    MONTHLY,
    QUARTERLY,
    BondFutureSpec,
    CommodityParams,
    CommoditySpec,
    ContractSpec,
    CurrencySpec,
    EquityParams,
    ExpiryRule,
    FxParams,
    IndexSpec,
    R,
    RatesParams,
    RegimeParams,
    SyntheticParams,
    UniverseParams,
    VolParams,
)

__all__ = [
    "synthetic_market",
    "PriceFn",
    "ExpiryRule",
    # parameters (backtest.synthetic.params)
    "QUARTERLY",
    "MONTHLY",
    "ContractSpec",
    "CurrencySpec",
    "IndexSpec",
    "BondFutureSpec",
    "CommoditySpec",
    "DEFAULT_CURRENCIES",
    "DEFAULT_INDICES",
    "DEFAULT_BOND_FUTURES",
    "DEFAULT_RATE_FUTURES",
    "DEFAULT_FX_FUTURES",
    "DEFAULT_COMMODITIES",
    "INDUSTRIES",
    "RegimeParams",
    "EquityParams",
    "VolParams",
    "RatesParams",
    "FxParams",
    "CommodityParams",
    "UniverseParams",
    "SyntheticParams",
]

PriceFn = Callable[[np.ndarray], np.ndarray]  # tau_years (n,) -> contract price on each day


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
        First and last calendar date (NYSE sessions in between: ``xnys_calendar``).
        The path is defined from ``start``; a later ``end`` appends days and leaves the earlier
        ones unchanged (prefix stability).
    params : SyntheticParams, optional
        Model parameters (defaults when None); see :mod:`backtest.synthetic.params`.
    progress : bool
        Show a tqdm progress bar over the generation stages.

    Returns
    -------
    MarketData
        Instruments (cash, SPY, equity index / bond / rate / currency / commodity / VIX futures,
        1-month currency forwards, single stocks), prices, curves, adjusted series, fx, rates,
        index levels, vol surface, dividends and benchmarks.
    """
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
    with progress_bar(len(_STAGES), "synthetic market", show=progress) as bar:

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
        return lambda tau: sc.bond_price(
            p.rates.bond_coupon, maturity, rates.forward_yield(j, tau, maturity)
        )

    def rate_future(j):
        return lambda tau: (
            100.0 - 100.0 * (rates.expected(j, tau) + p.rates.futures_term_premium * tau)
        )

    def fx_future(spot, r_foreign):
        return lambda tau: sc.cip_forward(spot, short[:, 0], r_foreign, tau * 365.0)

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
    """Curves (pysystemtrade multiple-prices shape) and Panama series for every root.

    Rolls are counted in NYSE sessions also after ``end`` (holidays are known in advance), so a
    roll in the last days is placed as in a longer window. Only the sessions up to the roll day
    of the contracts expiring soon after ``end`` matter (a later roll is after ``end`` whichever
    days are counted), hence the ~2 months of them."""
    days = calendar.to_numpy().astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    after = _sessions_after(calendar[-1], 60 + 2 * p.roll_days_before_expiry)
    curves, adjusted = {}, {}
    for spec, price_fn in _pricers(paths, p):
        expiries = sc.contract_expiries(spec.months, spec.rule, spec.day, years[0], years[-1] + 3)
        cols, adjusted[spec.root] = sc.curve_columns(
            days, expiries, p.roll_days_before_expiry, price_fn, after
        )
        curves[spec.root] = pd.DataFrame(cols, index=calendar)[list(CURVE_COLUMNS)]
    return curves, adjusted


def _sessions_after(last: pd.Timestamp, days: int) -> np.ndarray:
    """NYSE sessions (datetime64[D]) in the ``days`` calendar days after ``last``
    (:func:`~backtest.market.xnys_calendar`, whose span has a margin past the range, so that a
    range ending on a holiday past a calendar's default end does not raise)."""
    last = pd.Timestamp(last)
    sessions = xnys_calendar(last + pd.Timedelta(days=1), last + pd.Timedelta(days=days))
    return sessions.to_numpy().astype("datetime64[D]")


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
        prices[f"FWD-{code}-1M"] = sc.cip_forward(
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
    ex = sc.contract_expiries(QUARTERLY, R.THIRD_FRIDAY, 1, years[0], years[-1])
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
