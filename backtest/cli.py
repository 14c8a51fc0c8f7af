"""The ``multistrat`` command line.

Exit codes: 0 done; 2 bad input or config (nothing written); 3 done but a limit is breached;
4 state problem. Errors go to stderr as one clear line naming the file, row/date and column.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from backtest import nightly, report, run_cli

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_LIMIT_BREACH = 3
EXIT_STATE = 4


def _add_data_commands(sub) -> None:
    data = sub.add_parser("data", help="create and check market datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)

    syn = dsub.add_parser("synthetic", help="write the seeded synthetic market to a folder")
    syn.add_argument("--seed", type=int, default=7)
    syn.add_argument("--start", default="2005-01-03")
    syn.add_argument("--end", default="2024-12-31")
    syn.add_argument("--out", required=True, type=Path, help="output folder (must not exist)")
    syn.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    syn.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    syn.set_defaults(func=_cmd_data_synthetic)

    val = dsub.add_parser(
        "validate", help="check a dataset folder (ours or pysystemtrade layout) and summarise it"
    )
    val.add_argument("path", type=Path)
    val.set_defaults(func=_cmd_data_validate)


def _cmd_data_synthetic(args) -> int:
    from backtest.data import write_market
    from backtest.synthetic import synthetic_market

    market = synthetic_market(seed=args.seed, start=args.start, end=args.end, progress=True)
    write_market(market, args.out, format=args.format, overwrite=args.overwrite, progress=True)
    print(
        f"wrote {market!r} to {args.out} ({args.format}): "
        f"{len(market.instruments)} instruments, {len(market.calendar)} trading days"
    )
    return EXIT_OK


def _cmd_data_validate(args) -> int:
    from backtest.data import validate_dataset

    summary = validate_dataset(args.path)
    print(summary.format())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multistrat",
        description="Research, backtest and run a multi-strategy alternative fund.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data_commands(sub)
    run_cli.register_commands(sub)
    report.register_commands(sub)
    nightly.register_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from backtest.validation import DataError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except DataError as exc:
        print(f"multistrat: bad data: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as exc:
        print(f"multistrat: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
