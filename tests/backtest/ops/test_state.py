"""The nightly job's state database: migrations, one-transaction days, consistency checks."""

import sqlite3

import pandas as pd
import pytest

from backtest.ops import state as st


def _day(date: str, nav: float = 25.0, instruments=("ES", "EQ001")) -> st.DayRows:
    nxt = f"{pd.Timestamp(date) + pd.offsets.BDay(1):%Y-%m-%d}"
    nav_row = (date, *([nav] * len(st.NAV_FIELDS)), 0)
    rows = {
        "nav": [nav_row],
        "holdings": [(date, i, "fund", 3.0, 100.0, 300.0, 300.0) for i in instruments],
        "limit_checks": [(date, "industry", 0.1, 0.25, 0, 1), (date, "var_18f4", 0.01, 0.2, 0, 1)],
        "orders": [(date, nxt, "ES", "fund", "buy", 2.0, 100.0, 0.1, 5.0, 3.0)],
        "disclosed_portfolios": [
            (nxt, date, "ES", "fund", "ES future", "equity_index_future", 3.0, 100.0,
             0.0, 300.0, 0.0)
        ],
    }  # fmt: skip
    return st.DayRows(date, nxt, rows)


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrations_from_an_empty_database(tmp_path):
    conn = st.connect(tmp_path / "s.sqlite")
    assert st.schema_version(conn) == 0
    assert st.migrate(conn) == st.SCHEMA_VERSION == len(st.MIGRATIONS)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(1, st.SCHEMA_VERSION + 1))
    assert {"runs", "days", "state_info", *st.DAY_TABLES} <= _tables(conn)
    assert st.migrate(conn) == st.SCHEMA_VERSION  # idempotent
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(versions)


def test_migration_from_version_1_keeps_the_data(tmp_path):
    conn = st.connect(tmp_path / "s.sqlite")
    assert st.migrate(conn, target=1) == 1
    assert "disclosed_portfolios" not in _tables(conn)
    with st.transaction(conn):
        conn.execute(
            "INSERT INTO runs (id, started, asof, status, config_hash) "
            "VALUES (1, 'x', '2016-01-04', 'done', 'abc')"
        )
        day = _day("2016-01-04")
        for table in ("nav", "holdings", "limit_checks", "orders"):
            cols = st.COLUMNS[table]
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                day.rows[table],
            )
        conn.execute("INSERT INTO days VALUES ('2016-01-04', '2016-01-05', 'abc', 1, 'x')")
    before = {t: st.read_table(conn, t) for t in ("nav", "holdings", "orders", "limit_checks")}
    assert st.migrate(conn) == st.SCHEMA_VERSION
    for table, frame in before.items():
        assert st.read_table(conn, table).equals(frame)
    runs = st.read_table(conn, "runs")
    assert {"pid", "days_processed"} <= set(runs.columns) and runs["id"].tolist() == [1]
    st.write_day(conn, _day("2016-01-05"), "abc", 1)  # the new schema takes a full day
    assert st.check_consistency(conn, ["2016-01-04", "2016-01-05"]) == []


def test_a_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr(st, "MIGRATIONS", [st.MIGRATIONS[0], ("broken", broken)])
    conn = st.connect(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError, match="boom"):
        st.migrate(conn, target=2)
    assert st.schema_version(conn) == 1
    assert "half_done" not in _tables(conn)


def test_a_newer_schema_is_refused(tmp_path):
    conn = st.connect(tmp_path / "s.sqlite")
    st.migrate(conn)
    conn.execute("INSERT INTO schema_version VALUES (99, 'x', 'from the future')")
    with pytest.raises(st.StateError, match="newer"):
        st.migrate(conn)


def test_write_day_is_all_or_nothing_and_replaces(tmp_path):
    conn = st.connect(tmp_path / "s.sqlite")
    st.migrate(conn)
    st.write_day(conn, _day("2016-01-04", nav=25.0), "h", 1)
    before = {t: st.read_table(conn, t) for t in (*st.DAY_TABLES, "days")}

    def fail():
        raise KeyboardInterrupt  # even a BaseException rolls the day back

    with pytest.raises(KeyboardInterrupt):
        st.write_day(conn, _day("2016-01-04", nav=26.0, instruments=("NQ",)), "h", 2,
                     before_commit=fail)  # fmt: skip
    for table, frame in before.items():
        assert st.read_table(conn, table).equals(frame), table
    st.write_day(conn, _day("2016-01-04", nav=26.0, instruments=("NQ",)), "h", 2)
    assert st.read_table(conn, "nav")["nav_per_share"].tolist() == [26.0]
    assert st.read_table(conn, "holdings")["instrument"].tolist() == ["NQ"]
    assert st.stored_days(conn) == [("2016-01-04", "2016-01-05", "h")]


def test_check_consistency_finds_partial_days_and_gaps(tmp_path):
    conn = st.connect(tmp_path / "s.sqlite")
    st.migrate(conn)
    for d in ("2016-01-04", "2016-01-05"):
        st.write_day(conn, _day(d), "h", 1)
    assert st.check_consistency(conn, ["2016-01-04", "2016-01-05", "2016-01-06"]) == []
    assert st.check_consistency(conn, ["2016-01-04", "2016-01-06"])  # not a prefix
    with st.transaction(conn):  # a row of a day that was never marked complete
        conn.execute("INSERT INTO holdings VALUES ('2016-01-06', 'ES', 'fund', 1, 1, 1, 1)")
    problems = st.check_consistency(conn)
    assert len(problems) == 1 and "holdings" in problems[0] and "2016-01-06" in problems[0]
    with st.transaction(conn):
        conn.execute("DELETE FROM holdings WHERE date = '2016-01-06'")
        conn.execute("DELETE FROM limit_checks WHERE date = '2016-01-05'")
    assert "limit_checks" in st.check_consistency(conn)[0]


def test_read_only_connection_never_creates_a_file(tmp_path):
    path = tmp_path / "missing.sqlite"
    with pytest.raises(FileNotFoundError):
        st.connect(path, readonly=True)
    assert not path.exists()
    conn = st.connect(tmp_path / "s.sqlite")
    st.migrate(conn)
    ro = st.connect(tmp_path / "s.sqlite", readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        ro.execute("DELETE FROM nav")
