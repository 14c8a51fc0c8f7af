"""Exit codes of the ``multistrat`` command line and the exceptions every layer raises for
them: :class:`DataError` (bad input data), :class:`StateError` (the nightly job's state) and
:class:`ConfigError` (a bad fund config: file, section, key) and :class:`NightlyError` (a refusal
with its own exit code).

The one place that maps exceptions to exit codes is :func:`backtest.cli.app.exit_code_for`;
this module only names them, so every layer can raise them without importing the CLI. It is
the ground floor: it imports nothing of ours.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (documented in the README)."""

    OK = 0
    #: an error in our own code (a bug): one line on stderr, the traceback with ``--debug``
    INTERNAL = 1
    #: bad input or config: nothing written
    BAD_INPUT = 2
    #: done, but a limit is breached
    LIMIT_BREACH = 3
    #: the nightly job's state is missing, locked, corrupt or inconsistent
    STATE = 4
    #: interrupted (Ctrl-C, SIGINT): 128 + 2, as a shell reports it; nothing half-written
    INTERRUPTED = 130


class DataError(ValueError):
    """Bad input data, located as precisely as possible.

    Attributes
    ----------
    file : name of the file (relative to the dataset folder where possible).
    row : 1-based data row (header excluded), or None when the problem is not about one row.
    date : the row's date/timestamp as text, or None.
    column : the column concerned, or None.
    problem : what is wrong, in words.

    ``str(err)`` reads like
    ``"prices.csv, row 12 (2020-03-05), column 'ES': price is not a number ('abc')"``.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        row: int | None = None,
        date: str | None = None,
        column: str | None = None,
    ) -> None:
        self.file = str(file)
        self.problem = problem
        self.row = None if row is None else int(row)
        self.date = date
        self.column = None if column is None else str(column)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}" + (f" ({self.date})" if self.date else ""))
        elif self.date:
            where.append(f"date {self.date}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return ", ".join(where) + ": " + self.problem

    def __reduce__(self):
        return (_rebuild_error, (self.file, self.problem, self.row, self.date, self.column))


def _rebuild_error(file, problem, row, date, column) -> DataError:
    return DataError(file, problem, row=row, date=date, column=column)


class ConfigError(ValueError):
    """A bad fund config, located by file, section and key.

    ``str(err)`` reads like ``"fund.toml: [allocator] max_weight: must be a number, got '0.5'"``;
    ``section`` is the TOML table (``strategies[2].params`` for a strategy's parameters) and
    ``key`` the key in it, either None when the problem is about the whole file or table.
    """

    def __init__(
        self, file: str, problem: str, *, section: str | None = None, key: str | None = None
    ) -> None:
        self.file = str(file)
        self.problem = problem
        self.section = section
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = " ".join(
            part for part in (f"[{self.section}]" if self.section else "", self.key or "") if part
        )
        return f"{self.file}: " + (f"{where}: " if where else "") + self.problem

    def __reduce__(self):
        return (_rebuild_config_error, (self.file, self.problem, self.section, self.key))


def _rebuild_config_error(file, problem, section, key) -> ConfigError:
    return ConfigError(file, problem, section=section, key=key)


class StateError(RuntimeError):
    """The stored state cannot be used as it is (newer schema, inconsistent rows...)."""


class NightlyError(Exception):
    """A refusal of the nightly job with its exit code and one clear message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
