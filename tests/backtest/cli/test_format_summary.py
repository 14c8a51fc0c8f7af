"""The CLI summary: the limit lines show, per rule, the day of least headroom among the days the
rule applies, with that day's figure and limit (a crafted compliance table), and the Sharpe ratio
over cash as the headline with the rf = 0 figure alongside."""

from __future__ import annotations

import pandas as pd

from allocator.compliance import summary
from backtest.cli.backtest_cmd import format_summary

METRICS = {
    "start": "2020-01-02", "end": "2020-01-06", "final_nav_per_share": 25.0,
    "annual_return": 0.05, "annual_volatility": 0.08, "sharpe_ratio": 0.41,
    "sharpe_ratio_rf0": 0.66, "cash_rate_annual": 0.021, "max_drawdown": -0.1,
    "worst_month": -0.03, "compliance_breaches": 0,
}  # fmt: skip


def crafted() -> pd.DataFrame:
    d = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"])
    rows = [
        # var: the largest figure (0.19, not applicable) and the largest limit (0.63) are on
        # other days than the least headroom (0.1285 vs 0.1793 on 3 Jan)
        ("var_18f4", d[0], 0.1931, 0.6336, False), ("var_18f4", d[1], 0.1285, 0.1793, True),
        ("var_18f4", d[2], 0.1000, 0.5000, True),
        # a lower bound: least headroom is the smallest figure above the limit
        ("cash_fund", d[0], 0.30, 0.0, True), ("cash_fund", d[1], 0.05, 0.0, True),
        ("cash_fund", d[2], 0.20, 0.0, True),
        ("subsidiary_band", d[0], 0.30, 0.22, False), ("subsidiary_band", d[1], 0.10, 0.22, False),
        ("subsidiary_band", d[2], 0.10, 0.22, False),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["rule", "date", "figure", "limit", "applies"])
    return frame.assign(breach=False)


def test_summary_takes_the_day_of_least_headroom_among_applicable_days():
    s = summary(crafted())
    var = s.loc["var_18f4"]
    assert (var["worst_date"], var["worst"], var["limit"]) == (
        pd.Timestamp("2020-01-03"), 0.1285, 0.1793)  # fmt: skip
    assert s.loc["cash_fund", "worst"] == 0.05
    band = s.loc["subsidiary_band"]
    assert band["applicable"] == 0 and pd.isna(band["worst"]) and pd.isna(band["worst_date"])


def test_cli_limit_lines_print_that_day():
    text = format_summary(METRICS, summary(crafted()))
    var_line = next(line for line in text.splitlines() if line.strip().startswith("var_18f4"))
    assert var_line.endswith("worst 2020-01-03 0.1285 vs 0.1793")
    assert "0.1931" not in text and "0.6336" not in text
    band = next(line for line in text.splitlines() if "subsidiary_band" in line)
    assert band.endswith("never applied")


def test_cli_headline_is_the_sharpe_ratio_over_cash():
    lines = format_summary(METRICS, summary(crafted())).splitlines()
    sharpe = [line for line in lines if line.startswith("Sharpe")]
    assert sharpe[0].startswith("Sharpe ratio (over cash, 2.10% a year)") and "0.41" in sharpe[0]
    assert sharpe[1].startswith("Sharpe ratio (rf = 0)") and "0.66" in sharpe[1]
