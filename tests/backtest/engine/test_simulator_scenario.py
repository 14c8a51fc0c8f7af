"""A hand-worked ten-day scenario: every expected number comes from arithmetic written out here.

Fund: 100,000 shares at $10.00 = $1,000,000 cash. Instruments: an equity index future ``FUT``
(multiplier 10) that rolls from the March to the June contract, a 1-month EUR forward, and a
short SPX put struck at 5000 that expires in the money on Friday 15 March 2024. A creation on
Monday 11 March and a redemption on Thursday 14 March (one Creation Unit of 50,000 shares each,
$500 fixed fee). Interest at 5% ACT/360 on cash, expenses 0.95% ACT/365 on prior net assets, both
accruing across the weekend of 9–10 March.
"""

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import CostModel, Flow, FlowSchedule, FundConfig
from backtest.engine.simulator import simulate
from backtest.market.instruments import CurrencyForward, EquityIndexFuture, instruments_table
from backtest.market.market_data import SURFACE_COLUMNS, MarketData
from backtest.market.pricing import bs_price

DATES = pd.DatetimeIndex(
    ["2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12",
     "2024-03-13", "2024-03-14", "2024-03-15", "2024-03-18", "2024-03-19"]
)  # fmt: skip
MARCH = [5000.0, 5010.0, 4990.0, 5020.0, 5030.0]
JUNE = [5050.0, 5060.0, 5040.0, 5070.0, 5085.0, 5100.0, 5080.0, 5090.0, 5110.0, 5120.0]
SPX = [5000.0, 5005.0, 4990.0, 4980.0, 4985.0, 4970.0, 4960.0, 4950.0, 4990.0, 5000.0]
EUR = [1.10, 1.10, 1.10, 1.105, 1.105, 1.11, 1.11, 1.10, 1.10, 1.12]
PUT = "SPX-2024-03-15-P-5000"


def scenario_market() -> MarketData:
    held = MARCH + JUNE[5:]
    mar_exp, jun_exp = pd.Timestamp("2024-03-15"), pd.Timestamp("2024-06-21")
    curve = pd.DataFrame(
        {
            "price": held,
            "price_contract": [20240315] * 5 + [20240621] * 5,
            "price_expiry": [mar_exp] * 5 + [jun_exp] * 5,
            "carry": JUNE[:5] + [np.nan] * 5,
            "carry_contract": [20240621] * 5 + [20240920] * 5,
            "carry_expiry": [jun_exp] * 5 + [pd.Timestamp("2024-09-20")] * 5,
            "forward": JUNE[:5] + [np.nan] * 5,
            "forward_contract": [20240621] * 5 + [20240920] * 5,
            "forward_expiry": [jun_exp] * 5 + [pd.Timestamp("2024-09-20")] * 5,
        },
        index=DATES,
    )
    fwd = CurrencyForward("EUR")
    table = instruments_table([EquityIndexFuture("FUT", multiplier=10.0), fwd])
    rates = pd.DataFrame({"USD": 0.05, "EUR": 0.03}, index=DATES)
    fx = pd.DataFrame({"USD": 1.0, "EUR": EUR}, index=DATES)
    outright = fx["EUR"] * (1 + 0.05 / 12) / (1 + 0.03 / 12)
    surface = pd.DataFrame({c: 0.2 for c in SURFACE_COLUMNS}, index=DATES)
    surface["skew"] = 0.0
    surface["curvature"] = 0.0
    return MarketData(
        calendar=DATES,
        instruments=table,
        prices=pd.DataFrame({"FUT": held, fwd.id: outright.to_numpy()}, index=DATES),
        curves={"FUT": curve},
        fx=fx,
        rates=rates,
        index=pd.DataFrame({"SPX": SPX, "SPX_DY": 0.0}, index=DATES),
        vol_surface=surface,
        name="scenario",
    )


def scenario_config() -> FundConfig:
    spreads = {k: 0.0 for k in CostModel().half_spread_bps}
    spreads["equity"] = 1.0
    return FundConfig(
        initial_shares=100_000,
        initial_nav_per_share=10.0,
        creation_unit_shares=50_000,
        min_shares_outstanding=100_000,
        creation_fee_fixed_usd=500.0,
        redemption_fee_fixed_usd=500.0,
        expense_ratio=0.0095,
        costs=CostModel(
            commission_per_contract_usd=2.0,
            commission_per_share_usd=0.0,
            half_spread_bps=spreads,
            borrow_fee_annual=0.0,
        ),
        no_trade_buffer_pct_nav=0.0,
        roll_days_before_expiry=0,
        flows=FlowSchedule(flows=(Flow("2024-03-11", 1), Flow("2024-03-14", -1))),
    )


