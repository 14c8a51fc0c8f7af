"""The fund simulator's numba kernel: one pass over trading days, two books, exact accounting.

All inputs are float64 / int64 / bool arrays prepared by :mod:`backtest.engine.simulator`; all
outputs are preallocated here and returned. Shapes: ``T`` trading days, ``N`` instruments.

Day ``t`` (a state transition, in this order):

1. **Accrue** interest on the positive cash held overnight (ACT/360 over calendar days since
   ``t-1``, rate of ``t-1``) and expenses (expense ratio × prior net assets × days / 365).
2. **Book** trades executed and flows received at ``t-1`` (T+1 booking): quantities and shares
   enter the books, cash-settled purchases and sales move cash, costs are paid, forward
   contracts struck at ``t-1`` replace the old ones (whose value is realised in cash).
3. **Mark** every holding to ``t``: futures variation margin in cash
   (``q × mult × (P_t − ref_t) × fx_t``, ``ref_t`` = yesterday's close of the contract held
   today: after a roll at ``t-1``'s close, the new contract's price at ``t-1``; both legs of the
   roll are charged at ``t``),
   securities and options at market value (dividends on ex-date, borrow fee on shorts), forwards
   at spot plus forward points (covered interest parity, ACT/360, discounted), options
   cash-settled at intrinsic value on their expiry day, forwards settled and rolled at maturity.
4. **Month-end**: accrued interest paid into cash, accrued expenses paid from fund cash.
5. **Net assets** of each book; consolidated NAV per share (cent and 5 dp).
6. **Flows**: creation/redemption orders received at ``t`` are priced at ``t``'s 5-dp NAV (cash or
   in-kind with a Cash Component) and booked at ``t+1`` with their fees, which go to the fund.
7. **Subsidiary**: cash moved between books to keep the Subsidiary inside its band, above its
   margin need, and at most ``cap`` of the fund's total assets at fiscal quarter-ends.
8. **Execute** the targets decided at ``t-1`` at ``t``'s close (sized on ``t-1``'s net assets
   and prices, whole units, no-trade buffer, costs), to be booked at ``t+1``; purchases that
   would leave a book's cash negative are scaled down and the day is flagged.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

# instrument classes (int codes)
K_SECURITY = 0  # equities, ETFs, T-bills: cash-settled, market value on the balance sheet
K_FUTURE = 1
K_FORWARD = 2
K_OPTION = 3

# columns of the per-day fund table
C_CASH_FUND = 0
C_CASH_SUB = 1
C_ACC_INT_FUND = 2
C_ACC_INT_SUB = 3
C_ACC_EXP = 4
C_SHARES = 5
C_NET_ASSETS = 6
C_FUND_EX_SUB = 7  # fund book net assets excluding its investment in the Subsidiary
C_SUB_NA = 8
C_TOTAL_ASSETS = 9
C_LIABILITIES = 10
C_INTEREST = 11
C_EXPENSE = 12
C_FLOW_VALUE = 13
C_FEES = 14
C_TRANSFER = 15  # cash moved fund -> Subsidiary (negative: back to the fund)
C_NAV_PS = 16
C_NAV_PS_5DP = 17
C_SHORTFALL = 18  # 1.0 when purchases were scaled down for lack of cash
C_FUND_TOTAL_ASSETS = 19  # the fund's own total assets, including its investment in the Sub
C_PAYABLES = 20
N_COLS = 21


class KernelParams(NamedTuple):
    """The fund's scalar rules as the kernel reads them (built by
    :func:`backtest.engine.simulator.kernel_params` from a :class:`FundConfig`)."""

    initial_shares: float
    initial_nav_per_share: float  # USD
    creation_unit_shares: float
    creation_fee_fixed_usd: float
    creation_fee_bps: float
    redemption_fee_fixed_usd: float
    redemption_fee_bps: float
    expense_ratio: float  # annual decimal
    buffer_pct_nav: float  # no-trade buffer, fraction of net assets
    sub_cap: float  # Subsidiary cap at fiscal quarter-ends, fraction of the fund's total assets
    sub_target: float
    sub_low: float
    sub_high: float
    sub_margin: float  # cash the Subsidiary keeps per unit of futures notional
    impact_bps_per_pct: float  # market impact, bp per 1% of net assets traded
    borrow_fee_annual: float  # on short securities, ACT/360
    has_subsidiary_instruments: bool
    size_at_execution: bool  # size on the execution day's net assets (else the decision day's)
    buffer_pct_position: float  # no-trade buffer, fraction of the open position


class KernelOutputs(NamedTuple):
    """What :func:`run_kernel` returns (``T`` days × ``N`` instruments, USD unless stated)."""

    qty: np.ndarray  # (T, N) booked holdings at each close (contracts / shares / units)
    mv: np.ndarray  # (T, N) market value
    notional: np.ndarray  # (T, N) notional exposure
    pnl: np.ndarray  # (T, N) P&L
    cost: np.ndarray  # (T, N) costs booked
    trade_qty: np.ndarray  # (T, N) executed at ``t`` (booked at ``t+1``)
    trade_price: np.ndarray  # (T, N) execution price, instrument currency (NaN: no trade)
    trade_cost: np.ndarray  # (T, N) cost of the trade executed at ``t``
    fund: np.ndarray  # (T, N_COLS) the per-day fund table, columns ``C_*``


@njit(cache=True)
def round_half_up(x: float, decimals: int) -> float:
    f = 10.0**decimals
    return np.floor(x * f + 0.5) / f


@njit(cache=True)
def _fwd_value(q, spot, strike, r_usd, r_for, days_left):
    """USD value of a forward buying q units at ``strike`` USD/unit, ``days_left`` to maturity."""
    tau = max(days_left, 0.0) / 360.0
    fwd = spot * (1.0 + r_usd * tau) / (1.0 + r_for * tau)
    return q * (fwd - strike) / (1.0 + r_usd * tau)


@njit(cache=True)
def run_kernel(
    price, prev_ref, rolled, fx, under, div, rate_for, r_usd, rf, day_number,
    kind, book, mult, expiry_idx, cost_bps, commission,
    target, month_end, quarter_end, flow_units, flow_in_kind,
    params,
):  # fmt: skip
    """Run the fund. See the module docstring for the day's steps.

    Parameters (T days, N instruments)
    ----------
    price, prev_ref, fx, under, div, rate_for : (T, N) float64 — mark price (instrument ccy;
        futures: the contract held at ``t``), yesterday's close of today's futures contract,
        USD per unit of instrument currency, underlying price for notional, dividend per share
        on its ex-date, foreign short rate of a forward's currency.
    rolled : (T, N) bool — the futures position was rolled at ``t-1``'s close (known at ``t``:
        every input row uses data of its own date and the day before only).
    r_usd : (T,) USD short rate (forward pricing); rf : (T,) rate earned on cash (after any
        money-market fee; zeros when interest is off); ``day_number`` (T,) calendar days since an
        epoch.
    kind, book : (N,) int64 codes; mult, cost_bps, commission : (N,) float64;
    expiry_idx : (N,) int64 row of an option's cash settlement (-1 otherwise).
    target : (T, N) float64 exposure / net assets decided at ``t``'s close, NaN = no decision.
    month_end, quarter_end : (T,) bool; flow_units (T,) int64 signed creation units;
    flow_in_kind : (T,) bool.
    params : :class:`KernelParams`, the fund's scalar rules.

    Returns
    -------
    The fields of :class:`KernelOutputs`, in order, as a plain tuple (the caller names them:
    ``KernelOutputs(*run_kernel(...))``).
    """
    T, N = price.shape
    qty = np.zeros((T, N))
    mv = np.zeros((T, N))
    notional = np.zeros((T, N))
    pnl = np.zeros((T, N))
    cost = np.zeros((T, N))
    trade_qty = np.zeros((T, N))
    trade_price = np.full((T, N), np.nan)
    trade_cost = np.zeros((T, N))
    fund = np.zeros((T, N_COLS))

    shares = params.initial_shares
    cu = params.creation_unit_shares
    er = params.expense_ratio
    buffer_pct = params.buffer_pct_nav
    sub_cap, sub_target = params.sub_cap, params.sub_target
    sub_low, sub_high, sub_margin = params.sub_low, params.sub_high, params.sub_margin
    impact = params.impact_bps_per_pct
    borrow = params.borrow_fee_annual

    q = np.zeros(N)
    pend_q = np.zeros(N)
    pend_cash = np.zeros(N)  # cash moved at booking (negative = paid)
    pend_cost = np.zeros(N)
    pend_k = np.zeros(N)  # forward strike struck at execution
    pend_mat = np.zeros(N)
    fwd_k = np.zeros(N)
    fwd_mat = np.zeros(N)
    mv_prev = np.zeros(N)
    cash = np.zeros(2)
    acc_int = np.zeros(2)
    acc_exp = 0.0
    na_prev = shares * params.initial_nav_per_share
    cash[0] = na_prev
    has_sub = params.has_subsidiary_instruments
    flow_q = np.zeros(N)  # in-kind basket received today, booked tomorrow
    flow_basis = np.zeros(N)
    flow_shares = 0.0
    flow_value = 0.0
    flow_cash = 0.0
    flow_fee = 0.0

    for t in range(T):
        days = day_number[t] - day_number[t - 1] if t > 0 else 0.0
        # 1. accruals on the balances held overnight since t-1
        interest = 0.0
        if t > 0:
            for b in range(2):
                if cash[b] > 0.0:
                    accr = cash[b] * rf[t - 1] * days / 360.0
                    acc_int[b] += accr
                    interest += accr
        expense = er * na_prev * days / 365.0 if t > 0 else 0.0
        acc_exp += expense
        # 2. book yesterday's executions
        for i in range(N):
            if pend_q[i] != 0.0 or pend_cost[i] != 0.0 or pend_cash[i] != 0.0:
                b = book[i]
                cash[b] += pend_cash[i] - pend_cost[i]
                cost[t, i] = pend_cost[i]
                if kind[i] == K_FORWARD and pend_q[i] != 0.0:
                    # old contract realised in pend_cash; its value leaves the books
                    mv_prev[i] = 0.0
                    fwd_k[i] = pend_k[i]
                    fwd_mat[i] = pend_mat[i]
                q[i] += pend_q[i]
                if kind[i] == K_SECURITY or kind[i] == K_OPTION:
                    mv_prev[i] -= pend_cash[i]  # bought at the fill: value = cash paid
                pend_q[i] = 0.0
                pend_cash[i] = 0.0
                pend_cost[i] = 0.0
        booked_value = flow_value
        booked_fee = flow_fee
        if flow_shares != 0.0:
            for i in range(N):
                if flow_q[i] != 0.0:
                    q[i] += flow_q[i]
                    mv_prev[i] += flow_basis[i]
                    flow_q[i] = 0.0
                    flow_basis[i] = 0.0
            cash[0] += flow_cash
            shares += flow_shares
            flow_shares = 0.0
            flow_value = 0.0
            flow_cash = 0.0
            flow_fee = 0.0
        if t > 0:
            _roll_costs(t, q, rolled, under, fx, mult, kind, book, cost_bps, commission, cash,
                        cost, trade_cost)  # fmt: skip
        # 3. mark to market
        for i in range(N):
            if q[i] == 0.0:
                mv[t, i] = 0.0
                mv_prev[i] = 0.0
                continue
            b = book[i]
            k = kind[i]
            if k == K_FUTURE:
                if t > 0:
                    vm = q[i] * mult[i] * (price[t, i] - prev_ref[t, i]) * fx[t, i]
                    cash[b] += vm
                    pnl[t, i] += vm
                mv[t, i] = 0.0
            elif k == K_FORWARD:
                if day_number[t] >= fwd_mat[i]:
                    settle = q[i] * (under[t, i] - fwd_k[i])
                    cash[b] += settle
                    pnl[t, i] += settle - mv_prev[i]
                    mv_prev[i] = 0.0
                    # roll into a new 1-month contract at today's forward
                    tau = 30.0 / 360.0
                    fwd_k[i] = under[t, i] * (1.0 + r_usd[t] * tau) / (1.0 + rate_for[t, i] * tau)
                    fwd_mat[i] = day_number[t] + 30.0
                    mv[t, i] = 0.0
                else:
                    v = _fwd_value(
                        q[i],
                        under[t, i],
                        fwd_k[i],
                        r_usd[t],
                        rate_for[t, i],
                        fwd_mat[i] - day_number[t],
                    )
                    pnl[t, i] += v - mv_prev[i]
                    mv[t, i] = v
                    mv_prev[i] = v
            else:
                value = q[i] * mult[i] * price[t, i] * fx[t, i]
                inc = 0.0
                if k == K_SECURITY:
                    if div[t, i] != 0.0:
                        inc += q[i] * div[t, i] * fx[t, i]
                    if q[i] < 0.0 and t > 0:
                        inc -= -mv_prev[i] * borrow * days / 360.0
                cash[b] += inc
                pnl[t, i] += value - mv_prev[i] + inc
                if k == K_OPTION and expiry_idx[i] == t:
                    cash[b] += value  # cash settlement at intrinsic value
                    q[i] = 0.0
                    value = 0.0
                mv[t, i] = value
                mv_prev[i] = value
            qty[t, i] = q[i]
            notional[t, i] = q[i] * mult[i] * under[t, i] * fx[t, i]
        # 4. month-end payments
        if month_end[t]:
            cash[0] += acc_int[0] - acc_exp
            cash[1] += acc_int[1]
            acc_int[0] = 0.0
            acc_int[1] = 0.0
            acc_exp = 0.0
        # 5. net assets
        pos = np.zeros(2)
        neg = np.zeros(2)
        fut_notional_sub = 0.0
        for i in range(N):
            b = book[i]
            if mv[t, i] >= 0.0:
                pos[b] += mv[t, i]
            else:
                neg[b] -= mv[t, i]
            if b == 1 and kind[i] == K_FUTURE:
                fut_notional_sub += abs(notional[t, i])
        sub_na = cash[1] + acc_int[1] + pos[1] - neg[1]
        fund_ex = cash[0] + acc_int[0] + pos[0] - neg[0] - acc_exp
        na = fund_ex + sub_na
        nav_ps = na / shares
        nav5 = round_half_up(nav_ps, 5)
        # 6. flows received today at today's 5-dp NAV, booked tomorrow
        u = flow_units[t]
        if u != 0:
            n_sh = u * cu
            value = n_sh * nav5
            if u > 0:
                fee = params.creation_fee_fixed_usd + params.creation_fee_bps * 1e-4 * value
            else:
                fee = params.redemption_fee_fixed_usd + params.redemption_fee_bps * 1e-4 * (-value)
            basket_value = 0.0
            if flow_in_kind[t]:
                for i in range(N):
                    if kind[i] == K_SECURITY and book[i] == 0 and q[i] != 0.0:
                        bq = np.round(q[i] * n_sh / shares)
                        if bq != 0.0:
                            val = bq * mult[i] * price[t, i] * fx[t, i]
                            flow_q[i] += bq
                            flow_basis[i] += val
                            basket_value += val
            flow_shares += n_sh
            flow_value += value
            flow_cash += value - basket_value + fee
            flow_fee += fee
        # 7. Subsidiary cash management
        fund_total = cash[0] + acc_int[0] + pos[0] + max(sub_na, 0.0)
        need = sub_margin * fut_notional_sub
        transfer = 0.0
        out_of_band = sub_na < sub_low * fund_total or sub_na > sub_high * fund_total
        if has_sub and (out_of_band or cash[1] < need):
            transfer = sub_target * fund_total - sub_na
            if cash[1] + transfer < need:
                transfer = need - cash[1]
        if not has_sub:
            transfer = -sub_na  # nothing to hold there: keep the Subsidiary empty
        elif quarter_end[t] and sub_na + transfer > sub_cap * fund_total:
            transfer = sub_cap * fund_total - sub_na - 1e-6 * fund_total
        transfer = min(transfer, max(cash[0], 0.0))
        transfer = max(transfer, -max(cash[1], 0.0))
        cash[0] -= transfer
        cash[1] += transfer
        sub_na += transfer
        fund_ex -= transfer
        # record the day
        fund[t, C_CASH_FUND] = cash[0]
        fund[t, C_CASH_SUB] = cash[1]
        fund[t, C_ACC_INT_FUND] = acc_int[0]
        fund[t, C_ACC_INT_SUB] = acc_int[1]
        fund[t, C_ACC_EXP] = acc_exp
        fund[t, C_SHARES] = shares
        fund[t, C_NET_ASSETS] = na
        fund[t, C_FUND_EX_SUB] = fund_ex
        fund[t, C_SUB_NA] = sub_na
        fund[t, C_TOTAL_ASSETS] = cash[0] + cash[1] + acc_int[0] + acc_int[1] + pos[0] + pos[1]
        fund[t, C_LIABILITIES] = acc_exp + neg[0] + neg[1]
        fund[t, C_FUND_TOTAL_ASSETS] = cash[0] + acc_int[0] + pos[0] + max(sub_na, 0.0)
        fund[t, C_INTEREST] = interest
        fund[t, C_EXPENSE] = expense
        fund[t, C_FLOW_VALUE] = booked_value
        fund[t, C_FEES] = booked_fee
        fund[t, C_TRANSFER] = transfer
        fund[t, C_NAV_PS] = round_half_up(nav_ps, 2)
        fund[t, C_NAV_PS_5DP] = nav5
        # 8. execute yesterday's decisions at today's close
        if t > 0:
            _execute(
                t,
                q,
                pend_q,
                pend_cash,
                pend_cost,
                pend_k,
                pend_mat,
                fwd_k,
                mv_prev,
                price,
                rolled,
                fx,
                under,
                rate_for,
                r_usd,
                day_number,
                kind,
                book,
                mult,
                expiry_idx,
                cost_bps,
                commission,
                target,
                na_prev,
                na,
                buffer_pct,
                impact,
                cash,
                flow_cash,
                trade_qty,
                trade_price,
                trade_cost,
                fund,
                params.size_at_execution,
                params.buffer_pct_position,
            )
        na_prev = na
    return qty, mv, notional, pnl, cost, trade_qty, trade_price, trade_cost, fund


@njit(cache=True)
def _roll_costs(t, q, rolled, under, fx, mult, kind, book, cost_bps, commission, cash, cost,
                trade_cost):  # fmt: skip
    """A futures position rolled at ``t-1``'s close pays both legs, booked at ``t``."""
    N = q.shape[0]
    for i in range(N):
        if kind[i] == K_FUTURE and rolled[t, i] and q[i] != 0.0:
            unit = mult[i] * under[t - 1, i] * fx[t - 1, i]
            c = 2.0 * abs(q[i]) * (commission[i] + unit * cost_bps[i] * 1e-4)
            cash[book[i]] -= c
            cost[t, i] += c
            trade_cost[t - 1, i] += c


