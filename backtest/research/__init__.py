"""Research at scale: experiments over fund specs, allocators and markets, on Dask.

An :class:`Experiment` (a base :class:`~backtest.fund.spec.FundSpec`, a grid of dotted paths,
markets, an optional :class:`WalkForward`) is run by ``exp.run(scheduler=None)`` (the tidy
table) or :func:`run_experiment` / ``exp.result()`` (everything): every point's spec is checked
first, each (point, market) task is a pure function of its content hash, cached on disk and
computed on a Dask cluster (or serially), single-strategy trend points of a market together
(:mod:`.trend_batch`); the result is a tidy table, the return streams, the walk-forward and the
overfitting statistics (:mod:`.overfitting`). :mod:`.outputs` writes an experiment's folder;
:mod:`.vbt` converts a run to vectorbt.
"""

from backtest.research.experiment import (
    Evaluation,
    Experiment,
    Point,
    SamplingMode,
    WalkForward,
    Window,
    windows,
)
from backtest.research.markets import (
    BootstrapSource,
    FolderSource,
    MarketSource,
    SyntheticSource,
    bootstrap_market,
    bootstrap_paths,
    stationary_bootstrap_indices,
    synthetic_seeds,
)
from backtest.research.overfitting import (
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
    probability_of_overfitting,
)
from backtest.research.paths import apply, get_path, set_path
from backtest.research.study import ExperimentResult, run_experiment, sweep_overfitting

__all__ = [
    "BootstrapSource",
    "Evaluation",
    "Experiment",
    "ExperimentResult",
    "FolderSource",
    "MarketSource",
    "Point",
    "SamplingMode",
    "SyntheticSource",
    "WalkForward",
    "Window",
    "apply",
    "bootstrap_market",
    "bootstrap_paths",
    "deflated_sharpe_ratio",
    "get_path",
    "probabilistic_sharpe_ratio",
    "probability_of_overfitting",
    "run_experiment",
    "set_path",
    "stationary_bootstrap_indices",
    "sweep_overfitting",
    "synthetic_seeds",
    "windows",
]
