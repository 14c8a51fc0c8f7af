"""Carry, trend and put writing on real futures (the pysystemtrade sample, ../shared/data).

Skipped with a reason when the sample is absent: the project never ships it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.fund.run import run_fund
from backtest.fund.spec import AllocatorSpec, FundSpec, StrategySpec
from backtest.market.returns import exposure_returns, instrument_returns
from strategies.base import run_strategy
from strategies.carry import MultiAssetCarry, RatesCarry
from strategies.quant.trend import Trend
from strategies.signals import carry_forecast, return_vol
from strategies.vol_premium import PutWrite, VolatilityPremium, option_book_returns

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pysystemtrade"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"pysystemtrade sample not found at {DATA}"),
]


@pytest.fixture(scope="module")
def market():
    from backtest.data.folder import load_market

    return load_market(DATA)


@pytest.fixture(scope="module")
def carry_positions(market):
    return run_strategy(MultiAssetCarry(), market)


@pytest.fixture(scope="module")
def trend_positions(market):
    return run_strategy(Trend(), market)


def _hand_slope(curve: pd.DataFrame) -> pd.Series:
    """(near - far) / years apart / held price, near and far by contract id (YYYYMM00)."""
    pid = curve["price_contract"].astype("float64")
    cid = curve["carry_contract"].astype("float64")
    months = (cid // 10000 * 12 + cid // 100 % 100) - (pid // 10000 * 12 + pid // 100 % 100)
    carry_nearer = cid < pid
    near = curve["carry"].where(carry_nearer, curve["price"])
    far = curve["price"].where(carry_nearer, curve["carry"])
    return (near - far) / (months.abs() / 12.0) / curve["price"]


def test_carry_runs_on_every_instrument_with_a_curve(market, carry_positions):
    sleeves = MultiAssetCarry().sleeves(market)
    assert set(sleeves) == {"fx", "rates", "equity", "commodity"}
    fx_ids = sleeves["fx"].instrument_ids(market)
    assert fx_ids and all(market.instruments.at[i, "kind"] == "currency_future" for i in fx_ids)
    assert np.isfinite(carry_positions.to_numpy()).all()
    for iid in carry_positions.columns:
        live = market.prices[iid].notna()
        assert live.sum() > 500, iid
        assert (carry_positions.loc[live, iid] != 0).mean() > 0.8, iid
    assert {"SOFR", "EURIBOR", "US10", "SP500", "CORN", "EUR"} <= set(carry_positions.columns)


def test_trend_runs_on_every_future_with_data(market, trend_positions):
    assert np.isfinite(trend_positions.to_numpy()).all()
    with_data = [i for i in market.adjusted.columns if market.adjusted[i].notna().sum() > 500]
    assert set(with_data) <= set(trend_positions.columns)
    for iid in with_data:
        assert (trend_positions[iid] != 0).sum() > 250, iid
    first = market.adjusted["VIX"].first_valid_index()  # 2006: flat before its first price
    assert (trend_positions.loc[: first - pd.Timedelta(days=1), "VIX"] == 0).all()
    assert (trend_positions.loc[first:, "VIX"] != 0).mean() > 0.9


def test_carry_signal_equals_slope_from_price_and_carry_contracts(market):
    rng = np.random.default_rng(17)
    for name, sleeve in MultiAssetCarry().sleeves(market).items():
        signal = sleeve.carry(market)
        for iid in signal.columns:
            hand = _hand_slope(market.curves[iid])
            ok = hand.notna() & np.isfinite(hand)
            assert ok.sum() > 100, (name, iid)
            dates = rng.choice(hand.index[ok], size=25, replace=False)
            np.testing.assert_allclose(
                signal.loc[dates, iid], hand.loc[dates], rtol=1e-12, err_msg=f"{name} {iid}"
            )
            assert signal[iid][~ok].isna().all()


@pytest.mark.parametrize("root", ["SOFR", "US10", "CORN"])
def test_carry_signal_against_the_raw_csv(market, root):
    """Against the file itself on days with one complete row (the daily era): SOFR and CORN
    list the nearer contract as CARRY (CarryOffset -1), US10 the farther one."""
    raw = pd.read_csv(DATA / "data" / "futures" / "multiple_prices_csv" / f"{root}.csv.gz")
    raw["date"] = pd.to_datetime(raw["DATETIME"]).dt.normalize()
    single = raw.groupby("date").filter(lambda g: len(g) == 1).set_index("date")
    single = single.dropna(subset=["PRICE", "CARRY"])
    single = single[single.index.isin(market.calendar)]
    sample = single.sample(30, random_state=3)
    p_id, c_id = sample["PRICE_CONTRACT"], sample["CARRY_CONTRACT"]
    months = (c_id // 10000 * 12 + c_id // 100 % 100) - (p_id // 10000 * 12 + p_id // 100 % 100)
    if root in ("SOFR", "CORN"):
        assert (months < 0).all()
    near = np.where(months < 0, sample["CARRY"], sample["PRICE"])
    far = np.where(months < 0, sample["PRICE"], sample["CARRY"])
    expected = (near - far) / (np.abs(months) / 12.0) / sample["PRICE"]
    sleeve = MultiAssetCarry().rates if root in ("SOFR", "US10") else MultiAssetCarry().commodity
    got = sleeve.carry(market).loc[sample.index, root]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_carry_and_trend_earn_on_real_futures(market, carry_positions, trend_positions):
    for pos in (carry_positions, trend_positions):
        ret = exposure_returns(pos, market, cost_bps=2).loc["1990":]
        sharpe = ret.mean() / ret.std() * np.sqrt(252)
        assert sharpe > 0.2
        assert 0.05 <= ret.std() * np.sqrt(252) <= 0.15


def test_rates_carry_forecast_matches_the_published_recomputation_on_us10(market):
    """pysystemtrade's carry rule recomputed from the raw CSVs with pandas: per-row annualised
    roll ``(PRICE - CARRY) / months apart × 12`` averaged per day, over the daily price vol
    (EWM std, span 35) × 16, then ``.ewm(90).mean()`` (com 90)."""
    fut = DATA / "data" / "futures"
    raw = pd.read_csv(fut / "multiple_prices_csv/US10.csv.gz", parse_dates=["DATETIME"])
    months = (raw["CARRY_CONTRACT"] // 10000 * 12 + raw["CARRY_CONTRACT"] // 100 % 100) - (
        raw["PRICE_CONTRACT"] // 10000 * 12 + raw["PRICE_CONTRACT"] // 100 % 100
    )
    roll = ((raw["PRICE"] - raw["CARRY"]) / months * 12).groupby(raw["DATETIME"].dt.normalize())
    ann_roll = roll.mean()
    adj = pd.read_csv(fut / "adjusted_prices_csv/US10.csv.gz", parse_dates=["DATETIME"])
    daily = adj.groupby(adj["DATETIME"].dt.normalize())["price"].last()
    daily = daily[daily.index.day_of_week < 5]
    vol = daily.diff().ewm(span=35, min_periods=10).std() * 16.0
    published = (ann_roll.reindex(daily.index) / vol).ewm(90).mean()

    sleeve = RatesCarry()
    returns = instrument_returns(market, ["US10"])
    ours = carry_forecast(
        sleeve.carry(market)[["US10"]],
        return_vol(returns, sleeve.vol_span_days),
        sleeve.smooth_com_days,
        sleeve.smooth,
    )["US10"]
    both = pd.concat([ours, published], axis=1, keys=["ours", "published"]).loc["2000":].dropna()
    assert len(both) > 5000
    assert both["ours"].corr(both["published"]) > 0.97
    former = carry_forecast(sleeve.carry(market)[["US10"]], return_vol(returns, 35), 4.5, "carry")[
        "US10"
    ]
    assert former.reindex(both.index).corr(both["published"]) < 0.9


# --------------------------------------------------------------------------- put writing
@pytest.fixture(scope="module")
def put_write(market):
    """The put-writing leg on the real sample: positions and its return stream (engine lag)
    from 2006, as tests/strategies/test_vol_premium.py builds it on the synthetic market."""
    pos = PutWrite().target_positions(market)
    ret = exposure_returns(pos, market, returns=option_book_returns(market, pos))
    return pos, ret.loc["2006-03":]


def test_put_writing_runs_on_real_data_on_named_approximations(market, put_write):
    running, dropped = VolatilityPremium().legs(market)
    assert set(running) == {"short_vix", "put_write"} and not dropped
    note = VolatilityPremium().notes(market)["put_write"]
    assert note.startswith("approximated:")
    assert all(k in note for k in ("index.SPX", "vol_surface", "rates.USD"))
    pos = put_write[0]
    live = (pos != 0).sum(axis=1)
    assert live.loc["2006-04":].min() == 1 and (pos <= 0).all().all()
    first = pos.columns[0]  # the first put is sold once the VIX curve (2006) gives a vol
    assert first.startswith("SPX-2006-") and pos.loc[:"2006-01-31"].eq(0).all().all()


def test_put_writing_on_real_data_earns_in_calm_years_and_loses_in_crashes(market, put_write):
    """The synthetic-market test (tests/strategies/test_vol_premium.py) on the real sample,
    plus the two named crashes: a positive premium on average, losses in 2008 and 2020."""
    r = put_write[1]
    assert r.mean() > 0  # the premium, on average over 2006-2023
    spx = market.index["SPX"].loc["2006-03":]
    calm = [y for y, d in spx.groupby(spx.index.year).apply(lambda s: (s / s.cummax() - 1).min())
            .items() if d > -0.15]  # fmt: skip
    assert 8 <= len(calm) <= 17
    assert r[r.index.year.isin(calm)].mean() > 0
    worst = (spx / spx.shift(1) - 1).nsmallest(20).index
    assert r.loc[worst].sum() < 0
    assert (1 + r.loc["2008-09-01":"2008-11-30"]).prod() - 1 < -0.15
    assert (1 + r.loc["2020-02-19":"2020-03-23"]).prod() - 1 < -0.15
    # an equity-like short-put profile: positively correlated with the index's daily moves
    assert r.corr(spx.pct_change()) > 0.6


def test_the_simulator_marks_and_trades_the_puts_on_real_data(market):
    """A fund holding only the put-writing leg (2007-2010 on the sample): the simulator prices
    the options from the derived index and surface, and its NAV follows the leg's stream."""
    spec = FundSpec(
        strategies=(StrategySpec("put_write"),),
        allocator=AllocatorSpec(
            method="equal_weight", min_weight=0.0, max_weight=1.0, vol_target_annual=None
        ),  # fmt: skip
        inception="2007-01-03",
    )
    run = run_fund(spec, market.between("2006-01-03", "2010-12-31"))
    held = run.result.holdings
    assert held["instrument"].str.startswith("SPX-").any()
    nav = run.nav["nav_per_share"]
    assert np.isfinite(nav.to_numpy()).all()
    r_fund = nav.pct_change()
    r_leg = run.strategy_returns["put_write"]
    assert r_fund.corr(r_leg) > 0.95
    assert nav.loc["2008-11-28"] / nav.loc["2008-08-29"] - 1 < -0.10
