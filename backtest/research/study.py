"""Run an :class:`~backtest.research.experiment.Experiment` end to end: points checked, tasks
computed (cached, on Dask or serially), the tidy table, the return streams, the walk-forward
and the overfitting statistics of the sweep.

>>> result = run_experiment(exp, out="runs/exp", scheduler=None)   # doctest: +SKIP
>>> result.table  # one row per point × market × window: parameters and metrics
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.research.design import Plan, Point
from backtest.research.evaluate import METRICS, canonical_json
from backtest.research.overfitting import (
    DeflatedSharpe,
    OverfittingProbability,
    deflated_sharpe_ratio,
    probability_of_overfitting,
    sharpe_per_period,
)
from backtest.research.runner import ResultCache, RunStats, TaskResult, make_tasks, run_tasks
from backtest.research.walkforward import WalkForwardResult, walk_forward

#: Sub-folder of the output folder holding the per-task cache.
POINTS_DIR = "points"


@dataclass(frozen=True)
class ExperimentResult:
    """Attributes
    ----------
    table : DataFrame, one row per point × market × window
        ``market``, ``point``, one column per grid path, ``window``, ``window_start``,
        ``window_end``, the metrics of :mod:`backtest.research.evaluate`, ``task_key``.
    returns : dict (market key, point) → Series of daily returns on the market's calendar
    points : list of Point
    walk_forward : WalkForwardResult or None
    stats : RunStats (tasks computed now / taken from the cache)
    """

    table: pd.DataFrame
    returns: dict[tuple[str, int], pd.Series]
    points: list[Point]
    walk_forward: WalkForwardResult | None
    stats: RunStats


def param_value(value):
    """A grid value as a table cell: numbers, strings and booleans as they are, anything else
    (tuples of speeds, None) as its canonical JSON text."""
    if isinstance(value, bool | int | float | str) and not isinstance(value, np.generic):
        return str(value) if isinstance(value, str) else value
    return canonical_json(value)


def build_table(exp: Plan, points: list[Point], results: dict[str, TaskResult], tasks):
    """The tidy table, sorted by (market, point, window order)."""
    records = []
    for t in tasks:
        for order, row in enumerate(results[t.key].rows):
            rec = {"market": t.market.key, "point": t.point}
            rec.update({p: param_value(v) for p, v in points[t.point].params})
            rec.update(row)
            rec["window_order"] = order
            rec["task_key"] = t.key
            records.append(rec)
    table = pd.DataFrame.from_records(records)
    for path in exp.grid:  # one type per column (Parquet): mixed values all as JSON text
        if len({type(v) for v in table[path]}) > 1:
            table[path] = [canonical_json(v) for v in table[path]]
    for col in ("window_start", "window_end"):  # the same unit whether computed or cached
        table[col] = table[col].astype("datetime64[ns]")
    table = table.sort_values(["market", "point", "window_order"], kind="stable")
    table = table.drop(columns="window_order").reset_index(drop=True)
    first = ["market", "point", *exp.grid, "window", "window_start", "window_end"]
    return table[first + [c for c in METRICS] + ["task_key"]]


def run_experiment(
    exp: Plan,
    out: str | Path | None = None,
    scheduler=None,
    workers: int | None = None,
    progress: bool = True,
    on_result: Callable[[TaskResult], None] | None = None,
    batch: bool = True,
) -> ExperimentResult:
    """Check every point, compute the tasks not cached in ``out/points`` and assemble.

    ``scheduler``: None (a local Dask cluster of ``workers`` processes, default all cores), a
    scheduler address, a ``distributed.Client``, or ``"serial"`` (this process). ``batch``:
    compute single-strategy trend points on a market together (``False``: one by one; the
    results are the same, :mod:`backtest.research.runner`).
    """
    points = exp.points()  # every spec built and checked before anything runs
    tasks = make_tasks(exp, points)
    cache = ResultCache(None if out is None else Path(out) / POINTS_DIR)
    stats = run_tasks(tasks, cache, scheduler, workers, progress, on_result, batch)
    results = {t.key: cache.get(t.key) for t in tasks}
    table = build_table(exp, points, results, tasks)
    returns = {(t.market.key, t.point): results[t.key].returns for t in tasks}
    wf = None
    if exp.walk_forward is not None:
        wf = walk_forward(table, returns, exp.walk_forward.choose_by)
    return ExperimentResult(table, returns, points, wf, stats)


def full_window_returns(result: ExperimentResult, market: str) -> pd.DataFrame:
    """Daily returns of every point on ``market`` over the ``full`` window, dates × points."""
    rows = result.table[(result.table["market"] == market) & (result.table["window"] == "full")]
    start, end = rows["window_start"].iloc[0], rows["window_end"].iloc[0]
    return pd.DataFrame(
        {p: result.returns[(market, p)].loc[start:end] for p in sorted(rows["point"])}
    )


@dataclass(frozen=True)
class SweepOverfitting:
    """Per market: the deflated Sharpe of the best point and the PBO of choosing it."""

    market: str
    best_point: int
    deflated: DeflatedSharpe
    pbo: OverfittingProbability | None


def sweep_overfitting(result: ExperimentResult, n_splits: int = 8) -> list[SweepOverfitting]:
    """Deflated Sharpe ratio and PBO (CSCV) of each market's sweep over the ``full`` window
    (PBO needs at least two points)."""
    out = []
    for market in sorted(result.table["market"].unique()):
        m = full_window_returns(result, market).dropna(how="all").fillna(0.0)
        sharpes = sharpe_per_period(m.to_numpy())
        sharpes = np.atleast_1d(sharpes)
        best = int(m.columns[int(np.nanargmax(sharpes))])
        dsr = deflated_sharpe_ratio(m[best], sharpes)
        pbo = probability_of_overfitting(m, n_splits) if m.shape[1] > 1 else None
        out.append(SweepOverfitting(market, best, dsr, pbo))
    return out
