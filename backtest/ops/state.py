"""The nightly job's state: one SQLite file behind a small storage API, with versioned migrations.

Everything the nightly job keeps goes through this module, so a server database can replace
SQLite later: the SQL is standard (``CHAR``/``VARCHAR``/``DOUBLE PRECISION``/``BOOLEAN`` columns,
composite primary keys, no SQLite-only functions), there is one connection function
(:func:`connect`) and one transaction helper (:func:`transaction`). Only the ``?`` parameter
style and the ``PRAGMA`` calls (:func:`connect`, :func:`read_table`, :func:`check_consistency`)
are SQLite's.

Schema (version :data:`SCHEMA_VERSION`; dates are ``YYYY-MM-DD`` text, money in USD)
-------------------------------------------------------------------------------------
``schema_version``        version, applied (UTC ISO time), description — one row per migration.
``state_info``            name → value: ``config_hash``, ``inception``, ``source``, ``config``
                          (the canonical JSON the hash is taken of), ``created``.
``runs``                  id, started, finished, asof, status (running | done | interrupted |
                          failed), exit_code, message, config_hash, pid, days_processed.
``days``                  date (PK), next_date, config_hash, run_id, committed, chain — the
                          marker of a complete business day; written in the same transaction as
                          its rows. ``chain`` (version 3) is the hash chain over booked days:
                          sha256 of the previous day's chain and every row of the day
                          (:func:`day_hash`), checked on every run (:func:`verify_chain`).
``nav``                   date (PK) and every column of ``SimulationResult.nav``.
``holdings``              date, instrument, book, quantity, price, market_value, notional_usd.
``trades``                executed, booked (= the day they belong to), instrument, book,
                          quantity, price, cost.
``flows``                 date (received and priced), seq, booked, units, kind, shares, nav_5dp,
                          value.
``orders``                date (decided), for_date (to execute at its close), instrument, book,
                          side (buy | sell), quantity (> 0), reference_price, target_exposure,
                          target_quantity, current_quantity.
``limit_checks``          date, rule, figure, limit_value (``limit`` is an SQL keyword), breach,
                          applies.
``disclosed_portfolios``  for_date, valued_at (= the day it belongs to), instrument, book, name,
                          kind, quantity, price, market_value, notional_usd, pct_net_assets.
``substitute_basket_days``  (version 4; a semi-transparent fund only) valued_at (PK, the day it
                          belongs to), for_date, overlap with the actual portfolio (NULL on a
                          day the fund holds nothing: no overlap to measure).
``substitute_baskets``    (version 4) for_date, valued_at, instrument, kind, weight (notional
                          as a fraction of net assets): the published substitute basket.
``allocator_solves``      (version 5) key (PK), weights: the allocator's risk-budget solves, a
                          cache of pure answers outside the books (:mod:`backtest.ops.solves`).

Every row belongs to one business day (:data:`DAY_COLUMN` names the column per table); a day is
written or replaced in one transaction (:func:`write_day`), so no partial day can be stored.
The tables of :data:`OPTIONAL_TABLES` enter a day's hash only when the day has rows in them, so
a transparent fund's chain is the same as under version 3 (no chain is recomputed by version 4).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from backtest.errors import StateError

if TYPE_CHECKING:
    import pandas as pd

NAV_FIELDS = (
    "nav_per_share", "nav_per_share_5dp", "shares_outstanding", "total_assets", "liabilities",
    "net_assets", "fund_net_assets", "subsidiary_net_assets", "subsidiary_pct_total_assets",
    "cash", "cash_fund", "cash_subsidiary", "accrued_expenses", "accrued_interest",
    "accrued_interest_fund", "accrued_interest_subsidiary", "interest", "expenses", "flow_value",
    "fees", "costs", "pnl", "transfer_to_subsidiary",
)  # fmt: skip

_D = "CHAR(10) NOT NULL"
_F = "DOUBLE PRECISION NOT NULL"
_ID = "VARCHAR(64) NOT NULL"


def _v1(conn: sqlite3.Connection) -> None:
    nav_cols = ", ".join(f"{c} {_F}" for c in NAV_FIELDS)
    for sql in (
        "CREATE TABLE state_info (name VARCHAR(64) NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE runs (id INTEGER NOT NULL PRIMARY KEY, started VARCHAR(32) NOT NULL,
            finished VARCHAR(32), asof {_D}, status VARCHAR(16) NOT NULL, exit_code INTEGER,
            message TEXT, config_hash CHAR(64) NOT NULL)""",
        f"""CREATE TABLE days (date {_D} PRIMARY KEY, next_date {_D},
            config_hash CHAR(64) NOT NULL, run_id INTEGER NOT NULL,
            committed VARCHAR(32) NOT NULL)""",
        f"CREATE TABLE nav (date {_D} PRIMARY KEY, {nav_cols}, cash_shortfall BOOLEAN NOT NULL)",
        f"""CREATE TABLE holdings (date {_D}, instrument {_ID}, book VARCHAR(16) NOT NULL,
            quantity {_F}, price {_F}, market_value {_F}, notional_usd {_F},
            PRIMARY KEY (date, instrument))""",
        f"""CREATE TABLE trades (executed {_D}, booked {_D}, instrument {_ID},
            book VARCHAR(16) NOT NULL, quantity {_F}, price {_F}, cost {_F},
            PRIMARY KEY (booked, instrument))""",
        f"""CREATE TABLE flows (date {_D}, seq INTEGER NOT NULL, booked {_D},
            units INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, shares BIGINT NOT NULL,
            nav_5dp {_F}, value {_F}, PRIMARY KEY (date, seq))""",
        f"""CREATE TABLE orders (date {_D}, for_date {_D}, instrument {_ID},
            book VARCHAR(16) NOT NULL, side VARCHAR(4) NOT NULL, quantity {_F},
            reference_price {_F}, target_exposure {_F}, target_quantity {_F},
            current_quantity {_F}, PRIMARY KEY (date, instrument))""",
        f"""CREATE TABLE limit_checks (date {_D}, rule VARCHAR(32) NOT NULL, figure {_F},
            limit_value {_F}, breach BOOLEAN NOT NULL, applies BOOLEAN NOT NULL,
            PRIMARY KEY (date, rule))""",
    ):
        conn.execute(sql)


