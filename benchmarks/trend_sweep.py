"""Trend parameter sweep and strategy timings on the 20-year synthetic market.

A 10 × 10 grid of single-speed EWMA-crossover trend strategies (fast span × slow/fast multiplier)
computed in one batch by :func:`backtest.research.trend_batch.trend_positions` (the code that
was here, now the package's: vectorbt's numba EWMA kernel once per distinct span, the prices,
vols and returns once, the forecast scaling, capping, inverse-vol weights and vol targeting
per point, the strategy's own arithmetic). Experiments use the same path for single-strategy
trend points (``backtest.research.runner``). One grid point is checked against
``Trend(speeds=((fast, slow),))`` to the last digit.

Prints the Sharpe ratio of every grid point, the sweep time (target < 10 s), the time of each
registered strategy of this package on 20 years after warm-up (target < 3 s in all), and saves a
heatmap of Sharpe by speed to ``--out``::

    python benchmarks/trend_sweep.py --out benchmarks/out/trend_sweep.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns, instrument_returns
from backtest.research.trend_batch import trend_positions
from strategies.carry import CommodityCarry, EquityCarry, FxCarry, MultiAssetCarry, RatesCarry
from strategies.quant.momentum import CrossSectionalMomentum
from strategies.quant.trend import Trend

FAST_SPANS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
SLOW_MULTIPLIERS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0)
COST_BPS = 2.0
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "trend_sweep.png"


def _book_returns(positions: np.ndarray, returns: np.ndarray, cost_bps: float) -> np.ndarray:
    """Daily returns (n,) of exposures (n, m), lag as :func:`exposure_returns` (decide t,
    trade t+1, earn from t+2), cost on turnover."""
    held = np.zeros_like(positions)
    held[2:] = positions[:-2]
    traded = np.zeros_like(positions)
    traded[1:] = positions[:-1]
    turnover = np.abs(np.diff(traded, axis=0, prepend=0.0)).sum(axis=1)
    return (held * returns).sum(axis=1) - turnover * cost_bps / 1e4


def sweep(
    market: MarketData,
    fast_spans=FAST_SPANS,
    multipliers=SLOW_MULTIPLIERS,
    base: Trend | None = None,
) -> tuple[pd.DataFrame, dict[tuple[int, int], np.ndarray]]:
    """Annualised Sharpe (fast × multiplier) of single-speed trend, and positions of each point.

    Positions are returned for the caller's checks as {(fast, slow): ndarray (n_dates, m)}.
    """
    base = base or Trend()
    speeds = [(f, k, max(int(round(f * k)), f + 1)) for f in fast_spans for k in multipliers]
    trends = [
        Trend(speeds=((f, s),), forecast_cap=base.forecast_cap,
              vol_target_annual=base.vol_target_annual, instrument_kinds=base.instrument_kinds,
              vol_span_days=base.vol_span_days)
        for f, _, s in speeds
    ]  # fmt: skip
    positions = trend_positions(trends, market)
    r_np = instrument_returns(market, base.instrument_ids(market)).fillna(0.0).to_numpy()
    sharpe = pd.DataFrame(index=pd.Index(fast_spans, name="fast_span"), dtype=float)
    kept: dict[tuple[int, int], np.ndarray] = {}
    for (f, k, s), pos in zip(speeds, positions, strict=True):
        pnl = _book_returns(pos.to_numpy(), r_np, COST_BPS)[300:]
        sharpe.loc[f, k] = pnl.mean() / pnl.std() * np.sqrt(TRADING_DAYS_PER_YEAR)
        kept[(f, s)] = pos.to_numpy()
    sharpe.columns.name = "slow_multiplier"
    return sharpe, kept


def check_against_strategy(market: MarketData, kept: dict, fast: int, slow: int) -> float:
    """Largest absolute difference between a sweep point and the Trend strategy's positions."""
    pos = Trend(speeds=((fast, slow),)).target_positions(market).to_numpy()
    return float(np.max(np.abs(pos - kept[(fast, slow)])))


def time_strategies(market: MarketData) -> dict[str, float]:
    """Seconds per strategy on ``market`` (each run once to warm up, then timed)."""
    out = {}
    for strat in (
        FxCarry(), RatesCarry(), EquityCarry(), CommodityCarry(), MultiAssetCarry(), Trend(),
        CrossSectionalMomentum(),
    ):  # fmt: skip
        strat.target_positions(market)
        t0 = time.perf_counter()
        strat.target_positions(market)
        out[type(strat).__name__] = time.perf_counter() - t0
    return out


def save_heatmap(sharpe: pd.DataFrame, out: Path) -> None:
    """Heatmap of Sharpe by fast span (rows) and slow multiplier (columns), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 6))
    lim = float(np.nanmax(np.abs(sharpe.to_numpy())))
    im = ax.imshow(sharpe.to_numpy(), cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(sharpe.shape[1]), [f"{c:g}" for c in sharpe.columns])
    ax.set_yticks(range(sharpe.shape[0]), [str(i) for i in sharpe.index])
    ax.set_xlabel("slow span / fast span")
    ax.set_ylabel("fast EWMA span (days)")
    ax.set_title("Single-speed EWMAC trend: Sharpe, synthetic market (20 y, 2 bp costs)")
    for (i, j), v in np.ndenumerate(sharpe.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="annualised Sharpe")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG path ({DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from backtest.synthetic.build import synthetic_market

    t0 = time.perf_counter()
    market = synthetic_market(args.seed)
    print(f"synthetic market (seed {args.seed}, {len(market.calendar)} days): "
          f"{time.perf_counter() - t0:.2f} s")  # fmt: skip
    t0 = time.perf_counter()
    sweep(market, FAST_SPANS[:1], SLOW_MULTIPLIERS[:1])  # warm-up: imports, numba caches
    print(f"warm-up (vectorbt import, numba): {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    sharpe, kept = sweep(market)
    elapsed = time.perf_counter() - t0
    n_points = sharpe.size
    fmt = ("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.2f}".format)
    with pd.option_context(*fmt):
        print(f"\nSharpe by fast span (rows) and slow multiplier (columns), {n_points} points:")
        print(sharpe)
    print(f"sweep: {n_points} grid points in {elapsed:.2f} s (target < 10 s)")
    diff = check_against_strategy(market, kept, 16, 64)
    print(f"sweep point (16, 64) vs Trend(speeds=((16, 64),)): max |diff| = {diff:.2e}")

    times = time_strategies(market)
    print("\nstrategy timings on 20 years (after warm-up):")
    for name, sec in times.items():
        print(f"  {name:24s} {sec:6.3f} s")
    print(f"  {'total':24s} {sum(times.values()):6.3f} s (target < 3 s)")

    ret = exposure_returns(Trend().target_positions(market), market, cost_bps=COST_BPS)
    ret = ret.iloc[300:]
    print(f"\ndefault Trend: Sharpe {ret.mean() / ret.std() * np.sqrt(TRADING_DAYS_PER_YEAR):.2f}")
    save_heatmap(sharpe, args.out)
    print(f"heatmap saved to {args.out}")


if __name__ == "__main__":
    main()