@njit(cache=True)
def _raise_cash(t, b, deficit, q, pend_q, order, fill, price, fx, mult, kind, book):
    """Add pro-rata sales of book ``b``'s long securities worth at least ``deficit`` USD."""
    N = q.shape[0]
    longs = 0.0
    for i in range(N):
        held = q[i] + pend_q[i] + order[i]
        if book[i] == b and kind[i] == K_SECURITY and held > 0.0:
            longs += held * mult[i] * price[t, i] * fx[t, i]
    if longs <= 0.0:
        return
    frac = min(deficit * 1.001 / longs, 1.0)
    for i in range(N):
        held = q[i] + pend_q[i] + order[i]
        if book[i] == b and kind[i] == K_SECURITY and held > 0.0:
            order[i] -= min(np.ceil(held * frac), held)
            fill[i] = price[t, i]


@njit(cache=True)
def _execute(t, q, pend_q, pend_cash, pend_cost, pend_k, pend_mat, fwd_k, mv_prev,
             price, rolled, fx, under, rate_for, r_usd, day_number, kind, book, mult,
             expiry_idx, cost_bps, commission, target, na_dec, na_now, buffer_pct, impact,
             cash, flow_cash, trade_qty, trade_price, trade_cost, fund,
             size_at_execution, buffer_rel):  # fmt: skip
    """Trade towards ``target[t-1]`` at ``t``'s close; purchases limited by each book's cash,
    long securities sold pro rata when a book's cash (after pending redemptions) is negative."""
    N = q.shape[0]
    d = t - 1
    order = np.zeros(N)
    fill = np.zeros(N)
    need = np.zeros(2)  # cash the book would spend on purchases
    have = cash.copy()
    for i in range(N):
        w = target[d, i]
        if not np.isfinite(w):
            continue
        k = kind[i]
        if k == K_OPTION and expiry_idx[i] >= 0 and t >= expiry_idx[i]:
            continue
        s = t if size_at_execution else d
        unit = mult[i] * under[s, i] * fx[s, i]
        if not np.isfinite(unit) or unit == 0.0:
            continue
        px = price[t, i]
        if k == K_FORWARD:
            tau = 30.0 / 360.0
            px = under[t, i] * (1.0 + r_usd[t] * tau) / (1.0 + rate_for[t, i] * tau)
        if not np.isfinite(px):
            continue
        current = q[i] + pend_q[i]
        desired = np.trunc(w * (na_now if size_at_execution else na_dec) / unit)
        delta = desired - current
        # no-trade buffer: skip changes smaller than a fraction of net assets or of the target
        if delta == 0.0 or abs(delta) * abs(unit) < buffer_pct * na_dec:
            continue
        if current != 0.0 and abs(delta) < buffer_rel * abs(desired):
            continue
        order[i] = delta
        fill[i] = px
        if k == K_SECURITY or k == K_OPTION:
            spend = delta * mult[i] * px * fx[t, i]
            if spend > 0.0:
                need[book[i]] += spend
            else:
                have[book[i]] -= spend
    have[0] += flow_cash  # redemptions received today settle with tomorrow's bookings
    scale = np.ones(2)
    for b in range(2):
        if need[b] > 0.0 and need[b] > have[b]:
            scale[b] = max(have[b], 0.0) / need[b]
            fund[t, C_SHORTFALL] = 1.0
        if have[b] < 0.0:
            _raise_cash(t, b, -have[b], q, pend_q, order, fill, price, fx, mult, kind, book)
            fund[t, C_SHORTFALL] = 1.0
    for i in range(N):
        delta = order[i]
        if delta == 0.0:
            continue
        k = kind[i]
        b = book[i]
        if (k == K_SECURITY or k == K_OPTION) and delta * fill[i] > 0.0 and scale[b] < 1.0:
            delta = np.trunc(delta * scale[b] * 0.999)
            if delta == 0.0:
                continue
        traded_notional = abs(delta) * mult[i] * under[t, i] * fx[t, i]
        c = abs(delta) * commission[i] + traded_notional * cost_bps[i] * 1e-4
        if impact > 0.0 and na_now > 0.0:
            c += traded_notional * impact * 1e-4 * (traded_notional / na_now * 100.0)
        if k == K_FORWARD:
            new_q = q[i] + pend_q[i] + delta
            # close out the live contract at its value, strike a new one for the full amount
            if q[i] != 0.0:
                pend_cash[i] += mv_prev[i]
            pend_q[i] = new_q - q[i]
            pend_k[i] = fill[i]
            pend_mat[i] = day_number[t] + 30.0
        else:
            pend_q[i] += delta
            if k == K_SECURITY or k == K_OPTION:
                pend_cash[i] -= delta * mult[i] * fill[i] * fx[t, i]
        pend_cost[i] += c
        trade_qty[t, i] = delta
        trade_price[t, i] = fill[i]
        trade_cost[t, i] += c
