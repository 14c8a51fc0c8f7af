"""The fund simulator's edge: pandas in, numba kernel, frozen result with pandas views out.

>>> result = simulate(market, targets, FundConfig.frictionless(25e6))   # doctest: +SKIP
>>> result.nav[["nav_per_share", "net_assets"]]                           # doctest: +SKIP

``targets`` is a DataFrame (dates × instrument ids, option ids allowed): target notional exposure
as a fraction of the fund's net assets decided at each date's close; NaN = no decision (the
holding drifts). The kernel (:mod:`backtest.engine.kernel`) trades at the next close and books on
the business day after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from backtest.engine import kernel as K
from backtest.engine.config import FlowKind, FundConfig
from backtest.engine.dense import DenseOutputs, row_sums
from backtest.engine.fill import (
    constant_array,
    fill_securities,
    finite_rows,
    first_infinite,
    nan_to_num_columns,
)
from backtest.engine.futures import cached_futures_arrays
from backtest.engine.futures import futures_roll_flags as futures_roll_flags  # re-exported
from backtest.market.arrays import readonly_c
from backtest.market.calendar import month_end_flags, next_session, quarter_end_flags
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind, is_option_id
from backtest.market.market_data import MarketData

NAV_COLUMNS = [
    "nav_per_share", "nav_per_share_5dp", "shares_outstanding", "total_assets", "liabilities",
    "net_assets", "fund_net_assets", "subsidiary_net_assets", "subsidiary_pct_total_assets",
    "cash", "cash_fund", "cash_subsidiary", "accrued_expenses", "accrued_interest",
    "accrued_interest_fund", "accrued_interest_subsidiary", "interest",
    "expenses", "flow_value", "fees", "costs", "pnl", "transfer_to_subsidiary", "cash_shortfall",
]  # fmt: skip


@dataclass(frozen=True)
class SimulationInputs:
    """The arrays handed to the kernel (see :func:`backtest.engine.kernel.run_kernel`; ``arrays``
    holds its keyword arguments, ``params`` a :class:`~backtest.engine.kernel.KernelParams`) and
    their labels."""

    dates: pd.DatetimeIndex
    ids: list[str]
    arrays: dict[str, np.ndarray | K.KernelParams]
    asset_class: np.ndarray
    flows: pd.DataFrame


def _validate_targets(targets: pd.DataFrame, market: MarketData) -> pd.DataFrame:
    if not isinstance(targets, pd.DataFrame):
        raise ValueError("targets must be a DataFrame (dates × instrument ids)")
    if not isinstance(targets.index, pd.DatetimeIndex):
        raise ValueError("targets must be indexed by dates")
    unknown = [
        c for c in targets.columns if c not in market.instruments.index and not is_option_id(c)
    ]
    if unknown:
        raise ValueError(f"targets name instruments not in the market: {unknown[:10]}")
    outside = targets.index.difference(market.calendar)
    if len(outside):
        raise ValueError(
            f"targets have dates outside the market calendar, first {outside[0]:%Y-%m-%d} "
            f"({len(outside)} in all)"
        )
    values = targets.to_numpy(dtype="float64")
    first = first_infinite(values) if values.size else -1
    if first >= 0:
        r, c = divmod(first, values.shape[1])
        raise ValueError(
            f"targets hold a non-finite value on {targets.index[r]:%Y-%m-%d}, column "
            f"{targets.columns[c]!r}: {values[r, c]}"
        )
    return targets.reindex(market.calendar)


def prepare_inputs(
    market: MarketData, targets: pd.DataFrame, config: FundConfig
) -> SimulationInputs:
    """Validate and convert to the kernel's arrays.

    Every array is read-only, and some share memory: when no column needs an underlying of
    its own (no option, no currency forward), ``under`` *is* ``price`` (securities and futures
    measure notional on their own price); ``fx`` of an all-USD book, and ``prev_ref``,
    ``rolled``, ``div`` and ``rate_for`` when no column writes them (no futures, no dividends,
    no forwards), are constant arrays made once per market and width.
    """
    targets = _validate_targets(targets, market)
    dates = market.calendar
    T = len(dates)
    ids = [str(c) for c in targets.columns]
    N = len(ids)
    table = market.instruments
    in_table = table.index.get_indexer(ids) >= 0
    listed = list(np.flatnonzero(in_table))
    rows = table.loc[[ids[j] for j in listed]]
    cols = np.asarray(listed, dtype=np.int64)
    kinds = rows["kind"].map(InstrumentKind)
    is_future = kinds.isin(FUTURE_KINDS).to_numpy()
    is_forward = (kinds == InstrumentKind.CURRENCY_FORWARD).to_numpy()
    is_security = ~is_future & ~is_forward
    has_fut, has_fwd = bool(is_future.any()), bool(is_forward.any())
    sec_ids = [ids[j] for j in cols[is_security]]
    paying = any(i in market.dividends.columns for i in sec_ids)
    non_usd = bool((rows["currency"] != "USD").any())
    f64 = lambda: np.zeros((T, N))  # noqa: E731
    price = f64()
    ref = f64() if has_fut else constant_array(market, N, 0.0)  # zeros no column writes
    div = f64() if paying else constant_array(market, N, 0.0)
    rate_for = f64() if has_fwd else constant_array(market, N, 0.0)
    own_under = len(listed) < N or has_fwd  # options, forwards
    under = f64() if own_under else price
    fx = np.ones((T, N)) if non_usd or has_fwd else constant_array(market, N, 1.0)
    rolled = np.zeros((T, N), dtype=np.bool_) if has_fut else constant_array(market, N, False)
    kind = np.zeros(N, dtype=np.int64)
    book = np.zeros(N, dtype=np.int64)
    mult = np.ones(N)
    expiry_idx = np.full(N, -1, dtype=np.int64)
    commission = np.zeros(N)
    asset_class = np.empty(N, dtype=object)
    costs = config.costs
    on_demand = np.flatnonzero(~in_table)  # on-demand options
    _fill_options(market, ids, on_demand, price, under)
    if len(on_demand):
        opts = [IndexOption.from_id(ids[j]) for j in on_demand]
        kind[on_demand] = K.K_OPTION
        mult[on_demand] = [opt.multiplier for opt in opts]
        expiries = pd.DatetimeIndex([opt.expiry for opt in opts])
        ex = dates.searchsorted(expiries, side="right").astype(np.int64) - 1
        expiry_idx[on_demand] = np.where((expiries <= dates[-1]) & (ex >= 0), ex, -1)
        commission[on_demand] = costs.commission_per_contract_usd
        asset_class[on_demand] = [opt.asset_class.value for opt in opts]
    mult[cols] = rows["multiplier"].to_numpy()
    book[cols] = rows["subsidiary_only"].to_numpy().astype(np.int64)
    asset_class[cols] = rows["asset_class"].to_numpy()
    if non_usd:
        fx[:, cols] = market.fx_to_usd(list(rows.index)).ffill().to_numpy()
    fut = cols[is_future]
    if len(fut):  # every root's arrays once per market, computed together
        kind[fut] = K.K_FUTURE
        held = cached_futures_arrays(market, [ids[j] for j in fut], config.roll_days_before_expiry)
        for a, k in ((price, 0), (ref, 1), (rolled, 2)):
            a[:, fut] = np.stack([h[k] for h in held], axis=1)
        if own_under:
            under[:, fut] = price[:, fut]
        commission[fut] = costs.commission_per_contract_usd
    fwd = cols[is_forward]
    if len(fwd):
        kind[fwd] = K.K_FORWARD
        fx[:, fwd] = 1.0
        ccys = list(rows["root"].to_numpy()[is_forward])
        price[:, fwd] = market.prices[[ids[j] for j in fwd]].ffill().to_numpy()
        under[:, fwd] = market.fx[ccys].ffill().to_numpy()
        rate_for[:, fwd] = market.rates[ccys].ffill().to_numpy()
    sec = cols[is_security]
    if len(sec):
        kind[sec] = K.K_SECURITY
        fill_securities(market, sec_ids, sec, price, under, div if paying else None)
        commission[sec] = costs.commission_per_share_usd
    cost_bps = np.array([costs.half_spread_bps.get(str(a), 0.0) for a in asset_class], dtype=float)
    # NaN → 0, ±inf → ±max in the columns filled by pandas or from the futures' legs: the
    # securities' were sanitised as they were filled, every other column holds the 0 or 1 it
    # was made with (so the arrays are what nan_to_num over all of them gives); prev_ref is
    # written for futures only, rate_for for forwards, fx for the listed columns
    raw = np.union1d(np.union1d(fut, fwd), on_demand).astype(np.int64)
    for a in [price] + ([under] if own_under else []) + ([ref] if has_fut else []):
        nan_to_num_columns(a, raw)
    if non_usd:
        nan_to_num_columns(fx, cols)
    if has_fwd:
        nan_to_num_columns(rate_for, fwd.astype(np.int64))
    arrays = dict(
        price=price, prev_ref=ref, rolled=rolled, fx=fx, under=under, div=div, rate_for=rate_for,
        **_daily_arrays(market, config), kind=kind, book=book, mult=mult, expiry_idx=expiry_idx,
        cost_bps=cost_bps, commission=commission, **_target_arrays(targets),
        month_end=month_end_flags(dates),
        quarter_end=quarter_end_flags(dates, config.subsidiary.fiscal_year_end_month),
    )  # fmt: skip
    flows = flow_schedule(dates, config)
    arrays.update(_flow_arrays(dates, flows))
    for a in arrays.values():  # the kernel and every reader only read them (some are shared)
        a.flags.writeable = False
    arrays["params"] = kernel_params(config, has_sub=bool((book == 1).any()))
    return SimulationInputs(dates, ids, arrays, asset_class, flows)


def _fill_options(market: MarketData, ids: list[str], cols: np.ndarray, price, under) -> None:
    """On-demand options' columns ``cols`` (positions in ``ids``) of the kernel's (n_dates,
    n_ids) float64 arrays: ``price`` the forward-filled marks (priced together, once per
    market), ``under`` the forward-filled index level of each option's root. The values of
    ``option_price(opt).ffill()`` and ``index[root].ffill()`` column by column: one 2-D forward
    fill of the marks, one per root of the levels (a forward fill copies values: same bits)."""
    if not len(cols):
        return
    opt_ids = [ids[j] for j in cols]
    price[:, _block(cols)] = market.option_prices(opt_ids).ffill().to_numpy()
    roots = np.array([IndexOption.from_id(i).root for i in opt_ids])
    for root in dict.fromkeys(roots):
        under[:, _block(cols[roots == root])] = market.index[root].ffill().to_numpy()[:, None]


def _block(cols: np.ndarray) -> slice | np.ndarray:
    """Ascending distinct column positions as a slice when they are consecutive (e.g. the
    options, whose sorted ids sit together), else themselves: assigning through a slice copies
    the same values several times faster than a fancy index into a C-ordered (T, N) array."""
    if len(cols) and cols[-1] - cols[0] + 1 == len(cols):
        return slice(int(cols[0]), int(cols[-1]) + 1)
    return cols


def _daily_arrays(market: MarketData, config: FundConfig) -> dict[str, np.ndarray]:
    """``r_usd`` (USD short rate), ``rf`` (rate earned on cash) and ``day_number`` (calendar
    days since the epoch), arrays of shape (n_dates,)."""
    T = len(market.calendar)
    r_usd = (
        market.rates["USD"].ffill().fillna(0.0).to_numpy() if "USD" in market.rates else np.zeros(T)
    )
    rf = r_usd.copy() if config.earn_interest else np.zeros(T)
    if config.earn_interest and config.cash_vehicle == "money_market":
        rf = rf - config.money_market_fee_annual
    day_number = (market.calendar.asi8 // 86_400_000_000_000).astype("float64")
    return {"r_usd": r_usd, "rf": rf, "day_number": day_number}


def _flow_arrays(dates: pd.DatetimeIndex, flows: pd.DataFrame) -> dict[str, np.ndarray]:
    """``flow_units`` (signed creation units received, int64) and ``flow_in_kind`` (bool) by
    date, arrays of shape (n_dates,)."""
    units = np.zeros(len(dates), dtype=np.int64)
    in_kind = np.zeros(len(dates), dtype=np.bool_)
    if len(flows):
        idx = dates.get_indexer(flows["date"])
        np.add.at(units, idx, flows["units"].to_numpy())
        in_kind[idx] = flows["kind"].to_numpy() == FlowKind.IN_KIND.value
    return {"flow_units": units, "flow_in_kind": in_kind}


def _target_arrays(targets: pd.DataFrame) -> dict[str, np.ndarray]:
    """``target``: the targets (already on the calendar) as a C-contiguous float64 array (dates
    × ids); ``decided``: bool (dates,), the rows holding a finite target."""
    target = readonly_c(targets.to_numpy(dtype="float64"))  # a view: the frame stays writable
    return {"target": target, "decided": finite_rows(target)}


def kernel_params(config: FundConfig, has_sub: bool) -> K.KernelParams:
    """The kernel's :class:`~backtest.engine.kernel.KernelParams` of a fund configuration."""
    s = config.subsidiary
    return K.KernelParams(
        initial_shares=float(config.initial_shares),
        initial_nav_per_share=float(config.initial_nav_per_share),
        creation_unit_shares=float(config.creation_unit_shares),
        creation_fee_fixed_usd=float(config.creation_fee_fixed_usd),
        creation_fee_bps=float(config.creation_fee_bps),
        redemption_fee_fixed_usd=float(config.redemption_fee_fixed_usd),
        redemption_fee_bps=float(config.redemption_fee_bps),
        expense_ratio=float(config.expense_ratio),
        buffer_pct_nav=float(config.no_trade_buffer_pct_nav),
        sub_cap=float(s.cap_pct),
        sub_target=float(s.target_pct),
        sub_low=float(s.band_low),
        sub_high=float(s.band_high),
        sub_margin=float(s.margin_pct),
        impact_bps_per_pct=float(config.costs.impact_bps_per_pct_nav),
        borrow_fee_annual=float(config.costs.borrow_fee_annual),
        has_subsidiary_instruments=bool(has_sub),
        size_at_execution=config.size_at == "execution",
        buffer_pct_position=float(config.no_trade_buffer_pct_position),
        buffer_cost_ref_bps=float(config.no_trade_buffer_cost_ref_bps),
        buffer_to_edge=bool(config.no_trade_buffer_to_edge),
    )


