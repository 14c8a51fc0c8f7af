"""The allocator's stored solves: the nightly job's memory of the risk-budget problems it solved.

An equal-risk-contribution allocator solves one optimisation per recompute date (~240 over 20
years of monthly dates, ~0.1 s, and scipy's optimiser, ~0.1 s more to import). Each run of the
nightly job recomputes the whole history, so it would solve them all again every night, with
the same inputs and so the same answers. They are kept in the state database instead (table
``allocator_solves``, schema version 5 of :mod:`backtest.ops.state`) and handed to
:func:`backtest.fund.run.run_fund`; a night solves only the problems that are new, one on the
first business day of a month and none on the others. The table keeps the problems the last
run met, so it does not grow.

A cache of pure answers, outside the books: an entry is what
:func:`allocator.risk.erc_weights` returned for the problem its key names (a sha256 of the
solver's and its libraries' versions and of the covariance's exact bytes), and it is taken only
while it still passes the solver's own test on that covariance
(:func:`allocator.risk.solved_erc_weights`), so the fund computed with the stored solves is
the fund computed without them, bit for bit. Not part of the hash chain; ``--force`` rebuilds
without reading them (and stores them anew). Weights are stored as JSON lists of floats, whose
text round-trips every double exactly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

import numpy as np

from backtest.ops.state import SCHEMA_TABLES

__all__ = ["RunSolves", "read_solves", "store_solves", "to_store"]

#: the first schema version of :mod:`backtest.ops.state` with the table
SOLVES_VERSION = next(v for v, tables in SCHEMA_TABLES.items() if "allocator_solves" in tables)


class RunSolves(dict):
    """The stored solves handed to a run (key → weights), recording the keys it asks for
    (:func:`allocator.risk.solved_erc_weights` looks each problem up with ``get`` and adds the
    ones it solves): what the run met, so that the table keeps those and no others."""

    def __init__(self, stored: Mapping[str, np.ndarray]) -> None:
        super().__init__(stored)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def read_solves(conn: sqlite3.Connection, version: int) -> dict[str, np.ndarray]:
    """Every stored solve, key → weights (float64, shape (n_strategies,)); empty for a state
    of schema ``version`` older than the table. An entry whose text is not a list of numbers
    is left out (a cache: its problem is solved again and the entry replaced)."""
    if version < SOLVES_VERSION:
        return {}
    out = {}
    for key, text in conn.execute("SELECT key, weights FROM allocator_solves"):
        try:
            out[key] = np.array(json.loads(text), dtype="float64").reshape(-1)
        except (TypeError, ValueError):
            continue
    return out


def to_store(read: Mapping[str, np.ndarray], solves: RunSolves) -> dict | None:
    """The solves to keep after a run: those of the problems it met (answers taken or
    computed; the table does not grow with problems no run meets again, e.g. after the data or
    the config changed). None when that is what is stored already (``read``, as read)."""
    kept = {key: solves[key] for key in solves.asked if key in solves}
    if kept.keys() == read.keys() and all(kept[k] is read[k] for k in kept):
        return None
    return kept


def store_solves(conn: sqlite3.Connection, solves: Mapping[str, np.ndarray]) -> None:
    """Make ``allocator_solves`` hold ``solves`` and nothing else (inside a transaction)."""
    conn.execute("DELETE FROM allocator_solves")
    conn.executemany(
        "INSERT INTO allocator_solves (key, weights) VALUES (?, ?)",
        [(k, json.dumps([float(x) for x in np.asarray(w, dtype="float64")]))
         for k, w in solves.items()],
    )  # fmt: skip
