"""``multistrat data synthetic`` and ``multistrat data validate``.

The data and synthetic layers are imported when a command runs, not when the parser is built,
so that ``multistrat --help`` starts at once (the synthetic market compiles numba kernels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backtest.errors import ExitCode


def register_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``data synthetic`` and ``data validate`` to an argparse subparsers object."""
    data = sub.add_parser("data", help="create and check market datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)

    syn = dsub.add_parser("synthetic", help="write the seeded synthetic market to a folder")
    syn.add_argument("--seed", type=int, default=7)
    syn.add_argument("--start", default="2005-01-03")
    syn.add_argument("--end", default="2024-12-31")
    syn.add_argument("--out", required=True, type=Path, help="output folder (must not exist)")
    syn.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    syn.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    syn.set_defaults(func=cmd_data_synthetic)

    val = dsub.add_parser(
        "validate", help="check a dataset folder (ours or pysystemtrade layout) and summarise it"
    )
    val.add_argument("path", type=Path)
    val.set_defaults(func=cmd_data_validate)


def cmd_data_synthetic(args: argparse.Namespace) -> ExitCode:
    """Write the seeded synthetic market in our folder layout."""
    from backtest.data.writer import write_market  # at run time: start-up (module docstring)
    from backtest.market.calendar import iso_date
    from backtest.synthetic.build import synthetic_market

    start, end = iso_date(args.start, "--start"), iso_date(args.end, "--end")
    if start >= end:
        raise ValueError(f"--start {args.start} must be before --end {args.end}")
    market = synthetic_market(seed=args.seed, start=start, end=end, progress=True)
    write_market(market, args.out, format=args.format, overwrite=args.overwrite, progress=True)
    print(
        f"wrote {market!r} to {args.out} ({args.format}): "
        f"{len(market.instruments)} instruments, {len(market.calendar)} trading days"
    )
    return ExitCode.OK


def cmd_data_validate(args: argparse.Namespace) -> ExitCode:
    """Load a dataset folder with every check and print its summary."""
    from backtest.data.folder import validate_dataset  # at run time: start-up

    print(validate_dataset(args.path).format())
    return ExitCode.OK
