"""The nightly job's stored allocator solves (``allocator_solves``, schema version 5): exact
round trip, one new solve at most a night, and the same books with, without, or with damaged
stored solves, and after ``--force``."""

import shutil
import sqlite3

import numpy as np
import pytest

import allocator.risk as risk
from backtest.cli import main
from backtest.ops import state as st
from backtest.ops.solves import RunSolves, read_solves, store_solves, to_store
from tests.backtest.ops.test_nightly import write_config

#: the catch-up's last day, and the next business day, booked alone (mid-month: no recompute)
BEFORE, DAY = "2016-06-15", "2016-06-16"


def test_weights_round_trip_bit_for_bit():
    conn = sqlite3.connect(":memory:")
    st.migrate(conn)
    rng = np.random.default_rng(0)
    solves = {f"{k:064x}": rng.dirichlet(np.ones(4)) for k in range(50)}
    solves["tiny"] = np.array([1e-300, 5e-324, 0.1 + 0.2, 1.0 - 2**-53])
    with st.transaction(conn):
        store_solves(conn, solves)
    back = read_solves(conn, st.SCHEMA_VERSION)
    assert back.keys() == solves.keys()
    assert all(back[k].tobytes() == solves[k].tobytes() for k in solves)
    with st.transaction(conn):  # the table becomes what is stored, and nothing else
        store_solves(conn, {"tiny": np.array([0.5, 0.5])})
    assert {k: v.tolist() for k, v in read_solves(conn, st.SCHEMA_VERSION).items()} == {
        "tiny": [0.5, 0.5]
    }
    with st.transaction(conn):  # text that is not a list of numbers: left out, not an error
        conn.execute("INSERT INTO allocator_solves VALUES ('bad', 'not json')")
        conn.execute("INSERT INTO allocator_solves VALUES ('worse', '{\"a\": 1}')")
    assert list(read_solves(conn, st.SCHEMA_VERSION)) == ["tiny"]
    assert read_solves(conn, 4) == {}  # a state before the table


def test_a_run_keeps_the_solves_of_the_problems_it_met():
    read = {"a": np.ones(2), "b": np.zeros(2), "stale": np.ones(3)}
    solves = RunSolves(read)
    assert solves.get("a") is read["a"] and solves.get("b") is read["b"]
    assert to_store(read, solves).keys() == {"a", "b"}  # "stale" was not met: dropped
    solves.get("c")
    solves["c"] = np.ones(3)  # solved and added
    assert to_store(read, solves).keys() == {"a", "b", "c"}
    same = RunSolves(read)
    for key in read:
        same.get(key)
    assert to_store(read, same) is None  # nothing to write


@pytest.fixture(scope="module")
def caught_up(tmp_path_factory):
    """A short LALT-like fund (2015–2016) booked up to BEFORE."""
    root = tmp_path_factory.mktemp("solves")
    config = write_config(root / "fund.toml")
    state, out = root / "s.sqlite", root / "out"
    assert main(["nightly", "--config", str(config), "--asof", BEFORE, "--state", str(state),
                 "--out", str(out)]) == 0  # fmt: skip
    return config, state, out


def solves_table(state) -> dict:
    conn = st.connect(state, readonly=True)
    try:
        return read_solves(conn, st.schema_version(conn))
    finally:
        conn.close()


def book_day(tmp_path, caught_up, monkeypatch, change=None, *extra) -> tuple[str, int, dict]:
    """Book DAY on a copy of the caught-up state (after ``change(conn)``): (the day's hash
    chain, how many ERC problems were solved, the stored solves after)."""
    config, state, out = caught_up
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy = tmp_path / "s.sqlite"
    shutil.copy(state, copy)
    shutil.copytree(out, tmp_path / "out")
    if change is not None:
        conn = st.connect(copy)
        with st.transaction(conn):
            change(conn)
        conn.close()
    calls = []
    real = risk.erc_weights
    monkeypatch.setattr(risk, "erc_weights", lambda cov: calls.append(1) or real(cov))
    assert main(["nightly", "--config", str(config), "--asof", DAY, "--state", str(copy),
                 "--out", str(tmp_path / "out"), *extra]) == 0  # fmt: skip
    monkeypatch.undo()
    conn = st.connect(copy, readonly=True)
    chain = conn.execute("SELECT chain FROM days WHERE date = ?", (DAY,)).fetchone()[0]
    conn.close()
    return chain, len(calls), solves_table(copy)


def test_the_catch_up_stores_every_solve_and_the_next_day_solves_none(
    caught_up, tmp_path, monkeypatch
):
    stored = solves_table(caught_up[1])
    assert len(stored) >= 15  # ~monthly over 1.5 years, with the strategies' entries
    chain, solved, after = book_day(tmp_path, caught_up, monkeypatch)
    assert solved == 0  # mid-month: every problem was met before
    assert after.keys() == stored.keys()


def test_the_books_are_the_same_without_or_with_damaged_stored_solves(
    caught_up, tmp_path, monkeypatch
):
    stored = solves_table(caught_up[1])
    key0 = next(iter(stored))
    want, _, _ = book_day(tmp_path / "kept", caught_up, monkeypatch)

    def cleared(conn):
        conn.execute("DELETE FROM allocator_solves")

    def damaged(conn):  # every answer permuted (sums to 1, unequal risk budgets) or unreadable
        bad = {key: w[::-1].copy() for key, w in stored.items()}
        store_solves(conn, bad | {"stale": np.ones(4)})
        conn.execute("UPDATE allocator_solves SET weights = 'garbage' WHERE key = ?", (key0,))

    def before_the_table(conn):  # a state of schema version 4
        conn.execute("DROP TABLE allocator_solves")
        conn.execute("DELETE FROM schema_version WHERE version = 5")

    for name, change in [("cleared", cleared), ("damaged", damaged), ("v4", before_the_table)]:
        chain, solved, after = book_day(tmp_path / name, caught_up, monkeypatch, change)
        assert chain == want, name
        assert solved == len(stored), name  # each one solved again
        assert after.keys() == stored.keys(), name  # stored again, the stale entry gone
        assert all(after[k].tobytes() == stored[k].tobytes() for k in stored), name


def test_force_rebuilds_without_reading_the_stored_solves(caught_up, tmp_path, monkeypatch):
    want, _, _ = book_day(tmp_path / "plain", caught_up, monkeypatch)
    chain, solved, after = book_day(tmp_path / "force", caught_up, monkeypatch, None, "--force")
    assert chain == want
    assert solved == len(after) > 0  # every problem solved, none taken from the store
    assert all(abs(w.sum() - 1.0) < 1e-12 and (w > 0).all() for w in after.values())
