"""The ``multistrat`` parser, its entry point and the one exception → exit-code mapping.

Exit codes (:class:`backtest.errors.ExitCode`): 0 done; 1 an error in our own code (one line,
the traceback with ``--debug``); 2 bad input or config (nothing written); 3 done but a limit is
breached; 4 state problem. Errors go to stderr as one clear line.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from backtest.cli import backtest_cmd, data_cmd, experiment_cmd, nightly_cmd, report_cmd
from backtest.errors import DataError, ExitCode, NightlyError, StateError

#: Exceptions that mean the user's input (a file, a flag, a config) is wrong.
BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # DataError, StrategyInputError and config errors are ValueErrors
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``multistrat`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="multistrat",
        description="Research, backtest and run a multi-strategy alternative fund.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an internal error"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    data_cmd.register_commands(sub)
    backtest_cmd.register_commands(sub)
    report_cmd.register_commands(sub)
    nightly_cmd.register_commands(sub)
    experiment_cmd.register_commands(sub)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Each (sub)command's parser sets ``command_parser`` to itself, so that :func:`main`
    reports an unknown flag with that command's usage (argparse would show the top-level one)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_parser in action.choices.values():
                sub_parser.set_defaults(command_parser=sub_parser)
                _remember_parsers(sub_parser)


def exit_code_for(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception raised by a command."""
    match exc:
        case NightlyError():
            return ExitCode(exc.code), str(exc)
        case StateError() | sqlite3.Error():
            return ExitCode.STATE, f"state problem: {exc}"
        case DataError():
            return ExitCode.BAD_INPUT, f"bad data: {exc}"
        case _ if isinstance(exc, BAD_INPUT_ERRORS):
            return ExitCode.BAD_INPUT, str(exc)
        case _:
            return ExitCode.INTERNAL, (
                f"internal error: {type(exc).__name__}: {exc} (a bug in multistrat; run with "
                "--debug for the traceback)"
            )


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``multistrat`` console script and ``python -m backtest.cli``: :func:`main`, then exit
    with its code.

    Before exiting, every object is frozen out of the garbage collector (``gc.freeze``): the
    interpreter's last collections would otherwise walk the whole heap of the run (market,
    books, report) only to free memory the system takes back at exit anyway, ~0.5 s of a
    backtest. Not done by :func:`main`, which tests and notebooks call in a process that goes on.

    Nor is the interpreter's tear-down (freeing every module and object one by one, ~0.1 s of
    a nightly run, twice that when the machine is slow): once :func:`main` has returned, the
    last exit handler (:func:`_exit_at_once`, registered here, before the command imports the
    libraries that register theirs, so it runs after them) flushes the standard streams and
    ends the process with the code. Every file and database the command wrote is closed by
    then; if :func:`main` did not return (``SystemExit`` from argparse), the exit is the usual.
    """
    returned: list[int] = []
    atexit.register(_exit_at_once, returned)
    code = main(argv)
    gc.freeze()
    returned.append(int(code))
    sys.exit(code)


def _exit_at_once(returned: list[int]) -> None:
    """The last exit handler of :func:`run`: end the process with :func:`main`'s code, without
    the interpreter's tear-down (nothing to do if :func:`main` did not return)."""
    if not returned:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe or stream: nothing to flush
            pass
    os._exit(returned[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``multistrat ARGS``; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would report them with the top-level usage
        owner = getattr(args, "command_parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code = args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's code for SIGINT (128 + 2)
        print(f"multistrat {args.command}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - every error becomes an exit code and one line
        code, message = exit_code_for(exc)
        if args.debug and code == ExitCode.INTERNAL:
            traceback.print_exc()
        print(f"multistrat {args.command}: {message}", file=sys.stderr)
    return int(code or 0)
