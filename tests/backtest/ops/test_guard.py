"""What the nightly job checks before it books (backtest/ops/guard.py and the hash chain of
backtest/ops/state.py): an empty, foreign or corrupt state exits 4 and is never built upon;
the lock is taken on the resolved file, never through a symbolic link; stored history is
verified beyond the last day; outputs are checked writable before anything is booked."""

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import main
from backtest.errors import NightlyError
from backtest.ops import nightly
from backtest.ops import state as st
from backtest.ops.guard import (
    CHAIN_TAIL_DAYS,
    check_ahead,
    fingerprint,
    integrity,
    read_stored,
    start_reading,
)
from backtest.workers import available_cores, helper_process

LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"
ASOF = "2015-02-13"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    text = LALT.read_text().replace('start = "2005-01-03"', 'start = "2015-01-02"')
    path = tmp_path_factory.mktemp("cfg") / "fund.toml"
    path.write_text(text.replace('end = "2024-12-31"', 'end = "2015-12-31"'))
    return path


def nightly_run(capsys, config, state, out, asof=ASOF, *extra) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["nightly", "--config", str(config), "--asof", asof, "--state", str(state),
                 "--out", str(out), *extra])  # fmt: skip
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.fixture(scope="module")
def booked(tmp_path_factory, config) -> Path:
    """A state booked from inception (2015-01-02) to ASOF."""
    root = tmp_path_factory.mktemp("booked")
    assert main(["nightly", "--config", str(config), "--asof", ASOF, "--state",
                 str(root / "s.sqlite"), "--out", str(root / "out")]) == 0  # fmt: skip
    return root / "s.sqlite"


@pytest.fixture
def state(booked, tmp_path) -> Path:
    shutil.copy(booked, tmp_path / "s.sqlite")
    return tmp_path / "s.sqlite"


# ------------------------------------------------------------------ the state file itself
@pytest.mark.parametrize("content", [b"", b"garbage, not a database\n" * 40])
def test_an_empty_or_foreign_state_exits_4_untouched(content, tmp_path, capsys, config):
    state = tmp_path / "s.sqlite"
    state.write_bytes(content)
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out")
    assert code == 4 and str(state) in err and err.count("\n") == 1, err
    assert ("is empty (0 bytes)" if not content else "not a SQLite database") in err
    assert state.read_bytes() == content and not (tmp_path / "out").exists()


