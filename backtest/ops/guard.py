"""What the nightly job holds and checks before it books anything: the lock on the state,
the stored state itself (integrity, schema, hash chain) and the writability of its outputs.

Every refusal is a :class:`~backtest.errors.NightlyError` with its exit code: 4 for the state
(locked, empty, not a database, corrupt, incomplete schema, history changed after booking;
the file is left untouched), 2 for an output location that cannot be written.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from backtest.errors import ExitCode, NightlyError
from backtest.ops import state as st
from backtest.workers import result, submit

EXIT_BAD_INPUT, EXIT_STATE = ExitCode.BAD_INPUT, ExitCode.STATE
#: the nightly job's state database when ``--state`` is not given (relative to the folder run in)
DEFAULT_STATE = Path("runs/nightly.sqlite")


def check_writable(path: Path, what: str) -> None:
    """``path`` (a folder, existing or to be created) can be written: it is a folder or does not
    exist yet, and its nearest existing ancestor is a writable folder. Checked for the outputs
    and the state's folder before anything is booked (nothing is created here)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NightlyError(EXIT_BAD_INPUT, f"{what} {path} is not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise NightlyError(EXIT_BAD_INPUT, f"{what} {path} cannot be written ({probe} is not a "
                           "writable folder); nothing was booked")  # fmt: skip


def broken_chain(stored: Stored, path: Path) -> str:
    """The refusal message for a stored history that no longer matches its hash chain."""
    return (f"{path}: stored day {stored.broken} does not match the hash chain of booked days: "
            "the state was changed after it was booked; restore a backup, or --force to "
            "rebuild it from inception")  # fmt: skip


def lock_path(state_path: Path) -> Path:
    """``<state>.lock`` beside the RESOLVED state file: two runs reaching one database through
    different paths (a symbolic link) take the same lock."""
    return Path(f"{os.path.realpath(state_path)}.lock")


@contextmanager
def state_lock(state_path: Path) -> Iterator[None]:
    """Exclusive ``flock`` on ``<state>.lock`` (released by the OS if the process dies).

    The lock file is opened with ``O_NOFOLLOW``: a symbolic link there is refused (exit 4),
    never written through."""
    path = lock_path(state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        why = "is a symbolic link" if path.is_symlink() else f"cannot be opened ({exc.strerror})"
        raise NightlyError(EXIT_STATE, f"lock file {path} {why}; refusing to write through "
                           "it (remove it)") from None  # fmt: skip
    f = os.fdopen(fd, "r+")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise NightlyError(EXIT_STATE, f"another nightly run holds {path} ({holder}); "
                               "refusing to run concurrently") from None  # fmt: skip
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} since {st.now()}\n")
        f.flush()
        yield
    finally:
        f.close()


@dataclass(frozen=True)
class Stored:
    """What the state database holds (read-only view taken under the lock)."""

    version: int
    info: dict
    days: list  # (date, next_date, config_hash)
    #: the first stored day that does not match the hash chain (changed after booking), or None
    broken: str | None = None

    @property
    def dates(self) -> list[str]:
        return [d[0] for d in self.days]


SQLITE_HEADER = b"SQLite format 3\x00"


#: Booked days whose hash chain every run checks; the whole history is checked by the first run
#: of each calendar month, and with ``--force``.
CHAIN_TAIL_DAYS = 250


def read_stored(path: Path, asof: date | None = None, force: bool = False) -> Stored | None:
    """The stored state, or None when there is no database: :func:`start_reading` with its
    checks run here, at once (:meth:`Reading.checked`)."""
    reading = start_reading(path, asof, force)
    return None if reading is None else reading.checked()


