"""Single-strategy trend points computed together (backtest.research.trend_batch) give the rows
of the per-point path, whatever the batch and order, and are cached point by point."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from backtest.fund.spec import FundSpec, StrategySpec
from backtest.research import Evaluation, run_experiment
from backtest.research.evaluate import strategy_daily
from backtest.research.markets import SyntheticSource
from backtest.research.runner import Batch, Task, make_tasks, plan_units
from backtest.research.trend_batch import batchable, trend_daily, trend_positions
from strategies.quant.trend import Trend
from tests.backtest.research.conftest import (
    END,
    START,
    interrupted_run,
    small_experiment,
    strategy_experiment,
)

GRID = {
    "strategies.trend.params.speeds": [[[8, 32]], [[16, 64]], [[8, 32], [32, 128]]],
    "strategies.trend.params.forecast_cap": [20.0, 10.0],
    "strategies.trend.params.vol_span_days": [35, 20],
}

TRENDS = [
    Trend(speeds=((8, 32),)),
    Trend(speeds=((8, 32), (32, 128)), forecast_cap=10.0),
    Trend(speeds=((4, 16), (16, 64)), vol_target_annual=0.2, vol_span_days=20),
    Trend(speeds=((16, 64),), instrument_kinds=frozenset({"equity_index_future"})),
    Trend(),
]


@pytest.fixture(scope="module")
def market():
    return SyntheticSource(1, START, END).build()


@pytest.fixture(scope="module")
def per_point(tmp_path_factory):
    exp = strategy_experiment(grid=GRID)
    return run_experiment(exp, scheduler="serial", progress=False, batch=False)


def assert_rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal rows: keys and parameters exactly, metrics to 1e-12 relative."""
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0.0)


def test_batched_positions_equal_each_strategy_alone(market):
    for t, positions in zip(TRENDS, trend_positions(TRENDS, market), strict=True):
        alone = t.target_positions(market)
        pd.testing.assert_frame_equal(positions, alone, check_exact=False, rtol=1e-12, atol=0)
        assert np.abs(alone.to_numpy()).max() > 0.1  # a real book, not zeros on both sides


def test_a_point_does_not_depend_on_its_batch_or_order(market):
    together = trend_positions(TRENDS, market)
    backwards = trend_positions(TRENDS[::-1], market)[::-1]
    for k, t in enumerate(TRENDS):
        alone = trend_positions([t], market)[0]
        pd.testing.assert_frame_equal(together[k], alone, check_exact=True)
        pd.testing.assert_frame_equal(backwards[k], alone, check_exact=True)


def test_batched_experiment_equals_the_per_point_path(per_point):
    exp = strategy_experiment(grid=GRID)
    units = plan_units(make_tasks(exp, exp.points()), parts=1)
    assert len(units) == 1 and isinstance(units[0], Batch) and len(units[0].tasks) == 12
    batched = run_experiment(exp, scheduler="serial", progress=False)
    assert len(batched.table) == 12 and batched.table["sharpe_excess"].std() > 0
    assert_rows_equal(batched.table, per_point.table)
    for key, r in per_point.returns.items():
        pd.testing.assert_series_equal(batched.returns[key], r, check_exact=False, rtol=1e-12)


def test_grid_order_does_not_change_a_points_row(per_point):
    reordered = {path: values[::-1] for path, values in reversed(GRID.items())}
    exp = strategy_experiment(grid=reordered)
    table = run_experiment(exp, scheduler="serial", progress=False).table
    cols = list(GRID)
    a = per_point.table.drop(columns="point").sort_values(cols).reset_index(drop=True)
    b = table.drop(columns="point")[a.columns].sort_values(cols).reset_index(drop=True)
    assert_rows_equal(b, a)


def test_a_batch_caches_each_point_and_a_resume_skips_them(per_point, tmp_path):
    exp = strategy_experiment(grid=GRID)
    seen = interrupted_run(exp, tmp_path, after=5)
    computed = []
    again = run_experiment(exp, out=tmp_path, scheduler="serial", progress=False,
                           on_result=lambda r: computed.append(r.key))  # fmt: skip
    assert again.stats.computed == 7 and again.stats.cached == 5
    assert not set(computed) & set(seen)
    assert_rows_equal(again.table, per_point.table)


def test_units_batch_trend_points_by_market_and_leave_the_rest_alone():
    exp = strategy_experiment(grid=GRID, markets=(SyntheticSource(1, START, END),
                                                  SyntheticSource(2, START, END)))  # fmt: skip
    tasks = make_tasks(exp, exp.points())
    units = plan_units(tasks, parts=1)
    assert [len(u.tasks) for u in units] == [12, 12]
    assert all(len({t.market for t in u.tasks}) == 1 for u in units)
    four = plan_units(tasks, parts=4)  # two markets, four workers: two batches each
    assert [len(u.tasks) for u in four] == [6, 6, 6, 6]
    assert sorted(t.key for u in four for t in u.tasks) == sorted(t.key for t in tasks)
    assert plan_units(tasks, parts=4, batch=False) == tasks
    fund = small_experiment(seeds=(1,))
    fund_tasks = make_tasks(fund, fund.points())
    assert all(isinstance(u, Task) for u in plan_units(fund_tasks, parts=1))
    carry = strategy_experiment(
        base=FundSpec(strategies=(StrategySpec("fx_carry"),)),
        grid={"strategies.fx_carry.params.vol_target_annual": [0.1]},
    )
    assert not batchable(carry.points()[0].spec, carry.evaluation)
    halves = strategy_experiment(grid={"strategies.trend.params.speeds": [[[8, 32.5]]]})
    assert not batchable(halves.points()[0].spec, halves.evaluation)  # spans must be whole days
    assert batchable(strategy_experiment().points()[0].spec, Evaluation.STRATEGY)
    assert not batchable(strategy_experiment().points()[0].spec, Evaluation.FUND)
    assert all(isinstance(u, Task) for u in plan_units(make_tasks(carry, carry.points())))


def test_batched_daily_series_equal_the_standalone_evaluation(market):
    for t, daily in zip(TRENDS, trend_daily(TRENDS, market), strict=True):
        spec = FundSpec(strategies=(StrategySpec("trend", params=dataclasses.asdict(t)),))
        alone = strategy_daily(spec, market)
        for field in ("returns", "cash", "turnover", "costs", "breaches"):
            a, b = getattr(daily, field), getattr(alone, field)
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=0)
            assert a.index.equals(b.index)
        assert daily.turnover.sum() > 1.0 and np.nanstd(daily.returns) > 1e-4
