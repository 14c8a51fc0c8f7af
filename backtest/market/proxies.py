"""Option-pricing inputs and broad-market comparators derived from futures data alone.

A futures-only dataset (the pysystemtrade sample) has no equity index level, no implied-vol
surface, no interest rates and no benchmark indexes. :func:`with_futures_proxies` derives them,
documented approximations each, so that index options (the put-writing leg) can be priced,
marked and traded by the simulator exactly as on the synthetic market, and the fund can be
compared with the equity and bond futures it holds. Each derived field is named in
``MarketData.approximations``.

**Index level** (``index[index_name]``, :func:`index_from_future`): the front (held) equity
index future less its carry, ``S_t = F_t exp(-c_t tau_t)``. ``tau_t`` is the held contract's
time to expiry (ACT/365 years, from the approximated expiry) and ``c_t`` the annualised carry
implied by the curve, ``ln(F_carry / F_price) / (tau_carry - tau_price)`` (= ``r - q``, the
financing rate less the dividend yield), on rows quoting both legs, clipped to
``± carry_rate_bound``, carried forward to rows without it (0 before the first), then the
median of the last ``carry_median_days`` (10) rows: a stale carry quote on one day (SP500
2000-10-19: -8.5% against +5.9% either side) would otherwise move the level by 2%. At the held
contract's expiry ``tau = 0`` and the level is the future's price. A day without a futures
price keeps the last level (at most :data:`GAP_FILL_DAYS` days in a row).

**Implied volatility** (``vol_surface``, :func:`surface_from_vix_curve`): the VIX futures curve
read as the ATM term structure. On each date the quoted legs of the VIX curve (price, carry,
forward contracts), ordered by expiry, give ``atm_1m = nearest / 100`` (so the 30-day ATM vol is
the front VIX future over 100, by construction), ``atm_2m`` the second nearest, ``atm_3m`` the
third, and ``atm_6m = atm_12m`` the farthest quoted (flat beyond the curve); a missing leg
takes the farthest quoted one; a day with none quoted keeps the last surface (at most
:data:`GAP_FILL_DAYS` days in a row). The smile is linear in standardised log-moneyness
``m = ln(K/F) / sqrt(tau)``: ``skew = -skew_level / atm_1m``, so in
:func:`backtest.market.pricing.surface_vol` the 1-month vol is ``atm_1m - skew_level * m``
(``skew_level`` 0.18: the synthetic market's average, about 6 vol points over ATM for a 90%
1-month put), ``curvature`` as given (default 0).
*Bias*: a VIX future prices the 30-day variance-swap rate (which includes the skew, so it sits
above ATM vol) expected at its expiry (above spot VIX in contango), so the ATM vol, and the put
premium sold, are overstated on average, by a few vol points.

**Rates** (``rates[USD]``): ``usd_rate`` (default 0): the sample has no rates; the fund's cash
earns the same rate, so Sharpe ratios on this market are over a zero cash rate. With no dividend
yield either, options are priced on a forward equal to the index level (for a one-month put the
neglected ``(r - q) tau`` is below 0.5% of the level).

**Comparators** (``benchmarks``, :func:`futures_benchmarks`): excess-return levels (100 at each
series' first return, compounding the futures return of :mod:`backtest.market.returns`: the
back-adjusted P&L over the held contract's price, rolls at no cost, no collateral interest; a
day without a price returns 0, the move across it counts the day after) of
each equity index and government bond future with prices, the main ones as ``equity_index``
(SP500) and ``bond_index`` (US10) and the others as ``future_<ID>``, plus equal-weight baskets
``equity_futures`` and ``bond_futures`` (the mean daily return of the members quoted that day,
rebalanced daily). With a zero cash rate an excess return is the total return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.market.instruments import InstrumentKind
from backtest.market.market_data import SURFACE_COLUMNS, MarketData

_LEGS = ("price", "carry", "forward")
#: Most consecutive days without a futures price over which the index level is carried forward
#: (the sample misses SP500 on a few single days, e.g. the 2015-12-18 option expiry).
GAP_FILL_DAYS = 5


@dataclass(frozen=True)
class FuturesProxies:
    """Which futures feed the derived fields, and the approximations' parameters.

    index_name : name of the derived index level (``market.index``), the options' root.
    equity_future : equity index future whose curve gives the index level.
    vix_future : VIX future whose curve gives the ATM vols.
    skew_level : slope of the smile, vol per unit of standardised log-moneyness (annual decimal).
    curvature : smile curvature (``m**2`` coefficient, relative to ATM), 0 = linear skew.
    usd_rate : the USD short rate assumed (annual decimal), constant.
    carry_rate_bound : clip on the implied carry ``r - q`` (annual decimal).
    carry_median_days : rows in the causal rolling median of that carry.
    equity_benchmark, bond_benchmark : futures shown as ``equity_index`` and ``bond_index``.
    """

    index_name: str = "SPX"
    equity_future: str = "SP500"
    vix_future: str = "VIX"
    skew_level: float = 0.18
    curvature: float = 0.0
    usd_rate: float = 0.0
    carry_rate_bound: float = 0.20
    carry_median_days: int = 10
    equity_benchmark: str = "SP500"
    bond_benchmark: str = "US10"


def _tau_years(dates: pd.DatetimeIndex, expiry: pd.Series) -> np.ndarray:
    """ACT/365 years from each date to ``expiry`` (NaN where the expiry is missing)."""
    gap = pd.DatetimeIndex(expiry.to_numpy(dtype="datetime64[ns]")) - dates
    return gap.days.to_numpy(dtype="float64") / 365.0 if len(dates) else np.zeros(0)


def implied_carry_rate(curve: pd.DataFrame, bound: float = 0.20, median_days: int = 1) -> pd.Series:
    """Annualised carry ``ln(carry / price) / (tau_carry - tau_price)`` of a futures curve
    (``MarketData.curves`` shape), clipped to ``± bound``, carried forward over rows that do not
    quote both legs, 0 before the first that does, then the median of the last ``median_days``
    rows (causal). Series on the curve's dates, annual decimal."""
    dates = pd.DatetimeIndex(curve.index)
    price = curve["price"].to_numpy(dtype="float64")
    carry = curve["carry"].to_numpy(dtype="float64")
    gap = _tau_years(dates, curve["carry_expiry"]) - _tau_years(dates, curve["price_expiry"])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.log(carry / price) / gap
    rate = np.where(np.isfinite(rate) & (gap != 0), np.clip(rate, -bound, bound), np.nan)
    rate = pd.Series(rate, index=dates, name="carry_rate").ffill().fillna(0.0)
    return rate.rolling(median_days, min_periods=1).median()


