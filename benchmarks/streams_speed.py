"""The strategies' share of one fund run: each default strategy's positions and the standalone
stream parts (:func:`backtest.market.returns.exposure_returns`,
:func:`backtest.engine.costs.exposure_costs`) on a fresh 20-year market, as ``run_fund`` computes
them (``backtest.fund.run.strategy_streams``): every market cache starts empty, as in the
nightly job's fresh process.

Each round builds a new market (not timed), then times ``cached_positions`` of each strategy of
``examples/lalt.toml`` and its two stream parts; the first round (numba loading, imports) is left
out. The process is set up as the nightly command's (numpy's arrays on ordinary pages, freed
memory kept for reuse, imported modules frozen out of the collector). Prints the median over
``--rounds`` of each figure in ms and the total. The machine is
shared: compare figures of runs made close together, or interleave two checkouts' runs
(``PYTHONPATH=<checkout> python benchmarks/streams_speed.py``).

Run: ``python benchmarks/streams_speed.py [--rounds 7]``. Prints the figures; asserts nothing.
"""

from __future__ import annotations

from backtest.workers import reuse_freed_memory, small_pages

small_pages()  # the nightly command's process settings, before numpy is imported
reuse_freed_memory()

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from backtest.engine.costs import exposure_costs  # noqa: E402
from backtest.fund.spec import FundSpec  # noqa: E402
from backtest.market.returns import exposure_returns  # noqa: E402
from backtest.synthetic.build import synthetic_market  # noqa: E402
from strategies import cached_positions, registry  # noqa: E402

SPEC = Path(__file__).resolve().parents[1] / "examples" / "lalt.toml"


def one_round(spec: FundSpec) -> dict[str, float]:
    """Seconds of each part on a fresh market."""
    m = spec.market
    market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    gc.collect()
    out: dict[str, float] = defaultdict(float)
    for s in spec.strategies:
        strategy = registry[s.name](**s.params)
        t0 = time.perf_counter()
        positions = cached_positions(strategy, market)
        t1 = time.perf_counter()
        exposure_returns(positions, market)
        t2 = time.perf_counter()
        exposure_costs(positions, market, spec.fund)
        t3 = time.perf_counter()
        out[f"positions {s.column}"] = t1 - t0
        out["exposure_returns"] += t2 - t1
        out["exposure_costs"] += t3 - t2
    out["total"] = sum(v for k, v in out.items())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    spec = FundSpec.from_toml(SPEC)
    gc.freeze()  # the imported modules out of the collector's passes, as the commands do
    one_round(spec)  # warm-up
    runs = [one_round(spec) for _ in range(args.rounds)]
    print(f"{'part':<40}{'median ms':>10}   ({args.rounds} fresh markets)")
    for key in runs[0]:
        print(f"{key:<40}{statistics.median(r[key] for r in runs) * 1000:10.1f}")


if __name__ == "__main__":
    main()
