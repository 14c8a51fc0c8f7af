"""Intraday Indicative Value (IIV): the Disclosed Portfolio re-priced every 15 seconds.

docs/ARCHITECTURE.md ("Fund rules"): each business day before the open the fund publishes the
Disclosed Portfolio that forms the basis of that day's NAV, and an IIV per share at least every 15
seconds during the regular session. This module builds both from a :class:`SimulationResult`.

>>> port = DisclosedPortfolio.from_result(result, market, "2019-06-04")     # doctest: +SKIP
>>> ticks = session_ticks("2019-06-04")                                     # 1561 ticks
>>> path = simulate_intraday(prev_close, close, ticks, vol_annual=0.2, seed=1)  # doctest: +SKIP
>>> iiv_per_share(port, path, intraday_fx)                                  # doctest: +SKIP

Timing (the kernel's T+1 booking, :mod:`backtest.engine.kernel`). The portfolio for NAV date ``T``
is built from the state at the previous session ``D``'s close plus everything the kernel books at
the start of ``T`` — all of it known before ``T``'s open:

* quantities: booked at ``D``'s close + trades executed at ``D``'s close + the in-kind basket of
  creations/redemptions received at ``D`` (recomputed with the kernel's rounding rule). Options
  expiring on ``T`` are listed: they are held during ``T`` and cash-settle at its close.
  (``result.quantities`` at ``T`` holds the same numbers, minus options that settle on ``T``.)
* cash: both books' cash at ``D``'s close, minus the cash paid for securities/options bought at
  ``D`` (plus received for sales), plus the value of forwards closed out at ``D``, minus the costs
  booked on ``T`` (trade costs of ``D`` and the roll costs of futures rolled at ``D``'s close),
  plus the cash of flows received at ``D`` (value − in-kind basket + fees).
* accruals known at the open: ``other_assets_usd`` = accrued interest including the interest
  accrued overnight for ``T`` (positive cash of each book × ``D``'s rate × calendar days / 360)
  plus dividends going ex on ``T`` on long securities (per share × quantity × last close FX);
  ``liabilities_usd`` = accrued expenses including ``T``'s accrual (expense ratio × ``D``'s net
  assets × days / 365) plus dividends going ex on ``T`` owed on short securities and ``T``'s
  stock-borrow fee on them. Including the day's accruals is what makes the IIV at the last tick,
  with prices and FX at ``T``'s closes, equal ``T``'s net assets / shares exactly (up to float
  rounding); leaving them out would be off by one day's interest less expenses.
* ``shares_outstanding``: after the flows received at ``D`` are booked.

Valuation at a tick ``k`` (prices in instrument currency, FX in USD per unit):

* securities and options: ``quantity × multiplier × price_k × fx_k``;
* futures (zero market value, daily P&L paid as variation margin):
  ``quantity × multiplier × (price_k − last settlement) × fx_k``; ``price`` in the holdings is the
  last settlement of the contract held on ``T`` (after a roll at ``D``'s close, the new one's);
* currency forwards (approximation): ``market_value + quantity × (spot_k − spot at last close)``
  with the spot from ``intraday_fx[underlying]``; ``market_value`` is the contract's value at the
  last close rolled down to ``T`` (the day's carry: the 1-month forward points on the last
  close's rates, decaying linearly over the 30-day tenor; known at the open). The strike and
  maturity are not in the result, so the delta's discount factor ``1 / (1 + r_foreign τ)`` is
  taken as 1 (error ≈ ``r_foreign τ`` of the spot-move P&L: ≤ 0.4% of it for a 1-month forward
  at rates ≤ 5%) and the day's change in interest rates is ignored;
* cash + other assets − liabilities: constant through the session.

Stale-price rule: a holding with no intraday price at a tick (column absent or NaN) keeps its
last observed price: the previous tick's, or the last close before the first observation. The
same for FX; ``USD`` is always 1.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from backtest.engine import kernel as K
from backtest.engine.simulator import SimulationResult
from backtest.market.calendar import TRADING_DAYS_PER_YEAR, next_session
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind, is_option_id
from backtest.market.market_data import MarketData

#: Time zone of the session ticks.
SESSION_TZ = "America/New_York"
#: Columns of :attr:`DisclosedPortfolio.holdings`, in order.
HOLDINGS_COLUMNS = [
    "instrument", "name", "book", "kind", "quantity", "multiplier", "currency", "price", "fx",
    "market_value", "notional_usd", "pct_net_assets", "underlying", "underlying_price",
]  # fmt: skip
#: Calendar days to maturity of the kernel's currency forwards when struck.
_FORWARD_TENOR_DAYS = 30.0


@dataclass(frozen=True)
class DisclosedPortfolio:
    """The portfolio published before the open of ``date``; it forms the basis of that day's NAV.

    Attributes
    ----------
    date : pd.Timestamp
        The NAV date the portfolio is the basis for (``T``).
    as_of : pd.Timestamp
        The previous session (``D``) whose closes price the holdings.
    holdings : DataFrame of shape (n_holdings, len(HOLDINGS_COLUMNS))
        One row per non-zero position: ``instrument``, ``name``, ``book`` (fund / subsidiary),
        ``kind`` (:class:`InstrumentKind` value), ``quantity`` (shares / contracts / currency
        units), ``multiplier``, ``currency`` (quote currency), ``price`` (last close in
        ``currency``; futures: last settlement of the contract held on ``date``; forwards: the
        outright forward, USD per unit), ``fx`` (USD per unit of ``currency`` at the last close),
        ``market_value`` (USD; 0 for futures; forwards: the contract's value at the last close,
        0 when struck then, rolled down to ``date``), ``notional_usd`` (quantity × multiplier ×
        underlying_price × fx), ``pct_net_assets`` (market_value / net_assets_usd),
        ``underlying`` (futures root, option index, forward's bought currency; ``""`` for
        securities) and ``underlying_price`` (its last close; forwards: spot, USD per unit).
    cash_usd, other_assets_usd, liabilities_usd : float
        Cash of both books; accrued interest and dividends receivable; accrued expenses,
        dividends owed on shorts and the day's borrow fee — all in USD at the open (see the
        module docstring). Short positions are holdings with negative market value, not
        liabilities here.
    shares_outstanding : float
    net_assets_usd : float
        The portfolio valued at the last closes: cash + other − liabilities + Σ market_value.
    """

    date: pd.Timestamp
    as_of: pd.Timestamp
    holdings: pd.DataFrame
    cash_usd: float
    other_assets_usd: float
    liabilities_usd: float
    shares_outstanding: float
    net_assets_usd: float

    def __post_init__(self) -> None:
        missing = [c for c in HOLDINGS_COLUMNS if c not in self.holdings.columns]
        if missing:
            raise ValueError(f"DisclosedPortfolio.holdings lacks columns {missing}")
        if not self.shares_outstanding > 0:
            raise ValueError(f"shares_outstanding must be > 0, got {self.shares_outstanding}")
        object.__setattr__(self, "date", pd.Timestamp(self.date))
        object.__setattr__(self, "as_of", pd.Timestamp(self.as_of))
        object.__setattr__(self, "holdings", self.holdings.reset_index(drop=True).copy())

    @classmethod
    def from_result(cls, result: SimulationResult, market: MarketData, date) -> DisclosedPortfolio:
        """The Disclosed Portfolio for NAV date ``date`` (``T``) of a simulation.

        ``T`` must be a date of the run after its first, or the session after its last (the
        nightly job's case). In that last case the roll costs of a roll at ``D``'s close are not
        yet in the result, the futures price is the contract held at ``D``, and dividends going
        ex on ``T`` are included only when ``market`` has ``T``'s row.
        """
        dates = result.inputs.dates
        day = pd.Timestamp(date)
        if day in dates:
            t = int(dates.get_loc(day))
            if t == 0:
                raise ValueError(f"{day:%Y-%m-%d} is the run's first day: no previous close")
            d = t - 1
        elif len(dates) and day == next_session(dates):
            t, d = None, len(dates) - 1
        else:
            raise ValueError(
                f"{day:%Y-%m-%d} is neither a date of the run nor the session after its last"
            )
        days = float((day - dates[d]).days)
        book = _opening_book(result, d, days)
        table = _holdings_table(result, market, d, t, book.quantity, days)
        income = _day_income(result, market, d, t, day, table, days)
        liabilities = book.acc_exp + income.dividends_payable + income.borrow
        other = book.acc_int + income.dividends_receivable
        net = book.cash + other - liabilities + float(table["market_value"].sum())
        table["pct_net_assets"] = table["market_value"] / net if net != 0 else np.nan
        return cls(day, dates[d], table, book.cash, other, liabilities, book.shares, net)

    def to_records(self) -> list[dict]:
        """Holdings as JSON-ready dicts (Python scalars), each with the NAV ``date`` (ISO)."""
        day = f"{self.date:%Y-%m-%d}"
        rows = self.holdings[HOLDINGS_COLUMNS].to_dict("records")
        return [{"date": day, **{k: _native(v) for k, v in r.items()}} for r in rows]


def _native(v):
    return v.item() if isinstance(v, np.generic) else v


class _Book(NamedTuple):
    quantity: np.ndarray  # (N,) opening quantities
    cash: float
    acc_int: float
    acc_exp: float
    shares: float


def _opening_book(result: SimulationResult, d: int, days: float) -> _Book:
    """Quantities, cash, accruals and shares at the open of the session after row ``d``."""
    a, out, nav, cfg = result.inputs.arrays, result.outputs, result.nav, result.config
    kind, mult, fx, price = a["kind"], a["mult"], a["fx"][d], a["price"][d]
    q_close, tq = out.qty[d], out.trade_qty[d]
    traded = tq != 0
    cash_traded = (kind == K.K_SECURITY) | (kind == K.K_OPTION)
    tp = np.where(traded, out.trade_price[d], 0.0)
    trade_cash = -np.sum(np.where(cash_traded, tq * mult * tp * fx, 0.0))
    closed_fwd = (kind == K.K_FORWARD) & traded & (q_close != 0)
    trade_cash += float(np.sum(out.mv[d][closed_fwd]))
    costs = float(np.sum(out.trade_cost[d]))
    shares = float(nav["shares_outstanding"].iloc[d])
    basket = np.zeros_like(q_close)
    flow_cash = 0.0
    units = int(a["flow_units"][d])
    if units != 0:
        new_shares = units * cfg.creation_unit_shares
        value = new_shares * float(nav["nav_per_share_5dp"].iloc[d])
        p = a["params"]
        if units > 0:
            fee = p.creation_fee_fixed_usd + p.creation_fee_bps * 1e-4 * abs(value)
        else:
            fee = p.redemption_fee_fixed_usd + p.redemption_fee_bps * 1e-4 * abs(value)
        if a["flow_in_kind"][d]:
            eligible = (kind == K.K_SECURITY) & (a["book"] == 0) & (q_close != 0)
            basket = np.where(eligible, np.round(q_close * new_shares / shares), 0.0)
        flow_cash = value - float(np.sum(basket * mult * price * fx)) + fee
        shares += new_shares
    cash_books = nav[["cash_fund", "cash_subsidiary"]].iloc[d].to_numpy()
    interest = float(np.sum(np.maximum(cash_books, 0.0))) * a["rf"][d] * days / 360.0
    expense = cfg.expense_ratio * float(nav["net_assets"].iloc[d]) * days / 365.0
    return _Book(
        quantity=q_close + tq + basket,
        cash=float(nav["cash"].iloc[d]) + trade_cash - costs + flow_cash,
        acc_int=float(nav["accrued_interest"].iloc[d]) + interest,
        acc_exp=float(nav["accrued_expenses"].iloc[d]) + expense,
        shares=shares,
    )


def _describe(market: MarketData, ids: list[str]) -> pd.DataFrame:
    """kind, currency, underlying and a readable name per id (options parsed on demand)."""
    rows = []
    table = market.instruments
    for iid in ids:
        if iid in table.index:
            r = table.loc[iid]
            kind, ccy, root = str(r["kind"]), str(r["currency"]), str(r["root"])
            name = iid if not root or root == iid else f"{iid} ({root})"
        elif is_option_id(iid):
            opt = IndexOption.from_id(iid)
            kind, ccy, root = opt.kind.value, opt.currency, opt.root
            name = f"{root} {opt.expiry:%Y-%m-%d} {'call' if opt.is_call else 'put'} {opt.strike:g}"
        else:
            raise KeyError(f"instrument {iid!r} of the result is not in the market")
        rows.append((name, kind, ccy, root))
    return pd.DataFrame(rows, columns=["name", "kind", "currency", "underlying"], index=ids)


def _holdings_table(result, market: MarketData, d: int, t: int | None, qty, days: float):
    """The holdings frame (without ``pct_net_assets``) for the opening quantities ``qty``."""
    a, out = result.inputs.arrays, result.outputs
    held = np.flatnonzero(qty != 0)
    ids = [result.inputs.ids[j] for j in held]
    kind, mult = a["kind"][held], a["mult"][held]
    q, fx, under = qty[held], a["fx"][d][held], a["under"][d][held]
    price = a["price"][d][held].copy()
    fut = kind == K.K_FUTURE
    if t is not None:
        price[fut] = a["prev_ref"][t][held][fut]  # last settlement of the contract held on T
    fwd = kind == K.K_FORWARD
    struck = fwd & (out.trade_qty[d][held] != 0)  # new contract: value 0 at D's close
    mv = np.where(fut | struck, 0.0, out.mv[d][held])
    # forwards: rolled down to T, the 1-month forward points (covered interest parity on D's
    # rates, as the kernel prices them) decaying linearly over the tenor
    tau = _FORWARD_TENOR_DAYS / 360.0
    carry = (1.0 + a["r_usd"][d] * tau) / (1.0 + a["rate_for"][d][held] * tau) - 1.0
    mv = np.where(fwd, mv - q * under * carry * days / _FORWARD_TENOR_DAYS, mv)
    new = (kind == K.K_SECURITY) | (kind == K.K_OPTION)
    mv = np.where(new, q * mult * price * fx, mv)  # bought/sold at D's close: value at that close
    desc = _describe(market, ids)
    frame = pd.DataFrame(
        {
            "instrument": ids,
            "name": desc["name"].to_numpy(),
            "book": result.instrument_info["book"].to_numpy()[held],
            "kind": desc["kind"].to_numpy(),
            "quantity": q,
            "multiplier": mult,
            "currency": desc["currency"].to_numpy(),
            "price": price,
            "fx": fx,
            "market_value": mv,
            "notional_usd": q * mult * under * fx,
            "pct_net_assets": np.nan,
            "underlying": desc["underlying"].to_numpy(),
            "underlying_price": under,
        }
    )
    return frame


class _Income(NamedTuple):
    dividends_receivable: float  # longs, >= 0
    dividends_payable: float  # shorts, >= 0
    borrow: float


def _day_income(result, market, d, t, day, table, days) -> _Income:
    """Dividends going ex on ``T`` and ``T``'s borrow fee on shorts (USD, known at the open)."""
    a = result.inputs.arrays
    idx = pd.Index(result.inputs.ids).get_indexer(table["instrument"])
    security = a["kind"][idx] == K.K_SECURITY
    if t is not None:
        div = a["div"][t][idx]
    elif day in market.dividends.index:
        div = market.dividends.loc[day].reindex(table["instrument"]).fillna(0.0).to_numpy()
    else:
        div = np.zeros(len(table))
    q, fx = table["quantity"].to_numpy(), table["fx"].to_numpy()
    dividends = np.where(security, q * div * fx, 0.0)
    short_value = np.where(security & (q < 0), -table["market_value"].to_numpy(), 0.0)
    borrow = float(np.sum(short_value)) * result.config.costs.borrow_fee_annual * days / 360.0
    receivable = float(np.sum(np.maximum(dividends, 0.0)))
    return _Income(receivable, float(np.sum(np.maximum(-dividends, 0.0))), borrow)


# ----------------------------------------------------------------------------- IIV
def _ffill_from(first: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs of ``values`` (n_ticks, n) down the ticks, seeded by ``first`` (n,)."""
    stacked = np.vstack([first[None, :], values])
    rows = np.where(np.isnan(stacked), 0, np.arange(len(stacked))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    return np.take_along_axis(stacked, rows, axis=0)[1:]


def _tick_matrix(frame: pd.DataFrame | None, columns, last: np.ndarray, n_ticks: int):
    """(n_ticks, len(columns)) float64 from ``frame``, stale-filled from ``last``."""
    raw = np.full((n_ticks, len(columns)), np.nan)
    if frame is not None and len(columns):
        pos = frame.columns.get_indexer(pd.Index(columns))
        found = pos >= 0
        raw[:, found] = frame.to_numpy(dtype="float64")[:, pos[found]]
    stale = np.isnan(raw).any(axis=0)  # fill only the columns that need it
    if stale.any():
        raw[:, stale] = _ffill_from(last[stale], raw[:, stale])
    return raw


def iiv_per_share(
    portfolio: DisclosedPortfolio,
    intraday_prices: pd.DataFrame,
    intraday_fx: pd.DataFrame | None = None,
) -> pd.Series:
    """Intraday Indicative Value per share at each tick (USD, unrounded).

    Parameters
    ----------
    portfolio : DisclosedPortfolio
    intraday_prices : DataFrame of shape (n_ticks, n_instruments)
        Prices in each instrument's currency, indexed by tick timestamps; columns are instrument
        ids (extra columns ignored; futures: the contract held on the portfolio's date; forwards
        are marked from ``intraday_fx`` instead). Missing columns / NaNs follow the stale rule.
    intraday_fx : DataFrame of shape (n_ticks, n_currencies), optional
        USD per unit of each currency at each tick, same index as ``intraday_prices``. None:
        every currency at its last close.

    Returns
    -------
    Series of shape (n_ticks,), indexed by the ticks, named ``iiv_per_share``:
    (cash + other − liabilities + Σ holding values) / shares, valued as in the module docstring.
    One product over (n_ticks, n_holdings) arrays; no loop over ticks.
    """
    ticks = intraday_prices.index
    if intraday_fx is not None and not intraday_fx.index.equals(ticks):
        raise ValueError("intraday_fx must have the same tick index as intraday_prices")
    h = portfolio.holdings
    n = len(ticks)
    kind = h["kind"].to_numpy()
    fwd = kind == InstrumentKind.CURRENCY_FORWARD.value
    fut = np.isin(kind, [k.value for k in FUTURE_KINDS])
    qty = h["quantity"].to_numpy(dtype="float64")
    units = np.where(fwd, qty, qty * h["multiplier"].to_numpy(dtype="float64"))
    price_last = h["price"].to_numpy(dtype="float64")
    spot_last = h["underlying_price"].to_numpy(dtype="float64")
    prices = _tick_matrix(intraday_prices, list(h["instrument"]), price_last, n)
    if fwd.any():
        spots = _tick_matrix(intraday_fx, list(h["underlying"][fwd]), spot_last[fwd], n)
        prices[:, fwd] = spots
    ccy = np.where(fwd, "USD", h["currency"].to_numpy(dtype=str))
    ccys, first, where = np.unique(ccy, return_index=True, return_inverse=True)
    fx_last = np.where(ccys == "USD", 1.0, h["fx"].to_numpy(dtype="float64")[first])
    fx_ticks = _tick_matrix(intraday_fx, list(ccys), fx_last, n)
    fx_ticks[:, ccys == "USD"] = 1.0
    fx = fx_ticks[:, where]  # (n_ticks, n_holdings)
    settle = np.where(fut, -units * price_last, 0.0)  # futures: −q·mult·last settlement
    constant = portfolio.cash_usd + portfolio.other_assets_usd - portfolio.liabilities_usd
    constant += float(np.sum((h["market_value"].to_numpy() - qty * spot_last)[fwd]))
    values = (prices * fx) @ units + fx @ settle + constant
    return pd.Series(values / portfolio.shares_outstanding, index=ticks, name="iiv_per_share")


# ----------------------------------------------------------------------------- session & paths
@functools.lru_cache(maxsize=8)
def _xnys(start: pd.Timestamp, end: pd.Timestamp):
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start=start, end=end)


def session_ticks(date, freq: str = "15s") -> pd.DatetimeIndex:
    """Tick timestamps of the regular NYSE session of ``date``, open to close inclusive.

    Open and close come from ``exchange_calendars`` XNYS (9:30–16:00 America/New_York; 13:00
    on early closes such as the day after Thanksgiving). Every ``freq`` from the open; the close
    is appended when ``freq`` does not divide the session. A normal day at 15 s has
    6.5 × 240 + 1 = 1561 ticks. Returns a tz-aware DatetimeIndex (America/New_York) named
    ``tick``; raises ``ValueError`` when ``date`` is not a session.
    """
    day = pd.Timestamp(date)
    day = (day.tz_localize(None) if day.tz else day).normalize()
    start = min(day, pd.Timestamp("2000-01-03"))
    end = max(day + pd.Timedelta(days=31), pd.Timestamp("2030-12-31"))
    cal = _xnys(start, end)
    if not cal.is_session(day):
        raise ValueError(f"{day:%Y-%m-%d} is not an NYSE trading session")
    open_, close = cal.session_open(day), cal.session_close(day)
    ticks = pd.date_range(open_, close, freq=freq)
    if ticks[-1] != close:
        ticks = ticks.append(pd.DatetimeIndex([close]))
    return pd.DatetimeIndex(ticks.tz_convert(SESSION_TZ), name="tick")


def simulate_intraday(
    closes_prev: pd.Series,
    closes_next: pd.Series,
    ticks: pd.DatetimeIndex,
    vol_annual: pd.Series | float,
    seed: int,
) -> pd.DataFrame:
    """Seeded Brownian-bridge price paths between two closes, one per instrument.

    In log space, with ``s = (tick − first tick) / (last tick − first tick)`` in [0, 1]:
    ``log P(s) = (1 − s) log P_prev + s log P_next + σ_day B(s)``, ``B`` a standard Brownian
    bridge (``Var B(s) = s (1 − s)``), ``σ_day = vol_annual / sqrt(252)`` (the whole
    close-to-close variance, overnight gap included, is spread over the session). The first tick
    is the previous close and the last tick the day's close, exactly.

    Parameters
    ----------
    closes_prev, closes_next : Series of shape (n_instruments,)
        Positive prices by instrument id (same ids). A NaN endpoint gives a NaN column (the IIV's
        stale rule then applies); a non-positive one raises ``ValueError``.
    ticks : DatetimeIndex of shape (n_ticks,), n_ticks >= 2, increasing.
    vol_annual : Series by instrument id, or one float for all (annual decimal, >= 0).
    seed : int
        ``np.random.default_rng(seed)`` draws an (n_ticks − 1, n_instruments) normal matrix:
        the same seed, ticks and column order give the same paths.

    Returns
    -------
    DataFrame of shape (n_ticks, n_instruments) indexed by ``ticks``.
    """
    ids = closes_prev.index
    if not closes_next.index.sort_values().equals(ids.sort_values()):
        raise ValueError("closes_prev and closes_next must be indexed by the same instruments")
    p0 = closes_prev.to_numpy(dtype="float64")
    p1 = closes_next.reindex(ids).to_numpy(dtype="float64")
    bad = (p0 <= 0) | (p1 <= 0)
    if bad.any():
        raise ValueError(f"log-space bridge needs positive closes: {list(ids[bad])[:10]}")
    if isinstance(vol_annual, pd.Series):
        vol = vol_annual.reindex(ids).to_numpy(dtype="float64")
    else:
        vol = np.full(len(ids), float(vol_annual))
    if not (np.isfinite(vol) & (vol >= 0)).all():
        raise ValueError("vol_annual must be finite and >= 0 for every instrument")
    ticks = pd.DatetimeIndex(ticks)
    if len(ticks) < 2 or not (ticks.is_monotonic_increasing and ticks.is_unique):
        raise ValueError("simulate_intraday needs at least 2 strictly increasing ticks")
    elapsed = (ticks - ticks[0]).total_seconds().to_numpy()
    s = elapsed / elapsed[-1]
    z = np.random.default_rng(seed).standard_normal((len(ticks) - 1, len(ids)))
    w = np.vstack([np.zeros((1, len(ids))), np.cumsum(np.sqrt(np.diff(s))[:, None] * z, axis=0)])
    bridge = w - s[:, None] * w[-1]
    sigma_day = vol / math.sqrt(TRADING_DAYS_PER_YEAR)
    with np.errstate(invalid="ignore"):
        log_path = np.log(p0) + s[:, None] * (np.log(p1) - np.log(p0)) + sigma_day * bridge
    path = np.exp(log_path)
    path[0], path[-1] = p0, p1
    path[:, np.isnan(p0) | np.isnan(p1)] = np.nan
    return pd.DataFrame(path, index=ticks, columns=ids)
