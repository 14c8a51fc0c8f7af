"""Run an experiment's tasks in this process or on Dask, with a result cache on disk.

A task is (point, market source); its result (one row per window and the daily return stream)
is a pure function of its content hash (:func:`backtest.research.evaluate.task_key`). With an
output folder, results are cached as ``points/<key>.parquet`` (returns) and
``points/<key>.json`` (rows), each written to a temporary file and renamed into place, the JSON
last: a killed experiment resumes and skips every finished task. Only this process writes the
cache (workers send their results back), so workers need no shared file system.

Scheduling: ``scheduler=None`` starts ``LocalCluster(n_workers, threads_per_worker=1,
processes=True)``; an address (``"tcp://host:8786"``) connects to a running scheduler; a
``distributed.Client`` is used as given; ``"serial"`` runs in this process without Dask. Each
worker builds a market once per source and keeps it (:class:`MarketCache`, a worker plugin,
registered once per cluster, so later experiments on the same client reuse the markets):
tasks carry the small :class:`~backtest.research.markets.MarketSource`, never a market, and are
submitted market by market so a worker mostly reuses the market it holds.

Single-strategy trend points (:func:`backtest.research.trend_batch.batchable`) on the same
market are computed together: :func:`plan_units` groups the tasks still to do into
batches (:class:`Batch`, one Dask task each; at least as many as there are workers, at most
:data:`MAX_BATCH_POINTS` points each) that share the market's inputs and EWMAs
(:mod:`backtest.research.trend_batch`); each point's result is still cached under its own key.
Every other task is computed alone. ``batch=False`` computes every task alone.

The table is sorted by (market, point, window) and does not depend on the order in which tasks
finish, on the number of workers or on how the points were batched.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from backtest.fund.spec import FundSpec
from backtest.market.market_data import MarketData
from backtest.progress import progress_bar
from backtest.research.design import Evaluation, Plan, Point, WalkForward, windows
from backtest.research.evaluate import canonical_json, evaluate, measure, task_key
from backtest.research.markets import MarketSource
from backtest.research.trend_batch import batchable, trend_daily
from strategies import registry

PLUGIN_NAME = "multistrat-market-cache"
#: Markets a worker keeps (least recently used dropped first); tasks arrive market by market.
MARKETS_PER_WORKER = 2
#: Most points of a :class:`Batch` (bounds a batch's memory and keeps progress granular).
MAX_BATCH_POINTS = 64


class MarketCache(WorkerPlugin):
    """Markets built on this worker, by source (least recently used dropped past ``size``).

    A ``distributed`` worker plugin (``setup``/``teardown``) and, in serial runs, a plain
    object. ``builds`` counts the markets built (the tests check one build per source).
    """

    def __init__(self, size: int = MARKETS_PER_WORKER) -> None:
        self.size = size
        self.markets: OrderedDict[MarketSource, MarketData] = OrderedDict()
        self.builds = 0

    def setup(self, worker=None) -> None:  # distributed.WorkerPlugin protocol
        self.markets.clear()

    def teardown(self, worker=None) -> None:
        self.markets.clear()

    def get(self, source: MarketSource) -> MarketData:
        if source in self.markets:
            self.markets.move_to_end(source)
            return self.markets[source]
        market = source.build()
        self.builds += 1
        self.markets[source] = market
        while len(self.markets) > self.size:
            self.markets.popitem(last=False)
        return market


@dataclass(frozen=True)
class Task:
    """One point on one market; ``key`` its content hash."""

    key: str
    point: int
    market: MarketSource
    spec: FundSpec
    warmup_days: int
    walk_forward: WalkForward | None
    evaluation: Evaluation


@dataclass(frozen=True)
class TaskResult:
    """What a task produced: one row per window and the daily returns, shape (n_dates,)."""

    key: str
    rows: list[dict]
    returns: pd.Series


def make_tasks(exp: Plan, points: list[Point]) -> list[Task]:
    """Every (point, market) task, market by market, points in order."""
    return [
        Task(
            task_key(p.spec, m.key, exp.warmup_days, exp.walk_forward, exp.evaluation),
            k,
            m,
            p.spec,
            exp.warmup_days,
            exp.walk_forward,
            exp.evaluation,
        )  # fmt: skip
        for m in exp.markets
        for k, p in enumerate(points)
    ]


def compute(task: Task, markets: MarketCache) -> TaskResult:
    """Evaluate one task on the market ``markets`` holds for its source."""
    market = markets.get(task.market)
    wins = windows(len(market.calendar), task.warmup_days, task.walk_forward)
    rows, returns = evaluate(task.spec, market, wins, task.evaluation)
    return TaskResult(task.key, rows, returns)


@dataclass(frozen=True)
class Batch:
    """Single-strategy trend tasks on one market and windows, computed together."""

    tasks: tuple[Task, ...]

    @property
    def key(self) -> str:
        return hashlib.sha256("".join(t.key for t in self.tasks).encode()).hexdigest()


def compute_batch(batch: Batch, markets: MarketCache) -> list[TaskResult]:
    """Evaluate every task of ``batch`` with the shared arithmetic of
    :func:`~backtest.research.trend_batch.trend_daily` (results equal to :func:`compute`)."""
    first = batch.tasks[0]
    market = markets.get(first.market)
    wins = windows(len(market.calendar), first.warmup_days, first.walk_forward)
    trends = [registry[t.spec.strategies[0].name](**t.spec.strategies[0].params)
              for t in batch.tasks]  # fmt: skip
    out = []
    for task, daily in zip(batch.tasks, trend_daily(trends, market), strict=True):
        rows, returns = measure(daily, market, wins)
        out.append(TaskResult(task.key, rows, returns))
    return out


def compute_unit(unit: Task | Batch, markets: MarketCache) -> list[TaskResult]:
    """The results of a task (one) or of a batch (one per task)."""
    if isinstance(unit, Batch):
        return compute_batch(unit, markets)
    return [compute(unit, markets)]


def plan_units(todo: list[Task], parts: int = 1, batch: bool = True) -> list[Task | Batch]:
    """The units of work: batchable tasks grouped by (market, windows) into batches, at least
    ``parts`` batches in all when there are enough tasks (so every worker gets one), each of
    at most :data:`MAX_BATCH_POINTS` consecutive tasks; every other task alone, in order."""
    if not batch:
        return list(todo)
    groups: dict[tuple, list[Task]] = {}
    alone: list[Task | Batch] = []
    for t in todo:
        if batchable(t.spec, t.evaluation):
            wf = t.walk_forward
            days = None if wf is None else (wf.train_days, wf.test_days)
            groups.setdefault((t.market, t.warmup_days, days), []).append(t)
        else:
            alone.append(t)
    per_group = max(1, math.ceil(parts / len(groups))) if groups else 1
    units: list[Task | Batch] = []
    for tasks in groups.values():
        n = max(min(len(tasks), per_group), math.ceil(len(tasks) / MAX_BATCH_POINTS))
        size = math.ceil(len(tasks) / n)
        units += [Batch(tuple(tasks[k : k + size])) for k in range(0, len(tasks), size)]
    return units + alone


def _has_market_cache(dask_worker) -> bool:
    return PLUGIN_NAME in dask_worker.plugins


def compute_on_worker(unit: Task | Batch) -> list[TaskResult]:
    """:func:`compute_unit` with the worker's :class:`MarketCache` (the function Dask runs)."""
    worker = get_worker()
    cache = worker.plugins.get(PLUGIN_NAME)
    if cache is None:  # a worker that joined without the plugin: keep one on the worker
        cache = worker.plugins[PLUGIN_NAME] = MarketCache()
    return compute_unit(unit, cache)


