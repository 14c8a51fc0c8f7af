"""Trend: EWMA / vol / crossover signals against hand recursions, and the strategy on the
20-year synthetic market (no look-ahead, determinism, vol target, crisis behaviour)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import EquityIndexFuture, instruments_table
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns
from strategies.base import run_strategy
from strategies.quant.trend import Trend, trend_forecast, trend_forecast_py, trend_prices
from strategies.signals import (
    ewma,
    ewmac,
    ewmac_random_walk_abs,
    forecast_scalar,
    price_vol,
    scaled_forecast,
)

PRICES_10 = [100.0, 101.0, 103.0, 102.0, 105.0, 107.0, 106.0, 108.0, 111.0, 110.0]


def hand_ewma(values: list[float], span: float) -> list[float]:
    """EWMA with weights (1 - a)^i normalised by their sum, a = 2 / (span + 1), by recursion."""
    a = 2.0 / (span + 1.0)
    num = den = 0.0
    out = []
    for v in values:
        num = v + (1.0 - a) * num
        den = 1.0 + (1.0 - a) * den
        out.append(num / den)
    return out


def test_ewma_matches_hand_recursion():
    got = ewma(pd.Series(PRICES_10), 3).to_numpy()
    # span 3: a = 0.5; second value (101 + 0.5 * 100) / 1.5
    assert got[1] == pytest.approx(151.0 / 1.5, rel=1e-15)
    np.testing.assert_allclose(got, hand_ewma(PRICES_10, 3), rtol=1e-14)


def test_price_vol_is_root_ewma_of_squared_changes():
    changes = np.diff(PRICES_10)
    expected = np.sqrt(hand_ewma(list(changes**2), 4))
    got = price_vol(pd.Series(PRICES_10), span_days=4, min_periods=1).to_numpy()
    assert np.isnan(got[0])
    np.testing.assert_allclose(got[1:], expected, rtol=1e-14)
    # min_periods: NaN until that many changes were seen
    assert price_vol(pd.Series(PRICES_10), 4, min_periods=3).isna().sum() == 3


def test_ewmac_on_ten_rows_matches_hand_recursion():
    price = pd.Series(PRICES_10)
    vol = price_vol(price, span_days=4, min_periods=1)
    got = ewmac(price, vol, 2, 4).to_numpy()
    fast, slow = np.array(hand_ewma(PRICES_10, 2)), np.array(hand_ewma(PRICES_10, 4))
    expected = (fast - slow) / vol.to_numpy()
    assert np.isnan(got[0])
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-13)
    assert got[-2] > 0  # the series trends up: fast above slow


def test_ewmac_random_walk_abs_closed_form_and_simulation():
    # (8, 32): a = 7/9, b = 31/33; variance a²/(1-a²) - 2ab/(1-ab) + b²/(1-b²)
    a, b = 7 / 9, 31 / 33
    var = a * a / (1 - a * a) - 2 * a * b / (1 - a * b) + b * b / (1 - b * b)
    assert ewmac_random_walk_abs(8, 32) == pytest.approx(np.sqrt(2 / np.pi * var), rel=1e-12)
    rng = np.random.default_rng(11)
    walk = pd.Series(np.cumsum(rng.standard_normal(200_000)))
    raw = ewmac(walk, pd.Series(1.0, index=walk.index), 16, 64).iloc[1000:]
    assert raw.abs().mean() == pytest.approx(ewmac_random_walk_abs(16, 64), rel=0.03)


def test_forecast_scalar_expanding_pooled_with_prior():
    raw = pd.DataFrame([[1.0, -3.0], [np.nan, np.nan], [2.0, np.nan]])
    got = forecast_scalar(raw, prior_abs=4.0, prior_days=2.0, target_abs=10.0)
    # pooled mean |raw|: 2, -, 2; mean_abs = (2*4 + Σ) / (2 + n): 10/3, 10/3, 12/4
    np.testing.assert_allclose(got.to_numpy(), [3.0, 3.0, 10.0 / 3.0], rtol=1e-15)
    capped = scaled_forecast(raw, got, cap=5.0)
    np.testing.assert_allclose(capped.iloc[0].to_numpy(), [3.0, -5.0])


def _futures_market(prices: pd.DataFrame) -> MarketData:
    table = instruments_table([EquityIndexFuture(str(c)) for c in prices.columns])
    return MarketData(calendar=prices.index, instruments=table, prices=prices, name="hand")


def test_trend_goes_with_the_trend_on_hand_made_futures():
    rng = np.random.default_rng(3)
    n = 600
    calendar = pd.bdate_range("2015-01-01", periods=n)
    noise = rng.normal(0.0, 0.5, (n, 3)).cumsum(axis=0)
    drift = np.array([0.3, -0.3, 0.0]) * np.arange(n)[:, None]
    prices = pd.DataFrame(1000.0 + drift + noise, index=calendar, columns=["UP", "DOWN", "FLAT"])
    prices.iloc[:100, 2] = np.nan  # FLAT starts late: zero before it has data
    pos = run_strategy(Trend(), _futures_market(prices))
    assert (pos.iloc[-100:, 0] > 0).all() and (pos.iloc[-100:, 1] < 0).all()
    assert (pos.iloc[:100, 2] == 0).all()
    assert (pos.iloc[0] == 0).all()


# --------------------------------------------------------------------------- synthetic market
@pytest.fixture(scope="module")
def market(synthetic_20y):
    """The 20-year synthetic market, ``synthetic_market(7)`` (session fixture of conftest)."""
    return synthetic_20y


@pytest.fixture(scope="module")
def positions(market):
    return run_strategy(Trend(), market)


def drawdown_episodes(level: pd.Series, depth: float) -> pd.Series:
    """True on the days from a peak (excluded) to the trough (included) of every drawdown of
    ``level`` deeper than ``depth`` (peak-to-trough crisis windows)."""
    values = level.to_numpy()
    at_peak = np.flatnonzero(values >= np.maximum.accumulate(values))
    ends = np.append(at_peak[1:], len(values))
    mask = np.zeros(len(values), dtype=bool)
    for start, end in zip(at_peak, ends, strict=True):
        trough = start + int(np.argmin(values[start:end]))
        if values[trough] / values[start] - 1.0 < -depth:
            mask[start + 1 : trough + 1] = True
    return pd.Series(mask, index=level.index)


def test_drawdown_episodes_helper():
    level = pd.Series([100.0, 110, 80, 85, 120, 100, 119, 130])
    assert drawdown_episodes(level, 0.2).tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert drawdown_episodes(level, 0.1).tolist() == [0, 0, 1, 0, 0, 1, 0, 0]


@pytest.mark.slow
def test_trend_no_look_ahead_at_random_dates(market, positions):
    rng = np.random.default_rng(20240607)
    for i in sorted(rng.integers(300, len(market.calendar) - 1, size=3)):
        cut = Trend().target_positions(market.until(market.calendar[i]))
        pd.testing.assert_frame_equal(cut, positions.iloc[: i + 1], check_exact=True)
        assert cut.iloc[-1].abs().sum() > 0


@pytest.mark.slow
def test_trend_deterministic_and_does_not_mutate(market, positions):
    before = copy.deepcopy(market)
    again = Trend().target_positions(market)
    pd.testing.assert_frame_equal(again, positions, check_exact=True)
    assert market.equals(before)


@pytest.mark.slow
def test_trend_forecast_average_abs_ten_and_capped(market):
    strat = Trend()
    price = trend_prices(market, strat.instrument_ids(market)).ffill()
    combined = trend_forecast(price, strat.speeds, strat.forecast_cap)
    assert combined.abs().max().max() <= 20.0
    avg = combined.iloc[300:].abs().mean().mean()
    assert 6.0 < avg < 14.0
    single = trend_forecast(price, ((16, 64),), forecast_cap=1e9).iloc[300:]
    assert 8.0 < single.abs().mean().mean() < 12.5


@pytest.mark.slow
def test_trend_vol_target_and_crisis_returns(market, positions):
    assert set(positions.columns) <= set(market.instruments.index)
    assert {"ES", "ZN", "CL", "FWD-EUR-1M"} <= set(positions.columns)
    ret = exposure_returns(positions, market, cost_bps=2)
    vol = ret.iloc[300:].std() * np.sqrt(252)
    assert 0.5 * 0.10 <= vol <= 1.5 * 0.10
    crisis = drawdown_episodes(market.index["SPX"], 0.20)
    assert crisis.sum() > 100  # the synthetic market has deep equity drawdowns
    assert ret[crisis].sum() > 0.0
    # and trend is short equity index futures at the trough of those crises on average
    equity = [c for c in positions.columns if market.instruments.at[c, "kind"].startswith("equity")]
    assert positions.loc[crisis, equity].sum(axis=1).mean() < 0.0


def _same_frame(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    """Same labels, the same bits, and the same memory order of the values (one block, as
    the row sums of vol targeting read it)."""
    a, b = got.to_numpy(), want.to_numpy()
    return (
        got.index.equals(want.index)
        and got.columns.equals(want.columns)
        and np.array_equal(a.view(np.int64), b.view(np.int64))
        and got.T.to_numpy().flags.c_contiguous == want.T.to_numpy().flags.c_contiguous
    )


def test_trend_forecast_equals_its_frame_twin(market):
    """The default market's prices: the array capping and averaging give the frame bits."""
    t = Trend()
    price = trend_prices(market, t.instrument_ids(market)).ffill()
    got = trend_forecast(price, t.speeds, t.forecast_cap, t.vol_span_days)
    assert _same_frame(got, trend_forecast_py(price, t.speeds, t.forecast_cap, t.vol_span_days))
    assert got.notna().to_numpy().sum() > 1000 and (got.abs() == t.forecast_cap).any().any()


@pytest.mark.parametrize("seed", range(5))
def test_trend_forecast_equals_its_frame_twin_on_random_prices(seed):
    """Gaps, late starts, flat stretches (zero vol: no forecast) and a tight cap."""
    rng = np.random.default_rng(seed)
    price = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.02, (300, 5)), axis=0)),
        index=pd.bdate_range("2020-01-01", periods=300),
    )
    price.iloc[:40, 1] = np.nan
    price.iloc[100:160, 2] = price.iloc[99, 2]
    price[rng.random(price.shape) < 0.02] = np.nan
    speeds = ((2, 8), (4, 16), (16, 64))
    for cap in (1.0, 20.0):
        got, want = (
            trend_forecast(price, speeds, cap, 10),
            trend_forecast_py(price, speeds, cap, 10),
        )
        assert _same_frame(got, want)