def flow_schedule(dates: pd.DatetimeIndex, config: FundConfig) -> pd.DataFrame:
    """Creation/redemption orders by date: the explicit flows plus the seeded AP process.

    Orders dated after the last date are not received yet and are left out; the AP process
    draws row ``t`` from the same random numbers whatever the length of ``dates``, so a run cut
    at any date receives exactly the orders a longer run receives up to that date. Raises
    ``ValueError`` for a flow on a non-trading day, or a redemption that would take shares
    outstanding below the configured minimum.
    """
    fs = config.flows
    rows = []
    for f in fs.flows:
        if f.date > dates[-1]:
            continue
        if f.date not in dates:
            raise ValueError(f"flow on {f.date:%Y-%m-%d} is not a trading day of the market")
        rows.append((f.date, f.units, f.kind.value))
    if fs.ap_daily_prob > 0:
        rng = np.random.default_rng(fs.seed)
        draw = rng.random((len(dates), 4))
        for t in np.flatnonzero(draw[1:, 0] < fs.ap_daily_prob) + 1:  # the days with an order
            n = 1 + int(draw[t, 1] * fs.ap_max_units)
            sign = 1 if draw[t, 2] < fs.ap_creation_prob else -1
            kind = FlowKind.IN_KIND if draw[t, 3] < fs.ap_in_kind_prob else FlowKind.CASH
            rows.append((dates[t], sign * n, kind.value))
    frame = pd.DataFrame(rows, columns=["date", "units", "kind"]).sort_values("date", kind="stable")
    shares = config.initial_shares
    keep = []
    explicit = len(fs.flows)
    for k, (d, u, _) in enumerate(frame.itertuples(index=False)):
        after = shares + u * config.creation_unit_shares
        if after < config.min_shares_outstanding:
            if frame.index[k] < explicit:
                raise ValueError(
                    f"redemption of {-u} creation units on {d:%Y-%m-%d} refused: it would leave "
                    f"{after:,} shares outstanding, below the minimum "
                    f"{config.min_shares_outstanding:,}"
                )
            continue  # the AP process never redeems below the minimum
        shares = after
        keep.append(k)
    return frame.iloc[keep].reset_index(drop=True)