def _v2(conn: sqlite3.Connection) -> None:
    """Disclosed Portfolio rows; pid and day count on runs; indexes for the day deletes."""
    conn.execute(
        f"""CREATE TABLE disclosed_portfolios (for_date {_D}, valued_at {_D}, instrument {_ID},
            book VARCHAR(16) NOT NULL, name VARCHAR(200) NOT NULL, kind VARCHAR(32) NOT NULL,
            quantity {_F}, price {_F}, market_value {_F}, notional_usd {_F},
            pct_net_assets {_F}, PRIMARY KEY (for_date, instrument, book))"""
    )
    conn.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
    conn.execute("ALTER TABLE runs ADD COLUMN days_processed INTEGER")
    conn.execute("CREATE INDEX disclosed_portfolios_valued_at ON disclosed_portfolios (valued_at)")


def _v3(conn: sqlite3.Connection) -> None:
    """The hash chain over booked days (days.chain), computed for the days already stored."""
    conn.execute("ALTER TABLE days ADD COLUMN chain CHAR(64)")
    previous = ""
    for (date,) in conn.execute("SELECT date FROM days ORDER BY date").fetchall():
        previous = day_hash(conn, date, previous)
        conn.execute("UPDATE days SET chain = ? WHERE date = ?", (previous, date))


def _v4(conn: sqlite3.Connection) -> None:
    """A semi-transparent fund's substitute baskets, kept with their day (so the published files
    can be re-written from the database, as the Disclosed Portfolio's are)."""
    conn.execute(
        f"""CREATE TABLE substitute_basket_days (valued_at {_D} PRIMARY KEY, for_date {_D},
            overlap DOUBLE PRECISION)"""
    )
    conn.execute(
        f"""CREATE TABLE substitute_baskets (for_date {_D}, valued_at {_D}, instrument {_ID},
            kind VARCHAR(32) NOT NULL, weight {_F}, PRIMARY KEY (valued_at, instrument))"""
    )


def _v5(conn: sqlite3.Connection) -> None:
    """The allocator's solves, so that a run does not solve again what an earlier one did."""
    conn.execute("CREATE TABLE allocator_solves (key CHAR(64) PRIMARY KEY, weights TEXT NOT NULL)")


