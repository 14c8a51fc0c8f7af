"""The report's contribution-by-year table: each year's row is :func:`attribute` run on that
year alone, bit for bit, and the rows add up to the fund's compounded return of the year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import performance as an
from backtest.report import attribution_tables


@pytest.fixture(scope="module")
def book():
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2018-05-14", "2022-03-09")  # starts and ends within a year
    net_assets = pd.Series(1e8 * np.exp(np.cumsum(rng.normal(0, 0.006, len(days)))), index=days)
    pnl = pd.DataFrame(rng.normal(0, 3e5, (len(days), 5)), index=days,
                       columns=["carry", "trend", "vol_premium", "expenses", "cash interest"])
    pnl.iloc[0] = 0.0  # the base date: no previous net assets, no P&L
    pnl.iloc[7, 2] = np.nan  # a missing item on one day counts as no P&L
    return pnl, net_assets


def test_each_year_is_attribute_on_that_year_alone(book):
    pnl, net_assets = book
    full, table = attribution_tables(pnl, net_assets)
    groups = pd.Series(pnl.columns, index=pnl.columns)
    for y in sorted(set(pnl.index.year)):
        alone = an.attribute(pnl[pnl.index.year == y], net_assets, groups)["cumulative"]
        expected = alone[list(pnl.columns)].iloc[-1]
        got = table.loc[str(y), list(pnl.columns)]
        assert (got.to_numpy() == expected.to_numpy()).all(), y  # bit for bit
    assert (table.loc["Since inception", list(pnl.columns)].to_numpy()
            == full.iloc[-1].to_numpy()).all()  # fmt: skip
    assert list(table.index) == ["2018", "2019", "2020", "2021", "2022", "Since inception"]


def test_a_years_contributions_add_up_to_its_compounded_return(book):
    pnl, net_assets = book
    _, table = attribution_tables(pnl, net_assets)
    daily = pnl.fillna(0.0).sum(axis=1) / net_assets.shift(1)
    for y in ("2019", "2021", "2022"):
        r = daily[daily.index.year == int(y)]
        assert table.loc[y, "Total"] == pytest.approx(np.prod(1.0 + r) - 1.0, rel=1e-12, abs=1e-15)


def test_a_year_with_only_the_base_date_contributes_nothing(book):
    pnl, net_assets = book
    days = pd.DatetimeIndex([pd.Timestamp("2017-12-29")]).append(pnl.index[:30])
    short = pd.concat([pd.DataFrame(0.0, index=days[:1], columns=pnl.columns), pnl.iloc[1:30]])
    na = pd.concat([pd.Series(1e8, index=days[:1]), net_assets.iloc[1:30]])
    _, table = attribution_tables(short, na)
    assert (table.loc["2017"] == 0.0).all()
    assert table.loc["2018", "Total"] == pytest.approx(table.loc["Since inception", "Total"])
