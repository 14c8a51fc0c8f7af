"""Writing a fund run's outputs to a folder, atomically.

Files written (all in ``out_dir``):

=========================  ==================================================================
``nav.csv``                the daily fund table (``SimulationResult.nav``)
``weights.csv``            strategy weights in force each day (dates × strategies)
``strategy_returns.csv``   each strategy's standalone daily return stream
``holdings.parquet``       long table: date, instrument, book, quantity, price, market_value,
                           notional_usd
``trades.csv``             executions: date, instrument, book, quantity, price, cost, booked
``flows.csv``              creations and redemptions
``compliance.csv``         every limit on every day: date, rule, figure, limit, breach, applies
``limit_actions.csv``      pre-trade scaling done to comply
``limit_scale.csv``        the limits' whole-book scale on each decision date (1 when none bound)
``metrics.json``           headline figures
``benchmarks.csv``         levels of the proxy multi-strategy index, equity, bond and 60/40
``pnl_by_asset_class.csv`` daily P&L (USD, net of costs) by asset class; ``pnl_by_book.csv`` by book
``cash_rate.csv``          the USD short rate the fund's cash earns (annual, ACT/360); also
                           ``exposure_by_asset_class.csv`` (gross and net notional by asset
                           class over net assets) and ``turnover_by_strategy.csv`` (daily
                           turnover of each strategy's sleeve and of the fund's targets)
``spec.json``              the fund spec the run used
``nav_vs_equity.png``      growth of $100 in the fund and the benchmarks (the report's chart)
``strategy_weights.png``   allocator weights over time (the report's chart)
``subsidiary.png``         the Subsidiary's share of total assets with its cap (the report's)
``report.html``            the benchmark comparison report (:mod:`backtest.report.build`), built
                           from the in-memory run (nothing is read back from disk)
=========================  ==================================================================

Everything is written into a temporary folder beside ``out_dir`` and renamed into place at the
end: a failure leaves ``out_dir`` as it was. A run folder holds the marker file
:data:`RUN_MARKER`; an existing ``out_dir`` is replaced only when it is empty or one of our runs
(:func:`check_out_dir`): any other folder is refused, never deleted. Modes follow the umask.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from backtest.fund.run import FundRun
from backtest.report.build import RUN_CHARTS, build_report, section_charts
from backtest.report.csv_writer import write_csv
from backtest.report.run_folder import extra_run_files, from_run, run_spec

FLOAT_FORMAT = "%.10g"
#: The marker file of a run folder written by :func:`write_run`.
RUN_MARKER = ".multistrat-run"


def is_run_folder(path: Path) -> bool:
    """A folder :func:`write_run` wrote: the marker, or (runs written before the marker)
    ``spec.json`` and ``nav.csv``."""
    return (path / RUN_MARKER).is_file() or all(
        (path / n).is_file() for n in ("spec.json", "nav.csv")
    )


def check_out_dir(out: str | Path) -> Path:
    """Where a run may be written: a new folder, an empty one or one of our runs (replaced).
    FileExistsError for a file or a non-empty folder that is not a run (never deleted);
    NotADirectoryError when a parent is a file."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise FileExistsError(f"--out {out} exists and is not a folder; refusing to replace it")
        if any(out.iterdir()) and not is_run_folder(out):
            raise FileExistsError(f"--out {out} is a folder that is not empty and not a multistrat "
                                  f"run (no {RUN_MARKER}); refusing to replace it: choose another "
                                  "--out or empty it")  # fmt: skip
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"--out {out}: {parent} is not a folder")
    return out


def _follow_umask(path: Path, mode: int) -> None:
    """``chmod`` to ``mode`` less the process umask (mkdtemp/mkstemp create 0700/0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, mode & ~mask)


def run_charts(run: FundRun, metrics: dict, out: Path, extra: dict) -> dict[str, bytes]:
    """The run folder's PNG charts without the report: file name → PNG bytes, the report's
    charts of :data:`~backtest.report.build.RUN_CHARTS` (drawn only when no report is written;
    with one, :func:`build_report` writes them as it draws them)."""
    pngs = section_charts(from_run(run, metrics, out, extra), list(RUN_CHARTS.values()))
    return {name: pngs[anchor] for name, anchor in RUN_CHARTS.items()}


def write_run(
    run: FundRun,
    out_dir: str | Path,
    metrics: dict,
    overwrite: bool = True,
    report: bool = True,
    pool=None,
    benchmarks: pd.DataFrame | None = None,
) -> Path:
    """Write every output of ``run`` to ``out_dir`` (files in the module docstring).

    ``pool``: a worker process that draws the report's charts while this one writes the tables
    (:func:`backtest.report.chart_pool.chart_workers`; None: everything here, in turn).
    ``benchmarks``: ``benchmarks.csv`` if already computed (:func:`extra_run_files`)."""
    out = check_out_dir(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _follow_umask(tmp, 0o777)
        (tmp / RUN_MARKER).write_text("written by multistrat backtest (write_run)\n")
        extra = extra_run_files(run, benchmarks)  # computed once: written and shown

        def tables() -> None:
            _write_tables(run, metrics, extra, tmp)

        if report:  # the benchmark comparison report, inside the same atomic write
            build_report(from_run(run, metrics, out, extra), out=tmp / "report.html",
                         chart_files={a: tmp / name for name, a in RUN_CHARTS.items()},
                         pool=pool, meanwhile=tables)  # fmt: skip
        else:
            tables()
            for name, png in run_charts(run, metrics, out, extra).items():
                (tmp / name).write_bytes(png)
        if out.exists():
            backup = out.with_name(f".{out.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_tables(run: FundRun, metrics: dict, extra: dict, tmp: Path) -> None:
    """The run folder's tables (CSV, Parquet, JSON) into ``tmp``."""
    result = run.result
    dated = {"float_format": FLOAT_FORMAT, "date_format": "%Y-%m-%d"}
    write_csv(result.nav, tmp / "nav.csv", **dated)
    write_csv(run.weights, tmp / "weights.csv", **dated)
    write_csv(run.strategy_returns, tmp / "strategy_returns.csv", **dated)
    result.holdings.to_parquet(tmp / "holdings.parquet", index=False)
    write_csv(result.trades, tmp / "trades.csv", index=False, **dated)
    write_csv(result.flows, tmp / "flows.csv", index=False, date_format="%Y-%m-%d")
    write_csv(run.compliance, tmp / "compliance.csv", index=False, **dated)
    write_csv(run.limit_actions, tmp / "limit_actions.csv", index=False, date_format="%Y-%m-%d")
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    for name, frame in extra.items():
        write_csv(frame, tmp / name, **dated)
    (tmp / "spec.json").write_text(json.dumps(run_spec(run), indent=2, sort_keys=True) + "\n")
