"""Speed of the nightly job: a 20-year catch-up, one more day, and a run with nothing to do.

The default LALT-like fund (examples/lalt.toml, synthetic market 2005–2024): the catch-up books
every business day from inception to 2024-12-30 into a fresh state (one transaction per day,
three files per day), then 2024-12-31 is booked as a normal nightly run, then that day again
(nothing to do). Target: the catch-up in minutes, not hours. Each run is a fresh process, as
from cron. Run: ``python benchmarks/nightly_catchup.py [--config FUND.toml]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "lalt.toml"


def _run(config: Path, asof: str, root: Path) -> float:
    cmd = [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof", asof,
           "--state", str(root / "nightly.sqlite"), "--out", str(root / "out")]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 3):
        raise SystemExit(f"nightly failed ({done.returncode}): {done.stderr}")
    print(done.stdout.strip().replace("\n", "\n    "))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--last", default="2024-12-31", help="the day booked on its own")
    parser.add_argument("--before", default="2024-12-30", help="the end of the catch-up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        catchup = _run(args.config, args.before, root)
        with sqlite3.connect(root / "nightly.sqlite") as conn:
            days = conn.execute("SELECT COUNT(*) FROM days").fetchone()[0]
        one = _run(args.config, args.last, root)
        noop = _run(args.config, args.last, root)
        size_mb = (root / "nightly.sqlite").stat().st_size / 1e6
        files = len(list((root / "out").iterdir()))
    print()
    print(f"catch-up of {days} business days       {catchup:8.1f} s  ({days / catchup:.0f} days/s)")
    print(f"one more day (fresh process)          {one:8.1f} s")
    print(f"nothing to do (same day again)        {noop:8.1f} s")
    print(f"state database {size_mb:.0f} MB, {files} files written")


if __name__ == "__main__":
    main()
