"""Speed of the whole fund pipeline (`run_fund`) and how its cost grows.

Prints, each a median of ``--repeat`` runs (default 5) after a warm-up (numba compiled):

- ``run_fund`` on the default spec (``examples/lalt.toml``, 20 synthetic years): on a fresh
  market object (nothing computed yet for it) and on the same market again (instrument returns,
  option marks, strategy positions and futures arrays already computed: what a sweep sees);
- the time per stage (strategies, standalone returns, allocator, pre-trade limits, simulator,
  compliance), from cProfile's cumulative times of one fresh-market run;
- 100 full-fund runs with different allocator settings in one process;
- ``run_fund`` for 5, 10, 20 and 40 synthetic years, and for 60, 250 and 1,000 equities in the
  market-neutral book alone: cost should grow about linearly in years; in names the book's EWMA
  covariance (``strategies.sizing``, updated every day over every pair of names) is
  O(days × names²) — ~0.8 s at 1,000 names, ~0.05 s at 250 — and the rest grows about linearly
  but slows once its arrays outgrow the cache (the VaR kernels' returns, 1,000 × 4,500: 36 MB);
- peak resident memory of a default ``multistrat backtest`` (fresh process, report included,
  the main process and its chart worker together);
- a fresh process (``python -c``): the imports, building the default synthetic market and the
  first ``run_fund`` on it (numba's first cache load, ~0.2 s, lands in the market; each
  further compiled function loads on its first call, ~5–15 ms each, in ``run_fund``),
  median of ``--repeat`` processes.

Run: ``python benchmarks/pipeline_speed.py [--repeat 5] [--skip-scaling] [--skip-sweep]
[--skip-fresh]``.
Asserts nothing: targets are read, not unit-tested (see the speed issue and the README).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import itertools
import json
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from backtest.cli.backtest_cmd import DEFAULT_CONFIG
from backtest.fund.run import run_fund
from backtest.fund.spec import AllocatorMethod, FundSpec, StrategySpec
from backtest.synthetic import SyntheticParams, UniverseParams, synthetic_market

#: (label, qualified function name) of the stages read from the profile.
STAGES = (
    ("strategies", "cached_positions"),
    ("standalone returns", "exposure_returns"),
    ("allocator", "weights"),
    ("pre-trade limits", "apply_limits"),
    ("simulator", "simulate"),
    ("compliance", "check_limits"),
)


def median_time(fn, repeat: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def stage_times(spec: FundSpec) -> dict[str, float]:
    market = synthetic_market(seed=spec.market.seed, start=spec.market.start, end=spec.market.end)
    prof = cProfile.Profile()
    prof.enable()
    run_fund(spec, market)
    prof.disable()
    stats = pstats.Stats(prof).stats
    out = {}
    for label, name in STAGES:
        best = 0.0
        for (file, _, func), (_, _, _, cum, _) in stats.items():
            if func == name and ("backtest" in file or "strategies" in file or "allocator" in file):
                best = max(best, cum)
        out[label] = best
    return out


def sweep(spec: FundSpec, n: int) -> float:
    """Seconds for ``n`` full-fund runs with different allocator settings on one market."""
    market = synthetic_market(seed=spec.market.seed, start=spec.market.start, end=spec.market.end)
    grid = itertools.product(
        (AllocatorMethod.EQUAL_RISK_CONTRIBUTION, AllocatorMethod.INVERSE_VOLATILITY),
        (0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12, 0.13, 0.14),
        (126, 252, 378, 504, 630),
    )
    t0 = time.perf_counter()
    for method, vol, lookback in itertools.islice(grid, n):
        alloc = dataclasses.replace(
            spec.allocator, method=method, vol_target_annual=vol, lookback_days=lookback
        )
        run_fund(dataclasses.replace(spec, allocator=alloc), market)
    return time.perf_counter() - t0


def scaling(spec: FundSpec, repeat: int) -> None:
    print("\nhow cost grows (run_fund on a fresh market, median):")
    for years in (5, 10, 20, 40):
        start = f"{2024 - years + 1}-01-02"
        s = dataclasses.replace(spec, market=dataclasses.replace(spec.market, start=start))
        markets = [synthetic_market(seed=7, start=start) for _ in range(repeat)]
        it = iter(markets)
        med, _, _ = median_time(lambda s=s, it=it: run_fund(s, next(it)), repeat)
        print(f"  {years:>4} years ({len(markets[0].calendar):>5} days)   {med:6.2f} s")
    neutral = dataclasses.replace(spec, strategies=(StrategySpec("equity_market_neutral"),))
    for n in (60, 250, 1000):
        params = SyntheticParams(universe=UniverseParams(n_stocks=n))
        markets = [synthetic_market(seed=7, params=params) for _ in range(repeat)]
        it = iter(markets)
        med, _, _ = median_time(lambda it=it: run_fund(neutral, next(it)), repeat)
        print(f"  market-neutral book, {n:>5} equities        {med:6.2f} s")


def peak_memory_mb() -> float:
    """Peak RSS (MB) of a default ``multistrat backtest`` in a fresh process, its chart worker
    included: the largest sum over the process tree, sampled every 10 ms (psutil, a dependency
    of Dask's distributed), or the kernel's peak of the largest process if that is larger."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "backtest.cli", "backtest", "--out", f"{tmp}/run",
               "--no-progress"]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tree, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)])
            except psutil.Error:  # a process ended between listing and reading
                continue
            peak = max(peak, rss)
            time.sleep(0.01)
        if proc.returncode != 0:
            raise SystemExit(f"multistrat backtest failed ({proc.returncode})")
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak / 2**20, max(before, after) / 1024.0)  # ru_maxrss: kilobytes on Linux