def start_reading(path: Path, asof: date | None = None, force: bool = False,
                  pool=None, ahead: Future | None = None) -> Reading | None:  # fmt: skip
    """Read the stored state under the lock; its integrity checks may run in the helper process
    (``pool``, :func:`backtest.workers.helper_process`) while the caller computes the fund.
    None when there is no database. Opened read-write (no write is made) so that SQLite rolls
    back a transaction a killed run left in its journal, before anything else reads it.

    Checked before anything builds on it (exit 4 otherwise, the file untouched): a regular file
    with SQLite's header (a 0-byte or foreign file is never taken for a new fund), a schema
    version this program knows and the tables of that version, here; SQLite's ``quick_check``
    and the hash chain over booked days in :meth:`Reading.checked` (``broken`` names the first
    day that no longer matches it): over the whole history when ``force``, when ``asof`` is in a
    later month than the last stored day, or when ``asof`` is None; over the last
    :data:`CHAIN_TAIL_DAYS` booked days otherwise (a 20-year history takes ~2.5 s to re-read,
    its last 250 days ~0.4 s, with ``quick_check`` ~0.2 s over 160 MB). ``ahead``: the helper's
    :func:`check_ahead` of this state, submitted before the lock was taken; its outcome is
    taken if it checked this very file with these arguments."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise NightlyError(EXIT_STATE, f"{path} is not a file (a folder or a broken link)")
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if not head:
        raise NightlyError(EXIT_STATE, f"{path} is empty (0 bytes): refusing to start a new "
                           "fund over it; restore it from a backup or choose another --state"
                           )  # fmt: skip
    if head != SQLITE_HEADER:
        raise NightlyError(EXIT_STATE, f"{path} is not a SQLite database (header {head[:16]!r}); "
                           "refusing to use or replace it")  # fmt: skip
    conn = st.connect(path)
    try:
        version = st.schema_version(conn)
        if version > st.SCHEMA_VERSION:
            raise NightlyError(EXIT_STATE, f"{path}: schema version {version} is newer than this "
                               f"program's ({st.SCHEMA_VERSION}); upgrade multistrat")  # fmt: skip
        try:
            missing = st.check_schema(conn, version) if version else []
            days = st.stored_days(conn) if version else []
            info = st.read_info(conn) if version else {}
        except sqlite3.DatabaseError:  # a damaged file: say so as the check would
            _refuse_corrupt(path, integrity(str(path), 0, False)[0])
            raise
        if missing:
            raise NightlyError(EXIT_STATE, f"{path}: schema version {version} but tables "
                               f"{missing} are missing; refusing to build on it")  # fmt: skip
    finally:
        conn.close()
    args = _check_args(path, version, days[-1][0] if days else None, asof, force)
    future = ahead if ahead is not None else submit(pool, integrity, *args)
    return Reading(path, Stored(version, info, days), args, future, ahead is not None)


def _check_args(path, version: int, last: str | None, asof: date | None, force: bool) -> tuple:
    """:func:`integrity`'s arguments for a state of schema ``version`` whose last stored day is
    ``last``: the whole chain when ``force``, with no ``asof`` or no day, or when ``asof`` is in
    a later month than ``last``; its last :data:`CHAIN_TAIL_DAYS` days otherwise."""
    new_month = last is not None and asof is not None and f"{asof:%Y-%m}" > last[:7]
    full = force or asof is None or last is None or new_month
    return (str(path), None if full else CHAIN_TAIL_DAYS, version >= 3)


@dataclass(frozen=True)
class Ahead:
    """:func:`integrity` run by :func:`check_ahead` on the file identified by ``fingerprint``
    (:func:`fingerprint`, the same before and after the checks), with ``args``."""

    fingerprint: tuple
    args: tuple
    outcome: tuple


def fingerprint(path: str | Path) -> tuple:
    """What identifies the database file's content: its device, inode, size, modification time
    (ns) and SQLite's file change counter (header bytes 24–27, incremented by every committed
    write in the rollback-journal mode the state uses: :func:`backtest.ops.state.connect`)."""
    info = os.stat(path)
    with open(path, "rb") as f:
        f.seek(24)
        counter = f.read(4)
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, counter


def check_ahead(path: str, asof: str, force: bool) -> Ahead | None:
    """The state's checks started before the lock is taken (in the helper process, while the
    command imports the fund's modules): :func:`integrity` with the arguments
    :func:`start_reading` will ask for, on the file as it is now. :meth:`Reading.checked`
    takes the outcome only when the arguments are the same and the file, under the lock, is
    still the one checked (:func:`fingerprint`); otherwise it checks again. None when the
    checks cannot be made ahead (no database, another file, a journal to roll back, a bad
    ``asof``, the file changed meanwhile): the run then checks under the lock, as ever."""
    try:
        path = os.path.realpath(path)
        day = date.fromisoformat(asof)
        before = fingerprint(path)
        with open(path, "rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return None
        conn = st.connect(path, readonly=True)
        try:
            version = st.schema_version(conn)
            last = conn.execute("SELECT MAX(date) FROM days").fetchone()[0] if version else None
        finally:
            conn.close()
        args = _check_args(path, version, last, day, force)
        outcome = integrity(*args)
        if fingerprint(path) != before:
            return None
    except (OSError, ValueError, sqlite3.Error):
        return None
    return Ahead(before, args, outcome)


def integrity(path: str, tail: int | None, chain: bool) -> tuple[list, str | None]:
    """(SQLite's ``quick_check`` result, the first day off the hash chain or None) of the
    state at ``path``, read only (in the helper process or here). ``tail``: the chain's last
    days checked (None: all; 0 with ``chain`` False: ``quick_check`` alone)."""
    conn = st.connect(path, readonly=True)
    try:
        check = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        if check != ["ok"] or not chain:
            return check, None
        return check, st.verify_chain(conn, tail)
    finally:
        conn.close()


def _refuse_corrupt(path: Path, check: list) -> None:
    """Exit 4 when SQLite's ``quick_check`` found problems: its first three, on one line."""
    if check != ["ok"]:
        found = "; ".join(" ".join(str(c).split()) for c in check[:3])
        raise NightlyError(EXIT_STATE, f"{path} is corrupt (SQLite quick_check: {found})")


class Reading:
    """A stored state read by :func:`start_reading`: ``stored`` at once (``broken`` not known
    yet), :meth:`checked` once its integrity checks are done."""

    def __init__(self, path: Path, stored: Stored, args: tuple, future: Future | None,
                 ahead: bool = False) -> None:  # fmt: skip
        self.path, self.stored = path, stored
        self._args, self._future, self._checked = args, future, None
        self._ahead = ahead  # the future is check_ahead's, not integrity's

    def checked(self) -> Stored:
        """The state with ``broken`` set, after ``quick_check`` and the hash chain (waited for
        when they run in the helper, run here otherwise or when the helper failed, or when the
        checks made ahead were not of this file: :func:`check_ahead`); the refusal (exit 4)
        when SQLite finds the file corrupt."""
        if self._checked is None:
            if self._ahead:
                check, broken = self._outcome_ahead()
            else:
                check, broken = result(self._future, integrity, *self._args)
            _refuse_corrupt(self.path, check)
            self._checked = dataclasses.replace(self.stored, broken=broken)
        return self._checked

    def _outcome_ahead(self) -> tuple[list, str | None]:
        """:func:`check_ahead`'s outcome if it checked this file as it is now (this process
        holds the lock and has not written it), with these arguments; else checked here."""
        try:
            ahead = self._future.result() if self._future is not None else None
        except Exception:  # noqa: BLE001 - a dead helper: checked here
            ahead = None
        if (ahead is not None and ahead.args == self._args
                and ahead.fingerprint == fingerprint(self._args[0])):  # fmt: skip
            return ahead.outcome
        return integrity(*self._args)
