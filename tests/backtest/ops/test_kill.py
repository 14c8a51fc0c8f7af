"""Fault injection: a long catch-up killed with ``kill -9`` at 24 random points (inside a day's
transaction, right after a commit, or at an arbitrary moment) always leaves whole days and a
sound hash chain, and resumes to exactly the tables and files of an uninterrupted run."""

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import main
from backtest.ops import nightly
from backtest.ops import state as st

LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"
ASOF = "2015-07-31"  # about 145 business days from inception 2015-01-02
KILLS = 24


def spawn(config, state, out, env=None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof",
           ASOF, "--state", str(state), "--out", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))  # fmt: skip


def wait_for(proc, text: bytes, timeout: float = 120.0) -> None:
    seen, deadline = b"", time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline and proc.poll() is None, seen
        if select.select([proc.stderr], [], [], 0.2)[0]:
            seen += os.read(proc.stderr.fileno(), 4096)


def committed(state: Path) -> int:
    try:
        conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT COUNT(*) FROM days").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def whole_days(state: Path) -> int:
    """Whole days only, a prefix of the calendar, each with its rows; the chain sound."""
    conn = st.connect(state)  # read-write: rolls back what a killed run left in its journal
    try:
        assert st.check_consistency(conn) == []
        assert st.verify_chain(conn) is None
        return conn.execute("SELECT COUNT(*) FROM days").fetchone()[0]
    finally:
        conn.close()


def tables(state: Path) -> dict[str, pd.DataFrame]:
    conn = st.connect(state, readonly=True)
    try:
        out = {t: st.read_table(conn, t) for t in st.DAY_TABLES}
        out["days"] = st.read_table(conn, "days")[["date", "next_date", "config_hash", "chain"]]
        return out
    finally:
        conn.close()


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name[:7] != "summary"}


@pytest.mark.slow
def test_24_kills_at_random_points_resume_to_the_uninterrupted_run(tmp_path):
    text = LALT.read_text().replace('start = "2005-01-03"', 'start = "2015-01-02"')
    config = tmp_path / "fund.toml"
    config.write_text(text.replace('end = "2024-12-31"', 'end = "2015-12-31"'))
    assert main(["nightly", "--config", str(config), "--asof", ASOF, "--state",
                 str(tmp_path / "ref.sqlite"), "--out", str(tmp_path / "ref")]) == 0  # fmt: skip
    total = len(tables(tmp_path / "ref.sqlite")["days"])
    state, out = tmp_path / "s.sqlite", tmp_path / "out"
    rng = random.Random(13)
    done, kinds = 0, []
    for _ in range(KILLS):
        kind = rng.choice(["before_commit", "after_commit", "anywhere"])
        if kind == "anywhere":
            # an arbitrary moment of booking; the pause after a few days only bounds how far it
            # can get, so a fast machine cannot finish the catch-up before the kill lands
            n = rng.randint(1, 4)
            proc = spawn(config, state, out, {nightly.ENV_PAUSE_AFTER: str(n)})
            deadline = time.monotonic() + 120
            while committed(state) <= done:  # booking has started
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.08))
        else:
            n = rng.randint(1, 4)
            proc = spawn(config, state, out, {nightly.ENV_PAUSE_AFTER: str(n),
                                              nightly.ENV_PAUSE_AT: kind})  # fmt: skip
            wait_for(proc, f"paused {kind} after {n} days".encode())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        now = whole_days(state)
        if kind != "anywhere":
            assert now == done + n, (kind, n, done, now)  # before_commit: day n+1 rolled back
        assert done <= now < total
        done, kinds = now, [*kinds, kind]
    assert len(kinds) == KILLS and done > KILLS  # every kill came after progress
    proc = spawn(config, state, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    proc.stderr.close()
    assert whole_days(state) == total
    got, want = tables(state), tables(tmp_path / "ref.sqlite")
    for table in want:
        pd.testing.assert_frame_equal(got[table], want[table], check_exact=True)
    assert files(out) == files(tmp_path / "ref")
    runs = st.read_table(st.connect(state, readonly=True), "runs")["status"].tolist()
    assert runs == ["interrupted"] * KILLS + ["done"]
