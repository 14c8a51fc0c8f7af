"""The parts an experiment is made of, below the runner: how points are evaluated, the
walk-forward windows, a parameter point, and what the runner reads of an experiment
(:class:`Plan`, which :class:`backtest.research.experiment.Experiment` satisfies).

They live apart from :mod:`backtest.research.experiment` so that the experiment can run itself
(``Experiment.run`` calls the runner) while the runner imports only this module: the imports
of the research layer point one way (tests/test_layers.py checks there is no circle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from backtest.fund.spec import FundSpec
from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.research.markets import MarketSource


class SamplingMode(StrEnum):
    """``grid``: every combination of the values; ``random``: a seeded subset of them."""

    GRID = "grid"
    RANDOM = "random"


class Evaluation(StrEnum):
    """``fund``: the whole fund (:func:`backtest.fund.run_fund`); ``strategy``: the one
    strategy of the spec on its own capital (standalone returns, the allocator's input)."""

    FUND = "fund"
    STRATEGY = "strategy"


#: Metrics a walk-forward may choose by (columns of the result table; higher is better).
CHOOSABLE = ("sharpe_excess", "annual_return", "max_drawdown", "calmar")


@dataclass(frozen=True)
class WalkForward:
    """Rolling in-sample / out-of-sample windows, in years of 252 trading days.

    Window ``k`` (after the experiment's warm-up) trains on rows
    ``[k × test, k × test + train)`` and tests on the next ``test`` rows; the point with the
    highest ``choose_by`` on train window ``k`` is evaluated on test window ``k``.
    """

    train_years: float = 5.0
    test_years: float = 1.0
    choose_by: str = "sharpe_excess"

    def __post_init__(self) -> None:
        if self.train_years <= 0 or self.test_years <= 0:
            raise ValueError("walk_forward: train_years and test_years must be > 0")
        if self.choose_by not in CHOOSABLE:
            raise ValueError(f"walk_forward.choose_by: {self.choose_by!r}; known: {CHOOSABLE}")

    @property
    def train_days(self) -> int:
        return max(1, round(self.train_years * TRADING_DAYS_PER_YEAR))

    @property
    def test_days(self) -> int:
        return max(1, round(self.test_years * TRADING_DAYS_PER_YEAR))


@dataclass(frozen=True)
class Window:
    """Rows ``[first, stop)`` of a market's calendar, labelled ``full``, ``train_K``, ``test_K``."""

    label: str
    first: int
    stop: int


def windows(n_days: int, warmup_days: int, walk_forward: WalkForward | None) -> list[Window]:
    """The evaluation windows of a market of ``n_days`` rows: ``full`` (all rows after the
    warm-up), then each walk-forward pair that fits entirely."""
    if warmup_days >= n_days - 1:
        raise ValueError(f"warm-up of {warmup_days} days leaves nothing of a {n_days}-day market")
    out = [Window("full", warmup_days, n_days)]
    if walk_forward is None:
        return out
    train, test = walk_forward.train_days, walk_forward.test_days
    k = 0
    while warmup_days + k * test + train + test <= n_days:
        start = warmup_days + k * test
        out.append(Window(f"train_{k}", start, start + train))
        out.append(Window(f"test_{k}", start + train, start + train + test))
        k += 1
    return out


@dataclass(frozen=True)
class Point:
    """One parameter point: its values by path (normalised) and the checked spec."""

    params: tuple[tuple[str, Any], ...]
    spec: FundSpec

    @property
    def label(self) -> str:
        return ", ".join(f"{p}={v!r}" for p, v in self.params)


class Plan(Protocol):
    """What the runner reads of an experiment
    (:class:`~backtest.research.experiment.Experiment` is one)."""

    grid: Mapping[str, tuple]
    markets: tuple[MarketSource, ...]
    walk_forward: WalkForward | None
    evaluation: Evaluation
    warmup_days: int

    def points(self) -> list[Point]: ...
