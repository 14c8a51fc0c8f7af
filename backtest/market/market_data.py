"""MarketData: one immutable object with everything the strategies and the simulator may read.

Everything is aligned on one trading calendar (``calendar``, NYSE sessions from
``exchange_calendars`` for the synthetic market; the data's own business days for loaded data).
Frames are indexed by that calendar; a missing value is NaN (an instrument with no data yet).

Fields (shapes are ``n_dates`` = len(calendar)):

``instruments``  DataFrame indexed by instrument id, columns
                 :data:`backtest.market.instruments.TABLE_COLUMNS` (``kind``, ``currency``, ...).
``prices``       DataFrame (n_dates × n_instruments): settlement price in the instrument's currency.
                 For a futures root: the price of the held contract (``curves[root].price``).
                 For a currency forward ``FWD-XXX-1M``: the outright 1-month forward, USD per unit.
``adjusted``     DataFrame (n_dates × futures roots): Panama-adjusted continuous price; its daily
                 differences are the P&L per point of holding and rolling the contract (only the
                 differences matter: pysystemtrade anchors the series at its last day, the
                 synthetic market at its first, so that extending the window never rewrites it).
``curves``       dict root -> DataFrame (n_dates × :data:`CURVE_COLUMNS`), the pysystemtrade
                 "multiple prices" shape: the held contract (``price``), the contract used for
                 carry (``carry``; usually the next one, the previous one for CarryOffset = -1
                 instruments) and the contract rolled into next (``forward``), each with its id
                 (int ``YYYYMMDD``; ``DD = 00`` for monthly ids) and its expiry (datetime64).
``fx``           DataFrame (n_dates × currencies): USD value of one unit of the currency
                 (``USD`` = 1.0).
``rates``        DataFrame (n_dates × currencies): short interest rate, annual decimal,
                 simple ACT/360 money-market convention; ``rates["USD"]`` is the risk-free rate.
``index``        DataFrame (n_dates × index names): non-tradable index levels, e.g. ``SPX``
                 (price index), ``SPX_DY`` (its dividend yield, annual decimal), ``VIX``.
``vol_surface``  DataFrame (n_dates × :data:`SURFACE_COLUMNS`): the equity index implied-vol
                 surface, ATM vols at the tenors in :data:`SURFACE_TENORS_YEARS` plus ``skew``
                 and ``curvature`` (see :func:`backtest.market.pricing.surface_vol`).
``dividends``    DataFrame (n_dates × equity ids): cash dividend per share going ex on the date.
``benchmarks``   DataFrame (n_dates × names): total-return levels of broad-market comparators
                 (``equity_index``, ``bond_index``; other columns are further comparators).
``approximations`` dict ``"field.column"`` (or ``"field"``) -> text: fields a loader derived
                 rather than read, and how (e.g. the pysystemtrade sample's ``index.SPX`` from
                 the SP500 future, :mod:`backtest.market.proxies`); empty for data read as is.

``until(date)`` returns the MarketData as known at that date's close: every frame cut after it.
That is what the no-look-ahead (truncation) tests rely on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from backtest.market.cuts import row_local_marks, row_local_returns
from backtest.market.instruments import (
    TABLE_COLUMNS,
    IndexOption,
    InstrumentKind,
    instrument_from_row,
    instruments_table,
)
from backtest.market.instruments import Equity as _equity
from backtest.market.pricing import bs_price, surface_vol, surface_vol_rows

T = TypeVar("T")

#: Columns of a futures curve frame (pysystemtrade multiple-prices shape plus expiries).
CURVE_COLUMNS = (
    "price",
    "price_contract",
    "price_expiry",
    "carry",
    "carry_contract",
    "carry_expiry",
    "forward",
    "forward_contract",
    "forward_expiry",
)
#: Tenors (years) of the ATM columns of the vol surface.
SURFACE_TENORS_YEARS = (30 / 365, 61 / 365, 91 / 365, 182 / 365, 365 / 365)
SURFACE_COLUMNS = ("atm_1m", "atm_2m", "atm_3m", "atm_6m", "atm_12m", "skew", "curvature")

#: The frame-valued fields, in order, that are indexed by the calendar.
DATED_FIELDS = (
    "prices",
    "adjusted",
    "fx",
    "rates",
    "index",
    "vol_surface",
    "dividends",
    "benchmarks",
)

#: Names a strategy may declare in ``required_fields``.
FIELD_NAMES = frozenset(DATED_FIELDS) | {"curves", "instruments"}


def _empty(calendar: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(index=calendar, dtype="float64")


@dataclass(frozen=True, eq=False)
class MarketData:
    """Immutable market snapshot; see the module docstring for every field's shape and units.

    Build it with :func:`backtest.synthetic.synthetic_market`, :func:`backtest.data.load_market`,
    or :meth:`MarketData.from_prices` for plain price tables.
    """

    calendar: pd.DatetimeIndex
    instruments: pd.DataFrame
    prices: pd.DataFrame
    adjusted: pd.DataFrame = None  # type: ignore[assignment]
    curves: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    fx: pd.DataFrame = None  # type: ignore[assignment]
    rates: pd.DataFrame = None  # type: ignore[assignment]
    index: pd.DataFrame = None  # type: ignore[assignment]
    vol_surface: pd.DataFrame = None  # type: ignore[assignment]
    dividends: pd.DataFrame = None  # type: ignore[assignment]
    benchmarks: pd.DataFrame = None  # type: ignore[assignment]
    name: str = "market"
    approximations: Mapping[str, str] = field(default_factory=dict)
    #: results of pure functions of this (immutable) market, computed once: see :meth:`cached`
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cal = pd.DatetimeIndex(np.asarray(self.calendar, dtype="datetime64[ns]"), name="date")
        if not cal.is_monotonic_increasing or cal.has_duplicates:
            raise ValueError("MarketData.calendar must be strictly increasing trading days")
        object.__setattr__(self, "calendar", cal)
        for name in DATED_FIELDS:
            frame = getattr(self, name)
            if frame is None:
                frame = _empty(cal)
            elif not frame.index.equals(cal):
                raise ValueError(
                    f"MarketData.{name} index does not match the calendar "
                    f"({len(frame.index)} rows vs {len(cal)} trading days)"
                )
            frame = frame.copy()
            frame.index.name = "date"
            frame.columns = pd.Index([str(c) for c in frame.columns], name=None)
            object.__setattr__(self, name, frame)
        curves = {}
        for root, curve in dict(self.curves).items():
            if not curve.index.equals(cal):
                raise ValueError(f"MarketData.curves[{root!r}] index does not match the calendar")
            missing = [c for c in CURVE_COLUMNS if c not in curve.columns]
            if missing:
                raise ValueError(f"MarketData.curves[{root!r}] lacks columns {missing}")
            c = curve.loc[:, list(CURVE_COLUMNS)].copy()
            c.index.name = "date"
            curves[root] = c
        object.__setattr__(self, "curves", curves)
        object.__setattr__(self, "approximations", dict(self.approximations))
        missing_cols = [c for c in TABLE_COLUMNS if c not in self.instruments.columns]
        if missing_cols:
            raise ValueError(f"instrument table lacks columns {missing_cols}")
        unknown = [c for c in self.prices.columns if c not in self.instruments.index]
        if unknown:
            raise ValueError(
                f"prices reference instruments not defined in the table: {unknown[:10]}"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_prices(
        cls, prices: pd.DataFrame, instruments: pd.DataFrame | None = None, name: str = "user"
    ) -> MarketData:
        """Build from a plain price table (dates × ids).

        Without ``instruments`` every column is taken as a USD equity (industry ``"unknown"``).
        The calendar is the price table's index.
        """
        if not isinstance(prices.index, pd.DatetimeIndex):
            raise ValueError("from_prices: the price table must be indexed by dates")
        prices = prices.sort_index().astype("float64")
        if instruments is None:
            instruments = instruments_table(
                [_equity(str(c), industry="unknown") for c in prices.columns]
            )
        rates = pd.DataFrame({"USD": 0.0}, index=prices.index)
        fx = pd.DataFrame({"USD": 1.0}, index=prices.index)
        return cls(
            calendar=pd.DatetimeIndex(prices.index),
            instruments=instruments,
            prices=prices,
            fx=fx,
            rates=rates,
            name=name,
        )

    def replace(self, **changes) -> MarketData:
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ slicing
    def until(self, date) -> MarketData:
        """The market as known at ``date``'s close: every row after ``date`` removed."""
        cut = pd.Timestamp(date)
        n = int(self.calendar.searchsorted(cut, side="right"))
        return self._take(slice(0, n))

    def between(self, start, end) -> MarketData:
        """Rows with ``start <= date <= end``."""
        i = int(self.calendar.searchsorted(pd.Timestamp(start), side="left"))
        j = int(self.calendar.searchsorted(pd.Timestamp(end), side="right"))
        cut = self._take(slice(i, j))
        cut._memo.update(row_local_returns(self, slice(i, j), cut))
        return cut

    def _take(self, rows: slice) -> MarketData:
        """The market on ``rows``: the calendar, every dated frame and every curve cut, the
        rest shared. Built without :meth:`__post_init__`, whose checks the cut of a valid
        market passes and whose copies a row slice does not need (under copy-on-write it is a
        new frame, with the labels already normalised): ~30 ms a cut on 20 years."""
        cut = object.__new__(MarketData)
        for f in dataclasses.fields(self):
            object.__setattr__(cut, f.name, getattr(self, f.name))
        object.__setattr__(cut, "calendar", self.calendar[rows])
        for name in DATED_FIELDS:
            object.__setattr__(cut, name, getattr(self, name).iloc[rows])
        object.__setattr__(cut, "curves", {root: c.iloc[rows] for root, c in self.curves.items()})
        object.__setattr__(cut, "approximations", dict(self.approximations))
        object.__setattr__(cut, "_memo", row_local_marks(self, rows, cut))
        return cut

    # ------------------------------------------------------------------ queries
    @property
    def start(self) -> pd.Timestamp:
        return self.calendar[0]

    @property
    def end(self) -> pd.Timestamp:
        return self.calendar[-1]

    def ids(self, kinds: Iterable[InstrumentKind | str] | None = None) -> list[str]:
        """Instrument ids of the given kinds (all when None), in table order."""
        if kinds is None:
            return list(self.instruments.index)
        wanted = {str(getattr(k, "value", k)) for k in kinds}
        return list(self.instruments.index[self.instruments["kind"].isin(wanted)])

    def instrument(self, instrument_id: str):
        """The instrument record for an id; option ids are parsed on demand."""
        if instrument_id in self.instruments.index:
            return instrument_from_row(instrument_id, self.instruments.loc[instrument_id])
        try:
            return IndexOption.from_id(instrument_id).as_instrument()
        except ValueError:
            raise KeyError(f"unknown instrument {instrument_id!r}") from None

    def available_fields(self) -> frozenset[str]:
        """Names of the fields that hold data (non-empty)."""
        have = {"instruments"} if len(self.instruments) else set()
        have |= {n for n in DATED_FIELDS if getattr(self, n).shape[1] > 0}
        if self.curves:
            have.add("curves")
        return frozenset(have)

    def fx_to_usd(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """USD per unit of each instrument's currency (dates × ids); NaN for unknown currencies."""
        ids = list(self.instruments.index if ids is None else ids)
        ccy = self.instruments.loc[ids, "currency"]
        fx = self.fx.copy()
        if "USD" not in fx.columns:
            fx["USD"] = 1.0
        out = fx.reindex(columns=list(ccy.values))
        out.columns = pd.Index(ids)
        return out

    def notional_per_unit_usd(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """USD notional of one contract/share: multiplier × price × FX (dates × ids)."""
        ids = list(self.instruments.index if ids is None else ids)
        mult = self.instruments.loc[ids, "multiplier"].to_numpy()
        return self.prices[ids] * mult * self.fx_to_usd(ids)

    def implied_vol(self, strike, expiry, dates=None, underlying: str = "SPX") -> pd.Series:
        """Surface implied vol for a strike and expiry on each date (NaN after expiry)."""
        rows = self.calendar if dates is None else pd.DatetimeIndex(dates)
        tau = _tau_years(rows, pd.Timestamp(expiry))
        fwd = self.index_forward(tau, None if dates is None else rows, underlying)
        surf = self.vol_surface if dates is None else self.vol_surface.loc[rows]
        atm = surf[list(SURFACE_COLUMNS[:5])].to_numpy()
        vol = surface_vol(
            atm,
            np.asarray(SURFACE_TENORS_YEARS),
            surf["skew"].to_numpy(),
            surf["curvature"].to_numpy(),
            fwd,
            np.full(len(rows), float(strike)),
            np.maximum(tau, 1 / 365),
        )
        vol = np.where(tau > 0, vol, np.nan)
        return pd.Series(vol, index=rows, name="implied_vol")

    def index_forward(self, tau_years, dates, underlying: str = "SPX") -> np.ndarray:
        """Forward level of an index: spot × exp((r − q) τ), τ in ACT/365 years.

        ``r`` is the USD money-market rate used as if continuously compounded (the difference
        is second order for option tenors of a year or less).
        """
        dates = None if dates is None else pd.DatetimeIndex(dates)  # None: every date
        spot = self._column(self.index, underlying, dates)
        dy_col = f"{underlying}_DY"
        q = self._column(self.index, dy_col, dates) if dy_col in self.index else 0.0
        r = self._column(self.rates, "USD", dates)
        return spot * np.exp((r - q) * np.asarray(tau_years))

    def option_price(self, option: IndexOption | str, dates=None) -> pd.Series:
        """Model price (surface vol, Black-Scholes) of an index option on each date.

        At and after expiry the value is the intrinsic value at the expiry date's index level
        (cash settlement); NaN before the surface has data.
        """
        opt = IndexOption.from_id(option) if isinstance(option, str) else option
        if dates is None:  # every date: computed once per option for this market
            self.price_options([opt])
            return self._memo[("option_price", opt.id)].copy()
        return self._marks_of([opt], opt.root, opt.is_call, pd.DatetimeIndex(dates))[0]

    @staticmethod
    def _column(frame: pd.DataFrame, column: str, dates) -> np.ndarray:
        """One column as an array, on ``dates`` (None: every date, no index look-up)."""
        return frame[column].to_numpy() if dates is None else frame.loc[dates, column].to_numpy()

    def option_prices(self, options) -> pd.DataFrame:
        """:meth:`option_price` of several options on every date (dates × option ids), the ones
        not computed yet for this market priced together (:meth:`price_options`)."""
        ids = [o if isinstance(o, str) else o.id for o in options]
        self.price_options(ids)
        if not ids:
            return pd.DataFrame(index=self.calendar, columns=ids, dtype="float64")
        # (ids × dates), as pandas stores a frame's block: handed over as is, no second copy
        marks = np.stack([self._memo[("option_price", i)].to_numpy() for i in ids])
        return pd.DataFrame(marks.T, index=self.calendar, columns=ids, copy=False)

    def price_options(self, options, chunk: int = 64) -> None:
        """Compute and keep the every-date marks of the options not yet computed for this
        market, ``chunk`` options at a time in one vectorised surface and Black-Scholes call.

        Each element is computed by the same arithmetic as :meth:`option_price` on its own (the
        tests check the marks are equal to the last bit).
        """
        todo = {}
        for o in options:
            opt = IndexOption.from_id(o) if isinstance(o, str) else o
            if ("option_price", opt.id) not in self._memo:
                todo.setdefault((opt.root, opt.is_call), {})[opt.id] = opt
        for (root, is_call), group in todo.items():
            opts = list(group.values())
            for k in range(0, len(opts), chunk):
                for opt, marks in zip(opts[k : k + chunk], self._marks_of(opts[k : k + chunk],
                                      root, is_call), strict=True):  # fmt: skip
                    self._memo[("option_price", opt.id)] = marks

    def _marks_of(
        self, opts: list[IndexOption], root: str, is_call: bool, dates=None
    ) -> list[pd.Series]:
        """Marks of options on one root and of one type, computed together, on ``dates`` (None:
        every date, read without index look-ups): the arithmetic of :meth:`option_price`."""
        rows = self.calendar if dates is None else dates
        n, k = len(rows), len(opts)
        tau = np.concatenate([_tau_years(rows, o.expiry) for o in opts])
        live = tau > 0  # after expiry the mark is the payoff: no surface, no model
        at = np.tile(np.arange(n), k)[live]  # the date row of each live (option, date)
        tau_live = tau[live]
        spot = self._column(self.index, root, dates)[at]
        dy_col = f"{root}_DY"
        has_dy = dy_col in self.index
        q = self._column(self.index, dy_col, dates)[at] if has_dy else np.zeros(len(at))
        q_fwd = q if has_dy else 0.0  # as index_forward reads it
        r = self._column(self.rates, "USD", dates)[at]
        strike = np.repeat(np.array([o.strike for o in opts], dtype="float64"), n)[live]
        surf = self.vol_surface if dates is None else self.vol_surface.loc[rows]
        vol = surface_vol_rows(  # element by element: the same values as on every (option, date)
            surf[list(SURFACE_COLUMNS[:5])].to_numpy(),
            at,
            np.asarray(SURFACE_TENORS_YEARS),
            surf["skew"].to_numpy()[at],
            surf["curvature"].to_numpy()[at],
            spot * np.exp((r - q_fwd) * tau_live),
            strike,
            np.maximum(tau_live, 1 / 365),
        )
        price = np.empty(n * k)
        price[live] = bs_price(spot, strike, tau_live, r, q, vol, is_call)
        out = []
        levels = self._column(self.index, root, None)  # settlement: the expiry date's level
        settle_at = self.calendar.searchsorted([o.expiry for o in opts], side="right") - 1
        for j, opt in enumerate(opts):
            p = price[j * n : (j + 1) * n].copy()
            dead = ~live[j * n : (j + 1) * n]
            if dead.any():
                settle = levels[settle_at[j]] if settle_at[j] >= 0 else np.nan
                payoff = settle - opt.strike if is_call else opt.strike - settle
                p[dead] = max(payoff, 0.0)
            out.append(pd.Series(p, index=rows, name=opt.id, copy=False))  # p: its own copy
        return out

    def __getstate__(self) -> dict:
        """Pickled without its cache (a market sent to a process starts with an empty one)."""
        return {**self.__dict__, "_memo": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` for this market, then the stored result.

        For pure functions of the market only (instrument returns, option marks): the market is
        immutable, and a cut (:meth:`until`, :meth:`between`) is a new market whose cache holds
        only the results it would compute identically on its own rows (option marks, and for
        :meth:`between` instrument returns: :mod:`backtest.market.cuts`), so a truncated market
        never sees a result computed on more data. Callers must not modify what they get back,
        with one kind of exception: a memo of a pure function of its own arguments, which any
        market could hold and which is extended with answers only (the allocator's solves,
        keyed by the exact bytes of each problem: :class:`allocator.risk.RecentSolves`).
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def cached_batch(self, keys: list[tuple], compute: Callable[[list[tuple]], list]) -> list:
        """:meth:`cached` for several keys whose values are cheaper computed together:
        ``compute(missing)`` is called once with the keys not computed yet for this market (in
        the order given) and returns their values in that order; returns every key's value."""
        missing = list(dict.fromkeys(k for k in keys if k not in self._memo))
        if missing:
            values = compute(missing)
            if len(values) != len(missing):
                raise ValueError(f"cached_batch: {len(values)} values for {len(missing)} keys")
            self._memo.update(zip(missing, values, strict=True))
        return [self._memo[k] for k in keys]

    # ------------------------------------------------------------------ comparison
    def equals(self, other: MarketData) -> bool:
        """Exact equality of every field (used by the round-trip tests)."""
        if not isinstance(other, MarketData) or not self.calendar.equals(other.calendar):
            return False
        if not self.instruments.equals(other.instruments):
            return False
        for name in DATED_FIELDS:
            if not getattr(self, name).equals(getattr(other, name)):
                return False
        if set(self.curves) != set(other.curves) or self.approximations != other.approximations:
            return False
        return all(self.curves[r].equals(other.curves[r]) for r in self.curves)

    def __repr__(self) -> str:
        kinds = self.instruments["kind"].value_counts().to_dict() if len(self.instruments) else {}
        span = f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}" if len(self.calendar) else "empty"
        return f"MarketData({self.name!r}, {len(self.calendar)} days {span}, instruments={kinds})"


_NS_PER_DAY = 86_400_000_000_000


def _tau_years(dates: pd.DatetimeIndex, expiry: pd.Timestamp) -> np.ndarray:
    """Calendar-day ACT/365 time from each date's close to expiry, in years.

    Whole days as :attr:`pandas.Timedelta.days` counts them (floored), from the nanosecond
    integers without building a TimedeltaIndex.
    """
    ns = pd.Timestamp(expiry).as_unit("ns").value - dates.as_unit("ns").asi8
    return (ns // _NS_PER_DAY).astype("float64") / 365.0