def put_mark(t: int) -> float:
    tau = (pd.Timestamp("2024-03-15") - DATES[t]).days / 365
    return float(bs_price(SPX[t], 5000.0, tau, 0.05, 0.0, 0.2, False))


def targets() -> pd.DataFrame:
    tg = pd.DataFrame(np.nan, index=DATES, columns=["FUT", PUT, "FWD-EUR-1M"])
    tg.loc[DATES[0], "FUT"] = 0.1001  # 0.1001 × 1,000,000 / (10 × 5000) → 2 contracts
    tg.loc[DATES[0], PUT] = -0.5001  # −0.5001 × 1,000,000 / (100 × 5000) → −1 contract
    tg.loc[DATES[2], "FWD-EUR-1M"] = 0.11
    return tg


def hand_ledger():
    """The fund's books day by day, by hand. Returns per-day cash, NA, shares and the forward."""
    r, er = 0.05, 0.0095
    days = [0, 1, 1, 3, 1, 1, 1, 1, 3, 1]
    cash, acc_int, acc_exp, shares = 1_000_000.0, 0.0, 0.0, 100_000.0
    na_prev = 1_000_000.0
    out = {"cash": [], "na": [], "shares": [], "nav5": [], "acc_int": [], "acc_exp": []}
    fwd_q = fwd_k = None
    fwd_mat_days = 30  # calendar days after Monday 11 March (the forward's execution day)
    for t in range(10):
        # accruals on the overnight balances
        if t > 0:
            acc_int += cash * r * days[t] / 360
            acc_exp += er * na_prev * days[t] / 365
        # bookings of yesterday's executions and flows
        if t == 2:
            cash += 100 * put_mark(1) - 2.0  # premium for selling one put, $2 commission
            cash -= 2 * 2.0 + 2 * 10 * 5010 * 1e-4  # two futures at 5010: $4 + 1 bp
        if t == 4:
            cash += 50_000 * out["nav5"][3] + 500.0  # creation in cash, fee to the fund
            shares += 50_000
        if t == 5:
            cash -= 2 * 2 * (2.0 + 10 * 5030 * 1e-4)  # roll both legs of two contracts
        if t == 7:
            cash += -50_000 * out["nav5"][6] + 500.0  # redemption in cash, fee to the fund
            shares -= 50_000
        # variation margin on two contracts: March until the roll at Tuesday's close, then June
        vm_ref = {2: 5010, 3: 4990, 4: 5020, 5: 5085, 6: 5100, 7: 5080, 8: 5090, 9: 5110}
        if t in vm_ref:
            held = MARCH[t] if t < 5 else JUNE[t]
            cash += 2 * 10 * (held - vm_ref[t])
        put_value = 0.0
        if 2 <= t < 7:
            put_value = -100 * put_mark(t)
        if t == 7:
            cash += -100 * (5000 - 4950)  # cash settlement at intrinsic value
        fwd_value = 0.0
        if t >= 4:
            tau = (fwd_mat_days - (DATES[t] - DATES[3]).days) / 360
            f = EUR[t] * (1 + r * tau) / (1 + 0.03 * tau)
            fwd_value = fwd_q * (f - fwd_k) / (1 + r * tau)
        na = cash + acc_int - acc_exp + put_value + fwd_value
        nav5 = np.floor(na / shares * 1e5 + 0.5) / 1e5
        if t == 3:  # the forward is sized on Friday's net assets, struck at Monday's forward
            fwd_q = np.trunc(0.11 * out["na"][2] / EUR[2])
            fwd_k = EUR[3] * (1 + r * 30 / 360) / (1 + 0.03 * 30 / 360)
        for k, v in zip(out, (cash, na, shares, nav5, acc_int, acc_exp), strict=True):
            out[k].append(v)
        na_prev = na
    return out, fwd_q, fwd_k


@pytest.fixture(scope="module")
def run():
    return simulate(scenario_market(), targets(), scenario_config())


