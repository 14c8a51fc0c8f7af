"""The machine's state while a benchmark runs: a fixed pure-Python loop, timed.

The benchmark machine has quick and slow hours (shared hardware): the same run of the same
code can take twice as long. Each speed script prints this figure before and after its runs,
so that its timings can be read against the machine's state: ``sum(range(30_000_000))`` in a
fresh interpreter takes ~0.28 s when the machine is quick, 0.45–0.65 s when it is slow.
"""

from __future__ import annotations

import subprocess
import sys

LOOP = "import time; t = time.perf_counter(); sum(range(30_000_000)); print(time.perf_counter()-t)"


def loop_seconds() -> float:
    """Seconds of ``sum(range(30_000_000))`` in a fresh interpreter (this one's executable)."""
    done = subprocess.run([sys.executable, "-c", LOOP], capture_output=True, text=True, check=True)
    return float(done.stdout)


def state_line(before: float, after: float) -> str:
    """One line for a benchmark's output: the loop's time before and after its runs."""
    return (f"machine state: sum(range(30_000_000)) {before:.2f} s before, {after:.2f} s after "
            "(~0.28 s when the machine is quick, 0.45-0.65 s when slow)")  # fmt: skip
