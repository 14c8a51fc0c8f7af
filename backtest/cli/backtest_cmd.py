"""``multistrat backtest``: run the fund end to end and write its outputs.

The fund and report layers are imported when the command runs, not when the parser is built,
so that ``multistrat --help`` starts at once.
"""

from __future__ import annotations

import sys
import textwrap
import tomllib
from importlib.resources import files
from pathlib import Path

from backtest.errors import ExitCode

#: The built-in fund, shipped with the package (``examples/lalt.toml`` is the same file, for
#: reading and copying; a test keeps them equal).
DEFAULT_CONFIG = files("backtest") / "fund" / "lalt.toml"
#: The built-in fund on a futures-only folder (``--data`` in the pysystemtrade layout, no
#: ``--config``): carry, trend, cross-sectional momentum and the volatility premium, no equity
#: market-neutral sleeve (``examples/futures.toml`` is the same file).
FUTURES_CONFIG = files("backtest") / "fund" / "futures.toml"


def register_commands(sub) -> None:
    p = sub.add_parser("backtest", help="run the fund end to end (default: the LALT-like fund "
                                        "on the synthetic market, 2005–2024)")  # fmt: skip
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="fund spec TOML (default: the built-in LALT-like fund, as examples/lalt.toml; "
        "with --data in the pysystemtrade layout, its futures-only version, examples/futures.toml)",
    )
    p.add_argument("--data", type=Path, default=None,
                   help="market folder: our layout or the pysystemtrade layout "
                        "(default: the seeded synthetic market of the config)")  # fmt: skip
    p.add_argument("--start", default=None, help="first day of the window of the data to run "
                   "(YYYY-MM-DD; default: the data's first day)")  # fmt: skip
    p.add_argument("--end", default=None, help="last day of the window of the data to run "
                   "(YYYY-MM-DD; default: the data's last day)")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_backtest)


def _load_spec(path: Path | None, data: Path | None = None):
    """The spec of ``--config``, else a built-in fund (package data, always present):
    ``futures.toml`` when ``data`` is a folder in the pysystemtrade layout (futures only),
    ``lalt.toml`` otherwise."""
    from backtest.fund.spec import FundSpec  # at run time: start-up

    if path is not None:
        return FundSpec.from_toml(path)
    config = builtin_config(data)
    return FundSpec.from_dict(tomllib.loads(config.read_text()), source=config.name)


def builtin_config(data: Path | None):
    """The built-in config for a run on ``data`` (None: the synthetic market): ``futures.toml``
    for the pysystemtrade layout, else ``lalt.toml``. DataError (exit 2) for a path that is
    neither layout."""
    if data is None:
        return DEFAULT_CONFIG
    from backtest.data.folder import detect_layout  # at run time: start-up

    return FUTURES_CONFIG if detect_layout(data)[0] == "pysystemtrade" else DEFAULT_CONFIG


def window_dates(start: str | None, end: str | None) -> tuple:
    """``--start`` and ``--end`` as Timestamps (None when not given); ValueError (exit 2) for a
    date that is not ``YYYY-MM-DD`` or a start after the end."""
    from backtest.market.calendar import iso_date  # at run time: start-up (module docstring)

    first = None if start is None else iso_date(start, "--start")
    last = None if end is None else iso_date(end, "--end")
    if first is not None and last is not None and first > last:
        raise ValueError(f"--start {start} is after --end {end}")
    return first, last


def cut_window(market, first, last, inception: str | None):
    """``market`` cut to ``first..last`` (either None: that end of the market).

    ValueError (exit 2) when the window reaches outside the market, or when the spec's
    ``inception`` (the fund's first day) is outside the window: a window must hold the fund's
    launch, and the history before it is the look-back the strategies read.
    """
    from backtest.market.calendar import iso_date  # at run time: start-up (module docstring)

    span = f"{market.start:%Y-%m-%d}..{market.end:%Y-%m-%d}"
    for flag, day in (("--start", first), ("--end", last)):
        if day is not None and not market.start <= day <= market.end:
            where = "before the first" if day < market.start else "after the last"
            raise ValueError(f"{flag} {day:%Y-%m-%d} is {where} day of the data ({span})")
    first = market.start if first is None else first
    last = market.end if last is None else last
    if inception is not None and not first <= iso_date(inception, "inception") <= last:
        raise ValueError(
            f"the config's inception {inception} (the fund's first day) is outside the window "
            f"{first:%Y-%m-%d}..{last:%Y-%m-%d}: choose a window that holds it (the days before "
            "it are the look-back history) or change inception in the config"
        )
    window = market.between(first, last)
    if len(window.calendar) < 2:
        raise ValueError(f"the window {first:%Y-%m-%d}..{last:%Y-%m-%d} holds fewer than two "
                         "days of data")  # fmt: skip
    return window


