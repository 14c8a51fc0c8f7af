"""Trading inside the kernel: rolls paid at ``t``, the day's executions towards the targets
decided at ``t-1`` (whole units, no-trade buffers, costs, purchases limited by cash) and the
pro-rata sales that raise cash. Called by :func:`backtest.engine.kernel.run_kernel` (step 8 of
the day and the roll costs of step 2); arrays as documented there (``T`` days × ``N``
instruments, USD unless stated).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest.engine.layout import C_SHORTFALL, K_FORWARD, K_FUTURE, K_OPTION, K_SECURITY


@njit(cache=True)
def _roll_costs(t, q, rolled, under, fx, mult, kind, book, cost_bps, commission, cash,
                roll_day, roll_inst, roll_cost, n):  # fmt: skip
    """A futures position rolled at ``t-1``'s close pays both legs, booked at ``t``: one record
    (``t``, instrument, cost in USD) per roll into ``roll_day``, ``roll_inst``, ``roll_cost``
    (the kernel's :class:`~backtest.engine.layout.KernelOutputs` records) from row ``n``;
    returns the number of records written."""
    N = q.shape[0]
    written = 0
    for i in range(N):
        if kind[i] == K_FUTURE and rolled[t, i] and q[i] != 0.0:
            unit = mult[i] * under[t - 1, i] * fx[t - 1, i]
            c = 2.0 * abs(q[i]) * (commission[i] + unit * cost_bps[i] * 1e-4)
            cash[book[i]] -= c
            roll_day[n + written] = t
            roll_inst[n + written] = i
            roll_cost[n + written] = c
            written += 1
    return written


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
             expiry_idx, cost_bps, commission, target, decided, na_dec, na_now, buffer_pct,
             impact,
             cash, flow_cash, exec_day, exec_inst, exec_qty, exec_price, exec_cost, n, fund,
             size_at_execution, buffer_rel, buffer_cost_ref_bps, buffer_to_edge):  # fmt: skip
    """Trade towards ``target[t-1]`` at ``t``'s close; purchases limited by each book's cash,
    long securities sold pro rata when a book's cash (after pending redemptions) is negative.

    No-trade buffers: a change worth less than ``buffer_pct`` of net assets is skipped; an open
    position is left alone while within ``band`` units of the whole-unit target ``desired``,
    ``band = buffer_rel × |desired|``, times ``(c / buffer_cost_ref_bps)^(1/3)`` when
    ``buffer_cost_ref_bps > 0`` (``c``: the instrument's half spread plus commission per unit
    of notional, bp, at the sizing day's prices); outside it, the trade goes to the target, or
    to the band's near edge when ``buffer_to_edge``.

    Each order placed is recorded in ``exec_day``, ``exec_inst``, ``exec_qty``, ``exec_price``,
    ``exec_cost`` (day ``t``, instrument, units, fill price in instrument currency, cost in USD;
    the kernel's :class:`~backtest.engine.layout.KernelOutputs` records), from row ``n`` on.
    Returns the number of orders placed (instruments with a pending execution to book at
    ``t+1``).
    """
    N = q.shape[0]
    d = t - 1
    placed = 0
    order = np.zeros(N)
    fill = np.zeros(N)
    need = np.zeros(2)  # cash the book would spend on purchases
    have = cash.copy()
    for i in range(N if decided[d] else 0):  # a row without a finite target decides nothing
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
        if current != 0.0:
            band = buffer_rel * abs(desired)
            if buffer_cost_ref_bps > 0.0:
                c_bps = cost_bps[i] + commission[i] / abs(unit) * 1e4
                band *= (c_bps / buffer_cost_ref_bps) ** (1.0 / 3.0)
            if abs(delta) < band:
                continue
            if buffer_to_edge:  # the smallest whole-unit trade that restores the band
                delta = np.sign(delta) * np.ceil(abs(delta) - band)
                if delta == 0.0:
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
        exec_day[n + placed] = t
        exec_inst[n + placed] = i
        exec_qty[n + placed] = delta
        exec_price[n + placed] = fill[i]
        exec_cost[n + placed] = c
        placed += 1
    return placed