def index_from_future(curve: pd.DataFrame, bound: float = 0.20, median_days: int = 10):
    """Index level from its front future less carry: ``price * exp(-c * tau_price)``
    (:func:`implied_carry_rate`; ``tau`` floored at 0). Series on the curve's dates, index
    points; a day the future has no price keeps the last level (up to :data:`GAP_FILL_DAYS`
    days: an option expiring on such a day settles on it); NaN before the first price."""
    tau = np.maximum(_tau_years(pd.DatetimeIndex(curve.index), curve["price_expiry"]), 0.0)
    c = implied_carry_rate(curve, bound, median_days).to_numpy()
    level = curve["price"].to_numpy(dtype="float64") * np.exp(-c * np.nan_to_num(tau))
    level = pd.Series(level, index=curve.index, name="index_level")
    return level.ffill(limit=GAP_FILL_DAYS).where(level.notna().cummax())


def surface_from_vix_curve(
    curve: pd.DataFrame, skew_level: float = 0.18, curvature: float = 0.0
) -> pd.DataFrame:
    """The vol surface (dates × :data:`~backtest.market.market_data.SURFACE_COLUMNS`) read from
    a VIX futures curve: the quoted legs ordered by expiry give the ATM vols (module docstring),
    ``skew = -skew_level / atm_1m``, ``curvature`` constant. A day with no leg quoted keeps the
    last row (up to :data:`GAP_FILL_DAYS` days); NaN before the first quote."""
    values = np.column_stack([curve[leg].to_numpy(dtype="float64") for leg in _LEGS]) / 100.0
    expiry = np.column_stack(
        [curve[f"{leg}_expiry"].to_numpy(dtype="datetime64[ns]").astype("int64") for leg in _LEGS]
    ).astype("float64")
    quoted = np.isfinite(values) & (values > 0)
    order = np.argsort(np.where(quoted, expiry, np.inf), axis=1, kind="stable")
    ranked = np.take_along_axis(np.where(quoted, values, np.nan), order, axis=1)
    n = quoted.sum(axis=1)
    rows = np.arange(len(values))
    farthest = ranked[rows, np.maximum(n - 1, 0)]
    pick = [np.where(n > k, ranked[:, min(k, 2)], farthest) for k in range(3)]
    atm = np.column_stack([pick[0], pick[1], pick[2], farthest, farthest])
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = -skew_level / atm[:, 0]
    data = np.column_stack([atm, skew, np.where(np.isfinite(skew), curvature, np.nan)])
    surface = pd.DataFrame(data, index=curve.index, columns=list(SURFACE_COLUMNS))
    return surface.ffill(limit=GAP_FILL_DAYS)


