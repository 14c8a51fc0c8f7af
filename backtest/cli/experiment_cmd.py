"""``multistrat experiment EXP.toml``: a sweep over fund specs and markets, on Dask.

The research layer (Dask, the fund, matplotlib) is imported when the command runs, so that
``multistrat --help`` starts at once. What the experiment file holds: the module docstring of
:mod:`backtest.research.experiment`; what is written: :mod:`backtest.research.outputs`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from backtest.errors import ExitCode


def register_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``multistrat experiment EXP.toml [--scheduler ADDRESS] [--workers N] [--out DIR]``."""
    p = sub.add_parser("experiment", help="run an experiment: a sweep of fund specs over "
                                          "markets and walk-forward windows, on Dask")  # fmt: skip
    p.add_argument("config", type=Path, metavar="EXP.toml", help="experiment file")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (default: a local "
                        "cluster of --workers processes); 'serial': this process")  # fmt: skip
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: all cores)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: runs/experiments/<file name>); results are "
                        "cached there, so a re-run resumes")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_experiment)


def cmd_experiment(args: argparse.Namespace) -> ExitCode:
    """Check the file and every point, run, write; exit code 0 (2 on bad input)."""
    from backtest.research.experiment import Experiment  # at run time: start-up
    from backtest.research.outputs import prepare_folder, write_experiment
    from backtest.research.study import run_experiment, sweep_overfitting

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    start = time.perf_counter()
    exp = Experiment.from_toml(args.config)
    try:
        exp.points()  # every point's spec checked before anything runs or is written
    except ValueError as exc:
        raise ValueError(f"{args.config}: grid: {exc}") from None
    out = args.out or Path("runs/experiments") / args.config.stem
    prepare_folder(out)
    result = run_experiment(exp, out=out, scheduler=args.scheduler, workers=args.workers,
                            progress=not args.no_progress)  # fmt: skip
    stats = sweep_overfitting(result, n_splits=_splits(result))
    written = write_experiment(exp, result, stats, out)
    print(f"{len(result.points)} points × {len(exp.markets)} markets: "
          f"{result.stats.computed} tasks computed, {result.stats.cached} cached")  # fmt: skip
    for s in stats:
        pbo = "–" if s.pbo is None else f"{s.pbo.pbo:.2f}"
        print(f"  {s.market}: best point {s.best_point}, deflated Sharpe "
              f"{s.deflated.dsr:.2f}, PBO {pbo}")  # fmt: skip
    print(f"wrote {len(written)} files to {out} in {time.perf_counter() - start:.1f} s")
    return ExitCode.OK


def _splits(result) -> int:
    """CSCV blocks: 8, fewer for short windows (each block needs a few weeks of days)."""
    full = result.table[result.table["window"] == "full"]["n_days"]
    n = int(full.min()) if len(full) else 0
    for s in (8, 6, 4, 2):
        if n >= 20 * s:
            return s
    return 2
