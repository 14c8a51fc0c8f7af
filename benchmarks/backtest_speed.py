"""Speed of the whole default `multistrat backtest` (LALT-like fund, 2005–2024 synthetic market).

Targets: under 60 s cold (fresh process, imports and numba JIT with an empty cache) and under
10 s warm (in process, second run). Run: ``python benchmarks/backtest_speed.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=f"{tmp}/numba-cache")
        cmd = [sys.executable, "-m", "backtest.cli", "backtest", "--out", f"{tmp}/run",
               "--no-progress"]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        cached = time.perf_counter() - t0
    print(f"cold (empty numba cache, fresh process)   {cold:6.1f} s")
    print(f"fresh process, numba cache warm           {cached:6.1f} s")

    from backtest.cli.backtest_cmd import DEFAULT_CONFIG
    from backtest.fund.run import fund_metrics, run_fund
    from backtest.fund.spec import FundSpec
    from backtest.report.outputs import write_run

    spec = FundSpec.from_toml(DEFAULT_CONFIG)
    run_fund(spec)
    stages = {}
    t0 = time.perf_counter()
    run = run_fund(spec)
    stages["run_fund"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    metrics = fund_metrics(run)
    with tempfile.TemporaryDirectory() as tmp:
        write_run(run, f"{tmp}/run", metrics, report=False)
    stages["metrics + outputs (incl. benchmark files)"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_run(run, f"{tmp}/run", metrics, report=True)
    stages["outputs with the report"] = time.perf_counter() - t2
    total = stages["run_fund"] + stages["metrics + outputs (incl. benchmark files)"]
    print(
        f"warm, in process, report excluded         {total:6.1f} s  "
        + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
    )


if __name__ == "__main__":
    main()
