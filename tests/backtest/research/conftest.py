"""A small experiment shared by the research tests: two-year synthetic markets, a few points."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.fund.spec import FundSpec, StrategySpec
from backtest.research import Evaluation, Experiment, WalkForward, run_experiment, synthetic_seeds
from backtest.research.study import POINTS_DIR

START, END = "2019-01-02", "2020-12-31"


def small_fund() -> FundSpec:
    """Two cheap strategies, so a point takes well under a second on two years."""
    return FundSpec(strategies=(StrategySpec("trend"), StrategySpec("fx_carry")))


def small_experiment(seeds=(1, 2), **changes) -> Experiment:
    kwargs = dict(
        base=small_fund(),
        grid={
            "allocator.vol_target_annual": [0.06, 0.10],
            "allocator.method": ["equal_risk_contribution", "inverse_volatility"],
        },
        markets=synthetic_seeds(seeds, START, END),
        walk_forward=WalkForward(train_years=0.5, test_years=0.25),
        warmup_days=126,
    )
    kwargs.update(changes)
    return Experiment(**kwargs)


def strategy_experiment(**changes) -> Experiment:
    kwargs = dict(
        base=FundSpec(strategies=(StrategySpec("trend"),)),
        grid={"strategies.trend.params.speeds": [[[8, 32]], [[16, 64]], [[32, 128]]]},
        markets=synthetic_seeds((1,), START, END),
        evaluation=Evaluation.STRATEGY,
        warmup_days=126,
    )
    kwargs.update(changes)
    return Experiment(**kwargs)


class Interrupt(Exception):
    pass


def interrupted_run(exp: Experiment, out: Path, after: int) -> list[str]:
    """Run ``exp`` serially into ``out`` and stop it (an exception) once ``after`` points are
    done: the keys of those points, each of which must be cached on disk by then."""
    seen = []

    def stop(result):
        seen.append(result.key)
        if len(seen) == after:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_experiment(exp, out=out, scheduler="serial", progress=False, on_result=stop)
    assert len(list((out / POINTS_DIR).glob("*.json"))) == after
    return seen


@pytest.fixture(scope="module")
def experiment() -> Experiment:
    return small_experiment()
