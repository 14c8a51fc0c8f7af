"""Charts of a fund run, with matplotlib (no screen needed: matplotlib falls back to Agg on a
headless machine, and notebooks keep their inline backend).

Each function takes plain pandas objects and returns a matplotlib Figure; callers save or show
it. Fonts are readable at report size, axes labelled with units.
"""

from __future__ import annotations

import pandas as pd


def _plt():
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "axes.grid": True,
                         "grid.alpha": 0.3, "figure.dpi": 100})  # fmt: skip
    return plt


def nav_vs_benchmarks(nav_per_share: pd.Series, benchmarks: pd.DataFrame, title: str = ""):
    """Growth of $100: the fund's NAV per share against benchmark total-return levels."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5.5))
    base = nav_per_share.iloc[0]
    ax.plot(nav_per_share.index, 100 * nav_per_share / base, label="Fund (NAV per share)",
            linewidth=2.0, color="black")  # fmt: skip
    for name in benchmarks.columns:
        level = benchmarks[name].reindex(nav_per_share.index).ffill()
        ax.plot(level.index, 100 * level / level.iloc[0], label=name.replace("_", " "), alpha=0.8)
    ax.set_ylabel("Growth of $100 (USD)")
    ax.set_xlabel("Date")
    ax.set_title(title or "Fund NAV vs benchmarks")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def strategy_weights(weights: pd.DataFrame, title: str = ""):
    """Stacked area of allocator weights by strategy (fraction of net assets)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5))
    pos = weights.clip(lower=0.0)
    ax.stackplot(pos.index, pos.T.to_numpy(), labels=[c.replace("_", " ") for c in pos.columns],
                 alpha=0.85)  # fmt: skip
    ax.set_ylabel("Weight (fraction of net assets)")
    ax.set_xlabel("Date")
    ax.set_title(title or "Strategy weights")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def subsidiary_share(pct_total_assets: pd.Series, cap: float, quarter_ends: pd.DatetimeIndex):
    """The Subsidiary's share of total assets with the cap line and quarter-ends marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(pct_total_assets.index, 100 * pct_total_assets, label="Subsidiary / total assets")
    q = pct_total_assets.reindex(quarter_ends).dropna()
    ax.scatter(q.index, 100 * q, s=10, color="tab:red", label="fiscal quarter-ends", zorder=3)
    ax.axhline(100 * cap, color="tab:red", linestyle="--", label=f"{cap:.0%} cap")
    ax.set_ylabel("% of total assets")
    ax.set_xlabel("Date")
    ax.set_title("Subsidiary share of the fund's total assets")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
