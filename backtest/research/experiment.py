"""What an experiment is: a base fund spec, parameters to vary, markets, windows.

An :class:`Experiment` only stores its parameters; :meth:`Experiment.points` builds and checks
the spec of every parameter point up front (a bad path or value is refused before anything
runs, naming the path); :meth:`Experiment.run` runs it and returns the table
(:func:`backtest.research.study.run_experiment` returns everything: table, return streams,
walk-forward). The windows, points and evaluation kinds live in :mod:`.design` (re-exported
here). TOML form
(``examples/experiment.toml``)::

    base = "lalt.toml"                 # a FundSpec file, relative to this file
    evaluation = "fund"                # or "strategy": the single strategy of base, standalone
    warmup_days = 252

    [grid]                             # dotted paths (backtest.research.paths) -> values
    "allocator.vol_target_annual" = [0.06, 0.10]

    [sampling]                         # optional: mode "grid" (default) or "random"
    mode = "random"
    n_points = 20
    seed = 0

    [markets]                          # one of: synthetic seeds, a folder, bootstrap paths
    synthetic_seeds = [0, 1, 2]
    start = "2015-01-02"
    end = "2019-12-31"
    # folder = "data/market"           # a dataset; with bootstrap_paths = N: N resampled paths
    # mean_block_days = 20

    [walk_forward]                     # optional
    train_years = 2
    test_years = 1
    choose_by = "sharpe_excess"
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.fund.spec import FundSpec
from backtest.research.design import (
    CHOOSABLE,
    Evaluation,
    Point,
    SamplingMode,
    WalkForward,
    Window,
    windows,
)
from backtest.research.markets import (
    FolderSource,
    MarketSource,
    SyntheticSource,
    bootstrap_paths,
    synthetic_seeds,
)
from backtest.research.paths import apply, normalise
from backtest.research.study import ExperimentResult, run_experiment

__all__ = [
    "CHOOSABLE",
    "Evaluation",
    "Experiment",
    "Point",
    "SamplingMode",
    "WalkForward",
    "Window",
    "from_dict",
    "windows",
]


@dataclass(frozen=True)
class Experiment:
    """A sweep of ``base`` over ``grid`` on ``markets`` (see the module docstring).

    Parameters
    ----------
    base : FundSpec
    grid : mapping path → sequence of values
        Dotted paths of :mod:`backtest.research.paths`; an empty grid is the base spec alone.
    markets : tuple of MarketSource
    walk_forward : WalkForward, optional
    sampling : SamplingMode
    n_points : int, optional
        Number of points drawn without replacement in ``random`` mode.
    seed : int
        Seed of the random sampling.
    evaluation : Evaluation
    warmup_days : int
        Leading trading days of each market left out of every window (signals and the
        allocator's lookback warm up).
    """

    base: FundSpec
    grid: Mapping[str, tuple] = field(default_factory=dict)
    markets: tuple[MarketSource, ...] = (SyntheticSource(7),)
    walk_forward: WalkForward | None = None
    sampling: SamplingMode = SamplingMode.GRID
    n_points: int | None = None
    seed: int = 0
    evaluation: Evaluation = Evaluation.FUND
    warmup_days: int = 252

    def __post_init__(self) -> None:
        grid = {str(k): tuple(normalise(v) for v in vs) for k, vs in dict(self.grid).items()}
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "markets", tuple(self.markets))
        object.__setattr__(self, "sampling", SamplingMode(self.sampling))
        object.__setattr__(self, "evaluation", Evaluation(self.evaluation))
        empty = [k for k, vs in grid.items() if not vs]
        if empty:
            raise ValueError(f"grid: no values for {empty}")
        if not self.markets:
            raise ValueError("markets: at least one market is needed")
        if self.warmup_days < 0:
            raise ValueError("warmup_days must be >= 0")
        if self.evaluation is Evaluation.STRATEGY and len(self.base.strategies) != 1:
            raise ValueError("evaluation 'strategy' needs a base spec with exactly one strategy")
        if self.sampling is SamplingMode.RANDOM and not (self.n_points and self.n_points > 0):
            raise ValueError("sampling 'random' needs n_points > 0")

    def points(self) -> list[Point]:
        """Every parameter point with its checked spec, in grid order (``ValueError`` naming
        the path of the first refused value)."""
        paths = list(self.grid)
        combos = list(itertools.product(*(self.grid[p] for p in paths)))
        if self.sampling is SamplingMode.RANDOM and self.n_points < len(combos):
            rng = np.random.default_rng(self.seed)
            keep = sorted(rng.choice(len(combos), size=self.n_points, replace=False))
            combos = [combos[k] for k in keep]
        out = []
        for values in combos:
            params = tuple(zip(paths, values, strict=True))
            out.append(Point(params, apply(self.base, dict(params))))
        return out

    def run(
        self,
        scheduler=None,
        out: str | Path | None = None,
        workers: int | None = None,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Run the experiment and return its tidy table (one row per point × market × window:
        parameters and metrics, :class:`~backtest.research.study.ExperimentResult`).

        ``scheduler``: None (a local Dask cluster of ``workers`` processes, default all cores),
        a scheduler address (``"tcp://host:8786"``), a ``distributed.Client``, or ``"serial"``.
        ``out``: a folder caching every finished task (a re-run resumes). The return streams,
        walk-forward and run statistics: :meth:`result`.
        """
        return self.result(scheduler, out, workers, progress).table

    def result(
        self,
        scheduler=None,
        out: str | Path | None = None,
        workers: int | None = None,
        progress: bool = True,
    ) -> ExperimentResult:
        """Run the experiment: table, return streams, walk-forward and run statistics
        (:func:`backtest.research.study.run_experiment`; arguments as :meth:`run`)."""
        return run_experiment(self, out=out, scheduler=scheduler, workers=workers,
                              progress=progress)  # fmt: skip

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        """Read an experiment file; ``ValueError`` naming the file and the key on bad input."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"{path}: experiment file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        try:
            return from_dict(doc, path.parent)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: {exc}") from None


KNOWN_KEYS = {"base", "grid", "sampling", "markets", "walk_forward", "evaluation", "warmup_days"}


def from_dict(doc: Mapping[str, Any], root: Path = Path(".")) -> Experiment:
    """An :class:`Experiment` from the TOML tables of the module docstring."""
    unknown = sorted(set(doc) - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; known: {sorted(KNOWN_KEYS)}")
    base = doc.get("base")
    if isinstance(base, str):
        spec = FundSpec.from_toml(root / base)
    elif isinstance(base, Mapping):
        spec = FundSpec.from_dict(dict(base), source="base")
    else:
        raise ValueError("base: a FundSpec file name or an inline table is needed")
    sampling = dict(doc.get("sampling", {}))
    _only(sampling, {"mode", "n_points", "seed"}, "sampling")
    wf = doc.get("walk_forward")
    if wf is not None:
        _only(wf, {"train_years", "test_years", "choose_by"}, "walk_forward")
    grid = doc.get("grid", {})
    if not isinstance(grid, Mapping):
        raise ValueError("grid: a table of path = [values] is needed")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise ValueError(f"grid.{key}: a list of values is needed, got {values!r}")
    return Experiment(
        base=spec,
        grid=grid,
        markets=_markets(dict(doc.get("markets", {})), root),
        walk_forward=WalkForward(**wf) if wf is not None else None,
        sampling=_choice(SamplingMode, sampling.get("mode", "grid"), "sampling.mode"),
        n_points=sampling.get("n_points"),
        seed=int(sampling.get("seed", 0)),
        evaluation=_choice(Evaluation, doc.get("evaluation", "fund"), "evaluation"),
        warmup_days=int(doc.get("warmup_days", 252)),
    )


def _only(table: Mapping, known: set[str], name: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"{name}: unknown keys {unknown}; known: {sorted(known)}")


def _choice(kind: type[StrEnum], value: Any, key: str):
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}: {value!r}; known: {[m.value for m in kind]}") from None


def _markets(table: dict, root: Path) -> tuple[MarketSource, ...]:
    _only(table, {"synthetic_seeds", "start", "end", "folder", "bootstrap_paths",
                  "mean_block_days"}, "markets")  # fmt: skip
    start, end = str(table.get("start", "2005-01-03")), str(table.get("end", "2024-12-31"))
    if "folder" in table and "synthetic_seeds" in table:
        raise ValueError("markets: give synthetic_seeds or folder, not both")
    if "folder" in table:
        base: SyntheticSource | FolderSource = FolderSource(str(root / table["folder"]))
    else:
        seeds = table.get("synthetic_seeds", [7])
        if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
            raise ValueError(f"markets.synthetic_seeds: a list of integers, got {seeds!r}")
        if "bootstrap_paths" not in table:
            return synthetic_seeds(seeds, start, end)
        if len(seeds) != 1:
            raise ValueError("markets.bootstrap_paths: resamples one market; give one seed")
        base = SyntheticSource(seeds[0], start, end)
    if "bootstrap_paths" in table:
        n = table["bootstrap_paths"]
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"markets.bootstrap_paths: a positive integer, got {n!r}")
        return bootstrap_paths(base, n, float(table.get("mean_block_days", 20.0)))
    return (base,)
