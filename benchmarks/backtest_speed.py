"""Speed of the whole default `multistrat backtest` (LALT-like fund, 2005–2024 synthetic market).

Targets (issue #11): end to end with every output and the report ≤ 5 s with the numba cache
warm (a fresh process, as a user runs it) and ≤ 20 s cold (fresh process, empty numba cache).

Prints:

- cold: ``--cold`` runs (default 2), each a fresh process with its own empty numba cache;
- warm: ``--repeat`` runs (default 5), fresh processes with the cache warm, median and spread
  ((max − min) / median), and their CPU time (both processes: the floor of the wall time on two
  cores is half of it);
- where the time of one warm run goes, in process: imports, market, ``run_fund``, metrics,
  and ``write_run`` (tables, charts and report, with the chart worker as the CLI uses it).

Run: ``python benchmarks/backtest_speed.py [--repeat 5] [--cold 2]``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import loop_seconds, state_line  # noqa: E402 - the sibling script

STAGES = r"""
import time
t0 = time.perf_counter()
marks = []
def lap(name):
    marks.append((name, time.perf_counter()))
from backtest.cli.backtest_cmd import DEFAULT_CONFIG, _load_spec
from backtest.fund.run import fund_benchmarks, fund_metrics, run_fund
from backtest.report.chart_pool import chart_workers, warm_up
from backtest.workers import result, submit
from backtest.report.outputs import write_run
from backtest.synthetic import synthetic_market
lap("imports")
spec = _load_spec(None, None)
with chart_workers() as pool:
    lap("chart worker started")
    m = spec.market
    market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    lap("synthetic market")
    future = submit(pool, fund_benchmarks, spec, market)
    submit(pool, warm_up)
    run = run_fund(spec, market)
    lap("run_fund")
    metrics = fund_metrics(run)
    bench = result(future, fund_benchmarks, spec, market)
    lap("metrics, and waiting for the worker's benchmarks")
    write_run(run, OUT, metrics, pool=pool, benchmarks=bench)
    lap("write_run (tables, charts, report)")
lap("worker stopped")
last = t0
for name, t in marks:
    print(f"  {name:<50} {t - last:6.2f} s   (at {t - t0:5.2f} s)")
    last = t
"""


def _run(cmd: list[str], env: dict, cpu: list | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user + system, the CLI and its helper
    process together: both are waited for) appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", type=int, default=2)
    args = parser.parse_args()
    before = loop_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "backtest.cli", "backtest", "--out", f"{tmp}/run",
               "--no-progress"]  # fmt: skip
        cold = []
        for k in range(args.cold):
            env = dict(os.environ, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-{k}")
            cold.append(_run(cmd, env))
        env = dict(os.environ, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-0")
        _run(cmd, env)  # the cache warm
        cpu: list[float] = []
        warm = [_run(cmd, env, cpu) for _ in range(args.repeat)]
        med = statistics.median(warm)
        print("cold (fresh process, empty numba cache)   "
              + ", ".join(f"{t:.1f}" for t in cold) + " s")  # fmt: skip
        print(f"warm (fresh process, numba cache warm)    median {med:.2f} s of {args.repeat}, "
              f"spread {(max(warm) - min(warm)) / med:.0%}  ("
              + ", ".join(f"{t:.2f}" for t in warm) + ")")  # fmt: skip
        print(f"  CPU time of those runs (both processes)  median {statistics.median(cpu):.2f} s: "
              "on two cores the wall time cannot be under half of it")  # fmt: skip
        print("one warm run, in a fresh process, by stage:")
        code = f"OUT = {f'{tmp}/stages'!r}\n" + STAGES
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        print(out.rstrip())
    print(state_line(before, loop_seconds()))


if __name__ == "__main__":
    main()
