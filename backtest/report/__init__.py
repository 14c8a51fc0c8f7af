"""The benchmark comparison report and the run's output files.

:func:`build_report` (:mod:`~backtest.report.build`) renders one self-contained HTML file or a
PDF from a :class:`RunFolder` (:mod:`~backtest.report.run_folder`: the in-memory run, or a run
folder read back); tables in :mod:`~backtest.report.tables`, sections in
:mod:`~backtest.report.sections` and :mod:`~backtest.report.tearsheet`, charts in
:mod:`~backtest.report.charts` and :mod:`~backtest.report.risk_charts`, the HTML/PDF
rendering in :mod:`~backtest.report.render`; :func:`write_run`
(:mod:`~backtest.report.outputs`) writes a run's files atomically. Conventions are in the
:mod:`backtest.report.build` docstring.
"""

from backtest.report.build import build_report
from backtest.report.charts import Section
from backtest.report.outputs import write_run
from backtest.report.report_data import BROAD_MARKETS, DISPLAY_NAMES, SECTIONS, ReportData
from backtest.report.run_folder import RunFolder, extra_run_files, from_run, read_run, run_spec
from backtest.report.sections import (
    NOTES,
    ROLLING_WINDOWS_DAYS,
    SECONDARY_MARKET_SEED,
    report_sections,
    resolve_benchmarks,
)
from backtest.report.tables import (
    LOWER_BOUND_RULES,
    STRATEGY_WEIGHT_LAG_DAYS,
    TRAILING_YEARS,
    attribution_tables,
    calendar_year_table,
    cost_table,
    group_pnl,
    headline_table,
    held_weights,
    limits_table,
    monthly_table,
    risk_table,
    strategy_pnl,
    trades_table,
)

__all__ = [
    "build_report",
    "write_run",
    "RunFolder",
    "from_run",
    "read_run",
    "extra_run_files",
    "run_spec",
    "SECTIONS",
    "DISPLAY_NAMES",
    "SECONDARY_MARKET_SEED",
    "ROLLING_WINDOWS_DAYS",
    "BROAD_MARKETS",
    "NOTES",
    "ReportData",
    "Section",
    "report_sections",
    "resolve_benchmarks",
    "STRATEGY_WEIGHT_LAG_DAYS",
    "TRAILING_YEARS",
    "LOWER_BOUND_RULES",
    "headline_table",
    "calendar_year_table",
    "risk_table",
    "monthly_table",
    "attribution_tables",
    "strategy_pnl",
    "held_weights",
    "group_pnl",
    "cost_table",
    "trades_table",
    "limits_table",
]