class ResultCache:
    """Task results by key, in ``folder`` (``None``: in memory only)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.memory: dict[str, TaskResult] = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.json", self.folder / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return key in self.memory or (self.folder is not None and self._paths(key)[0].exists())

    def get(self, key: str) -> TaskResult:
        if key not in self.memory:
            rows_path, returns_path = self._paths(key)
            rows = json.loads(rows_path.read_text())
            for row in rows:
                for col in ("window_start", "window_end"):
                    row[col] = pd.Timestamp(row[col])
            returns = pd.read_parquet(returns_path)["return"]
            returns.index = pd.DatetimeIndex(returns.index.astype("datetime64[ns]"), name=None)
            self.memory[key] = TaskResult(key, rows, returns)
        return self.memory[key]

    def put(self, result: TaskResult) -> None:
        self.memory[result.key] = result
        if self.folder is None:
            return
        rows_path, returns_path = self._paths(result.key)
        atomic_write(returns_path, lambda p: result.returns.to_frame("return").to_parquet(p))
        atomic_write(rows_path, lambda p: Path(p).write_text(canonical_json(result.rows)))


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(temporary path)`` then rename it to ``path`` (same folder): all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary output files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RunStats:
    """How many tasks were computed now and how many came from the cache."""

    computed: int
    cached: int


def run_tasks(
    tasks: list[Task],
    cache: ResultCache,
    scheduler=None,
    workers: int | None = None,
    progress: bool = True,
    on_result: Callable[[TaskResult], None] | None = None,
    batch: bool = True,
) -> RunStats:
    """Compute every task not in ``cache`` (see the module docstring for ``scheduler`` and
    ``batch``)."""
    todo = [t for t in tasks if not cache.has(t.key)]
    todo = list({t.key: t for t in todo}.values())  # equal specs share one computation
    bar = progress_bar(len(todo), "experiment", unit="task", show=progress)

    def done(results: list[TaskResult]) -> None:
        for result in results:
            cache.put(result)
            bar.update()
            if on_result is not None:
                on_result(result)

    try:
        if todo and scheduler == "serial":
            markets = MarketCache()
            for unit in plan_units(todo, 1, batch):
                done(compute_unit(unit, markets))
        elif todo:
            _run_dask(todo, scheduler, workers, done, batch)
    finally:
        bar.close()
    return RunStats(computed=len(todo), cached=len(tasks) - len(todo))


def _run_dask(todo: list[Task], scheduler, workers: int | None, done, batch: bool) -> None:
    own_cluster = own_client = None
    if isinstance(scheduler, Client):
        client = scheduler
    elif scheduler is None:
        n = workers or os.cpu_count() or 1
        own_cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = own_client = Client(own_cluster)
    else:
        client = own_client = Client(str(scheduler))
    try:
        if not all(client.run(_has_market_cache).values()):  # keep the markets workers hold
            client.register_plugin(MarketCache(), name=PLUGIN_NAME)
        units = plan_units(todo, max(1, len(client.scheduler_info()["workers"])), batch)
        futures = [client.submit(compute_on_worker, u, key=_dask_key(u), pure=True)
                   for u in units]  # fmt: skip
        for future in as_completed(futures):
            done(future.result())
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _dask_key(unit: Task | Batch) -> str:
    return f"batch-{unit.key}" if isinstance(unit, Batch) else f"task-{unit.key}"
