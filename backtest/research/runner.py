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

The table is sorted by (market, point, window) and does not depend on the order in which tasks
finish or on the number of workers.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from tqdm.auto import tqdm

from backtest.fund.spec import FundSpec
from backtest.market.market_data import MarketData
from backtest.research.evaluate import canonical_json, evaluate, task_key
from backtest.research.experiment import Evaluation, Experiment, Point, WalkForward, windows
from backtest.research.markets import MarketSource

PLUGIN_NAME = "multistrat-market-cache"
#: Markets a worker keeps (least recently used dropped first); tasks arrive market by market.
MARKETS_PER_WORKER = 2


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


def make_tasks(exp: Experiment, points: list[Point]) -> list[Task]:
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


def _has_market_cache(dask_worker) -> bool:
    return PLUGIN_NAME in dask_worker.plugins


def compute_on_worker(task: Task) -> TaskResult:
    """:func:`compute` with the worker's :class:`MarketCache` (the function Dask runs)."""
    worker = get_worker()
    cache = worker.plugins.get(PLUGIN_NAME)
    if cache is None:  # a worker that joined without the plugin: keep one on the worker
        cache = worker.plugins[PLUGIN_NAME] = MarketCache()
    return compute(task, cache)


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
) -> RunStats:
    """Compute every task not in ``cache`` (see the module docstring for ``scheduler``)."""
    todo = [t for t in tasks if not cache.has(t.key)]
    todo = list({t.key: t for t in todo}.values())  # equal specs share one computation
    bar = tqdm(total=len(todo), desc="experiment", unit="task", disable=not progress)

    def done(result: TaskResult) -> None:
        cache.put(result)
        bar.update()
        if on_result is not None:
            on_result(result)

    try:
        if todo and scheduler == "serial":
            markets = MarketCache()
            for t in todo:
                done(compute(t, markets))
        elif todo:
            _run_dask(todo, scheduler, workers, done)
    finally:
        bar.close()
    return RunStats(computed=len(todo), cached=len(tasks) - len(todo))


def _run_dask(todo: list[Task], scheduler, workers: int | None, done) -> None:
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
        futures = [client.submit(compute_on_worker, t, key=f"task-{t.key}", pure=True)
                   for t in todo]  # fmt: skip
        for future in as_completed(futures):
            done(future.result())
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
