"""``multistrat backtest``: run the fund end to end and write its outputs.

The fund and report layers are imported when the command runs, not when the parser is built,
so that ``multistrat --help`` starts at once.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.resources import files
from pathlib import Path

from backtest.errors import ExitCode

#: The built-in fund, shipped with the package (``examples/lalt.toml`` is the same file, for
#: reading and copying; a test keeps them equal).
DEFAULT_CONFIG = files("backtest.fund") / "lalt.toml"


def register_commands(sub) -> None:
    p = sub.add_parser("backtest", help="run the fund end to end (default: the LALT-like fund "
                                        "on the synthetic market, 2005–2024)")  # fmt: skip
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="fund spec TOML (default: the built-in LALT-like fund, as examples/lalt.toml)",
    )
    p.add_argument("--data", type=Path, default=None,
                   help="market folder: our layout or the pysystemtrade layout "
                        "(default: the seeded synthetic market of the config)")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_backtest)


def _load_spec(path: Path | None):
    """The spec of ``--config``, else the built-in fund (package data, always present)."""
    from backtest.fund.spec import FundSpec  # at run time: start-up

    if path is not None:
        return FundSpec.from_toml(path)
    return FundSpec.from_dict(tomllib.loads(DEFAULT_CONFIG.read_text()), source="lalt.toml")


def print_warning(message: str) -> None:
    """A data warning (a suspicious value, used as it is) on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def format_summary(metrics: dict, compliance_summary) -> str:
    rows = [
        ("Period", f"{metrics['start']} .. {metrics['end']}"),
        ("Final NAV per share", f"${metrics['final_nav_per_share']:.2f}"),
        ("Annual return", f"{metrics['annual_return']:.2%}"),
        ("Annual volatility", f"{metrics['annual_volatility']:.2%}"),
        (
            f"Sharpe ratio (over cash, {metrics['cash_rate_annual']:.2%} a year)",
            f"{metrics['sharpe_ratio']:.2f}",
        ),
        ("Sharpe ratio (rf = 0)", f"{metrics['sharpe_ratio_rf0']:.2f}"),
        ("Max drawdown", f"{metrics['max_drawdown']:.2%}"),
        ("Worst month", f"{metrics['worst_month']:.2%}"),
    ]
    for key in sorted(k for k in metrics if k.startswith("correlation_")):
        name = key.removeprefix("correlation_")
        rows.append((f"Correlation / beta to {name}",
                     f"{metrics[key]:+.2f} / {metrics['beta_' + name]:+.2f}"))  # fmt: skip
    rows.append(("Compliance breaches", str(metrics["compliance_breaches"])))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines.append("")
    lines.append("Limits (days checked / applicable / breaches; the day of least headroom among "
                 "days the rule applies: figure vs that day's limit):")  # fmt: skip
    for rule, r in compliance_summary.iterrows():
        head = f"  {rule:<18} {int(r['days']):>6} {int(r['applicable']):>6} {int(r['breaches']):>4}"
        if int(r["applicable"]) == 0:
            lines.append(f"{head}   never applied")
        else:
            lines.append(f"{head}   worst {r['worst_date']:%Y-%m-%d} {r['worst']:.4f} vs "
                         f"{r['limit']:.4f}")  # fmt: skip
    for name, why in metrics.get("skipped_strategies", {}).items():
        lines.append(f"skipped {name}: {why}")
    return "\n".join(lines)


def strategy_notes(spec, run) -> list[tuple[str, str, str]]:
    """``(column, leg, text)`` for the strategies that ran and report dropped or approximated
    legs on the run's market (a ``notes(market)`` method, e.g. the volatility premium)."""
    from strategies import registry  # at run time: start-up (module docstring)

    out = []
    for s in spec.strategies:
        if s.column not in run.positions:
            continue
        strategy = registry[s.name](**s.params)
        for leg, text in getattr(strategy, "notes", lambda m: {})(run.market).items():
            out.append((s.column, leg, text))
    return out


def cmd_backtest(args) -> int:
    from allocator.compliance import summary  # at run time: start-up (module docstring)
    from backtest.fund.run import fund_metrics, run_fund
    from backtest.report.outputs import check_out_dir, write_run

    spec = _load_spec(args.config)
    check_out_dir(args.out)  # refuse a foreign folder before computing anything
    market = None
    if args.data is not None:
        from backtest.data.folder import load_market  # at run time: start-up

        market = load_market(args.data, progress=not args.no_progress, warn=print_warning)
    run = run_fund(spec, market, progress=not args.no_progress)
    metrics = fund_metrics(run)
    out = write_run(run, args.out, metrics)
    print(f"{spec.name}: {run.market!r}")
    print(format_summary(metrics, summary(run.compliance)))
    for column, leg, text in strategy_notes(spec, run):
        print(f"note {column}.{leg}: {text}")
    print(
        f"\nwrote {out}/ (nav.csv, weights.csv, holdings.parquet, trades.csv, compliance.csv, "
        "metrics.json, charts, report.html)"
    )
    return ExitCode.LIMIT_BREACH if metrics["compliance_breaches"] else ExitCode.OK