def describe_run(args, spec, history) -> list[str]:
    """Which config and which data a run used (the first lines of the summary); ``history``
    is the market the run read (its dates are shown for a data folder or a window)."""
    config = str(args.config) if args.config else f"built-in {builtin_config(args.data).name}"

    def span() -> str:
        return f"{history.start:%Y-%m-%d}..{history.end:%Y-%m-%d}"

    if args.data is not None:
        data = f"folder {args.data}, {span()}"
    else:
        m = spec.market
        data = f"synthetic seed {m.seed}, {m.start}..{m.end}"
    if args.start is not None or args.end is not None:
        data += f", window {span()} (--start/--end)"
    return [f"config: {config}", f"data:   {data}"]


def weights_note(weights, allocator) -> str:
    """One line on the strategy weights' sum (fractions of net assets): above 1 when the
    allocator's volatility target levers the sleeves up, to at most ``max_leverage``."""
    total = weights.sum(axis=1)
    line = f"Strategy weights sum to {total.mean():.2f} on average (max {total.max():.2f})"
    if allocator.vol_target_annual is None:
        return line + "; no volatility target, so no leverage from the allocator"
    return line + (
        f": above 1 when the {allocator.vol_target_annual:.0%} volatility target levers the "
        f"sleeves up, to at most max_leverage {allocator.max_leverage:g}"
    )


def wrote_line(out: Path) -> str:
    """Every file of the run folder, read back after writing, sorted (the marker file aside)."""
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    return textwrap.fill(f"wrote {out}/: " + ", ".join(names), width=100,
                         subsequent_indent="  ", break_on_hyphens=False)  # fmt: skip


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
    legs on the run's market (:func:`backtest.fund.run.strategy_notes`)."""
    from backtest.fund.run import strategy_notes as notes  # at run time: start-up

    return [(*key.split(".", 1), text) for key, text in notes(spec, run.market, run).items()]


def cmd_backtest(args) -> int:
    from backtest.workers import heap_frozen, helper_process, small_pages  # at run time

    small_pages()  # before numpy is imported, here and in the helper
    # the helper process starts first: it imports the report's modules while this one imports
    # the fund's, computes the benchmarks while the fund runs, then draws half the charts
    with helper_process(warm="backtest.report.chart_pool") as pool, heap_frozen() as imported:
        from allocator.compliance import summary  # at run time: start-up (module docstring)
        from backtest.report.outputs import check_out_dir

        first, last = window_dates(args.start, args.end)  # refuse a bad date before any work
        spec = _load_spec(args.config, args.data)
        check_out_dir(args.out)  # refuse a foreign folder before computing anything
        run, metrics, out = _run_and_write(args, spec, first, last, pool, imported)
    history = run.history if run.history is not None else run.market
    print("\n".join(describe_run(args, spec, history)))
    print(f"{spec.name}: {run.market!r}")
    print(format_summary(metrics, summary(run.compliance)))
    print(weights_note(run.weights, spec.allocator))
    for column, leg, text in strategy_notes(spec, run):
        print(f"note {column}.{leg}: {text}")
    for what, text in run.market.approximations.items():
        print(f"data {what}: derived, {text}")
    print("\n" + wrote_line(out))
    return ExitCode.LIMIT_BREACH if metrics["compliance_breaches"] else ExitCode.OK


def _run_and_write(args, spec, first, last, pool, imported):
    """Run the fund of ``args`` and write its folder: ``(run, metrics, folder)``. ``imported``:
    called once the start-up's imports are done (:func:`backtest.workers.heap_frozen`)."""
    from backtest.fund.run import fund_benchmarks, fund_metrics, run_fund  # at run time: start-up
    from backtest.report.chart_pool import warm_up
    from backtest.report.outputs import write_run
    from backtest.synthetic import synthetic_market
    from backtest.workers import result, submit

    imported()  # what is imported stays: no collection need walk it, now or later
    if args.data is not None:
        from backtest.data.folder import load_market  # at run time: start-up

        market = load_market(args.data, progress=not args.no_progress, warn=print_warning)
    else:
        m = spec.market
        market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    if first is not None or last is not None:
        market = cut_window(market, first, last, spec.inception)
    # the benchmarks (five strategies of the proxy index) in the worker while the fund runs
    benchmarks = submit(pool, fund_benchmarks, spec, market)
    submit(pool, warm_up)  # then matplotlib and its fonts, before the first chart
    run = run_fund(spec, market, progress=not args.no_progress)
    metrics = fund_metrics(run)
    bench = result(benchmarks, fund_benchmarks, spec, market)
    return run, metrics, write_run(run, args.out, metrics, pool=pool, benchmarks=bench)
