"""Speed of the nightly job: a 20-year catch-up, one more day, and a run with nothing to do.

The default LALT-like fund (examples/lalt.toml, synthetic market 2005–2024): the catch-up books
every business day from inception to 2024-12-30 into a fresh state (one transaction per day,
three files per day); then 2024-12-31 is booked as a normal nightly run, ``--repeat`` times,
each on a fresh copy of the caught-up state and its files (median and range); then that day
again (nothing to do), ``--repeat`` times; then the start-up floor, ``--repeat`` times: a fresh
process that imports the job's modules and starts numba, and does nothing else (no run that
books a day can be quicker: one more day less this is the job's own work). Targets: the
catch-up in minutes, not hours; one more day <= 2 s. Each run is a fresh process, as from cron.
Run:
``python benchmarks/nightly_catchup.py [--config FUND.toml] [--repeat 5] [--data DIR]``.

``--data DIR`` reads the market from a data folder, as a fund in production does, instead of
generating the config's synthetic market in each run; a folder of that same market, written
with ``multistrat data synthetic --seed 7 --start 2005-01-03 --end 2024-12-31 --out DIR``
(``examples/lalt.toml``'s ``[market]``), books the same NAVs, so the difference of the two
timings is the cost of reading and checking the files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import loop_seconds, state_line  # noqa: E402 - the sibling script

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "lalt.toml"


def _run(config: Path, asof: str, root: Path, data: Path | None, quiet: bool = False) -> float:
    cmd = [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof", asof,
           "--state", str(root / "nightly.sqlite"), "--out", str(root / "out")]  # fmt: skip
    if data is not None:
        cmd += ["--data", str(data)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 3):
        raise SystemExit(f"nightly failed ({done.returncode}): {done.stderr}")
    if not quiet:
        print(done.stdout.strip().replace("\n", "\n    "))
    return seconds


#: a fresh process that does what every run of the job does before its own work: import the
#: job's modules (as ``backtest.cli`` does when the command runs) and start numba (its first
#: cached kernel: registries, runtime, the BLAS check that imports scipy.linalg), then exit as
#: the console script does, without the interpreter's tear-down
FLOOR = """
import os
import numpy as np
import backtest.ops.nightly, backtest.fund.run
from strategies.rolling import ewm_mean
ewm_mean(np.ones(3), 2.0)
os._exit(0)
"""


def _floor() -> float:
    """Seconds of :data:`FLOOR` in a fresh process: no run that books a day can take less."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR], check=True)
    return time.perf_counter() - t0


def _median(times: list[float]) -> str:
    spread = f"{min(times):.2f}..{max(times):.2f}, {len(times)} runs"
    return f"{statistics.median(times):8.2f} s  ({spread})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--last", default="2024-12-31", help="the day booked on its own")
    parser.add_argument("--before", default="2024-12-30", help="the end of the catch-up")
    parser.add_argument("--repeat", type=int, default=5, help="runs of one more day / nothing")
    parser.add_argument("--data", type=Path, help="a market data folder (default: synthetic)")
    args = parser.parse_args()
    before = loop_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        base, work = Path(tmp) / "base", Path(tmp) / "work"
        catchup = _run(args.config, args.before, base, args.data)
        with sqlite3.connect(base / "nightly.sqlite") as conn:
            days = conn.execute("SELECT COUNT(*) FROM days").fetchone()[0]
        one = []
        for i in range(args.repeat):  # each on a fresh copy of the caught-up state and files
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base, work)
            # on disk before the run, as last night's state is: else the job's first commit
            # (fdatasync) also writes out the ~160 MB just copied (~60 ms, not the job's work)
            os.sync()
            one.append(_run(args.config, args.last, work, args.data, quiet=i > 0))
        noop = [_run(args.config, args.last, work, args.data, quiet=i > 0)
                for i in range(args.repeat)]  # fmt: skip
        floor = [_floor() for _ in range(args.repeat)]
        size_mb = (work / "nightly.sqlite").stat().st_size / 1e6
        files = len(list((work / "out").iterdir()))
    print()
    print(f"catch-up of {days} business days       {catchup:8.1f} s  ({days / catchup:.0f} days/s)")
    print(f"one more day (fresh process)          {_median(one)}")
    print(f"nothing to do (same day again)        {_median(noop)}")
    print(f"start-up floor (imports, numba start) {_median(floor)}")
    print(f"state database {size_mb:.0f} MB, {files} files written")
    print(state_line(before, loop_seconds()))


if __name__ == "__main__":
    main()
