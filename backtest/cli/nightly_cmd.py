"""``multistrat nightly``: the parser entry of the nightly job (:mod:`backtest.ops.nightly`).

The job itself is imported when the command runs, so that ``multistrat --help`` starts at once.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from backtest.errors import ExitCode, StateError


def register_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``nightly`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("nightly", help="book the business days up to --asof into the state "
                       "database; write tomorrow's orders and Disclosed Portfolio")  # fmt: skip
    p.add_argument("--config", type=Path, required=True, help="fund spec TOML")
    p.add_argument("--asof", required=True, help="last business day to book (YYYY-MM-DD)")
    p.add_argument("--data", type=Path, default=None,
                   help="market folder (default: the config's synthetic market)")  # fmt: skip
    p.add_argument("--state", type=Path, default=None,
                   help="state database, SQLite (default: runs/nightly.sqlite)")  # fmt: skip
    p.add_argument(
        "--inception",
        default=None,
        help="first day of the fund (default: stored, else the market's start)",
    )
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the day files (default: runs/nightly)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="recompute --asof and replace it (rebuild from inception when the "
                        "config or the stored history differ)")  # fmt: skip
    p.set_defaults(func=cmd_nightly)


def cmd_nightly(args: argparse.Namespace) -> ExitCode:
    """Book the days up to ``--asof``; print the run's summary on stdout."""
    from backtest.workers import (  # at run time: standard library
        helper_process,
        one_blas_thread,
        reuse_freed_memory,
        small_pages,
    )

    small_pages()  # before numpy is imported, here and in the helper
    one_blas_thread()
    reuse_freed_memory()
    # the helper starts first and checks the stored state (check_ahead) while this process
    # imports the fund's modules and computes the fund; the run takes the outcome only if the
    # file it then holds the lock on is the one checked
    with helper_process(warm="backtest.ops.guard") as pool:
        return _run(args, pool)


def _run(args: argparse.Namespace, pool) -> ExitCode:
    from backtest.ops.guard import DEFAULT_STATE, check_ahead  # at run time: standard library
    from backtest.workers import heap_frozen, submit

    state = args.state if args.state is not None else DEFAULT_STATE
    ahead = submit(pool, check_ahead, str(state), args.asof, args.force)
    with heap_frozen() as imported:
        from backtest.ops.nightly import NightlyOptions, run_nightly  # at run time: start-up

        imported()  # what is imported stays: no collection need walk it, now or later
        given = {"state": args.state, "out": args.out}  # None: the job's own defaults
        opts = NightlyOptions(config=args.config, asof=args.asof, data=args.data,
                              inception=args.inception, force=args.force,
                              **{k: v for k, v in given.items() if v is not None})  # fmt: skip
        try:
            code, message = run_nightly(opts, pool, ahead)
        except (StateError, sqlite3.Error) as exc:  # name the database in the one-line message
            raise StateError(f"{opts.state}: {exc}") from exc
    print(message, file=sys.stdout if code in (ExitCode.OK, ExitCode.LIMIT_BREACH) else sys.stderr)
    return ExitCode(code)
