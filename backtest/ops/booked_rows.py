"""The simulator's long tables (holdings, trades) and held-instrument masks at a few rows, for
the nightly job that books one day of a long run.

:attr:`SimulationResult.holdings <backtest.engine.simulator.SimulationResult.holdings>` and
``trades`` list every day of a run from the dense (T, N) arrays; the functions here give the
same rows (same columns, values and order) for the days asked only, from
:meth:`backtest.engine.dense.DenseOutputs.at_rows` (the records at those rows), so booking one
day of a 20-year run costs about one day's work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.engine.dense import OutputRows


def few_days(days, n_days: int) -> bool:
    """True when ``days`` (row numbers; None: all) are few enough, under a quarter of the run's
    ``n_days``, to be read at their rows (:meth:`DenseOutputs.at_rows
    <backtest.engine.dense.DenseOutputs.at_rows>`) rather than from the dense (T, N) arrays."""
    return days is not None and 4 * len(days) < n_days


def _books(result) -> np.ndarray:
    return result.instrument_info["book"].to_numpy()


def holdings_at(result, at: OutputRows) -> pd.DataFrame:
    """``result.holdings``' rows of the dates ``at.rows`` (by date, then instrument): date,
    instrument, book, quantity, price (instrument currency), market_value, notional_usd (USD)."""
    q = at.qty
    r, i = np.nonzero(q != 0)
    t = at.rows[r]
    ids = np.asarray(result.inputs.ids, dtype=object)
    return pd.DataFrame({
        "date": result.inputs.dates[t], "instrument": ids[i], "book": _books(result)[i],
        "quantity": q[r, i], "price": result.inputs.arrays["price"][t, i],
        "market_value": at.mv[r, i], "notional_usd": at.notional[r, i],
    })  # fmt: skip


def trades_booked_at(result, days: np.ndarray) -> pd.DataFrame:
    """``result.trades``' rows booked on the dates of ``days`` (ascending row numbers): the
    executions of each previous row (by execution date, then instrument). Columns: date
    (executed), instrument, book, quantity, price, cost, booked."""
    days = np.asarray(days, dtype=np.int64)
    executed = days[days > 0] - 1
    at = result.outputs.at_rows(executed)
    tq = at.trade_qty
    r, i = np.nonzero(tq != 0)
    t = executed[r]
    ids = np.asarray(result.inputs.ids, dtype=object)
    dates = result.inputs.dates
    return pd.DataFrame({
        "date": dates[t], "instrument": ids[i], "book": _books(result)[i], "quantity": tq[r, i],
        "price": at.trade_price[r, i], "cost": at.trade_cost[r, i], "booked": dates[t + 1],
    })  # fmt: skip


def held_or_traded_around(result, rows: np.ndarray) -> np.ndarray:
    """(R, N) bool: instrument held or traded at the close of each row of ``rows`` (ascending)
    or of the row before it, as ``qty != 0 | trade_qty != 0`` of both rows; from the records at
    those rows only."""
    rows = np.asarray(rows, dtype=np.int64)
    if not few_days(rows, len(result.inputs.dates)):  # many days: the dense arrays
        out = result.outputs
        active = (out.qty != 0.0) | (out.trade_qty != 0.0)
        return (active | np.vstack([active[:1] & False, active[:-1]]))[rows]
    wanted = np.unique(np.r_[rows, rows[rows > 0] - 1])
    at = result.outputs.at_rows(wanted)
    active = (at.qty != 0.0) | (at.trade_qty != 0.0)
    now = active[np.searchsorted(wanted, rows)]
    before = np.zeros_like(now)
    has = rows > 0
    before[has] = active[np.searchsorted(wanted, rows[has] - 1)]
    return now | before