def test_every_day_matches_the_hand_ledger(run):
    ledger, _, _ = hand_ledger()
    nav = run.nav
    np.testing.assert_allclose(nav["cash"], ledger["cash"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(nav["net_assets"], ledger["na"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(nav["shares_outstanding"], ledger["shares"])
    np.testing.assert_allclose(nav["nav_per_share_5dp"], ledger["nav5"], atol=1e-12)
    np.testing.assert_allclose(nav["accrued_interest"], ledger["acc_int"], atol=1e-9)
    np.testing.assert_allclose(nav["accrued_expenses"], ledger["acc_exp"], atol=1e-9)


def test_weekend_accrual_is_three_calendar_days(run):
    nav = run.nav
    # Monday's interest: Friday's cash × 5% × 3/360; expense: Friday's net assets × 0.95% × 3/365
    fri, mon = DATES[2], DATES[3]
    assert nav.at[mon, "interest"] == pytest.approx(nav.at[fri, "cash"] * 0.05 * 3 / 360, rel=1e-12)
    assert nav.at[mon, "expenses"] == pytest.approx(
        nav.at[fri, "net_assets"] * 0.0095 * 3 / 365, rel=1e-12
    )


def test_trades_quantities_prices_and_booking(run):
    tr = run.trades.set_index("instrument")
    ledger, fwd_q, fwd_k = hand_ledger()
    assert tr.at["FUT", "quantity"] == 2 and tr.at["FUT", "price"] == 5010
    assert tr.at["FUT", "date"] == DATES[1] and tr.at["FUT", "booked"] == DATES[2]
    assert tr.at["FUT", "cost"] == pytest.approx(4 + 10.02)
    assert tr.at[PUT, "quantity"] == -1
    assert tr.at[PUT, "price"] == pytest.approx(put_mark(1), rel=1e-12)
    assert tr.at["FWD-EUR-1M", "quantity"] == fwd_q
    assert tr.at["FWD-EUR-1M", "price"] == pytest.approx(fwd_k, rel=1e-14)
    assert tr.at["FWD-EUR-1M", "booked"] == DATES[4]
    q = run.quantities
    assert (q.loc[DATES[:2], "FUT"] == 0).all() and (q.loc[DATES[2] :, "FUT"] == 2).all()
    assert q.at[DATES[6], PUT] == -1 and q.at[DATES[7], PUT] == 0  # settled on expiry


def test_roll_cost_booked_the_day_after_the_roll(run):
    costs = run.costs["FUT"]
    assert costs[DATES[5]] == pytest.approx(2 * 2 * (2.0 + 10 * 5030 * 1e-4))
    assert costs[DATES[2]] == pytest.approx(14.02)
    assert costs.drop([DATES[2], DATES[5]]).abs().sum() == 0.0


def test_flows_priced_at_five_decimal_nav_and_booked_next_day(run):
    ledger, _, _ = hand_ledger()
    flows = run.flows
    assert list(flows["units"]) == [1, -1]
    assert list(flows["nav_5dp"]) == [ledger["nav5"][3], ledger["nav5"][6]]
    assert list(flows["booked"]) == [DATES[4], DATES[7]]
    nav = run.nav
    assert nav.at[DATES[4], "fees"] == 500.0 and nav.at[DATES[7], "fees"] == 500.0
    assert nav.at[DATES[4], "flow_value"] == 50_000 * ledger["nav5"][3]


def test_put_pnl_sums_to_premium_minus_payout(run):
    total = run.pnl[PUT].sum()
    # P&L of a short put held to expiry: premium received − intrinsic paid
    assert total == pytest.approx(100 * put_mark(1) - 100 * 50, abs=1e-6)


def test_future_pnl_is_the_sum_of_variation_margin(run):
    vm = 2 * 10 * ((4990 - 5010) + (5020 - 4990) + (5030 - 5020) + (5100 - 5085)
                   + (5080 - 5100) + (5090 - 5080) + (5110 - 5090) + (5120 - 5110))  # fmt: skip
    assert run.pnl["FUT"].sum() == pytest.approx(vm)


def test_published_nav_is_rounded_to_the_cent(run):
    nav = run.nav
    expected = np.floor(nav["net_assets"] / nav["shares_outstanding"] * 100 + 0.5) / 100
    np.testing.assert_array_equal(nav["nav_per_share"], expected)
