"""Charts of the report's tear-sheet sections: rolling Sharpe ratio and volatility, rolling
tracking error and information ratio, the return distribution, exposure and leverage, and the
strategies' correlations and risk shares.

As in :mod:`backtest.report.charts`: each function draws into the ``Figure`` or ``SubFigure`` it
is given, inputs are decimal, axes say their units, colours come from
:func:`backtest.report.charts.color`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.report.charts import FUND_COLOR, WINDOW_COLORS, color, dates, label


def _finish(ax, ylabel: str, title: str, legend: str | None = "upper left") -> None:
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend:
        ax.legend(loc=legend, fontsize="small")


def rolling_risk(fig, sharpe: pd.Series, vols: dict, target: float | None, window: int) -> None:
    """Two panels: the fund's rolling Sharpe ratio over ``window`` days; its rolling annualised
    volatility (%) over each window of ``vols`` (days → Series) with the volatility target."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(dates(sharpe.index), sharpe, color=FUND_COLOR, linewidth=1.2, label="Fund")
    top.axhline(0.0, color="grey", linewidth=0.8)
    _finish(top, "Sharpe ratio", f"Rolling {window}-day Sharpe ratio over cash", None)
    for (w, v), c in zip(vols.items(), WINDOW_COLORS, strict=False):
        bottom.plot(dates(v.index), 100.0 * v, color=c, linewidth=1.0 + (w == window),
                    label=f"{w}-day window")  # fmt: skip
    if target is not None:
        bottom.axhline(100.0 * target, color="tab:red", linestyle="--",
                       label=f"volatility target {target:.0%}")  # fmt: skip
    _finish(bottom, "Volatility (% a year)", "Rolling annualised volatility of the fund")


def rolling_relative(fig, te: pd.Series, ir: pd.Series, name: str, window: int) -> None:
    """Two panels: rolling tracking error (%) and information ratio of the fund against ``name``."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(dates(te.index), 100.0 * te, color=color(name), linewidth=1.2)
    _finish(top, "Tracking error (% a year)",
            f"Rolling {window}-day tracking error to {label(name)}", None)  # fmt: skip
    bottom.plot(dates(ir.index), ir, color=color(name), linewidth=1.2)
    bottom.axhline(0.0, color="grey", linewidth=0.8)
    _finish(bottom, "Information ratio",
            f"Rolling {window}-day information ratio to {label(name)}", None)  # fmt: skip


def return_histogram(fig, returns: pd.DataFrame, var: float) -> None:
    """Histogram of daily returns (%): the first column filled, the others as outlines; the
    first column's 95% VaR as a dashed line."""
    ax = fig.subplots()
    values = 100.0 * returns.stack().to_numpy()
    lo, hi = np.nanpercentile(values, [0.1, 99.9]) if values.size else (-1.0, 1.0)
    bins = np.linspace(lo, hi, 81)
    for k, name in enumerate(returns.columns):
        v = 100.0 * returns[name].dropna().to_numpy()
        style = {"histtype": "stepfilled", "alpha": 0.45} if k == 0 else {"histtype": "step"}
        ax.hist(np.clip(v, lo, hi), bins=bins, density=True, color=color(name),
                label=label(name), linewidth=1.2, **style)  # fmt: skip
    ax.axvline(100.0 * var, color="tab:red", linestyle="--", label=f"fund VaR 95% {var:.2%}")
    ax.set_xlabel("Daily return (%), tails clipped at the 0.1% and 99.9% quantiles")
    _finish(ax, "Density", "Distribution of daily returns")


def exposure(fig, gross: pd.DataFrame, net: pd.DataFrame, leverage: pd.Series | None) -> None:
    """Two panels: gross exposure by asset class (stacked, % of net assets) with the gross
    leverage of the limit checks; net exposure by asset class (%)."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.stackplot(dates(gross.index), 100.0 * gross.T.to_numpy(), labels=[label(c) for c in gross],
                  colors=[color(c) for c in gross], alpha=0.8)  # fmt: skip
    if leverage is not None:
        top.plot(dates(leverage.index), 100.0 * leverage, color=FUND_COLOR, linewidth=1.0,
                 label="gross leverage (limit check)")  # fmt: skip
    _finish(top, "% of net assets", "Gross exposure by asset class")
    top.legend(loc="upper left", fontsize="small", ncols=4)
    for c in net:
        bottom.plot(dates(net.index), 100.0 * net[c], color=color(c), linewidth=1.0, label=label(c))
    bottom.axhline(0.0, color="grey", linewidth=0.8)
    _finish(bottom, "% of net assets", "Net exposure by asset class")
    bottom.legend(loc="upper left", fontsize="small", ncols=4)


def strategy_risk(fig, corr: pd.DataFrame, shares: pd.DataFrame) -> None:
    """Left: the correlation matrix of the strategies' daily returns; right: bars of each
    strategy's risk share (%) by kind (columns of ``shares``)."""
    left, right = fig.subplots(1, 2, width_ratios=[1.0, 1.3])
    values = corr.to_numpy(dtype="float64")
    image = left.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    names = [label(c) for c in corr.columns]
    left.set_xticks(range(len(names)), names, rotation=30, ha="right")
    left.set_yticks(range(len(names)), names)
    for (i, j), v in np.ndenumerate(values):
        left.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize="small")
    left.grid(False)
    left.set_title("Correlation of daily returns")
    fig.colorbar(image, ax=left, shrink=0.8)
    x = np.arange(len(shares.index))
    width = 0.8 / max(1, len(shares.columns))
    for k, col in enumerate(shares.columns):
        right.bar(x + (k - (len(shares.columns) - 1) / 2) * width, 100.0 * shares[col], width,
                  label=label(col), color=WINDOW_COLORS[k % 2] if k < 2 else "tab:red")  # fmt: skip
    right.set_xticks(x, [label(i) for i in shares.index], rotation=30, ha="right")
    right.axhline(0.0, color="grey", linewidth=0.8)
    _finish(right, "% of the strategies' risk", "Risk shares of the strategies")
