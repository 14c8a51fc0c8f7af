"""Walk-forward selection: on each in-sample window choose the point with the best named metric,
hold it on the next out-of-sample window, and stitch the out-of-sample returns.

No look-ahead: the choice for window ``k`` reads only the ``train_k`` rows of the table, whose
figures come from causal runs on data up to the end of ``train_k``; the test is by truncation
(``tests/backtest/research/test_walkforward.py``: cut the market after a window and the choices
up to it do not change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class WalkForwardResult:
    """``choices``: one row per (market, k): ``market``, ``k``, ``point``, ``train_metric``,
    ``test_metric``, ``test_start``, ``test_end``; ``returns``: stitched out-of-sample daily
    returns, dates × markets (NaN outside a market's test windows)."""

    choices: pd.DataFrame
    returns: pd.DataFrame
    choose_by: str


def choose(train: pd.DataFrame, metric: str) -> int:
    """The ``point`` with the highest finite ``metric`` in ``train`` (ties: the lowest point)."""
    values = train[metric].to_numpy(dtype="float64")
    ok = np.isfinite(values)
    if not ok.any():
        return int(train["point"].min())
    best = values[ok].max()
    return int(train["point"][ok & (values == best)].min())


def walk_forward(
    table: pd.DataFrame, returns: Mapping[tuple[str, int], pd.Series], metric: str
) -> WalkForwardResult:
    """Choices and stitched returns from an experiment's table and return streams.

    ``table`` has columns ``market``, ``point``, ``window`` (``train_K`` / ``test_K``),
    ``window_start``, ``window_end`` and ``metric``; ``returns[(market, point)]`` is the daily
    return stream of that task on its market's calendar.
    """
    choices, stitched = [], {}
    for market, rows in table.groupby("market", sort=True):
        ks = sorted(int(w.split("_")[1]) for w in rows["window"].unique() if w.startswith("train_"))
        parts = []
        for k in ks:
            train = rows[rows["window"] == f"train_{k}"]
            test = rows[rows["window"] == f"test_{k}"]
            point = choose(train, metric)
            chosen_test = test[test["point"] == point].iloc[0]
            start, end = chosen_test["window_start"], chosen_test["window_end"]
            parts.append(returns[(market, point)].loc[start:end])
            choices.append(
                {
                    "market": market,
                    "k": k,
                    "point": point,
                    "train_metric": float(train.loc[train["point"] == point, metric].iloc[0]),
                    "test_metric": float(chosen_test[metric]),
                    "test_start": start,
                    "test_end": end,
                }
            )
        if parts:
            stitched[market] = pd.concat(parts)
    out = pd.DataFrame(stitched)
    out.index.name = "date"
    columns = ["market", "k", "point", "train_metric", "test_metric", "test_start", "test_end"]
    return WalkForwardResult(pd.DataFrame(choices, columns=columns), out, metric)
