"""What the report reads about a run: :class:`RunFolder`, built from the in-memory run
(:func:`from_run`) or read back from a run folder (:func:`read_run`, for
``multistrat report RUN_DIR``), and the extra tables a run folder holds for the report
(:func:`extra_run_files`, :func:`run_spec`).

A run folder is written by :func:`backtest.report.outputs.write_run`; its files are listed
there. The report never regenerates a market: without ``benchmarks.csv`` (and no market given)
the built-in benchmarks are reported as not available.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from backtest.analytics.benchmarks import benchmark_series
from backtest.analytics.portfolio import exposure_by_group, strategy_turnover, turnover
from backtest.fund.basket import fund_baskets, instrument_kinds, published_baskets
from backtest.fund.run import FundRun

#: Optional dated tables of a run folder: RunFolder field → file name.
EXTRA_FILES = {
    "benchmarks": "benchmarks.csv",
    "pnl_by_asset_class": "pnl_by_asset_class.csv",
    "pnl_by_book": "pnl_by_book.csv",
    "cash_rate": "cash_rate.csv",
    "exposure": "exposure_by_asset_class.csv",
    "turnover": "turnover_by_strategy.csv",
    "limit_scale": "limit_scale.csv",
    "basket": "substitute_basket_summary.csv",
    "basket_scores": "substitute_basket_scores.csv",
}
#: The published substitute baskets of a semi-transparent run (long table; not read back).
BASKETS_FILE = "substitute_baskets.csv"
#: Column of ``turnover_by_strategy.csv`` with the fund's own turnover (netted, after limits).
FUND_TURNOVER = "fund (netted, after limits)"

#: Columns of ``trades.csv`` the report reads.
TRADE_COLUMNS = ["date", "book", "cost"]


@dataclass(frozen=True)
class RunFolder:
    """The tables of a run the report reads (optional ones None when absent).

    ``path`` names the run folder (where the run is or will be written); ``nav``, ``weights``
    and ``strategy_returns`` are indexed by date; ``compliance`` is the long table of
    :func:`allocator.compliance.check_limits`; ``trades`` holds :data:`TRADE_COLUMNS`;
    ``holdings_last`` the holdings rows of the last date; ``basket`` and ``basket_scores`` the
    substitute basket's daily summary and yearly scores (:mod:`backtest.fund.basket`) of a
    semi-transparent fund.
    """

    path: Path
    nav: pd.DataFrame
    weights: pd.DataFrame
    strategy_returns: pd.DataFrame
    compliance: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    spec: dict | None = None
    benchmarks: pd.DataFrame | None = None
    pnl_by_asset_class: pd.DataFrame | None = None
    pnl_by_book: pd.DataFrame | None = None
    trades: pd.DataFrame | None = None
    holdings_last: pd.DataFrame | None = None
    cash_rate: pd.DataFrame | None = None
    exposure: pd.DataFrame | None = None
    turnover: pd.DataFrame | None = None
    limit_scale: pd.DataFrame | None = None
    basket: pd.DataFrame | None = None
    basket_scores: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return str((self.spec or {}).get("name") or self.path.resolve().name)


def extra_run_files(
    run: FundRun, benchmarks: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Tables a run folder also holds for the report: file name → dated DataFrame.

    ``benchmarks.csv``: :func:`backtest.analytics.benchmarks.benchmark_series` of the run's
    market (levels of ``proxy_index``, ``equity_index``, ``bond_index``, ``sixty_forty``);
    ``pnl_by_asset_class.csv`` and ``pnl_by_book.csv``: the simulator's daily P&L net of costs in
    USD (``SimulationResult.pnl_by``); ``cash_rate.csv``: the USD short rate (annual decimal,
    ACT/360) the fund's cash earns, column ``USD``; ``exposure_by_asset_class.csv``: gross and
    net notional by asset class over net assets
    (:func:`backtest.analytics.portfolio.exposure_by_group`); ``turnover_by_strategy.csv``: the
    daily turnover of each strategy's sleeve of the targets and of the fund's targets
    (:data:`FUND_TURNOVER`), fractions of net assets; ``limit_scale.csv``: the factor by which
    the pre-trade limits scaled the whole book on each decision date, column ``limit_scale``
    (1 where none did; :attr:`backtest.fund.run.FundRun.limit_scale`), so that the attribution
    credits each strategy with the weight the fund held. A semi-transparent fund
    (``[disclosure] policy = "substitute_basket"``) also has ``substitute_basket_summary.csv``,
    ``substitute_basket_scores.csv`` and :data:`BASKETS_FILE`
    (:func:`backtest.fund.basket.fund_baskets`, :func:`~backtest.fund.basket.published_baskets`).
    ``benchmarks``: ``benchmarks.csv`` when the caller has it already
    (:func:`backtest.fund.run.fund_benchmarks`, e.g. computed in a worker process while the fund
    ran). Each is written with :func:`backtest.report.csv_writer.write_csv`.
    """
    result, dates = run.result, run.nav.index
    rates = run.market.rates["USD"] if "USD" in run.market.rates else pd.Series(0.0, index=dates)
    cash = rates.reindex(dates.union(rates.index)).ffill().reindex(dates)
    info = result.instrument_info
    flows = strategy_turnover(run.positions, run.weights).reindex(dates).fillna(0.0)
    flows[FUND_TURNOVER] = turnover(run.targets).reindex(dates).fillna(0.0)
    scale = pd.Series(1.0, index=dates) if run.limit_scale is None else run.limit_scale
    out = {
        "benchmarks.csv": benchmark_series(run.market) if benchmarks is None else benchmarks,
        "pnl_by_asset_class.csv": result.pnl_by("asset_class"),
        "pnl_by_book.csv": result.pnl_by("book"),
        "cash_rate.csv": cash.to_frame("USD"),
        "exposure_by_asset_class.csv": exposure_by_group(
            result.notionals, info["asset_class"], run.nav["net_assets"]
        ),
        "turnover_by_strategy.csv": flows,
        "limit_scale.csv": scale.reindex(dates).fillna(1.0).to_frame("limit_scale"),
    }
    if run.spec.disclosure.semi_transparent:
        baskets = fund_baskets(run)
        out[EXTRA_FILES["basket"]] = baskets.summary
        out[EXTRA_FILES["basket_scores"]] = baskets.scores
        kinds = instrument_kinds(baskets.series.weights.columns, run.market)
        out[BASKETS_FILE] = published_baskets(baskets, kinds)
    return out


