"""Speed of experiments: points per second, 1 → 2 Dask workers, overhead per task, and a paper
estimate for 10,000 full-fund points × 20 markets on a 50-node cluster.

Two kinds of point, on a synthetic market of ``--years`` years (default 5, 2015–2019):

- single-strategy: ``Trend`` standalone (``evaluation = "strategy"``), 12 single speeds × 4
  volatility targets × 2 forecast caps (96 points), computed point by point (``batch=False``,
  one task each: the path before the batching) and batched (the default: the points of a
  market in one task per worker, :mod:`backtest.research.trend_batch`); the two give the same
  table (checked here too);
- full fund: the built-in LALT-like fund with a grid over the volatility target and the rule
  (not batchable: one task per point).

Each is timed in this process (``scheduler="serial"``) and on a ``LocalCluster`` of 1 and 2
worker processes started beforehand and warmed (numba compiled, vectorbt imported, market
built), with no disk cache, so every run computes every task (workers keep the market they
built across runs, as in a long experiment; building it is timed apart, and so is importing
vectorbt, which the batched path pays once per process). Medians of ``--repeats`` runs are
printed. The overhead per task is the median wall time of trivial tasks through the same
client, and the extra time per task of Dask on 1 worker over the serial run. Run::

    python benchmarks/experiment_speed.py [--years 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time

import pandas as pd
from distributed import Client, LocalCluster, as_completed

from backtest.cli.backtest_cmd import DEFAULT_CONFIG
from backtest.fund.spec import FundSpec, StrategySpec
from backtest.research import Evaluation, Experiment, run_experiment, synthetic_seeds
from backtest.research.runner import MarketCache, compute, make_tasks

SPEEDS = [[[f, 4 * f]] for f in (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)]
VOL_TARGETS = [0.10, 0.15, 0.20, 0.25]
CAPS = [20.0, 10.0]


def experiments(start: str, end: str) -> dict[str, Experiment]:
    markets = synthetic_seeds([1], start, end)
    return {
        "single-strategy": Experiment(
            FundSpec(strategies=(StrategySpec("trend"),)),
            grid={
                "strategies.trend.params.speeds": SPEEDS,
                "strategies.trend.params.vol_target_annual": VOL_TARGETS,
                "strategies.trend.params.forecast_cap": CAPS,
            },
            markets=markets,
            evaluation=Evaluation.STRATEGY,
        ),
        "full fund": Experiment(
            FundSpec.from_toml(DEFAULT_CONFIG),
            grid={
                "allocator.vol_target_annual": [0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
                "allocator.method": [
                    "equal_risk_contribution",
                    "inverse_volatility",
                    "equal_weight",
                ],
            },
            markets=markets,
        ),
    }


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def noop(x: int) -> int:
    return x


def overhead_per_task(client: Client, n: int = 200) -> float:
    def run():
        futures = [client.submit(noop, k, pure=False) for k in range(n)]
        for f in as_completed(futures):
            f.result()

    run()
    return statistics.median(timed(run) for _ in range(3)) / n


def one_point_seconds(exp: Experiment) -> float:
    """Median seconds of one task in this process, market already built."""
    tasks = make_tasks(exp, exp.points())
    cache = MarketCache()
    compute(tasks[0], cache)
    return statistics.median(timed(lambda t=t: compute(t, cache)) for t in tasks[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    start, end = f"{2020 - args.years}-01-02", "2019-12-31"
    vbt_import = timed(lambda: importlib.import_module("vectorbt"))
    print(f"import vectorbt: {vbt_import:.2f} s (once per process, batched path only)")
    exps = experiments(start, end)
    source = exps["full fund"].markets[0]
    source.build()
    build = statistics.median(timed(source.build) for _ in range(args.repeats))
    print(f"market of {args.years} years built in {build:.2f} s (once per worker and source)")
    figures: dict[tuple[str, str], float] = {}
    clusters, clients, overhead = {}, {}, {}
    for workers in (1, 2):
        clusters[workers] = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        clients[workers] = Client(clusters[workers])
        overhead[workers] = overhead_per_task(clients[workers])
    modes = {"serial": "serial", "dask 1": clients[1], "dask 2": clients[2]}
    runs = {  # name: (experiment, batch)
        "strategy/point": (exps["single-strategy"], False),
        "strategy/batch": (exps["single-strategy"], True),
        "full fund": (exps["full fund"], True),
    }
    try:
        for name, (exp, batch) in runs.items():
            n = len(exp.points())
            times: dict[str, list[float]] = {m: [] for m in modes}
            for scheduler in modes.values():  # warm: numba caches, imports, markets held
                run_experiment(exp, scheduler=scheduler, progress=False, batch=batch)
            for _ in range(args.repeats):  # interleaved, so a busy machine hits every mode
                for mode, scheduler in modes.items():
                    times[mode].append(timed(
                        lambda e=exp, s=scheduler, b=batch: run_experiment(
                            e, scheduler=s, progress=False, batch=b)
                    ))  # fmt: skip
            for mode in modes:
                t = statistics.median(times[mode])
                figures[(name, mode)] = n / t
                print(f"{name:16s} {mode:8s} {n / t:7.2f} points/s  ({t:.2f} s for {n})")
        single = exps["single-strategy"]
        a = run_experiment(single, scheduler=clients[2], progress=False).table
        b = run_experiment(single, scheduler="serial", progress=False, batch=False).table
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0.0)
        print("single-strategy: batched on 2 workers == per point serially (rtol 1e-12)")
    finally:
        for workers in (1, 2):
            clients[workers].close()
            clusters[workers].close()
    print()
    for mode in modes:
        gain = figures[("strategy/batch", mode)] / figures[("strategy/point", mode)]
        print(f"single-strategy {mode:8s} batched / per point: {gain:.2f}×")
    for name in runs:
        s = figures[(name, "dask 2")] / figures[(name, "dask 1")]
        print(f"{name:16s} speed-up 1 → 2 workers: {s:.2f}×")
    print(
        f"overhead of a trivial task: {1e3 * overhead[1]:.1f} ms (1 worker), "
        f"{1e3 * overhead[2]:.1f} ms (2 workers)"
    )
    for name in runs:
        extra = 1 / figures[(name, "dask 1")] - 1 / figures[(name, "serial")]
        print(f"{name:16s} Dask (1 worker) over serial: {1e3 * extra:+.0f} ms per point")
    # paper estimate: full-fund points on the default 20-year market
    exp20 = experiments("2005-01-03", "2024-12-31")["full fund"]
    t20 = one_point_seconds(exp20)
    efficiency = figures[("full fund", "dask 2")] / (2 * figures[("full fund", "serial")])
    cores = 50 * 32
    total = 10_000 * 20 * t20 / (cores * efficiency)
    print()
    print(f"one full-fund point on 20 years: {t20:.1f} s (this machine, one core)")
    print(f"paper estimate, 10,000 points × 20 markets = 200,000 tasks on 50 nodes × 32 cores "
          f"at the measured 2-worker efficiency {efficiency:.0%}: {total / 3600:.1f} h "
          f"({total / 60:.0f} min)")  # fmt: skip


if __name__ == "__main__":
    main()
