"""Daily returns per unit of notional exposure, and the return of an exposure book.

These are the research-grade return streams strategies and allocators use (the fund simulator
in ``backtest.engine.simulator`` does the exact, contract-by-contract accounting). All functions are
pure and use only data stamped at or before each row's date.

Return of one unit of USD notional held from close ``t-1`` to close ``t`` (row ``t``):

- futures: ``(adjusted[t] - adjusted[t-1]) / price[t-1]`` (back-adjusted P&L per point over the
  held contract's price: roll-down included, rolls at no cost); currency of the contract is
  irrelevant for a return per unit of notional (the FX effect on margin is second order);
- currency forwards ``FWD-XXX-1M`` (long the foreign currency): ``fx[t]/fx[t-1] - 1`` plus the
  forward discount ``(r_XXX - r_USD) × days/360`` accrued over the calendar days elapsed;
- equities / ETFs: total return, ``(price[t] + dividend[t]) / price[t-1] - 1``;
- cash instruments: ``price[t]/price[t-1] - 1`` (T-bill accrual index), or the USD rate
  ``× days/360`` for a constant-NAV money-market fund;
- index options: change of the option's model price over the *underlying's* price at ``t-1``
  (exposure of an option is measured on the underlying's notional, as in docs/ARCHITECTURE.md).

The first row is 0 for an instrument that has a price at ``t-1`` and ``t``; NaN where either is
missing, which books treat as a zero return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.market.cuts import RETURN_KEY
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind, is_option_id
from backtest.market.market_data import MarketData


def _calendar_days(calendar: pd.DatetimeIndex) -> np.ndarray:
    days = np.zeros(len(calendar))
    if len(calendar) > 1:
        days[1:] = np.diff(calendar.asi8) / 86_400e9
    return days


def instrument_returns(market: MarketData, ids: list[str] | None = None) -> pd.DataFrame:
    """Daily return per unit of notional for each instrument (dates × ids).

    ``ids`` may include on-demand option ids (``"SPX-2024-03-15-P-4800"``). See the module
    docstring for the definition per kind.
    """
    ids = list(market.instruments.index if ids is None else ids)
    market.price_options([i for i in ids if is_option_id(i) and i not in market.instruments.index])
    keys = [(RETURN_KEY, iid) for iid in ids]
    columns = market.cached_batch(
        keys, lambda missing: _returns_of(market, [k[1] for k in missing])
    )
    if not columns:
        return pd.DataFrame(np.empty((len(market.calendar), 0)), index=market.calendar, columns=ids)
    # one copy, (ids × dates) as pandas stores a frame's block: handed over as is
    values = np.stack(columns)
    values[np.isinf(values)] = np.nan
    return pd.DataFrame(values.T, index=market.calendar, columns=ids, copy=False)


def _returns_of(market: MarketData, ids: list[str]) -> list[np.ndarray]:
    """Each id's daily return (arrays of shape (n_dates,)): the listed equities, ETFs and
    futures together in one array operation each, the rest one by one (:func:`_return_of`)."""
    table = market.instruments
    listed = [i for i in ids if i in table.index]
    kinds = {i: InstrumentKind(k) for i, k in zip(listed, table.loc[listed, "kind"], strict=True)}
    futures = [i for i in listed if kinds[i] in FUTURE_KINDS]
    equities = [i for i in listed if kinds[i] in _TOTAL_RETURN_KINDS and i in market.prices]
    out = dict(zip(futures, _futures_returns(market, futures).T, strict=True)) if futures else {}
    if equities:
        out.update(zip(equities, _total_returns(market, equities).T, strict=True))
    options = [i for i in ids if i not in table.index and is_option_id(i)]
    if options:
        out.update(zip(options, _option_returns(market, options).T, strict=True))
    return [out[i] if i in out else _return_of(market, i).to_numpy() for i in ids]


#: Kinds whose return is the total return of their price and dividends.
_TOTAL_RETURN_KINDS = frozenset({InstrumentKind.EQUITY, InstrumentKind.ETF})


def _lagged(a: np.ndarray) -> np.ndarray:
    """Rows shifted down by one (row 0 NaN): ``shift(1)`` on an array of 1 or 2 dimensions."""
    out = np.empty_like(a)
    out[0] = np.nan
    out[1:] = a[:-1]
    return out


def _futures_returns(market: MarketData, ids: list[str]) -> np.ndarray:
    """``(adjusted[t] − adjusted[t−1]) / |held price[t−1]|`` for futures (dates × ids), the
    arithmetic of :func:`_return_of` on all of them at once."""
    n = len(market.calendar)
    nan = np.full(n, np.nan)
    price = {i: market.prices[i].to_numpy(dtype="float64") if i in market.prices else None
             for i in ids}  # fmt: skip
    adj = np.column_stack([market.adjusted[i].to_numpy(dtype="float64")
                           if i in market.adjusted else (price[i] if price[i] is not None else nan)
                           for i in ids])  # fmt: skip
    held = np.column_stack([price[i] if price[i] is not None and np.isfinite(price[i]).any()
                            else adj[:, j] for j, i in enumerate(ids)])  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        return (adj - _lagged(adj)) / np.abs(_lagged(held))


def _option_returns(market: MarketData, ids: list[str]) -> np.ndarray:
    """``(mark[t] − mark[t−1]) / underlying[t−1]`` for on-demand index options (dates × ids)."""
    opts = [IndexOption.from_id(i) for i in ids]
    marks = market.option_prices(ids).to_numpy()  # priced together, no copy per option
    roots = [o.root for o in opts]
    levels = {r: market.index[r].to_numpy(dtype="float64") for r in set(roots)}
    # each option's previous underlying level: one column broadcast when they share a root
    under = (levels[roots[0]][:, None] if len(levels) == 1
             else np.column_stack([levels[r] for r in roots]))  # fmt: skip
    out = np.empty(marks.shape)
    out[0] = np.nan  # (mark − NaN) / NaN: no previous row
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(marks[1:] - marks[:-1], under[:-1], out=out[1:])
    return out


def _total_returns(market: MarketData, ids: list[str]) -> np.ndarray:
    """``(price[t] + dividend[t]) / price[t−1] − 1`` for equities and ETFs (dates × ids)."""
    price = market.prices[ids].to_numpy(dtype="float64")
    total = price.copy()
    paying = [j for j, i in enumerate(ids) if i in market.dividends]
    if paying:
        dividends = market.dividends[[ids[j] for j in paying]].to_numpy(dtype="float64")
        total[:, paying] = price[:, paying] + dividends
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / _lagged(price) - 1.0


def _return_of(market: MarketData, iid: str) -> pd.Series:
    """One instrument's daily return per unit of notional (see the module docstring), in
    pandas, one instrument at a time: what :func:`_returns_of` uses for the kinds it does not
    compute together, and the twin the tests hold the array versions to, bit for bit."""
    table = market.instruments
    if is_option_id(iid) and iid not in table.index:
        opt = IndexOption.from_id(iid)
        value = market.option_price(opt)
        under = market.index[opt.root]
        return value.diff() / under.shift(1)
    kind = InstrumentKind(table.at[iid, "kind"])
    price = market.prices[iid] if iid in market.prices else None
    if kind in FUTURE_KINDS:
        adj = market.adjusted[iid] if iid in market.adjusted else price
        held = price if price is not None and price.notna().any() else adj
        return adj.diff() / held.shift(1).abs()
    if kind is InstrumentKind.CURRENCY_FORWARD:
        days = market.cached(("calendar_days",), lambda: _calendar_days(market.calendar))
        ccy = table.at[iid, "root"]
        spot = market.fx[ccy]
        diff = (market.rates[ccy] - market.rates["USD"]).shift(1)
        return spot / spot.shift(1) - 1.0 + diff * days / 360.0
    if kind is InstrumentKind.MONEY_MARKET:
        days = market.cached(("calendar_days",), lambda: _calendar_days(market.calendar))
        return market.rates["USD"].shift(1) * days / 360.0
    div = market.dividends[iid] if iid in market.dividends else 0.0
    return (price + div) / price.shift(1) - 1.0


def exposure_returns(
    exposures: pd.DataFrame,
    market: MarketData,
    lag_days: int = 1,
    cost_bps: float = 0.0,
    returns: pd.DataFrame | None = None,
) -> pd.Series:
    """Return stream of a book of exposures (fractions of capital), with execution lag.

    An exposure decided at ``t``'s close is traded at ``t+lag_days``'s close and earns returns
    from the next row on, so row ``t`` earns ``Σ_i exposure[t-1-lag][i] × r[t][i]`` (the engine's
    convention: decide at ``t``, trade at ``t+1`` close). ``cost_bps`` is charged on turnover
    (sum of absolute exposure changes) on the trade date. Missing returns count as zero.

    Returns a Series indexed by the market calendar, in decimal returns per day.
    """
    if returns is None:  # these columns, in one (ids × dates) block: no reindex to do
        returns = instrument_returns(market, list(exposures.columns))
    else:
        returns = returns.reindex(columns=exposures.columns)
    book = exposures.reindex(market.calendar).fillna(0.0)
    held = book.shift(lag_days + 1, fill_value=0.0)  # = .shift().fillna(0.0): book has no NaN
    gross = (held * returns.fillna(0.0)).sum(axis=1)
    if not cost_bps:  # gross − 0 × turnover: gross to the bit (turnover is finite, >= 0)
        return gross.rename("return")
    traded = book.shift(lag_days, fill_value=0.0)
    turnover = traded.diff().abs().sum(axis=1)
    if len(turnover):
        turnover.iloc[0] = traded.iloc[0].abs().sum()
    return (gross - turnover * cost_bps / 1e4).rename("return")
