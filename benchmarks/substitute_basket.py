"""Cost and figures of the semi-transparent mode on the default fund (LALT-like, 2007–2024).

Prints the median of three timings of :func:`backtest.fund.basket.fund_baskets` (every day's
basket and its measures; the transparent default computes none of it) next to ``run_fund``,
then the figures of the note: realised and ex-ante tracking error, overlap, guardrail hit rate
and the reverse-engineering score in both modes. Run: ``python benchmarks/substitute_basket.py``.
"""

from __future__ import annotations

import dataclasses
import statistics
import time


def main() -> None:
    from backtest.analytics.substitute_basket import DisclosurePolicy
    from backtest.cli.backtest_cmd import DEFAULT_CONFIG
    from backtest.fund.basket import fund_baskets
    from backtest.fund.run import run_fund
    from backtest.fund.spec import FundSpec

    base = FundSpec.from_toml(DEFAULT_CONFIG)
    policy = dataclasses.replace(base.disclosure, policy=DisclosurePolicy.SUBSTITUTE_BASKET)
    spec = dataclasses.replace(base, disclosure=policy)
    run = run_fund(spec)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run = run_fund(spec)
        times.append(time.perf_counter() - t0)
    print(f"run_fund (warm)                    median {statistics.median(times):6.2f} s")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        baskets = fund_baskets(run)
        times.append(time.perf_counter() - t0)
    days = len(baskets.summary)
    print(f"fund_baskets, {days} days          median {statistics.median(times):6.2f} s")
    for key, value in baskets.headline.items():
        print(f"  {key:34s} {value:.6g}")
    print(baskets.scores.to_string())


if __name__ == "__main__":
    main()
