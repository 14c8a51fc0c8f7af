"""The files of an experiment folder, each written atomically (temporary file renamed in place).

=========================  ===================================================================
``table.parquet``          the tidy table: one row per point × market × window
``returns.parquet``        daily returns, long: ``date``, ``market``, ``point``, ``return``
``points.csv``             each point's parameters (grid paths) and spec hash
``walk_forward.csv``       the walk-forward choices (market, k, point, in/out-of-sample metric)
``walk_forward.parquet``   the stitched out-of-sample returns, dates × markets
``overfitting.csv``        per market: best point, deflated Sharpe ratio, PBO (CSCV)
``heatmap.png``            mean Sharpe (in excess of cash) over the first two grid paths
``sharpe_distribution.png``  Sharpe of every point × market (``full`` window)
``walk_forward.png``       the stitched out-of-sample growth of each market
``summary.html``           the above in one self-contained page
``points/``                the task cache (``<key>.json`` rows, ``<key>.parquet`` returns)
``.multistrat-experiment`` marks the folder as ours
=========================  ===================================================================

A non-empty folder without the marker is refused (``FileExistsError``): it is not ours, and
nothing in it is touched or deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from backtest.report import charts as ch
from backtest.report import render
from backtest.research.evaluate import canonical_json
from backtest.research.experiment import Experiment
from backtest.research.runner import atomic_write
from backtest.research.study import ExperimentResult, SweepOverfitting

MARKER = ".multistrat-experiment"


def prepare_folder(out: Path) -> None:
    """Create ``out`` (or reuse it if it is ours); refuse a non-empty folder that is not."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: not a folder")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(f"--out {out}: a non-empty folder not written by `experiment`")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).touch()


def long_returns(result: ExperimentResult) -> pd.DataFrame:
    """Every return stream in one long table: ``date``, ``market``, ``point``, ``return``."""
    parts = [
        pd.DataFrame({"date": r.index, "market": m, "point": p, "return": r.to_numpy()})
        for (m, p), r in sorted(result.returns.items())
    ]
    return pd.concat(parts, ignore_index=True)


def heatmap_grid(table: pd.DataFrame, paths: list[str], metric: str = "sharpe_excess"):
    """Mean ``metric`` over markets on the ``full`` window, first path × second path (a single
    row when there is one path); None without a grid."""
    full = table[table["window"] == "full"]
    if not paths:
        return None
    rows = paths[0]
    cols = paths[1] if len(paths) > 1 else None
    if cols is None:
        grid = full.groupby(rows, sort=True)[metric].mean().to_frame(metric).T
        grid.index.name, grid.columns.name = "", rows
        return grid
    return full.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean", sort=True)


def overfitting_table(stats: list[SweepOverfitting]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "market": s.market,
                "best_point": s.best_point,
                "sharpe_daily": s.deflated.sharpe,
                "sharpe_max_expected_daily": s.deflated.sharpe_max_expected,
                "deflated_sharpe_ratio": s.deflated.dsr,
                "n_trials": s.deflated.n_trials,
                "pbo": s.pbo.pbo if s.pbo is not None else float("nan"),
            }
            for s in stats
        ]
    )


def _draws(exp: Experiment, result: ExperimentResult):
    """(file name, title, draw) of each chart."""
    table = result.table
    out = []
    grid = heatmap_grid(table, list(exp.grid))
    if grid is not None:
        out.append(("heatmap.png", "Mean Sharpe ratio (excess of cash) across markets",
                    lambda fig: ch.parameter_heatmap(fig, grid, "Mean Sharpe ratio in excess "
                                                     "of cash, full window")))  # fmt: skip
    full = table[table["window"] == "full"]["sharpe_excess"]
    out.append(("sharpe_distribution.png", "Sharpe ratio across points and markets",
                lambda fig: ch.distribution(fig, full, "Sharpe ratio in excess of cash, "
                                            "every point × market")))  # fmt: skip
    if result.walk_forward is not None and not result.walk_forward.returns.empty:
        levels = (1.0 + result.walk_forward.returns.fillna(0.0)).cumprod()
        title = f"Walk-forward out-of-sample (chosen by {result.walk_forward.choose_by})"
        out.append(("walk_forward.png", title, lambda fig: ch.cumulative(fig, levels, title)))
    return out


def write_experiment(
    exp: Experiment, result: ExperimentResult, stats: list[SweepOverfitting], out: Path
) -> list[Path]:
    """Write the files of the module docstring (not the cache) into ``out``; their paths."""
    written = []

    def put(name: str, write: Callable[[str], None]) -> None:
        atomic_write(out / name, write)
        written.append(out / name)

    put("table.parquet", lambda p: result.table.to_parquet(p, index=False))
    put("returns.parquet", lambda p: long_returns(result).to_parquet(p, index=False))
    points = pd.DataFrame(
        [{"point": k, **{path: canonical_json(v) for path, v in pt.params}}
         for k, pt in enumerate(result.points)]
    )  # fmt: skip
    put("points.csv", lambda p: points.to_csv(p, index=False))
    ovf = overfitting_table(stats)
    put("overfitting.csv", lambda p: ovf.to_csv(p, index=False))
    if result.walk_forward is not None:
        wf = result.walk_forward
        put("walk_forward.csv", lambda p: wf.choices.to_csv(p, index=False))
        put("walk_forward.parquet", lambda p: wf.returns.to_parquet(p))
    sections = [_summary_section(exp, result, ovf)]
    for name, title, draw in _draws(exp, result):
        png = ch.chart_png(draw)
        put(name, lambda p, png=png: Path(p).write_bytes(png))
        sections.append(ch.Section(name.removesuffix(".png"), title, charts=[(draw, None)]))
    page = render.render_html("Experiment", _subtitle(exp, result), sections)
    put("summary.html", lambda p: Path(p).write_text(page, encoding="utf-8"))
    return written


def _subtitle(exp: Experiment, result: ExperimentResult) -> str:
    return (
        f"{len(result.points)} points × {len(exp.markets)} markets "
        f"({exp.evaluation.value}); {result.stats.computed} tasks computed, "
        f"{result.stats.cached} from the cache"
    )


def _summary_section(exp: Experiment, result: ExperimentResult, ovf: pd.DataFrame):
    full = result.table[result.table["window"] == "full"]
    cols = ["annual_return", "annual_volatility", "sharpe_excess", "max_drawdown",
            "turnover_annual", "costs_annual"]  # fmt: skip
    by_point = full.groupby("point")[cols].median()
    by_point.index = [result.points[k].label or "base" for k in by_point.index]
    by_point.index.name = "point (median across markets)"
    pct = {"sharpe_excess": ch.fmt_num, "turnover_annual": ch.fmt_num}
    table = by_point.T
    shown = ch.formatted(table, rows=pct).T
    ovf_shown = ovf.set_index("market")[["best_point", "deflated_sharpe_ratio", "pbo"]]
    notes = [
        "Sharpe ratios in excess of cash (annualised); drawdowns and returns as fractions.",
        "Deflated Sharpe ratio (Bailey & López de Prado 2014): the probability that the best "
        "point's true Sharpe beats the best of the trials by luck; PBO: probability of backtest "
        "overfitting by CSCV (Bailey, Borwein, López de Prado & Zhu 2015).",
    ]
    return ch.Section(
        "summary",
        "Summary",
        notes=notes,
        tables=[
            ("Points, full window", shown),
            ("Overfitting of the sweep, by market", ch.formatted(ovf_shown, fmt=ch.fmt_num)),
        ],
    )