#: What one fresh process runs: seconds of the imports, the market and the first run, as JSON.
FRESH_SCRIPT = """
import json, time
t0 = time.perf_counter()
from backtest.cli.backtest_cmd import DEFAULT_CONFIG
from backtest.fund.run import run_fund
from backtest.fund.spec import FundSpec
from backtest.synthetic import synthetic_market
t1 = time.perf_counter()
spec = FundSpec.from_toml(DEFAULT_CONFIG)
market = synthetic_market(seed=spec.market.seed, start=spec.market.start, end=spec.market.end)
t2 = time.perf_counter()
run_fund(spec, market)
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "market": t2 - t1, "run_fund": t3 - t2, "total": t3 - t0}))
"""


def fresh_process(repeat: int) -> dict[str, tuple[float, float, float]]:
    """(median, min, max) seconds of each part of :data:`FRESH_SCRIPT` over ``repeat``
    processes (the interpreter's own start-up excluded)."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", FRESH_SCRIPT], capture_output=True,
                             text=True, check=True)  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: (statistics.median(r[k] for r in runs), min(r[k] for r in runs),
                max(r[k] for r in runs)) for k in runs[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-fresh", action="store_true")
    args = parser.parse_args()
    # first, while this process is small: a child's peak RSS can include its parent's pages
    print(f"peak memory of the default `multistrat backtest`  {peak_memory_mb():6.0f} MB")
    if not args.skip_fresh:
        print(f"a fresh process (python -c), median of {args.repeat}:")
        for part, (med, lo, hi) in fresh_process(args.repeat).items():
            print(f"  {part:<22} {med:6.2f} s  ({lo:.2f}..{hi:.2f})")
    spec = FundSpec.from_toml(DEFAULT_CONFIG)
    m = spec.market
    run_fund(spec, synthetic_market(seed=m.seed, start=m.start, end=m.end))  # numba warm-up
    times = []
    for _ in range(args.repeat):  # each market built just before its run and dropped after it,
        market = synthetic_market(seed=m.seed, start=m.start, end=m.end)  # as a user's would be
        t0 = time.perf_counter()
        run_fund(spec, market)
        times.append(time.perf_counter() - t0)
        del market  # (all of them kept alive, with what each run caches on it, slowed the
        # later runs by ~0.1-0.2 s: a bigger heap for the garbage collector to walk)
    med, lo, hi = statistics.median(times), min(times), max(times)
    print(f"run_fund, default spec, 20 y, fresh market  {med:6.2f} s  ({lo:.2f}..{hi:.2f})")
    same = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    run_fund(spec, same)
    med, lo, hi = median_time(lambda: run_fund(spec, same), args.repeat)
    print(f"run_fund, the same market again              {med:6.2f} s  ({lo:.2f}..{hi:.2f})")
    print("stages of one fresh-market run (cProfile, cumulative):")
    for label, seconds in stage_times(spec).items():
        print(f"  {label:<22} {seconds:6.2f} s")
    if not args.skip_sweep:
        print(f"100 full-fund runs, allocator settings varied  {sweep(spec, 100):6.1f} s")
    if not args.skip_scaling:
        scaling(spec, max(1, min(args.repeat, 3)))


if __name__ == "__main__":
    main()