def run_spec(run: FundRun) -> dict:
    """The run's :class:`~backtest.fund.spec.FundSpec` as JSON-ready data plus ``market_name``
    (for ``spec.json``); the ``disclosure`` section only for a semi-transparent fund (the
    default, transparent, writes the file it always wrote)."""
    doc = json.loads(json.dumps(dataclasses.asdict(run.spec), default=str))
    if not run.spec.disclosure.semi_transparent:  # a transparent run's spec.json as before
        doc.pop("disclosure")
    doc["market_name"] = run.market.name
    return doc


def from_run(
    run: FundRun, metrics: dict, path: str | Path, extra: dict[str, pd.DataFrame] | None = None
) -> RunFolder:
    """The report's view of an in-memory run (nothing read from disk).

    ``path`` is the run folder's name as the report shows it; ``extra`` the tables of
    :func:`extra_run_files` when the caller has them already (computed once, written and shown).
    """
    extra = extra_run_files(run) if extra is None else extra
    result = run.result
    holdings = result.holdings
    last = holdings[holdings["date"] == holdings["date"].max()] if len(holdings) else holdings
    return RunFolder(
        path=Path(path),
        nav=result.nav,
        weights=run.weights,
        strategy_returns=run.strategy_returns,
        compliance=run.compliance,
        metrics=metrics,
        spec=run_spec(run),
        **{key: extra.get(file) for key, file in EXTRA_FILES.items()},
        trades=result.trades[TRADE_COLUMNS],
        holdings_last=last.reset_index(drop=True),
    )


def _dated_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0, parse_dates=[0])
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


def read_run(run_dir: str | Path) -> RunFolder:
    """Read the files the report needs from a run folder (see the module docstring)."""
    path = Path(run_dir)
    if not (path / "nav.csv").exists():
        raise FileNotFoundError(f"{path}: not a run folder (no nav.csv); run `multistrat backtest`")
    extra = {}
    for key, file in EXTRA_FILES.items():
        if (path / file).exists():
            extra[key] = _dated_csv(path / file)
    for key, file in (("spec", "spec.json"), ("metrics", "metrics.json")):
        if (path / file).exists():
            extra[key] = json.loads((path / file).read_text())
    if (path / "trades.csv").exists():
        extra["trades"] = pd.read_csv(path / "trades.csv", usecols=TRADE_COLUMNS,
                                      parse_dates=["date"])  # fmt: skip
    if (path / "holdings.parquet").exists():
        extra["holdings_last"] = _last_holdings(path / "holdings.parquet")
    return RunFolder(
        path=path,
        nav=_dated_csv(path / "nav.csv"),
        weights=_dated_csv(path / "weights.csv"),
        strategy_returns=_dated_csv(path / "strategy_returns.csv"),
        compliance=pd.read_csv(path / "compliance.csv", parse_dates=["date"]),
        **extra,
    )


def _last_holdings(file: Path) -> pd.DataFrame:
    """Rows of ``holdings.parquet`` on its last date (read with a filter, not the whole file)."""
    dates = pq.read_table(file, columns=["date"])["date"]
    if len(dates) == 0:
        return pd.DataFrame()
    return pq.read_table(file, filters=[("date", "=", pc.max(dates))]).to_pandas()
