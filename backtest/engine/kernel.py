"""The fund simulator's numba kernel: one pass over trading days, two books, exact accounting.

All inputs are float64 / int64 / bool arrays prepared by :mod:`backtest.engine.simulator`; all
outputs are preallocated here and returned: dense (T, N) holdings and P&L, the fund table,
forwards' marks, and executions and roll costs as records (:class:`KernelOutputs`; the dense
frames of trades, costs, market values and notionals are built on access by
:mod:`backtest.engine.dense`). Shapes: ``T`` trading days, ``N`` instruments. The
codes, fund-table columns and the named parameters and outputs are in
:mod:`backtest.engine.layout` (re-exported here); trading (step 8) is in
:mod:`backtest.engine.execution`. Each step below is a function of its own; ``run_kernel`` calls
them in order.

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

import numpy as np
from numba import njit

from backtest.engine.execution import _execute, _roll_costs
from backtest.engine.layout import (
    C_ACC_EXP,
    C_ACC_INT_FUND,
    C_ACC_INT_SUB,
    C_CASH_FUND,
    C_CASH_SUB,
    C_EXPENSE,
    C_FEES,
    C_FLOW_VALUE,
    C_FUND_EX_SUB,
    C_FUND_TOTAL_ASSETS,
    C_INTEREST,
    C_LIABILITIES,
    C_NAV_PS,
    C_NAV_PS_5DP,
    C_NET_ASSETS,
    C_PAYABLES,
    C_SHARES,
    C_SHORTFALL,
    C_SUB_NA,
    C_TOTAL_ASSETS,
    C_TRANSFER,
    K_FORWARD,
    K_FUTURE,
    K_OPTION,
    K_SECURITY,
    N_COLS,
    KernelOutputs,
    KernelParams,
)
from backtest.engine.records import new_outputs, trimmed

__all__ = [
    "C_ACC_EXP", "C_ACC_INT_FUND", "C_ACC_INT_SUB", "C_CASH_FUND", "C_CASH_SUB", "C_EXPENSE",
    "C_FEES", "C_FLOW_VALUE", "C_FUND_EX_SUB", "C_FUND_TOTAL_ASSETS", "C_INTEREST",
    "C_LIABILITIES", "C_NAV_PS", "C_NAV_PS_5DP", "C_NET_ASSETS", "C_PAYABLES", "C_SHARES",
    "C_SHORTFALL", "C_SUB_NA", "C_TOTAL_ASSETS", "C_TRANSFER", "K_FORWARD", "K_FUTURE",
    "K_OPTION", "K_SECURITY", "N_COLS", "KernelOutputs", "KernelParams", "nan_to_num_inplace",
    "new_outputs", "round_half_up", "run_kernel", "run_kernel_into", "trimmed",
]  # fmt: skip

# the flow received today and booked tomorrow: shares, value at the 5-dp NAV, cash, fee (USD)
F_SHARES, F_VALUE, F_CASH, F_FEE = 0, 1, 2, 3


@njit(cache=True)
def round_half_up(x: float, decimals: int) -> float:
    f = 10.0**decimals
    return np.floor(x * f + 0.5) / f


@njit(cache=True)
def nan_to_num_inplace(a: np.ndarray) -> None:
    """``np.nan_to_num(a, copy=False, nan=0.0)`` in one pass over a 2-D float64 array: NaN to 0,
    ±inf to the largest finite float of that sign."""
    big = np.finfo(np.float64).max
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[i, j]
            if not np.isfinite(v):
                a[i, j] = 0.0 if np.isnan(v) else (big if v > 0 else -big)


@njit(cache=True)
def _fwd_value(q, spot, strike, r_usd, r_for, days_left):
    """USD value of a forward buying q units at ``strike`` USD/unit, ``days_left`` to maturity."""
    tau = max(days_left, 0.0) / 360.0
    fwd = spot * (1.0 + r_usd * tau) / (1.0 + r_for * tau)
    return q * (fwd - strike) / (1.0 + r_usd * tau)


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _accrue_interest(t, days, cash, acc_int, rf):
    """Step 1: interest on each book's positive cash held overnight (ACT/360, rate of ``t-1``)
    into ``acc_int``; returns the day's interest (USD)."""
    interest = 0.0
    if t > 0:
        for b in range(2):
            if cash[b] > 0.0:
                accr = cash[b] * rf[t - 1] * days / 360.0
                acc_int[b] += accr
                interest += accr
    return interest


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _book_executions(q, pend_q, pend_cash, pend_cost, pend_k, pend_mat, fwd_k, fwd_mat,
                     mv_prev, kind, book, cash):  # fmt: skip
    """Step 2: the executions of ``t-1`` enter the books (quantities, cash, costs; a forward
    struck at ``t-1`` replaces the old contract, whose value was realised in cash). The costs
    booked at ``t`` are those of ``t-1``'s executions (records ``exec_cost``) plus the rolls
    paid at ``t``: :class:`~backtest.engine.dense.DenseOutputs` rebuilds them."""
    for i in range(q.shape[0]):
        if pend_q[i] != 0.0 or pend_cost[i] != 0.0 or pend_cash[i] != 0.0:
            b = book[i]
            cash[b] += pend_cash[i] - pend_cost[i]
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


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _book_flows(q, mv_prev, flow_q, flow_basis, flow, cash, shares):
    """Step 2: the creation/redemption received at ``t-1`` is booked (in-kind basket, cash,
    shares); returns the shares outstanding and clears ``flow``."""
    if flow[F_SHARES] != 0.0:
        for i in range(q.shape[0]):
            if flow_q[i] != 0.0:
                q[i] += flow_q[i]
                mv_prev[i] += flow_basis[i]
                flow_q[i] = 0.0
                flow_basis[i] = 0.0
        cash[0] += flow[F_CASH]
        shares += flow[F_SHARES]
        flow[:] = 0.0
    return shares


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _mark(t, days, q, mv_prev, fwd_k, fwd_mat, price, prev_ref, fx, under, div, rate_for,
          r_usd, day_number, kind, book, mult, expiry_idx, borrow, cash, fwd_col, fwd_mv, pnl,
          pos, neg):  # fmt: skip
    """Step 3: every holding marked to ``t`` (futures variation margin in cash, forwards at
    spot + points and rolled at maturity, securities and options at market value with dividends
    and borrow fees, options cash-settled on expiry); and step 5's sums: positive and negative
    market values by book into ``pos`` and ``neg`` (2,), USD. Returns the Subsidiary's futures
    notional (its margin need), USD.

    Writes the P&L ``pnl[t]`` and the forwards' market values
    ``fwd_mv[t, fwd_col[i]]``; the other market values (``q × mult × price × fx`` of securities
    and options, 0 for futures) and the notionals (``q × mult × under × fx``) are the same
    products of ``qty`` and the inputs, built on access by
    :class:`~backtest.engine.dense.DenseOutputs`.

    One pass over the instruments per book, each book's cash and sums in local variables: the
    same additions in the same order (instrument order) as adding into ``cash[b]``, ``pos[b]``
    and ``neg[b]`` one instrument at a time, so the same bits, without a chain of loads and
    stores through memory. Flat positions are skipped in the sums: their market value and
    notional are 0, and adding 0 to a sum that is never -0 changes nothing."""
    fut_notional_sub = 0.0
    for b in range(2):
        c = cash[b]
        p = 0.0
        n = 0.0
        for i in range(q.shape[0]):
            if book[i] != b:
                continue
            if q[i] == 0.0:
                mv_prev[i] = 0.0
                continue
            k = kind[i]
            if k == K_FUTURE:
                if t > 0:
                    vm = q[i] * mult[i] * (price[t, i] - prev_ref[t, i]) * fx[t, i]
                    c += vm
                    pnl[t, i] += vm
                m = 0.0
            elif k == K_FORWARD:
                if day_number[t] >= fwd_mat[i]:
                    settle = q[i] * (under[t, i] - fwd_k[i])
                    c += settle
                    pnl[t, i] += settle - mv_prev[i]
                    mv_prev[i] = 0.0
                    # roll into a new 1-month contract at today's forward
                    tau = 30.0 / 360.0
                    fwd_k[i] = (under[t, i] * (1.0 + r_usd[t] * tau)
                                / (1.0 + rate_for[t, i] * tau))  # fmt: skip
                    fwd_mat[i] = day_number[t] + 30.0
                    m = 0.0
                else:
                    v = _fwd_value(q[i], under[t, i], fwd_k[i], r_usd[t], rate_for[t, i],
                                   fwd_mat[i] - day_number[t])  # fmt: skip
                    pnl[t, i] += v - mv_prev[i]
                    m = v
                    mv_prev[i] = v
                fwd_mv[t, fwd_col[i]] = m
            else:
                value = q[i] * mult[i] * price[t, i] * fx[t, i]
                inc = 0.0
                if k == K_SECURITY:
                    if div[t, i] != 0.0:
                        inc += q[i] * div[t, i] * fx[t, i]
                    if q[i] < 0.0 and t > 0:
                        inc -= -mv_prev[i] * borrow * days / 360.0
                c += inc
                pnl[t, i] += value - mv_prev[i] + inc
                if k == K_OPTION and expiry_idx[i] == t:
                    c += value  # cash settlement at intrinsic value
                    q[i] = 0.0
                    value = 0.0
                m = value
                mv_prev[i] = value
            if m >= 0.0:
                p += m
            else:
                n -= m
            if b == 1 and k == K_FUTURE:
                fut_notional_sub += abs(q[i] * mult[i] * under[t, i] * fx[t, i])
        cash[b] = c
        pos[b] = p
        neg[b] = n
    return fut_notional_sub


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _record_holdings(t, q, q_last, out, n):
    """The holdings at ``t``'s close (after step 3) that differ from the last recorded ones, as
    records (``t``, instrument, quantity) into ``out.hold_*`` from row ``n``; returns how many.
    A flat position is recorded as +0.0."""
    written = 0
    for i in range(q.shape[0]):
        if q[i] != q_last[i]:
            v = q[i] if q[i] != 0.0 else 0.0
            q_last[i] = v
            out.hold_day[n + written] = t
            out.hold_inst[n + written] = i
            out.hold_qty[n + written] = v
            written += 1
    return written


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _receive_flow(t, units, in_kind, nav5, shares, q, kind, book, mult, price, fx, params,
                  flow_q, flow_basis, flow):  # fmt: skip
    """Step 6: an order of ``units`` Creation Units received at ``t`` priced at ``t``'s 5-dp NAV
    (in kind: a pro-rata basket of the fund's securities plus the Cash Component), with its fee;
    added to ``flow`` to be booked at ``t+1``."""
    n_sh = units * params.creation_unit_shares
    value = n_sh * nav5
    if units > 0:
        fee = params.creation_fee_fixed_usd + params.creation_fee_bps * 1e-4 * value
    else:
        fee = params.redemption_fee_fixed_usd + params.redemption_fee_bps * 1e-4 * (-value)
    basket_value = 0.0
    if in_kind:
        for i in range(q.shape[0]):
            if kind[i] == K_SECURITY and book[i] == 0 and q[i] != 0.0:
                bq = np.round(q[i] * n_sh / shares)
                if bq != 0.0:
                    val = bq * mult[i] * price[t, i] * fx[t, i]
                    flow_q[i] += bq
                    flow_basis[i] += val
                    basket_value += val
    flow[F_SHARES] += n_sh
    flow[F_VALUE] += value
    flow[F_CASH] += value - basket_value + fee
    flow[F_FEE] += fee


