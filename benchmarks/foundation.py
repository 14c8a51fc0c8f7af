"""Foundation figures: synthetic market generation, Parquet load, and import times.

Targets (issue: foundation): 20 years of the full synthetic market in < 30 s; loading it back
from Parquet in < 2 s; ``import backtest`` in < 2 s. Run: ``python benchmarks/foundation.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def timed_subprocess(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    base = timed_subprocess("pass")
    imp = timed_subprocess("import backtest")
    imp_market = timed_subprocess("import backtest.market, backtest.market.pricing")
    print(f"python start-up              {base:6.2f} s")
    print(f"import backtest              {imp - base:6.2f} s (beyond start-up)")
    print(f"import backtest.market+pricing {imp_market - base:4.2f} s (beyond start-up)")

    from backtest.data.folder import load_market
    from backtest.data.writer import write_market
    from backtest.synthetic.build import synthetic_market

    t0 = time.perf_counter()
    market = synthetic_market(seed=7, start="2005-01-03", end="2024-12-31")
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic_market(seed=7, start="2005-01-03", end="2024-12-31")
    warm = time.perf_counter() - t0
    print(
        f"synthetic market 2005-2024   {cold:6.2f} s first call, {warm:.2f} s second "
        f"({len(market.calendar)} days, {len(market.instruments)} instruments)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_market(market, f"{tmp}/m", format="parquet")
        wrote = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = load_market(f"{tmp}/m")
        load = time.perf_counter() - t0
        fresh = timed_subprocess(
            f"from backtest.data import load_market; load_market({tmp + '/m'!r})"
        )
    assert back.equals(market)
    print(f"write Parquet                {wrote:6.2f} s")
    print(
        f"load Parquet                 {load:6.2f} s in process, {fresh - base:.2f} s in a "
        "fresh process incl. imports (round trip exact)"
    )


if __name__ == "__main__":
    main()