def simulate(market: MarketData, targets: pd.DataFrame, config: FundConfig | None = None):
    """Run the fund on ``market`` towards ``targets``; returns a :class:`SimulationResult`."""
    config = config or FundConfig()
    inputs = prepare_inputs(market, targets, config)
    out = K.KernelOutputs(*K.run_kernel(**inputs.arrays))
    return SimulationResult(inputs=inputs, config=config, outputs=DenseOutputs(out, inputs.arrays))


@dataclass(frozen=True)
class SimulationResult:
    """Everything the run produced. Arrays in ``outputs`` (dense (T, N) arrays by name, those the
    kernel keeps as records built on first access); pandas views are built on access."""

    inputs: SimulationInputs
    config: FundConfig
    outputs: DenseOutputs

    def _frame(self, values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=self.inputs.dates, columns=self.inputs.ids)

    @cached_property
    def quantities(self) -> pd.DataFrame:
        """Booked holdings at each close (dates × instruments), contracts/shares/units."""
        return self._frame(self.outputs.qty)

    @cached_property
    def market_values(self) -> pd.DataFrame:
        return self._frame(self.outputs.mv)

    @cached_property
    def notionals(self) -> pd.DataFrame:
        return self._frame(self.outputs.notional)

    @cached_property
    def pnl(self) -> pd.DataFrame:
        """Daily P&L in USD by instrument (price, carry, dividends, borrow; before costs)."""
        return self._frame(self.outputs.pnl)

    @cached_property
    def costs(self) -> pd.DataFrame:
        """Trading costs in USD booked on each day, by instrument."""
        return self._frame(self.outputs.cost)

    def pnl_by(self, key: str) -> pd.DataFrame:
        """Daily P&L net of costs grouped by ``"book"`` or ``"asset_class"`` (dates × groups)."""
        labels = self.instrument_info[key]
        return (self.pnl - self.costs).T.groupby(labels.to_numpy()).sum().T

    @cached_property
    def instrument_info(self) -> pd.DataFrame:
        a = self.inputs.arrays
        return pd.DataFrame(
            {
                "book": np.where(a["book"] == 1, "subsidiary", "fund"),
                "asset_class": self.inputs.asset_class,
                "multiplier": a["mult"],
            },
            index=pd.Index(self.inputs.ids, name="instrument"),
        )

    @cached_property
    def nav(self) -> pd.DataFrame:
        f = self.outputs.fund
        d = {
            "nav_per_share": f[:, K.C_NAV_PS],
            "nav_per_share_5dp": f[:, K.C_NAV_PS_5DP],
            "shares_outstanding": f[:, K.C_SHARES],
            "total_assets": f[:, K.C_TOTAL_ASSETS],
            "liabilities": f[:, K.C_LIABILITIES],
            "net_assets": f[:, K.C_NET_ASSETS],
            "fund_net_assets": f[:, K.C_FUND_EX_SUB] + f[:, K.C_SUB_NA],
            "subsidiary_net_assets": f[:, K.C_SUB_NA],
            "subsidiary_pct_total_assets": np.divide(
                f[:, K.C_SUB_NA],
                f[:, K.C_FUND_TOTAL_ASSETS],
                out=np.zeros(len(f)),
                where=f[:, K.C_FUND_TOTAL_ASSETS] != 0,
            ),  # fmt: skip
            "cash": f[:, K.C_CASH_FUND] + f[:, K.C_CASH_SUB],
            "cash_fund": f[:, K.C_CASH_FUND],
            "cash_subsidiary": f[:, K.C_CASH_SUB],
            "accrued_expenses": f[:, K.C_ACC_EXP],
            "accrued_interest": f[:, K.C_ACC_INT_FUND] + f[:, K.C_ACC_INT_SUB],
            "accrued_interest_fund": f[:, K.C_ACC_INT_FUND],
            "accrued_interest_subsidiary": f[:, K.C_ACC_INT_SUB],
            "interest": f[:, K.C_INTEREST],
            "expenses": f[:, K.C_EXPENSE],
            "flow_value": f[:, K.C_FLOW_VALUE],
            "fees": f[:, K.C_FEES],
            "costs": self.outputs.cost_by_day(),
            "pnl": row_sums(self.outputs.pnl),
            "transfer_to_subsidiary": f[:, K.C_TRANSFER],
            "cash_shortfall": f[:, K.C_SHORTFALL] > 0,
        }
        return pd.DataFrame(d, index=self.inputs.dates)[NAV_COLUMNS]

    def _long(self, values: np.ndarray, mask: np.ndarray, **cols) -> pd.DataFrame:
        t, i = np.nonzero(mask)
        ids = np.asarray(self.inputs.ids, dtype=object)
        books = self.instrument_info["book"].to_numpy()
        frame = {"date": self.inputs.dates[t], "instrument": ids[i], "book": books[i]}
        frame.update({k: v[t, i] for k, v in cols.items()})
        return pd.DataFrame(frame)

    @cached_property
    def holdings(self) -> pd.DataFrame:
        """Long table: date, instrument, book, quantity, price, market_value, notional_usd."""
        q = self.outputs.qty
        return self._long(
            q, q != 0, quantity=q, price=self.inputs.arrays["price"],
            market_value=self.outputs.mv, notional_usd=self.outputs.notional,
        )  # fmt: skip

    @cached_property
    def trades(self) -> pd.DataFrame:
        """Executions: date (executed at that close), instrument, book, quantity, price, cost,
        booked (the next business day, when holdings and NAV first see the trade)."""
        tq = self.outputs.trade_qty
        frame = self._long(
            tq, tq != 0, quantity=tq, price=self.outputs.trade_price, cost=self.outputs.trade_cost
        )
        dates = self.inputs.dates
        nxt = dates[1:].append(pd.DatetimeIndex([next_session(dates)]))
        frame["booked"] = nxt[dates.get_indexer(frame["date"])]
        return frame

    @cached_property
    def flows(self) -> pd.DataFrame:
        """Creation/redemption orders: date, units, kind, shares, nav_5dp, value, booked."""
        f = self.inputs.flows.copy()
        if f.empty:
            return f.assign(shares=[], nav_5dp=[], value=[], booked=[])
        dates = self.inputs.dates
        idx = dates.get_indexer(f["date"])
        nav5 = self.outputs.fund[idx, K.C_NAV_PS_5DP]
        f["shares"] = f["units"] * self.config.creation_unit_shares
        f["nav_5dp"] = nav5
        f["value"] = f["shares"] * nav5
        nxt = dates[1:].append(pd.DatetimeIndex([next_session(dates)]))
        f["booked"] = nxt[idx]
        return f
