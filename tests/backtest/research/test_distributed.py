"""Experiments on a real Dask LocalCluster: equal to the serial run row for row, survive a killed
worker, and resume from the cache without recomputing finished tasks."""

from __future__ import annotations

import os
import threading
import time

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from backtest.research import run_experiment
from backtest.research.runner import MarketCache
from backtest.research.study import POINTS_DIR
from tests.backtest.research.conftest import interrupted_run, small_experiment, strategy_experiment


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def serial(experiment, tmp_path_factory):
    return run_experiment(experiment, out=tmp_path_factory.mktemp("serial"), scheduler="serial",
                          progress=False)  # fmt: skip


def test_two_workers_equal_serial_row_for_row(experiment, serial, client, tmp_path):
    dist = run_experiment(experiment, out=tmp_path, scheduler=client, progress=False)
    assert dist.stats.computed == 8 and dist.stats.cached == 0
    assert len(dist.table) == 2 * 4 * 9  # markets × points × (full + 4 train/test pairs)
    pd.testing.assert_frame_equal(dist.table, serial.table, check_exact=True)
    for key, r in serial.returns.items():
        pd.testing.assert_series_equal(dist.returns[key], r, check_exact=True)
    pd.testing.assert_frame_equal(dist.walk_forward.choices, serial.walk_forward.choices)
    # each worker built each market at most once (markets are not shipped per task)
    builds = client.run(lambda dask_worker: dask_worker.plugins["multistrat-market-cache"].builds)
    assert 2 <= sum(builds.values()) <= 4


def test_batched_trend_points_on_two_workers_equal_the_per_point_serial_run(client, tmp_path):
    grid = {
        "strategies.trend.params.speeds": [[[8, 32]], [[16, 64]], [[8, 32], [32, 128]]],
        "strategies.trend.params.vol_target_annual": [0.1, 0.2],
    }
    exp = strategy_experiment(grid=grid)
    alone = run_experiment(exp, scheduler="serial", progress=False, batch=False)
    dist = run_experiment(exp, out=tmp_path, scheduler=client, progress=False)
    assert dist.stats.computed == 6 and len(list((tmp_path / POINTS_DIR).glob("*.json"))) == 6
    pd.testing.assert_frame_equal(dist.table, alone.table, check_exact=False, rtol=1e-12, atol=0)
    for key, r in alone.returns.items():
        pd.testing.assert_series_equal(dist.returns[key], r, check_exact=False, rtol=1e-12)


def test_a_killed_worker_does_not_stop_the_experiment(experiment, serial, client, tmp_path):
    killed = []

    def kill_one(result):
        if not killed:
            addr = sorted(client.scheduler_info()["workers"])[0]
            killed.append(addr)
            client.run(_exit_soon, workers=[addr])

    exp = small_experiment(seeds=(1, 2))
    done = run_experiment(exp, out=tmp_path, scheduler=client, progress=False, on_result=kill_one)
    assert killed
    pd.testing.assert_frame_equal(done.table, serial.table, check_exact=True)
    deadline = time.monotonic() + 60  # it died (its timer may fire after the last result) ...
    while killed[0] in client.scheduler_info()["workers"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert killed[0] not in client.scheduler_info()["workers"]
    client.wait_for_workers(2, timeout=60)  # ... and the nanny restarted it


def _exit_soon() -> None:
    """Kill this worker process a moment after returning (as a crash would, no clean-up)."""
    threading.Timer(0.2, os._exit, args=(1,)).start()


def test_an_interrupted_experiment_resumes_from_the_cache(experiment, serial, tmp_path):
    seen = interrupted_run(experiment, tmp_path, after=3)
    computed = []
    again = run_experiment(experiment, out=tmp_path, scheduler="serial", progress=False,
                           on_result=lambda r: computed.append(r.key))  # fmt: skip
    assert again.stats.computed == 5 and again.stats.cached == 3
    assert not set(computed) & set(seen)
    pd.testing.assert_frame_equal(again.table, serial.table, check_exact=True)
    # a third run computes nothing at all
    third = run_experiment(experiment, out=tmp_path, scheduler="serial", progress=False)
    assert third.stats.computed == 0 and third.stats.cached == 8


def test_market_cache_builds_once_per_source():
    exp = small_experiment(seeds=(3,))
    cache = MarketCache()
    m1 = cache.get(exp.markets[0])
    assert cache.get(exp.markets[0]) is m1 and cache.builds == 1
