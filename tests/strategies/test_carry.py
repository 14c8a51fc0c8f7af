"""Carry: signal functions against hand computations, sleeves on hand-made markets, and the
strategies on the 20-year synthetic market (no look-ahead, determinism, vol, carry crashes)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from backtest.market.futures import curve_carry, years_between
from backtest.market.instruments import (
    BondFuture,
    CurrencyForward,
    CurrencyFuture,
    RateFuture,
    instruments_table,
)
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns
from strategies.base import StrategyInputError, run_strategy
from strategies.carry import (
    CommodityCarry,
    EquityCarry,
    FxCarry,
    MultiAssetCarry,
    RatesCarry,
    carry_weights,
    curve_carry_table,
    curve_ids,
)
from strategies.signals import (
    CARRY_SMOOTH_COM_DAYS,
    carry_forecast,
    demeaned_ranks,
    forward_discount,
    futures_curve_carry,
    futures_curve_carry_rows,
    long_short_weights,
    rate_differential,
)

NaT = pd.NaT


def _curve(rows: list[tuple], index=None) -> pd.DataFrame:
    """Curve frame from (price, price_id, price_expiry, carry, carry_id, carry_expiry) rows."""
    cols = ["price", "price_contract", "price_expiry", "carry", "carry_contract", "carry_expiry"]
    frame = pd.DataFrame(rows, columns=cols, index=index)
    for c in ("price_expiry", "carry_expiry"):
        frame[c] = pd.to_datetime(frame[c])
    frame["forward"] = frame["carry"]
    frame["forward_contract"] = frame["carry_contract"]
    frame["forward_expiry"] = frame["carry_expiry"]
    return frame


# --------------------------------------------------------------------------- signal functions
def test_curve_carry_two_contracts_and_carry_offset_minus_one():
    curve = _curve(
        [
            # backwardated bond future: held Mar-24 at 100, next Jun-24 at 99 -> (1 / 0.25) / 100
            (100.0, 20240300, "2024-03-15", 99.0, 20240600, "2024-06-21"),
            # CarryOffset -1 (SOFR-style): held Jun-24 at 96.0, carry = the *nearer* Mar-24 at
            # 96.5 -> near - far = 96.5 - 96.0 over 0.25 years, over the held price 96
            (96.0, 20240600, "2024-06-19", 96.5, 20240300, "2024-03-20"),
            # no expiries: the order comes from the ids; Dec-23 vs Jun-24 is half a year
            (50.0, 20231200, NaT, 51.0, 20240600, NaT),
            # no ids: gap from expiries, 91 days / 365.25
            (10.0, np.nan, "2024-01-01", 9.9, np.nan, "2024-04-01"),
            # same contract twice: undefined
            (10.0, 20240300, "2024-03-15", 10.0, 20240300, "2024-03-15"),
        ]
    )
    got = futures_curve_carry(curve).to_numpy()
    expected = [0.04, 0.5 / 0.25 / 96.0, -1.0 / 0.5 / 50.0, 0.1 / (91 / 365.25) / 10.0, np.nan]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_fx_carry_signal_from_two_rates():
    rates = pd.DataFrame({"USD": [0.02, 0.05], "AUD": [0.045, 0.04], "JPY": [-0.001, 0.0]})
    diff = rate_differential(rates, ["AUD", "JPY"])
    np.testing.assert_allclose(diff.to_numpy(), [[0.025, -0.021], [-0.01, -0.05]], atol=1e-15)
    # the same number from the outright forward under covered interest parity
    spot, tau = 0.66, 1.0 / 12.0
    forward = spot * np.exp((0.02 - 0.045) * tau)
    assert forward_discount(spot, forward, tau) == pytest.approx(0.025, rel=1e-12)


def test_demeaned_ranks_and_dollar_neutral_inverse_vol_weights():
    scores = pd.DataFrame(
        [[0.03, -0.01, 0.02, 0.00], [0.01, np.nan, np.nan, np.nan], [1.0, 1.0, 2.0, np.nan]]
    )
    ranks = demeaned_ranks(scores)
    np.testing.assert_allclose(ranks.iloc[0], [1.0, -1.0, 1 / 3, -1 / 3])
    assert ranks.iloc[1, 0] == 0.0 and ranks.iloc[1, 1:].isna().all()
    np.testing.assert_allclose(ranks.iloc[2, :3], [-0.5, -0.5, 1.0])
    vol = pd.DataFrame([[0.1, 0.2, 0.1, 0.2]] * 3)
    w = long_short_weights(ranks, vol)
    # row 0: rank / vol = [10, -5, 3.33, -1.67]; longs scaled to +1, shorts to -1
    np.testing.assert_allclose(w.iloc[0], [0.75, -0.75, 0.25, -0.25], rtol=1e-12)
    assert (w.iloc[1] == 0).all()  # one instrument: no long-short book
    np.testing.assert_allclose(w.sum(axis=1), 0.0, atol=1e-15)


def test_time_series_carry_weights_sign_scale_and_cap():
    carry = pd.DataFrame({"A": [0.02] * 3, "B": [-0.01] * 3, "C": [0.50] * 3})
    vol = pd.DataFrame({"A": [0.1] * 3, "B": [0.05] * 3, "C": [0.1] * 3})
    w = carry_weights(carry, vol, "time_series", forecast_cap=20.0)
    # forecast = scalar * carry / vol: A and B have the same |carry / vol| = 0.2
    assert (w["A"] > 0).all() and (w["B"] < 0).all()
    np.testing.assert_allclose(w["A"] * 0.1, -w["B"] * 0.05)
    # C's forecast hits the cap of 20: weight = 20 / 10 / vol
    np.testing.assert_allclose(w["C"], 20.0 / 10.0 / 0.1)
    with pytest.raises(ValueError, match="mode"):
        carry_weights(carry, vol, "sideways", 20.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- hand-made markets
def _fx_market(n: int = 400, with_forwards: bool = True) -> MarketData:
    rng = np.random.default_rng(5)
    cal = pd.bdate_range("2012-01-02", periods=n)
    ccys = {"EUR": (1.3, 0.01), "JPY": (0.012, -0.002), "AUD": (0.9, 0.045), "GBP": (1.6, 0.02)}
    rates = pd.DataFrame({"USD": 0.015} | {c: r for c, (_, r) in ccys.items()}, index=cal)
    spot = {c: s * np.exp(rng.normal(0, 0.006, n).cumsum()) for c, (s, _) in ccys.items()}
    fx = pd.DataFrame({"USD": 1.0} | spot, index=cal)
    if with_forwards:
        ins = [CurrencyForward(c) for c in ccys]
        prices = pd.DataFrame(
            {f"FWD-{c}-1M": fx[c] * (1 + 0.015 / 12) / (1 + r / 12) for c, (_, r) in ccys.items()}
        )
        prices.iloc[:50, 3] = np.nan  # GBP forward starts late
        return MarketData(cal, instruments_table(ins), prices, fx=fx, rates=rates, name="fx")
    curves, prices = {}, {}
    for c, (_, r) in ccys.items():
        near, far = fx[c] * (1 + (0.015 - r) * 0.1), fx[c] * (1 + (0.015 - r) * 0.35)
        curves[c] = _curve(
            [
                (p, 20120300, "2012-03-19", q, 20120600, "2012-06-18")
                for p, q in zip(near, far, strict=True)
            ],
            index=cal,
        )
        prices[c] = near
    ins = [CurrencyFuture(c) for c in ccys]
    return MarketData(cal, instruments_table(ins), pd.DataFrame(prices), curves=curves, fx=fx)


def test_fx_carry_signal_is_rate_differential_and_book_is_dollar_neutral():
    market = _fx_market()
    strat = FxCarry()
    carry = strat.carry(market)
    assert list(carry.columns) == ["FWD-EUR-1M", "FWD-JPY-1M", "FWD-AUD-1M", "FWD-GBP-1M"]
    np.testing.assert_allclose(carry.iloc[-1], [-0.005, -0.017, 0.03, 0.005], atol=1e-15)
    assert carry.iloc[:50, 3].isna().all()
    pos = run_strategy(strat, market)
    late = pos.iloc[100:]
    assert (late["FWD-AUD-1M"] > 0).all() and (late["FWD-JPY-1M"] < 0).all()
    np.testing.assert_allclose(pos.sum(axis=1), 0.0, atol=1e-12)
    assert (pos.iloc[:50, 3] == 0).all()


def test_fx_carry_uses_currency_futures_curves_without_forwards():
    market = _fx_market(with_forwards=False)
    carry = FxCarry().carry(market)
    # near - far = fx (r_USD - r_XXX) (0.1 - 0.35); over 0.25 years and over the near price
    usd_minus_ccy = 0.015 - np.array([0.01, -0.002, 0.045, 0.02])
    expected = -usd_minus_ccy / (1 + usd_minus_ccy * 0.1)
    np.testing.assert_allclose(carry.iloc[-1], expected, rtol=1e-12)
    pos = run_strategy(FxCarry(), market)
    assert pos.iloc[-1]["AUD"] > 0 and pos.iloc[-1]["JPY"] < 0
    empty = MarketData.from_prices(
        pd.DataFrame({"X": [1.0, 2.0]}, pd.bdate_range("2020", periods=2))
    )
    for call in (
        FxCarry().carry,
        RatesCarry().target_positions,
        MultiAssetCarry().target_positions,
    ):
        with pytest.raises(StrategyInputError, match="'user'"):
            call(empty)


def test_rates_carry_handles_carry_contract_nearer_than_price_contract():
    n = 300
    cal = pd.bdate_range("2019-01-01", periods=n)
    rng = np.random.default_rng(9)
    level = 97.0 + rng.normal(0, 0.01, n).cumsum()
    # upward-sloping rate curve: the farther contract is cheaper. The STIR future lists the
    # *nearer* contract as carry (CarryOffset -1); the bond future the farther one.
    stir = _curve([(p, 20190900, "2019-09-18", p + 0.1, 20190600, "2019-06-19") for p in level])
    bond = _curve(
        [(p + 30, 20190600, "2019-06-19", p + 29.8, 20190900, "2019-09-19") for p in level]
    )
    stir.index = bond.index = cal
    table = instruments_table([RateFuture("SR3"), BondFuture("ZN")])
    prices = pd.DataFrame({"SR3": stir["price"], "ZN": bond["price"]})
    market = MarketData(cal, table, prices, adjusted=prices, curves={"SR3": stir, "ZN": bond})
    carry = RatesCarry().carry(market)
    np.testing.assert_allclose(carry["SR3"], 0.1 / 0.25 / level, rtol=1e-12)
    np.testing.assert_allclose(carry["ZN"], 0.2 / 0.25 / (level + 30), rtol=1e-12)
    pos = run_strategy(RatesCarry(), market)
    assert (pos.iloc[100:] > 0).all().all()  # both roll down: long both
    combined = run_strategy(MultiAssetCarry(), market)  # only the rates sleeve exists
    assert list(combined.columns) == ["SR3", "ZN"]
    assert set(MultiAssetCarry().sleeves(market)) == {"rates"}


# --------------------------------------------------------------------------- synthetic market
@pytest.fixture(scope="module")
def market(synthetic_20y):
    """The 20-year synthetic market, ``synthetic_market(7)`` (session fixture of conftest)."""
    return synthetic_20y


CARRY_STRATEGIES = [FxCarry, RatesCarry, EquityCarry, CommodityCarry, MultiAssetCarry]


@pytest.fixture(scope="module")
def positions(market):
    return {cls: run_strategy(cls(), market) for cls in CARRY_STRATEGIES}


@pytest.mark.slow
@pytest.mark.parametrize("cls", CARRY_STRATEGIES, ids=lambda c: c.__name__)
def test_carry_no_look_ahead_determinism_and_no_mutation(market, positions, cls):
    full = positions[cls]
    before = copy.deepcopy(market)
    pd.testing.assert_frame_equal(cls().target_positions(market), full, check_exact=True)
    assert market.equals(before)
    rng = np.random.default_rng(sum(map(ord, cls.__name__)))
    for i in sorted(rng.integers(300, len(market.calendar) - 1, size=3)):
        cut = cls().target_positions(market.until(market.calendar[i]))
        pd.testing.assert_frame_equal(cut, full.iloc[: i + 1], check_exact=True)
        assert cut.iloc[-1].abs().sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("cls", CARRY_STRATEGIES, ids=lambda c: c.__name__)
def test_carry_realised_vol_near_target(market, positions, cls):
    ret = exposure_returns(positions[cls], market, cost_bps=2).iloc[300:]
    vol = ret.std() * np.sqrt(252)
    assert 0.5 * 0.10 <= vol <= 1.5 * 0.10


@pytest.mark.slow
def test_multi_asset_carry_has_all_four_sleeves(market, positions):
    sleeves = MultiAssetCarry().sleeves(market)
    assert set(sleeves) == {"fx", "rates", "equity", "commodity"}
    pos = positions[MultiAssetCarry]
    assert not any(c.startswith("6") for c in pos.columns)  # forwards, not currency futures
    kinds = market.instruments.loc[pos.columns, "kind"]
    traded = pos.iloc[300:].abs().gt(0).T.groupby(kinds.to_numpy()).any().T
    assert traded.shape[1] == 5 and traded.all().all()


@pytest.mark.slow
def test_fx_carry_earns_carry_but_crashes_with_equities(market, positions):
    pos = positions[FxCarry]
    np.testing.assert_allclose(pos.sum(axis=1), 0.0, atol=1e-10)  # dollar-neutral
    ret = exposure_returns(pos, market, cost_bps=2)
    carry = FxCarry().carry(market)
    # the book is long the high-rate currencies: its carry income is positive on average
    assert (pos * carry).sum(axis=1).iloc[300:].mean() > 0.005
    spx = market.index["SPX"].pct_change()
    worst = spx.nsmallest(20).index
    assert ret[worst].sum() < 0.0  # carry crashes in equity sell-offs
    assert ret.iloc[300:].corr(spx.iloc[300:]) > 0.0
    sharpe = ret.iloc[300:].mean() / ret.iloc[300:].std() * np.sqrt(252)
    assert sharpe > 0.0


# --------------------------------------------------------------------------- smoothing
def test_carry_forecast_smooths_the_ratio_with_a_centre_of_mass_by_hand():
    days = pd.bdate_range("2024-01-01", periods=3)
    carry = pd.DataFrame({"A": [0.02, 0.04, 0.01]}, index=days)
    vol = pd.DataFrame({"A": [0.10, 0.20, 0.05]}, index=days)
    # ratio 0.2, 0.2, 0.2: smoothing the ratio leaves it; smoothing the carry does not
    out = carry_forecast(carry, vol, smooth_com_days=1.0, smooth="ratio")
    assert out["A"].tolist() == pytest.approx([0.2, 0.2, 0.2])
    # com 1 -> alpha 1/2, adjust=True weights (1/4, 1/2, 1) on day 3
    smoothed = (0.25 * 0.02 + 0.5 * 0.04 + 1.0 * 0.01) / 1.75
    out = carry_forecast(carry, vol, smooth_com_days=1.0, smooth="carry")
    assert out["A"].iloc[2] == pytest.approx(smoothed / 0.05)
    assert carry_forecast(carry, vol)["A"].tolist() == pytest.approx([0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="smooth must be"):
        carry_forecast(carry, vol, 1.0, smooth="vol")  # type: ignore[arg-type]


def test_default_is_the_published_smoothing_and_the_former_one_is_reachable():
    sleeve = RatesCarry()
    assert (
        (sleeve.smooth, sleeve.smooth_com_days)
        == ("ratio", CARRY_SMOOTH_COM_DAYS)
        == (
            "ratio",
            90.0,
        )
    )
    days = pd.bdate_range("2024-01-01", periods=40)
    rng = np.random.default_rng(5)
    carry = pd.DataFrame({"A": rng.normal(0.02, 0.01, 40)}, index=days)
    # the former default: EWMA span 10 of the carry, then divided by vol; span 10 = com 4.5
    former = carry.ewm(span=10, adjust=True).mean() / 0.1
    got = carry_forecast(carry, carry * 0 + 0.1, smooth_com_days=4.5, smooth="carry")
    pd.testing.assert_frame_equal(got, former)


def test_curve_carry_table_equals_each_curves_carry(synthetic_5y):
    """The table stacked from the curves equals :func:`futures_curve_carry` column by column."""
    market = synthetic_5y
    ids = curve_ids(market, RatesCarry.required_kinds | EquityCarry.required_kinds)
    assert len(ids) > 3
    table = curve_carry_table(market, ids)
    assert list(table.columns) == ids
    for i in ids:
        want = futures_curve_carry(market.curves[i]).to_numpy()
        np.testing.assert_array_equal(table[i].to_numpy(), want)
    assert curve_carry_table(market, []).shape == (len(market.calendar), 0)


def test_curve_ids_are_looked_up_once_per_market_and_handed_out_as_new_lists(synthetic_5y):
    market = synthetic_5y.replace()  # an empty cache
    kinds = RatesCarry.required_kinds
    first = curve_ids(market, kinds)
    want = [i for i in market.ids(kinds) if i in market.curves and i in market.prices]
    assert first == want and len(first) > 3
    first.append("garbage")  # a caller's list is its own
    assert curve_ids(market, kinds) == want
    assert sum(k[0] == "curve_ids" for k in market._memo) == 1


def futures_curve_carry_py(curve: pd.DataFrame) -> np.ndarray:
    """The one-curve arithmetic as it was written before the curves were stacked (twin)."""
    held, other = curve["price"].to_numpy(float), curve["carry"].to_numpy(float)
    held_id = curve["price_contract"].to_numpy(float)
    other_id = curve["carry_contract"].to_numpy(float)
    held_exp = curve["price_expiry"].to_numpy("datetime64[ns]")
    other_exp = curve["carry_expiry"].to_numpy("datetime64[ns]")
    have_exp = ~(np.isnat(held_exp) | np.isnat(other_exp))
    other_nearer = np.where(have_exp, other_exp < held_exp, other_id < held_id)
    near = np.where(other_nearer, other, held)
    far = np.where(other_nearer, held, other)
    gap_ids = np.abs(years_between(held_id, other_id))
    gap_exp = np.abs((other_exp - held_exp).astype("timedelta64[s]").astype(float))
    gap_exp = np.where(have_exp, gap_exp / 86_400.0 / 365.25, np.nan)
    gap = np.where(np.isfinite(gap_ids), gap_ids, gap_exp)
    return curve_carry(near, far, 0.0, gap, held)


def test_stacked_curve_carry_equals_the_one_curve_formula(synthetic_20y):
    """Every curve of the default market, stacked, and one with gaps, missing expiries (the
    contract ids decide) and a carry contract nearer than the held one: the same bits."""
    market = synthetic_20y
    curves = [market.curves[r] for r in sorted(market.curves)]
    odd = curves[0].copy()
    odd.iloc[::7, odd.columns.get_loc("price_expiry")] = pd.NaT
    odd.iloc[::5, odd.columns.get_loc("carry")] = np.nan
    odd.iloc[1::3, odd.columns.get_loc("carry_contract")] = odd["price_contract"].iloc[1::3] - 100
    curves.append(odd)
    got = futures_curve_carry_rows(curves)
    assert got.shape == (len(curves), len(market.calendar))
    for k, curve in enumerate(curves):
        want = futures_curve_carry_py(curve)
        assert np.array_equal(got[k].view(np.int64), want.view(np.int64)), k
        assert np.array_equal(futures_curve_carry(curve).to_numpy().view(np.int64),
                              want.view(np.int64))  # fmt: skip
