"""Time every registered strategy on the 20-year synthetic market (after warm-up), and print
each one's standalone figures (Sharpe, volatility, max drawdown, correlation to the equity index).

Target: all built-in strategies together under 3 s after warm-up. Run:
``python benchmarks/strategies_speed.py``.
"""

from __future__ import annotations

import time

from backtest.analytics import metrics as M
from backtest.market.returns import exposure_returns
from backtest.synthetic.build import synthetic_market
from strategies import registry, run_strategy


def main() -> None:
    market = synthetic_market(seed=7)
    equity = market.benchmarks["equity_index"].pct_change()
    for name in registry:  # warm-up: numba compilation and caches
        run_strategy(registry[name](), market)
    total = 0.0
    rows = []
    for name in registry:
        t0 = time.perf_counter()
        positions = run_strategy(registry[name](), market)
        elapsed = time.perf_counter() - t0
        total += elapsed
        r = exposure_returns(positions, market, cost_bps=2.0).iloc[300:]
        rows.append((name, elapsed, M.sharpe_ratio(r), M.annual_volatility(r),
                     M.max_drawdown(r), M.correlation(r, equity)))  # fmt: skip
    print(f"{'strategy':<24}{'time s':>8}{'Sharpe':>8}{'vol':>8}{'max DD':>9}{'corr eq':>9}")
    for name, t, sr, vol, mdd, corr in rows:
        print(f"{name:<24}{t:8.2f}{sr:8.2f}{vol:8.1%}{mdd:9.1%}{corr:9.2f}")
    print(f"all {len(rows)} registered strategies: {total:.2f} s (target < 3 s)")


if __name__ == "__main__":
    main()
