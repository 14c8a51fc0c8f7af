"""What every section of the report is built from (:class:`ReportData`), the section list
(:data:`SECTIONS`), display names and the own-window flag of statistics (:func:`flag_windows`).
Used by :mod:`backtest.report.sections` and :mod:`backtest.report.tearsheet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from backtest.analytics.tearsheet import own_window
from backtest.report.charts import Section
from backtest.report.run_folder import RunFolder

#: (anchor, heading) of every section, in order; one PDF page each.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Performance summary"),
    ("relative", "Relative to the benchmark"),
    ("cumulative", "Cumulative return"),
    ("drawdowns", "Drawdowns"),
    ("rolling-risk", "Rolling Sharpe ratio and volatility"),
    ("distribution", "Distribution of daily returns"),
    ("correlation", "Rolling correlation to equity and bond indexes"),
    ("beta", "Rolling beta"),
    ("monthly", "Monthly returns"),
    ("weights", "Strategy weights"),
    ("strategies", "Strategies: correlation, risk shares, turnover"),
    ("exposure", "Exposure by asset class and leverage"),
    ("attribution-strategy", "Return attribution by strategy"),
    ("attribution-asset-class", "Return attribution by asset class"),
    ("attribution-book", "Return attribution by book"),
    ("costs", "Costs and fees"),
    ("subsidiary", "Subsidiary share of total assets"),
    ("limits", "Limit checks"),
    ("premium-discount", "Premium/discount to NAV"),
)
#: Sections shown only when the run has what they need, after :data:`SECTIONS`: the substitute
#: basket of a semi-transparent fund.
OPTIONAL_SECTIONS: tuple[tuple[str, str], ...] = (
    ("substitute-basket", "Substitute basket (semi-transparent disclosure)"),
)
DISPLAY_NAMES = {
    "fund": "Fund",
    "proxy_index": "Proxy multi-strategy index",
    "equity_index": "Equity index (TR)",
    "bond_index": "Bond index (TR)",
    "sixty_forty": "60/40 equity/bond",
}
#: The broad-market indexes the fund's correlation and beta are measured against.
BROAD_MARKETS = ("equity_index", "bond_index")
#: The mark of a column whose statistics use the series' own window, not the fund's.
OWN_WINDOW_MARK = " †"


@dataclass(frozen=True)
class ReportData:
    """What the sections are built from: levels and returns (column ``fund`` first, then the
    benchmarks) on the fund's dates, the columns to show, and notes on the sources."""

    run: RunFolder
    levels: pd.DataFrame
    returns: pd.DataFrame
    shown: list[str]
    notes: list[str]
    cash: pd.Series | None = None  # daily cash returns on the return dates (None: not known)
    relative_to: str | None = None  # the benchmark of the relative view

    @property
    def fund(self) -> pd.Series:
        return self.returns["fund"]

    @property
    def comparators(self) -> list[str]:
        """Further comparators of the market (columns of ``returns`` neither shown nor broad
        markets, e.g. the futures of a futures-only sample), in order."""
        return [c for c in self.returns.columns if c not in self.shown and c not in BROAD_MARKETS]

    @property
    def broad(self) -> dict[str, pd.Series]:
        """Daily returns of the broad-market indexes available, by display name."""
        return {DISPLAY_NAMES[k]: self.returns[k] for k in BROAD_MARKETS if k in self.returns}


def _display(frame: pd.DataFrame, axis: str = "columns") -> pd.DataFrame:
    return frame.rename(**{axis: lambda c: DISPLAY_NAMES.get(str(c), str(c))})


def _section(anchor: str, *notes, charts=(), tables=()) -> Section:
    return Section(anchor, dict(SECTIONS)[anchor], list(notes), list(charts), list(tables))


def display(frame: pd.DataFrame, axis: str = "columns") -> pd.DataFrame:
    return frame.rename(**{axis: lambda c: DISPLAY_NAMES.get(str(c), str(c))})


def section(anchor: str, *notes, charts=(), tables=()) -> Section:
    return Section(anchor, dict(SECTIONS + OPTIONAL_SECTIONS)[anchor], list(notes), list(charts),
                   list(tables))  # fmt: skip


def flag_windows(returns: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """Columns whose own window (first to last present return) differs from the first column's
    (the fund's): a new name marked :data:`OWN_WINDOW_MARK`, and a note giving the window."""
    fund = own_window(returns.iloc[:, 0])
    names, notes = {}, []
    for c in returns.columns[1:]:
        own = own_window(returns[c])
        if len(own) and (own.index[0] != fund.index[0] or own.index[-1] != fund.index[-1]):
            name = DISPLAY_NAMES.get(str(c), str(c))
            names[c] = f"{name}{OWN_WINDOW_MARK}"
            notes.append(f"{OWN_WINDOW_MARK.strip()} {name}: statistics over its own dates, "
                         f"{own.index[0]:%Y-%m-%d} to {own.index[-1]:%Y-%m-%d} ({len(own)} "
                         f"returns), not the fund's {fund.index[0]:%Y-%m-%d} to "
                         f"{fund.index[-1]:%Y-%m-%d}.")  # fmt: skip
    return names, notes