@njit(cache=True, inline="always")  # numba-level inlining: no call per day
def _subsidiary_transfer(cash, acc_int, pos0, sub_na, need, quarter_end, params):
    """Step 7: cash to move from the fund to the Subsidiary (negative: back), USD: to the target
    share when outside its band or short of margin; at most the cap at fiscal quarter-ends;
    the Subsidiary is kept empty when it has nothing to hold."""
    fund_total = cash[0] + acc_int[0] + pos0 + max(sub_na, 0.0)
    transfer = 0.0
    out_of_band = sub_na < params.sub_low * fund_total or sub_na > params.sub_high * fund_total
    has_sub = params.has_subsidiary_instruments
    if has_sub and (out_of_band or cash[1] < need):
        transfer = params.sub_target * fund_total - sub_na
        if cash[1] + transfer < need:
            transfer = need - cash[1]
    if not has_sub:
        transfer = -sub_na  # nothing to hold there: keep the Subsidiary empty
    elif quarter_end and sub_na + transfer > params.sub_cap * fund_total:
        transfer = params.sub_cap * fund_total - sub_na - 1e-6 * fund_total
    transfer = min(transfer, max(cash[0], 0.0))
    return max(transfer, -max(cash[1], 0.0))


def run_kernel(
    price, prev_ref, rolled, fx, under, div, rate_for, r_usd, rf, day_number,
    kind, book, mult, expiry_idx, cost_bps, commission,
    target, decided, month_end, quarter_end, flow_units, flow_in_kind,
    params,
):  # fmt: skip
    """Run the fund into fresh outputs (:func:`new_outputs`, then :func:`run_kernel_into`);
    arguments as :func:`run_kernel_into` documents them. Returns the fields of
    :class:`KernelOutputs`, in order, as a plain tuple (the caller names them:
    ``KernelOutputs(*run_kernel(...))``), the records cut to their length (:func:`trimmed`)."""
    out = new_outputs(price.shape[0], kind)
    n_hold, n_exec, n_roll = run_kernel_into(
        price, prev_ref, rolled, fx, under, div, rate_for, r_usd, rf, day_number,
        kind, book, mult, expiry_idx, cost_bps, commission,
        target, decided, month_end, quarter_end, flow_units, flow_in_kind,
        params, out,
    )  # fmt: skip
    return tuple(trimmed(out, n_hold, n_exec, n_roll))