#: Migration ``k`` (1-based) takes the schema from version ``k-1`` to ``k``. Append, never edit.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("runs, days, nav, holdings, trades, flows, orders, limit checks", _v1),
    ("disclosed portfolios; runs.pid and runs.days_processed", _v2),
    ("hash chain over booked days (days.chain)", _v3),
    ("substitute baskets (semi-transparent funds)", _v4),
    ("the allocator's risk-budget solves (a cache)", _v5),
]
#: Tables every state of a given schema version has (checked before a run builds on it).
SCHEMA_TABLES = {
    1: {"schema_version", "state_info", "runs", "days", "nav", "holdings", "trades", "flows",
        "orders", "limit_checks"},
    2: {"disclosed_portfolios"},
    4: {"substitute_basket_days", "substitute_baskets"},
    5: {"allocator_solves"},
}  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)

#: Column of each per-day table that names the business day the row belongs to (in write order).
DAY_COLUMN = {
    "nav": "date",
    "holdings": "date",
    "trades": "booked",
    "flows": "date",
    "orders": "date",
    "limit_checks": "date",
    "disclosed_portfolios": "valued_at",
    "substitute_basket_days": "valued_at",
    "substitute_baskets": "valued_at",
    "days": "date",
}
#: Insert order of each per-day table's columns (``days`` is written by :func:`write_day`).
COLUMNS = {
    "nav": ("date", *NAV_FIELDS, "cash_shortfall"),
    "holdings": ("date", "instrument", "book", "quantity", "price", "market_value",
                 "notional_usd"),
    "trades": ("executed", "booked", "instrument", "book", "quantity", "price", "cost"),
    "flows": ("date", "seq", "booked", "units", "kind", "shares", "nav_5dp", "value"),
    "orders": ("date", "for_date", "instrument", "book", "side", "quantity", "reference_price",
               "target_exposure", "target_quantity", "current_quantity"),
    "limit_checks": ("date", "rule", "figure", "limit_value", "breach", "applies"),
    "disclosed_portfolios": ("for_date", "valued_at", "instrument", "book", "name", "kind",
                             "quantity", "price", "market_value", "notional_usd",
                             "pct_net_assets"),
    "substitute_basket_days": ("valued_at", "for_date", "overlap"),
    "substitute_baskets": ("for_date", "valued_at", "instrument", "kind", "weight"),
}  # fmt: skip
DAY_TABLES = tuple(COLUMNS)
#: Day tables that enter a day's hash only when it has rows in them (see the module docstring).
OPTIONAL_TABLES = frozenset({"substitute_basket_days", "substitute_baskets"})
#: Primary key of every table (the row order of reads).
KEYS = {
    "nav": ("date",),
    "holdings": ("date", "instrument"),
    "trades": ("booked", "instrument"),
    "flows": ("date", "seq"),
    "orders": ("date", "instrument"),
    "limit_checks": ("date", "rule"),
    "disclosed_portfolios": ("for_date", "instrument", "book"),
    "substitute_basket_days": ("valued_at",),
    "substitute_baskets": ("valued_at", "instrument"),
    "days": ("date",),
    "runs": ("id",),
    "state_info": ("name",),
    "schema_version": ("version",),
    "allocator_solves": ("key",),
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def connect(path: str | Path, readonly: bool = False) -> sqlite3.Connection:
    """The one way to open the state. ``readonly`` never creates or changes the file.

    The connection is in autocommit mode: write through :func:`transaction`. The rollback
    journal (not WAL) keeps the state in one file; ``synchronous=FULL`` makes a commit durable.
    """
    path = Path(path)
    if readonly:
        if not path.is_file():
            raise FileNotFoundError(f"state database not found: {path}")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None)  # fmt: skip
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` on any exception (then re-raised)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ------------------------------------------------------------------------------ schema
def schema_version(conn: sqlite3.Connection) -> int:
    """The applied schema version (0 for an empty database)."""
    found = conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()[0]
    if not found:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the pending migrations up to ``target``, each in its own transaction; return the
    version reached. Refuses a database newer than this program (:class:`StateError`)."""
    if target > SCHEMA_VERSION:
        raise ValueError(f"no migration to version {target} (latest {SCHEMA_VERSION})")
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state schema version {version} is newer than this program's ({SCHEMA_VERSION})"
        )
    while version < target:
        description, apply = MIGRATIONS[version]
        with transaction(conn):
            if version == 0:
                conn.execute(
                    "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, "
                    "applied VARCHAR(32) NOT NULL, description VARCHAR(200) NOT NULL)"
                )
            apply(conn)
            version += 1
            conn.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                         (version, now(), description))  # fmt: skip
    return version


# ------------------------------------------------------------------------------ info and runs
def read_info(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT name, value FROM state_info").fetchall())


def write_info(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    """Set ``state_info`` values (inside a transaction)."""
    for name, value in values.items():
        conn.execute("DELETE FROM state_info WHERE name = ?", (name,))
        conn.execute("INSERT INTO state_info (name, value) VALUES (?, ?)", (name, value))


def start_run(conn: sqlite3.Connection, asof: str, config_hash: str, pid: int) -> int:
    """Record a run (inside a transaction); runs left ``running`` by a killed job become
    ``interrupted``. Returns the new run id."""
    conn.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    run_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM runs").fetchone()[0])
    conn.execute(
        "INSERT INTO runs (id, started, asof, status, config_hash, pid, days_processed) "
        "VALUES (?, ?, ?, 'running', ?, ?, 0)",
        (run_id, now(), asof, config_hash, pid),
    )
    return run_id


def finish_run(conn, run_id: int, status: str, exit_code: int, message: str, days: int) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE runs SET finished = ?, status = ?, exit_code = ?, message = ?, "
            "days_processed = ? WHERE id = ?",
            (now(), status, exit_code, message, days, run_id),
        )


# ------------------------------------------------------------------------------ days
@dataclass(frozen=True)
class DayRows:
    """Every row of one business day, as tuples in :data:`COLUMNS` order."""

    date: str
    next_date: str
    rows: dict[str, list[tuple]] = field(default_factory=dict)


def stored_days(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(date, next_date, config_hash) of every stored day, in date order."""
    return conn.execute("SELECT date, next_date, config_hash FROM days ORDER BY date").fetchall()


def delete_day(conn: sqlite3.Connection, date: str) -> None:
    """Remove every row of ``date`` (inside a transaction)."""
    for table in (*present_day_tables(conn), "days"):
        conn.execute(f"DELETE FROM {table} WHERE {DAY_COLUMN[table]} = ?", (date,))


def delete_all_days(conn: sqlite3.Connection) -> None:
    for table in (*present_day_tables(conn), "days"):
        conn.execute(f"DELETE FROM {table}")


def write_day(
    conn: sqlite3.Connection,
    day: DayRows,
    config_hash: str,
    run_id: int,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace business day ``day.date`` with ``day.rows`` in one transaction.

    ``before_commit`` (a test hook) is called inside the transaction, after the inserts.
    """
    with transaction(conn):
        delete_day(conn, day.date)
        for table in DAY_TABLES:
            rows = day.rows.get(table, [])
            if rows:
                cols = COLUMNS[table]
                marks = ", ".join("?" * len(cols))
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
        conn.execute(
            "INSERT INTO days (date, next_date, config_hash, run_id, committed) "
            "VALUES (?, ?, ?, ?, ?)",
            (day.date, day.next_date, config_hash, run_id, now()),
        )
        previous = conn.execute(
            "SELECT chain FROM days WHERE date < ? ORDER BY date DESC LIMIT 1", (day.date,)
        ).fetchone()
        chain = day_hash(conn, day.date, (previous or [""])[0] or "")
        conn.execute("UPDATE days SET chain = ? WHERE date = ?", (chain, day.date))
        if before_commit is not None:
            before_commit()


def read_day(conn: sqlite3.Connection, table: str, date: str) -> list[tuple]:
    """The rows of one day of one table, as tuples in :data:`COLUMNS` order."""
    cols, order = ", ".join(COLUMNS[table]), ", ".join(KEYS[table])
    query = f"SELECT {cols} FROM {table} WHERE {DAY_COLUMN[table]} = ? ORDER BY {order}"
    return conn.execute(query, (date,)).fetchall()


def read_table(conn: sqlite3.Connection, table: str) -> pd.DataFrame:
    """A whole table as a DataFrame (columns in storage order, rows in key order). pandas is
    imported here: the rest of this module (and :mod:`backtest.ops.guard`'s checks, which the
    nightly job's helper process imports) needs the standard library only."""
    import pandas as pd

    names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    rows = conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(KEYS[table])}").fetchall()
    return pd.DataFrame(rows, columns=names)


# ------------------------------------------------------------------------------ hash chain
def day_hash(conn: sqlite3.Connection, date: str, previous: str) -> str:
    """sha256 of ``previous`` (the chain of the day before; "" for the first day), the day's
    ``days`` row (date, next_date, config_hash) and every row of every day table, as stored."""
    h = hashlib.sha256(previous.encode())
    marker = conn.execute(
        "SELECT date, next_date, config_hash FROM days WHERE date = ?", (date,)
    ).fetchone()
    h.update(json.dumps(list(marker or [])).encode())
    for table in present_day_tables(conn):
        _hash_rows(h, table, read_day(conn, table, date))
    return h.hexdigest()


def present_day_tables(conn: sqlite3.Connection) -> tuple[str, ...]:
    """:data:`DAY_TABLES` less the optional ones a state of an earlier version does not have
    yet (the chain of a version 3 state is checked before it is migrated)."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return tuple(t for t in DAY_TABLES if t not in OPTIONAL_TABLES or t in have)


def _hash_rows(h, table: str, rows) -> None:
    """Add one table's rows of a day to the hash ``h`` (an optional table only when it has
    rows, so version 4 leaves the chains of earlier states as they were)."""
    if table in OPTIONAL_TABLES and not rows:
        return
    h.update(f"|{table}|".encode())
    for row in rows:
        h.update(json.dumps(list(row)).encode())


def verify_chain(conn: sqlite3.Connection, last_days: int | None = None) -> str | None:
    """None when every stored day checked matches the hash chain; else the first day that does
    not (its rows, an earlier day's or its chain value were changed after it was booked).

    ``last_days``: check only the last ``last_days`` booked days, starting from the stored chain
    value of the day before them (None: the whole history, ~2.5 s for 20 years). The same
    hashes as :func:`day_hash`, from one ordered read of each table.
    """
    days = conn.execute("SELECT date, next_date, config_hash, chain FROM days ORDER BY date")
    days = days.fetchall()
    previous = ""
    if last_days is not None and len(days) > last_days:
        previous = days[-last_days - 1][3] or ""
        days = days[-last_days:]
    first = days[0][0] if days else ""
    by_day: dict[str, dict[str, list[tuple]]] = {d[0]: {} for d in days}
    tables = present_day_tables(conn)
    for table in tables:
        cols, key = COLUMNS[table], DAY_COLUMN[table]
        at = cols.index(key) if key in cols else None
        query = (f"SELECT {', '.join(cols)}{'' if at is not None else ', ' + key} FROM {table} "
                 f"WHERE {key} >= ? ORDER BY {', '.join(KEYS[table])}")  # fmt: skip
        for row in conn.execute(query, (first,)):
            date = row[at] if at is not None else row[-1]
            if date in by_day:
                by_day[date].setdefault(table, []).append(row if at is not None else row[:-1])
    for date, next_date, config_hash, chain in days:
        h = hashlib.sha256(previous.encode())
        h.update(json.dumps([date, next_date, config_hash]).encode())
        rows = by_day[date]
        for table in tables:
            _hash_rows(h, table, rows.get(table, ()))
        previous = h.hexdigest()
        if chain != previous:
            return date
    return None


def check_schema(conn: sqlite3.Connection, version: int) -> list[str]:
    """The tables a state of ``version`` must have and does not (empty when complete)."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    want = set().union(*(t for v, t in SCHEMA_TABLES.items() if v <= version))
    return sorted(want - have)


# ------------------------------------------------------------------------------ checks
def check_consistency(conn: sqlite3.Connection, calendar: Sequence[str] | None = None) -> list[str]:
    """Problems found in the stored state (empty when sound).

    SQLite's ``integrity_check``; every day-table row belongs to a stored day; every stored day
    has its ``nav`` row and its limit checks; with ``calendar`` (the business days from
    inception, ``YYYY-MM-DD``), the stored days are exactly its first ``n`` days.
    """
    problems = []
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        problems.append(f"integrity_check: {result[:5]}")
    days = [r[0] for r in conn.execute("SELECT date FROM days ORDER BY date")]
    known = set(days)
    for table in present_day_tables(conn):
        col = DAY_COLUMN[table]
        found = {r[0] for r in conn.execute(f"SELECT DISTINCT {col} FROM {table}")}
        if found - known:
            extra = sorted(found - known)[:5]
            problems.append(f"{table}: rows for days not marked complete: {extra}")
        if table in ("nav", "limit_checks") and known - found:
            problems.append(f"{table}: stored days without rows: {sorted(known - found)[:5]}")
    if calendar is not None and days != list(calendar[: len(days)]):
        problems.append("stored days are not a prefix of the business days from inception")
    return problems
