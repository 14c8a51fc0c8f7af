"""Walk-forward: choices by the in-sample metric, stitched out-of-sample returns, no look-ahead
(cutting the market after a window leaves every choice up to it unchanged)."""

from __future__ import annotations

import pandas as pd

from backtest.research import run_experiment, synthetic_seeds
from tests.backtest.research.conftest import START, small_experiment


def test_choices_are_the_in_sample_best_and_returns_are_stitched(experiment):
    result = run_experiment(experiment, scheduler="serial", progress=False)
    wf = result.walk_forward
    table = result.table
    for _, c in wf.choices.iterrows():
        train = table[(table["market"] == c["market"]) & (table["window"] == f"train_{c['k']}")]
        assert c["point"] == train.loc[train["sharpe_excess"].idxmax(), "point"]
        r = result.returns[(c["market"], c["point"])].loc[c["test_start"] : c["test_end"]]
        pd.testing.assert_series_equal(
            wf.returns[c["market"]].loc[c["test_start"] : c["test_end"]], r, check_names=False
        )
    assert len(wf.choices) == 2 * 4
    stitched = wf.returns.iloc[:, 0].dropna()
    assert len(stitched) == 4 * 63 and stitched.index.is_monotonic_increasing


def test_no_look_ahead_by_truncation():
    long = small_experiment(seeds=(5,))
    # the same synthetic market (prefix-stable) cut a quarter earlier: one window pair fewer
    short = small_experiment(markets=synthetic_seeds((5,), START, "2020-09-30"))
    a = run_experiment(long, scheduler="serial", progress=False).walk_forward.choices
    b = run_experiment(short, scheduler="serial", progress=False).walk_forward.choices
    assert len(b) == len(a) - 1 >= 2
    cols = ["k", "point", "train_metric", "test_metric", "test_start", "test_end"]
    pd.testing.assert_frame_equal(a[cols].iloc[: len(b)], b[cols], check_exact=True)