@njit(cache=True)
def run_kernel_into(
    price, prev_ref, rolled, fx, under, div, rate_for, r_usd, rf, day_number,
    kind, book, mult, expiry_idx, cost_bps, commission,
    target, decided, month_end, quarter_end, flow_units, flow_in_kind,
    params, out,
):  # fmt: skip
    """Run the fund, writing into ``out``. See the module docstring for the day's steps.

    Parameters (T days, N instruments)
    ----------
    price, prev_ref, fx, under, div, rate_for : (T, N) float64 — mark price (instrument ccy;
        futures: the contract held at ``t``), yesterday's close of today's futures contract (read
        for futures only),
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
    decided : (T,) bool — row ``t`` of ``target`` holds a finite value (the rows without one
        are not scanned).
    month_end, quarter_end : (T,) bool; flow_units (T,) int64 signed creation units;
    flow_in_kind : (T,) bool.
    params : :class:`KernelParams`, the fund's scalar rules.
    out : :class:`KernelOutputs` of C-contiguous arrays as :func:`new_outputs` makes them (dense
        arrays zero, room for T × N records of each kind), filled in place.

    Returns ``(n_hold, n_exec, n_roll)``: the number of holding-change, execution and roll
    records written (from row 0, in the order of the days, then of the instruments).
    """
    T, N = price.shape
    pnl, fund, fwd_mv = out.pnl, out.fund, out.fwd_mv
    fwd_col = np.full(N, -1, dtype=np.int64)  # column in fwd_mv of each forward
    n_fwd = 0
    for i in range(N):
        if kind[i] == K_FORWARD:
            fwd_col[i] = n_fwd
            n_fwd += 1
    q_last = np.zeros(N)  # the holdings last recorded
    n_hold = 0
    n_exec = 0
    n_roll = 0

    shares = params.initial_shares
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
    flow_q = np.zeros(N)  # in-kind basket received today, booked tomorrow
    flow_basis = np.zeros(N)
    flow = np.zeros(4)  # F_SHARES, F_VALUE, F_CASH, F_FEE
    # passes over the instruments that find nothing to do are skipped: bookings on days after
    # no order was placed, rolls without futures
    pos = np.zeros(2)  # market value of long / short positions by book, USD (step 5)
    neg = np.zeros(2)
    pending = 0
    has_futures = False
    for i in range(N):
        has_futures = has_futures or kind[i] == K_FUTURE

    for t in range(T):
        days = day_number[t] - day_number[t - 1] if t > 0 else 0.0
        # 1. accruals on the balances held overnight since t-1
        interest = _accrue_interest(t, days, cash, acc_int, rf)
        expense = params.expense_ratio * na_prev * days / 365.0 if t > 0 else 0.0
        acc_exp += expense
        # 2. book yesterday's executions and flows, and pay rolls
        if pending:
            _book_executions(q, pend_q, pend_cash, pend_cost, pend_k, pend_mat, fwd_k,
                             fwd_mat, mv_prev, kind, book, cash)  # fmt: skip
        booked_value = flow[F_VALUE]
        booked_fee = flow[F_FEE]
        shares = _book_flows(q, mv_prev, flow_q, flow_basis, flow, cash, shares)
        if t > 0 and has_futures:
            n_roll += _roll_costs(t, q, rolled, under, fx, mult, kind, book, cost_bps,
                                  commission, cash, out.roll_day, out.roll_inst, out.roll_cost,
                                  n_roll)  # fmt: skip
        # 3. mark to market
        # (and step 5's sums of market values by book, which read only today's marks)
        fut_notional_sub = _mark(t, days, q, mv_prev, fwd_k, fwd_mat, price, prev_ref, fx,
                                 under, div, rate_for, r_usd, day_number, kind, book, mult,
                                 expiry_idx, params.borrow_fee_annual, cash, fwd_col, fwd_mv,
                                 pnl, pos, neg)  # fmt: skip
        n_hold += _record_holdings(t, q, q_last, out, n_hold)
        # 4. month-end payments
        if month_end[t]:
            cash[0] += acc_int[0] - acc_exp
            cash[1] += acc_int[1]
            acc_int[0] = 0.0
            acc_int[1] = 0.0
            acc_exp = 0.0
        # 5. net assets
        sub_na = cash[1] + acc_int[1] + pos[1] - neg[1]
        fund_ex = cash[0] + acc_int[0] + pos[0] - neg[0] - acc_exp
        na = fund_ex + sub_na
        nav_ps = na / shares
        nav5 = round_half_up(nav_ps, 5)
        # 6. flows received today at today's 5-dp NAV, booked tomorrow
        if flow_units[t] != 0:
            _receive_flow(t, flow_units[t], flow_in_kind[t], nav5, shares, q, kind, book, mult,
                          price, fx, params, flow_q, flow_basis, flow)  # fmt: skip
        # 7. Subsidiary cash management
        need = params.sub_margin * fut_notional_sub
        transfer = _subsidiary_transfer(cash, acc_int, pos[0], sub_na, need, quarter_end[t],
                                        params)  # fmt: skip
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
        pending = 0
        if t > 0:
            pending = _execute(t, q, pend_q, pend_cash, pend_cost, pend_k, pend_mat, fwd_k,
                               mv_prev, price, rolled, fx, under, rate_for, r_usd, day_number,
                               kind, book, mult, expiry_idx, cost_bps, commission, target,
                               decided, na_prev, na, params.buffer_pct_nav,
                               params.impact_bps_per_pct, cash, flow[F_CASH], out.exec_day,
                               out.exec_inst, out.exec_qty, out.exec_price, out.exec_cost,
                               n_exec, fund, params.size_at_execution,
                               params.buffer_pct_position, params.buffer_cost_ref_bps,
                               params.buffer_to_edge)  # fmt: skip
            n_exec += pending
        na_prev = na
    return n_hold, n_exec, n_roll