def test_garbage_written_into_the_state_is_detected(state, tmp_path, capsys, config):
    data = bytearray(state.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xa5" * 4096  # a page overwritten
    state.write_bytes(bytes(data))
    before = digest(state)
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2015-02-20")
    assert code == 4 and str(state) in err and err.count("\n") == 1, err  # one line
    assert digest(state) == before and not (tmp_path / "out").exists()


def test_a_changed_stored_day_breaks_the_hash_chain_and_force_rebuilds(state, tmp_path, capsys,
                                                                       config):  # fmt: skip
    conn = st.connect(state)
    # a middle day, not the last (only the chain can see it), within the days every run checks
    day = conn.execute("SELECT date FROM days ORDER BY date DESC LIMIT 1 OFFSET 10").fetchone()[0]
    with st.transaction(conn):
        conn.execute("UPDATE nav SET cash = cash + 1 WHERE date = ?", (day,))
    assert st.verify_chain(conn) == day
    conn.close()
    before = digest(state)
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2015-02-20")
    assert code == 4 and f"stored day {day} does not match the hash chain" in err
    assert digest(state) == before
    code, out, _ = nightly_run(capsys, config, state, tmp_path / "out", "2015-02-20", "--force")
    assert code == 0 and "rebuilt from inception" in out
    conn = st.connect(state, readonly=True)
    assert st.verify_chain(conn) is None
    assert conn.execute("SELECT MAX(date) FROM days").fetchone()[0] == "2015-02-20"


def test_an_earlier_day_the_recomputation_no_longer_gives_is_refused(state, tmp_path, capsys,
                                                                     config):  # fmt: skip
    conn = st.connect(state)
    day = conn.execute("SELECT date FROM days ORDER BY date LIMIT 1 OFFSET 5").fetchone()[0]
    with st.transaction(conn):  # revised consistently (chain resealed): not the last day
        conn.execute("UPDATE nav SET nav_per_share_5dp = nav_per_share_5dp + 0.01 WHERE date = ?",
                     (day,))  # fmt: skip
        previous = ""
        for (d,) in conn.execute("SELECT date FROM days ORDER BY date").fetchall():
            previous = st.day_hash(conn, d, previous)
            conn.execute("UPDATE days SET chain = ? WHERE date = ?", (previous, d))
    conn.close()
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2015-02-20")
    assert code == 4 and f"recomputed NAV of stored day {day}" in err, err


def test_migration_to_the_chain_seals_the_days_already_stored(state):
    conn = st.connect(state)
    chains = [r[0] for r in conn.execute("SELECT chain FROM days ORDER BY date")]
    with st.transaction(conn):
        conn.execute("UPDATE days SET chain = NULL")
    previous = ""
    for date, _, _ in st.stored_days(conn):  # what _v3 does for a version-2 state
        previous = st.day_hash(conn, date, previous)
    assert previous == chains[-1] and len(set(chains)) == len(chains)


# ------------------------------------------------------------------ the lock
def test_the_lock_is_taken_on_the_resolved_file(state, tmp_path, config):
    link = tmp_path / "link.sqlite"
    link.symlink_to(state)
    assert nightly.lock_path(link) == nightly.lock_path(state)
    before = digest(state)
    with open(nightly.lock_path(state), "w") as f:  # another run holds the real database
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = subprocess.run(
            [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof",
             "2015-02-20", "--state", str(link), "--out", str(tmp_path / "o")],
            capture_output=True, text=True, timeout=300, env=dict(os.environ),
        )  # fmt: skip
    assert done.returncode == 4 and "another nightly run holds" in done.stderr
    assert digest(state) == before


def test_a_symlink_at_the_lock_is_refused_never_written_through(state, tmp_path, capsys, config):
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate me\n")
    Path(f"{state}.lock").unlink(missing_ok=True)
    Path(f"{state}.lock").symlink_to(target)
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2015-02-20")
    assert code == 4 and "symbolic link" in err, err
    assert target.read_text() == "do not truncate me\n"


# ------------------------------------------------------------------ outputs
@pytest.mark.parametrize("where", ["a file as --out", "--out under a file"])
def test_an_unwritable_out_is_refused_before_anything_is_booked(where, state, tmp_path, capsys,
                                                                config):  # fmt: skip
    (tmp_path / "blocker").write_text("a file\n")
    out = tmp_path / "blocker" if where == "a file as --out" else tmp_path / "blocker" / "out"
    before = digest(state)
    for _ in range(2):  # a retry books nothing either
        code, _, err = nightly_run(capsys, config, state, out, "2015-02-20")
        assert code == 2 and "--out" in err, err
        assert digest(state) == before
    assert not (tmp_path / "fresh.sqlite").exists()
    code, _, _ = nightly_run(capsys, config, tmp_path / "fresh.sqlite", out, "2015-02-20")
    assert code == 2 and not (tmp_path / "fresh.sqlite").exists()


def test_published_files_follow_the_umask(tmp_path, config, capsys):
    old = os.umask(0o022)
    try:
        assert nightly_run(capsys, config, tmp_path / "s.sqlite", tmp_path / "out",
                           "2015-01-07")[0] == 0  # fmt: skip
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes


def test_an_old_change_is_caught_by_the_first_run_of_the_next_month(state, tmp_path, capsys,
                                                                    config):  # fmt: skip
    """Every run checks the last CHAIN_TAIL_DAYS booked days; the whole history is checked by
    the first run of each month (and with --force)."""
    conn = st.connect(state)
    days = [r[0] for r in conn.execute("SELECT date FROM days ORDER BY date")]
    with st.transaction(conn):
        conn.execute("UPDATE nav SET cash = cash + 1 WHERE date = ?", (days[0],))
    conn.close()
    last = pd.Timestamp(days[-1])
    same_month = read_stored(state, last, force=False)
    next_month = read_stored(state, last + pd.offsets.MonthBegin(1), force=False)
    assert next_month.broken == days[0] and read_stored(state, last, force=True).broken == days[0]
    assert same_month.broken == (days[0] if len(days) <= CHAIN_TAIL_DAYS else None)


# ------------------------------------------------------------------ the checks in the helper
def _damage(state: Path, how: str) -> None:
    if how == "changed day":
        conn = st.connect(state)
        day = conn.execute("SELECT date FROM days ORDER BY date DESC LIMIT 1 OFFSET 3").fetchone()
        with st.transaction(conn):
            conn.execute("UPDATE nav SET cash = cash + 1 WHERE date = ?", day)
        conn.close()
    elif how == "garbage page":
        data = bytearray(state.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 4096] = b"\xa5" * 4096
        state.write_bytes(bytes(data))


def _outcome(state: Path, pool) -> object:
    """What the checks of ``state`` give: the checked Stored, or the refusal's type and text."""
    try:
        return start_reading(state, pd.Timestamp("2015-02-20"), False, pool).checked()
    except (NightlyError, sqlite3.DatabaseError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.skipif(available_cores() < 2, reason="one core: no helper process")
@pytest.mark.parametrize("how", ["none", "changed day", "garbage page"])
def test_the_checks_in_the_helper_process_give_what_they_give_here(state, how):
    _damage(state, how)
    before = digest(state)
    with helper_process(warm="backtest.ops.guard") as pool:
        in_helper = _outcome(state, pool)
    assert in_helper == _outcome(state, None) == _outcome(state, None)
    assert digest(state) == before
    if how == "garbage page":
        assert isinstance(in_helper, tuple), in_helper
    else:
        assert in_helper == read_stored(state, pd.Timestamp("2015-02-20"))
        assert (in_helper.broken is None) == (how == "none") and len(in_helper.days) > 20


class RecordingPool:
    """Stands for the helper process: runs what it is handed at once, and records it."""

    def __init__(self) -> None:
        self.calls = []

    def submit(self, fn, *args) -> Future:
        self.calls.append((fn.__name__, args))
        future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed back as the helper would
            future.set_exception(exc)
        return future


def _rows(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = {n: conn.execute(f"SELECT * FROM {n} ORDER BY 1").fetchall()
                for n in names if n not in ("runs", "info", "days")}  # fmt: skip
        # the days without the time they were committed (the chain covers their rows)
        days = "SELECT date, next_date, config_hash, chain FROM days ORDER BY date"
        return rows | {"days": conn.execute(days).fetchall()}
    finally:
        conn.close()


def test_one_more_day_hands_the_state_checks_to_the_helper_and_books_the_same(booked, tmp_path,
                                                                              config):  # fmt: skip
    runs = {}
    for name, pool in (("helper", RecordingPool()), ("here", None)):
        state = tmp_path / name / "s.sqlite"
        state.parent.mkdir()
        shutil.copy(booked, state)
        opts = nightly.NightlyOptions(config=config, asof="2015-02-20", state=state,
                                      out=tmp_path / name / "out")  # fmt: skip
        code, message = nightly.run_nightly(opts, pool)
        assert code == 0 and "booked 4 business days" in message, message
        runs[name] = (state, pool)
    state, pool = runs["helper"]
    assert pool.calls == [("integrity", (os.path.realpath(state), CHAIN_TAIL_DAYS, True))]
    assert _rows(state) == _rows(runs["here"][0])
    files = sorted(p.name for p in (tmp_path / "here" / "out").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "helper" / "out").iterdir())
    for name in files:
        if not name.startswith("summary_"):  # its run id and seconds differ
            assert (tmp_path / "here" / "out" / name).read_bytes() == (
                tmp_path / "helper" / "out" / name
            ).read_bytes(), name


def test_a_changed_state_is_refused_before_any_other_problem(booked, state, tmp_path, capsys,
                                                             config):  # fmt: skip
    """The state's checks run while the fund is computed, but their refusal still comes first:
    here the asof is months past the data (exit 2 on an intact state)."""
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2016-06-01")
    assert code == 2 and "after the last day of the data" in err, err
    _damage(state, "changed day")
    before = digest(state)
    code, _, err = nightly_run(capsys, config, state, tmp_path / "out", "2016-06-01")
    assert code == 4 and "does not match the hash chain" in err, err
    assert digest(state) == before and not (tmp_path / "out").exists()


def test_the_state_checks_import_the_standard_library_only():
    """The nightly job's helper process imports them while the main process imports the fund's
    modules: without numpy or pandas it starts at once and takes little of the second core."""
    probe = "import sys, backtest.ops.guard; print(sorted({'numpy', 'pandas'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ the checks made ahead
def _done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def _outcome_with(state: Path, ahead) -> object:
    try:
        return start_reading(Path(os.path.realpath(state)), pd.Timestamp("2015-02-20"), False,
                             None, _done(ahead)).checked()  # fmt: skip
    except (NightlyError, sqlite3.DatabaseError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("how", ["none", "changed day", "garbage page"])
def test_the_checks_made_ahead_are_the_checks_under_the_lock(state, how):
    _damage(state, how)
    ahead = check_ahead(str(state), "2015-02-20", False)
    if ahead is not None:
        assert ahead.fingerprint == fingerprint(os.path.realpath(state))
        assert ahead.args == (os.path.realpath(state), CHAIN_TAIL_DAYS, True)
        assert ahead.outcome == integrity(*ahead.args)
    else:  # a page SQLite cannot read even to find the last day: left to the run
        assert how == "garbage page"
    assert _outcome_with(state, ahead) == _outcome(state, None)
    if how != "garbage page":
        assert (_outcome(state, None).broken is None) == (how == "none")


def test_a_state_changed_after_the_checks_ahead_is_checked_again(state):
    """The outcome is taken only for the very file checked: a day changed after the checks
    made ahead (a writer that ignored the lock, or the file replaced) is still caught."""
    real = Path(os.path.realpath(state))
    ahead = check_ahead(str(state), "2015-02-20", False)
    assert ahead.outcome == (["ok"], None)
    _damage(state, "changed day")
    reading = start_reading(real, pd.Timestamp("2015-02-20"), False, None, _done(ahead))
    assert reading.checked().broken is not None
    # the same file but other arguments (a new month: the whole chain) is checked again too
    shutil.copy(state, state.with_name("fresh.sqlite"))
    shutil.copy(state.with_name("fresh.sqlite"), state)
    stale = check_ahead(str(state), "2015-02-20", False)
    conn = st.connect(state)
    with st.transaction(conn):  # the first day changed: outside the last days' chain
        conn.execute("UPDATE nav SET cash = cash + 1 WHERE date = '2015-01-02'")
    conn.close()
    reading = start_reading(real, pd.Timestamp("2015-03-02"), False, None, _done(stale))
    assert reading.checked().broken == "2015-01-02"


def test_checks_ahead_that_cannot_be_made_are_left_to_the_run(tmp_path, state):
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_bytes(b"garbage, not a database\n" * 40)
    assert check_ahead(str(tmp_path / "missing.sqlite"), "2015-02-20", False) is None
    assert check_ahead(str(foreign), "2015-02-20", False) is None
    assert check_ahead(str(state), "20/02/2015", False) is None
    for ahead in (None, _done(None)):  # none made: checked under the lock
        reading = start_reading(Path(os.path.realpath(state)), pd.Timestamp("2015-02-20"),
                                False, None, ahead)  # fmt: skip
        assert reading.checked() == read_stored(state, pd.Timestamp("2015-02-20"))


@pytest.mark.skipif(available_cores() < 2, reason="one core: no helper process")
def test_the_command_takes_the_checks_made_ahead(booked, tmp_path, capsys, config, monkeypatch):
    """``multistrat nightly`` hands check_ahead to its helper at its start, takes its outcome
    (no check in this process) and books the same days."""
    import backtest.ops.guard as guard
    import backtest.workers as workers

    handed, here = [], []
    submit, checks = workers.submit, guard.integrity
    monkeypatch.setattr(workers, "submit", lambda pool, fn, *a: handed.append(
        (fn.__name__, a)) or submit(pool, fn, *a))  # fmt: skip
    monkeypatch.setattr(guard, "integrity", lambda *a: here.append(a) or checks(*a))
    shutil.copy(booked, tmp_path / "s.sqlite")
    code, text, _ = nightly_run(capsys, config, tmp_path / "s.sqlite", tmp_path / "out",
                                "2015-02-20")  # fmt: skip
    assert code == 0 and "booked 4 business days" in text
    assert handed == [("check_ahead", (str(tmp_path / "s.sqlite"), "2015-02-20", False))]
    assert here == []
