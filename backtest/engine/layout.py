"""The kernel's vocabulary: instrument-class codes, the columns of the per-day fund table, and
the named parameters (:class:`KernelParams`) and outputs (:class:`KernelOutputs`) of
:func:`backtest.engine.kernel.run_kernel`. Numbers only; no logic.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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
    buffer_cost_ref_bps: float  # > 0: position buffer × (instrument's cost rate / this)^(1/3)
    buffer_to_edge: bool  # outside the position buffer, trade to its edge (else to the target)


class KernelOutputs(NamedTuple):
    """What :func:`run_kernel` returns (``T`` days × ``N`` instruments, USD unless stated).

    Only what is dense by nature is stored dense (the P&L of every position moves every day);
    holdings are records of their changes (they change on booking days only: ~1/21 of the days
    for a monthly rebalance), trades are records, forwards' marks a column per forward. The
    dense (T, N) frames of holdings, market values, notionals, costs and trades are built on
    access from these, bit for bit what the kernel used to write:
    :class:`backtest.engine.dense.DenseOutputs`.
    """

    pnl: np.ndarray  # (T, N) P&L
    fund: np.ndarray  # (T, N_COLS) the per-day fund table, columns ``C_*``
    fwd_mv: np.ndarray  # (T, F) market value of the F forward columns, in column order
    hold_day: np.ndarray  # (H,) int64 row from which a holding holds (booked at that close)
    hold_inst: np.ndarray  # (H,) int64 its column
    hold_qty: np.ndarray  # (H,) units held from that row on (contracts / shares / units; +0.0 flat)
    exec_day: np.ndarray  # (M,) int64 row of each execution (traded at that close, booked next)
    exec_inst: np.ndarray  # (M,) int64 column of the instrument traded
    exec_qty: np.ndarray  # (M,) units traded (signed, non-zero)
    exec_price: np.ndarray  # (M,) execution price, instrument currency
    exec_cost: np.ndarray  # (M,) cost of the execution, USD
    roll_day: np.ndarray  # (R,) int64 row where a futures roll made at the previous close is paid
    roll_inst: np.ndarray  # (R,) int64 column of the rolled future
    roll_cost: np.ndarray  # (R,) cost of both legs of the roll, USD
