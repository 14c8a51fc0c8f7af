"""Reversed-spike check (backtest.data.quality): hand-built series with a planted bad print,
sigma recomputed by hand, and the report of ``multistrat data validate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.data.quality import market_reversed_spikes, reversed_spikes
from backtest.data.validation import summarise
from backtest.market.market_data import MarketData


def _walk(n: int = 60, seed: int = 3) -> pd.Series:
    days = pd.bdate_range("2021-01-04", periods=n)
    steps = np.random.default_rng(seed).normal(0.0, 1.0, n)
    return pd.Series(100.0 + np.cumsum(steps), index=days)


def test_planted_bad_print_is_flagged_with_hand_sigma():
    values = _walk()
    values.iloc[40] += 12.0  # a bad print, taken back the next day
    found = reversed_spikes(values)
    assert list(found.index) == [values.index[40]]
    row = found.iloc[0]
    moves = np.diff(values.to_numpy())  # moves[k] = v[k+1] - v[k]
    # sigma: EWM std (span 35, bias-corrected) of the 39 moves before day 40, by hand
    past = moves[:39]
    alpha = 2.0 / 36.0
    w = (1 - alpha) ** np.arange(len(past))[::-1]
    mean = (w * past).sum() / w.sum()
    var = (w * (past - mean) ** 2).sum() / (w.sum() - (w**2).sum() / w.sum())
    assert row["sigma"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert row["move"] == pytest.approx(moves[39]) and row["next_move"] == pytest.approx(moves[40])
    assert row["move_sigma"] == pytest.approx(moves[39] / np.sqrt(var))
    assert (row["before"], row["value"], row["after"]) == tuple(values.iloc[39:42])


def test_a_real_move_that_holds_or_half_reverses_is_not_flagged():
    values = _walk()
    values.iloc[40:] += 12.0  # a jump that stays
    assert reversed_spikes(values).empty
    half = _walk()
    half.iloc[40] += 12.0
    half.iloc[41:] += 6.0  # half of it stays: taken back by less than 3/4
    assert reversed_spikes(half).empty
    assert list(reversed_spikes(half, reversal=0.25).index) == [half.index[40]]


def test_a_move_across_a_contract_change_is_not_a_move():
    values = _walk()
    values.iloc[40] += 12.0
    contracts = pd.Series(202103, index=values.index)
    contracts.iloc[40:] = 202106  # the jump at 40 is a roll ...
    contracts.iloc[41:] = 202109  # ... and so is the way back
    assert reversed_spikes(values, contracts).empty


def test_market_check_names_instrument_and_series_and_is_reported():
    walk = _walk(80)
    prices = pd.DataFrame({"AAA": walk, "BBB": walk * 2.0})
    assert market_reversed_spikes(MarketData.from_prices(prices)).empty
    day = prices.index[50]
    prices.loc[day, "BBB"] += 30.0
    market = MarketData.from_prices(prices)
    adjusted = prices.copy()
    adjusted.loc[day, "AAA"] -= 15.0
    found = market_reversed_spikes(market)
    assert found[["instrument", "series", "date"]].values.tolist() == [["BBB", "price", day]]
    found = market_reversed_spikes(market.replace(adjusted=adjusted))
    assert found[["instrument", "series"]].values.tolist() == [
        ["AAA", "adjusted"],
        ["BBB", "adjusted"],
    ]
    summary = summarise(market)
    assert len(summary.spikes) == 1
    text = summary.format()
    assert "Reversed spikes: 1 one-day moves" in text and "2021-03-15" in text and "BBB" in text
    assert day == pd.Timestamp("2021-03-15")