def futures_benchmarks(market: MarketData, proxies: FuturesProxies) -> pd.DataFrame:
    """Excess-return levels of the equity index and government bond futures with prices, and
    their equal-weight baskets (module docstring). DataFrame on the market's calendar."""
    kinds = {
        "equity": InstrumentKind.EQUITY_INDEX_FUTURE,
        "bond": InstrumentKind.BOND_FUTURE,
    }
    main = {"equity": proxies.equity_benchmark, "bond": proxies.bond_benchmark}
    out = {}
    for group, kind in kinds.items():
        ids = [i for i in market.ids([kind]) if market.prices[i].notna().any()]
        if not ids:
            continue
        returns = _gap_bridged_returns(market, ids)
        for ident in ids:
            name = f"{group}_index" if ident == main[group] else f"future_{ident}"
            out[name] = excess_return_level(returns[ident])
        out[f"{group}_futures"] = excess_return_level(returns.mean(axis=1, skipna=True))
    first = [c for c in ("equity_index", "bond_index") if c in out]
    return pd.DataFrame({c: out[c] for c in first + sorted(set(out) - set(first))},
                        index=market.calendar)  # fmt: skip


def _gap_bridged_returns(market: MarketData, ids: list[str]) -> pd.DataFrame:
    """The futures returns of :func:`backtest.market.returns.instrument_returns` (back-adjusted
    change over the previous held price) with each series' inner gaps carried forward: a day
    without a price returns 0 and the move across the gap counts on the day after it (left
    NaN, the move would be lost from a level). NaN before the first and after the last price."""
    adjusted, held = market.adjusted[ids], market.prices[ids]
    inside = held.notna().cummax() & held[::-1].notna().cummax()[::-1]
    returns = adjusted.ffill().diff() / held.ffill().shift(1).abs()
    return returns.where(inside)


def excess_return_level(returns: pd.Series, start_level: float = 100.0) -> pd.Series:
    """``start_level`` on the day before the first finite return, compounding daily returns
    after it (a missing return in between counts as 0); NaN before."""
    r = returns.to_numpy(dtype="float64")
    finite = np.flatnonzero(np.isfinite(r))
    level = np.full(len(r), np.nan)
    if finite.size:
        base = max(int(finite[0]) - 1, 0)
        growth = np.nan_to_num(r[base + 1 :])
        level[base] = start_level
        level[base + 1 :] = start_level * np.cumprod(1.0 + growth)
    return pd.Series(level, index=returns.index)


def with_futures_proxies(market: MarketData, proxies: FuturesProxies | None = None) -> MarketData:
    """``market`` with the derived fields it lacks (module docstring), each named in
    ``approximations``: the index level and vol surface when it has curves for both futures
    (and no index level or surface of its own), the USD rate when it has none, the comparators
    when it has no benchmarks."""
    p = FuturesProxies() if proxies is None else proxies
    changes, notes = {}, dict(market.approximations)
    curves = market.curves
    if (
        p.equity_future in curves
        and p.vix_future in curves
        and p.index_name not in market.index
        and market.vol_surface.shape[1] == 0
    ):
        index = market.index.copy()
        index[p.index_name] = index_from_future(
            curves[p.equity_future], p.carry_rate_bound, p.carry_median_days
        )
        changes["index"] = index
        changes["vol_surface"] = surface_from_vix_curve(
            curves[p.vix_future], p.skew_level, p.curvature
        )
        notes[f"index.{p.index_name}"] = f"{p.equity_future} front future less its curve's carry"
        notes["vol_surface"] = (
            f"ATM = {p.vix_future} futures / 100 (1 month = front), linear skew "
            f"{p.skew_level:g}; overstates ATM vol"
        )
    if "USD" not in market.rates:
        rates = market.rates.copy()
        rates["USD"] = p.usd_rate
        changes["rates"] = rates
        notes["rates.USD"] = f"{p.usd_rate:.2%}, none in the data (cash earns it)"
    if market.benchmarks.shape[1] == 0:
        bench = futures_benchmarks(market, p)
        if bench.shape[1]:
            changes["benchmarks"] = bench
            notes["benchmarks"] = (
                f"sample futures, excess return: equity_index = {p.equity_benchmark}, "
                f"bond_index = {p.bond_benchmark}, future_<ID>, equal-weight baskets"
            )
    if not changes:
        return market
    return market.replace(approximations=notes, **changes)
