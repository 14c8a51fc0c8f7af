"""The allocator's stored solves: the nightly job's memory of the risk-budget problems it solved.

An equal-risk-contribution allocator solves one optimisation per recompute date (~240 over 20
years of monthly dates, ~0.1 s, and scipy's optimiser, ~0.1 s more to import). Each run of the
nightly job recomputes the whole history, so it would solve them all again every night, with
the same inputs and so the same answers. They are kept in the state database instead (table
``allocator_solves``, schema version 5 of :mod:`backtest.ops.state`) and handed to
:func:`backtest.fund.run.run_fund`; a night solves only the problems that are new, one on the
first business day of a month and none on the others.

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

__all__ = ["added_solves", "read_solves", "write_solves"]

#: the first schema version of :mod:`backtest.ops.state` with the table
SOLVES_VERSION = 5


def read_solves(conn: sqlite3.Connection, version: int) -> dict[str, np.ndarray]:
    """Every stored solve, key → weights (float64, shape (n_strategies,)); empty for a state
    of schema ``version`` older than the table."""
    if version < SOLVES_VERSION:
        return {}
    rows = conn.execute("SELECT key, weights FROM allocator_solves").fetchall()
    return {key: np.array(json.loads(text), dtype="float64") for key, text in rows}


def added_solves(read: Mapping[str, np.ndarray], solves: Mapping[str, np.ndarray]) -> dict:
    """The entries of ``solves`` (``read`` after a run extended it) that are not in ``read``
    as read: the new solves, and the damaged ones a run solved again."""
    return {key: w for key, w in solves.items() if read.get(key) is not w}


def write_solves(conn: sqlite3.Connection, solves: Mapping[str, np.ndarray]) -> None:
    """Store ``solves`` (inside a transaction), replacing an entry of the same key."""
    for key, w in solves.items():
        text = json.dumps([float(x) for x in np.asarray(w, dtype="float64")])
        conn.execute("DELETE FROM allocator_solves WHERE key = ?", (key,))
        conn.execute("INSERT INTO allocator_solves (key, weights) VALUES (?, ?)", (key, text))
