"""Premium/discount disclosure: premiums by hand, frequency bins (edges, "At NAV"), the last
completed year and quarters, the seeded secondary market, and market-price files."""

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import premium_discount as pdm
from backtest.data.series import load_market_prices
from backtest.data.validation import DataError
from backtest.market.calendar import xnys_calendar

DATES = pd.bdate_range("2024-12-16", periods=10)
NAV = pd.Series([20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, np.nan, 20.0, 20.0], index=DATES)
MID = pd.Series([20.0, 20.05, 19.95, 20.02, 19.4, 21.0, 20.098, 20.0, 19.998, 20.40], index=DATES)
# premiums: 0, +0.25%, -0.25%, +0.1%, -3%, +5%, +0.49%, NaN (no NAV), -0.01%, +2%


def test_premium_discount_by_hand():
    p = pdm.premium_discount(NAV, MID)
    expected = [0.0, 0.0025, -0.0025, 0.001, -0.03, 0.05, 0.0049, np.nan, -0.0001, 0.02]
    np.testing.assert_allclose(p.to_numpy(), expected, atol=1e-15)
    assert pdm.premium_discount(NAV.iloc[:3], MID).index.equals(DATES[:3])


def test_frequency_distribution_by_hand():
    table = pdm.frequency_distribution(pdm.premium_discount(NAV, MID))
    assert list(table.index) == [
        "-2.00% and below", "-2.00% to -1.00%", "-1.00% to -0.50%", "-0.50% to -0.25%",
        "-0.25% to 0.00%", "At NAV (0.00%)", "0.00% to 0.25%", "0.25% to 0.50%",
        "0.50% to 1.00%", "1.00% to 2.00%", "2.00% and above",
    ]  # fmt: skip
    days = table["days"].to_dict()
    assert days == {
        "-2.00% and below": 1, "-2.00% to -1.00%": 0, "-1.00% to -0.50%": 0,
        "-0.50% to -0.25%": 1,  # -0.25% exactly: the edge nearer zero belongs to the outer bin
        "-0.25% to 0.00%": 1, "At NAV (0.00%)": 1, "0.00% to 0.25%": 1,
        "0.25% to 0.50%": 2,  # +0.25% exactly and +0.49%
        "0.50% to 1.00%": 0, "1.00% to 2.00%": 0, "2.00% and above": 2,  # +2% exactly, +5%
    }  # fmt: skip
    assert table["days"].sum() == 9  # the NaN day is not counted
    assert table["percent_of_days"].sum() == pytest.approx(100.0)
    assert table.loc["0.25% to 0.50%", "percent_of_days"] == pytest.approx(200 / 9)


def test_frequency_distribution_checks_bins_and_empty_input():
    empty = pdm.frequency_distribution(pd.Series([], dtype=float))
    assert empty["days"].sum() == 0 and (empty["percent_of_days"] == 0).all()
    with pytest.raises(ValueError, match="include 0"):
        pdm.frequency_distribution(pd.Series([0.1]), bins=(-1.0, -0.5, 1.0))
    with pytest.raises(ValueError, match="outside"):
        pdm.frequency_distribution(pd.Series([0.5]), bins=(-0.1, 0.0, 0.1))


def test_disclosure_periods_at_a_year_end():
    dates = xnys_calendar("2023-06-01", "2024-12-31")
    periods = pdm.disclosure_periods(dates)
    assert list(periods) == ["2024", "2024 Q1", "2024 Q2", "2024 Q3", "2024 Q4"]
    assert periods["2024"][0] == pd.Timestamp("2024-01-02")
    assert periods["2024"][-1] == pd.Timestamp("2024-12-31")
    assert periods["2024 Q1"][-1] == pd.Timestamp("2024-03-28")  # Good Friday 29 March
    assert len(periods["2024"]) == 252


def test_disclosure_periods_mid_quarter_use_completed_periods():
    dates = xnys_calendar("2022-01-03", "2024-11-15")
    periods = pdm.disclosure_periods(dates)
    assert list(periods) == ["2023", "2023 Q4", "2024 Q1", "2024 Q2", "2024 Q3"]
    assert periods["2023 Q4"][0] == pd.Timestamp("2023-10-02")
    assert periods["2024 Q3"][-1] == pd.Timestamp("2024-09-30")


def test_last_session_of_a_quarter_completes_it_even_before_the_calendar_end():
    # 2024-03-28 is the last NYSE session of Q1 2024 (Good Friday follows, then a weekend)
    dates = xnys_calendar("2023-01-03", "2024-03-28")
    periods = pdm.disclosure_periods(dates)
    assert list(periods) == ["2023", "2023 Q2", "2023 Q3", "2023 Q4", "2024 Q1"]
    assert pdm.disclosure_periods(dates[:-1])["2023 Q1"].size > 0  # one day earlier: Q1 open


def test_disclosure_table_covers_each_period():
    dates = xnys_calendar("2023-01-03", "2024-12-31")
    series = pd.Series(np.linspace(-0.01, 0.01, len(dates)), index=dates)
    table = pdm.disclosure_table(series)
    assert list(table.columns.get_level_values(0).unique()) == list(pdm.disclosure_periods(dates))
    assert table[("2024", "days")].sum() == 252
    assert table[("2024 Q4", "days")].sum() == len(dates[dates >= "2024-10-01"])


def test_simulated_secondary_market_is_seeded_causal_and_on_the_cent_grid():
    dates = pd.bdate_range("2020-01-01", periods=2000)
    nav = pd.Series(np.round(np.linspace(25.0, 40.0, len(dates)), 2), index=dates)
    a = pdm.simulate_secondary_market(nav, seed=5)
    pd.testing.assert_frame_equal(a, pdm.simulate_secondary_market(nav, seed=5))
    assert not a.equals(pdm.simulate_secondary_market(nav, seed=6))
    pd.testing.assert_frame_equal(pdm.simulate_secondary_market(nav.iloc[:700], seed=5),
                                  a.iloc[:700])  # fmt: skip
    assert (a["bid"] < a["ask"]).all()
    assert ((a["bid"] <= a["midpoint"]) & (a["midpoint"] <= a["ask"])).all()
    np.testing.assert_allclose(100 * a[["bid", "ask"]], np.round(100 * a[["bid", "ask"]]))
    # AR(1) premium: persistence and stationary standard deviation noise / sqrt(1 - ar²)
    p = a["model_premium"]
    assert p.autocorr() == pytest.approx(0.5, abs=0.06)
    assert p.std() == pytest.approx(10e-4 / np.sqrt(0.75), rel=0.1)
    prem = pdm.premium_discount(nav, a["midpoint"])
    assert prem.abs().max() < 0.01 and abs(prem.mean()) < 3e-4


def test_market_price_files(tmp_path):
    f = tmp_path / "px.csv"
    f.write_text("date,bid,ask\n2024-01-02,10.00,10.02\n2024-01-03,10.10,10.12\n")
    np.testing.assert_allclose(load_market_prices(f).to_numpy(), [10.01, 10.11])
    f.write_text("date,midpoint\n2024-01-02,10.00\n2024-01-03,0\n")
    with pytest.raises(DataError) as err:
        load_market_prices(f)
    assert (err.value.row, err.value.column) == (2, "midpoint")
    f.write_text("date,bid,ask\n2024-01-02,10.00,9.99\n")
    with pytest.raises(DataError, match="ask is below bid") as err:
        load_market_prices(f)
    assert (err.value.file, err.value.row, err.value.column) == ("px.csv", 1, "ask")
