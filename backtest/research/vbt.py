"""A fund run as a ``vectorbt.Portfolio``, built from the fund's executed orders, so a vectorbt
user gets its statistics and plots (``pf.stats()``, ``pf.plot()``) on the fund.

:func:`to_vectorbt` replays the simulator's executions (``trade_qty`` at each day's close, at
the execution price) with ``Portfolio.from_orders(size_type="amount")`` on one cash-sharing
group, starting from the fund's initial net assets. Prices are USD per unit of exposure
(price × multiplier × FX), so one vectorbt share is one contract or share of the fund.

Where the two agree and where they do not (tested in ``tests/backtest/research/test_vbt.py``):

- an equity-and-cash fund without frictions (``FundConfig.frictionless``: no costs, fees,
  expenses, interest or flows): vectorbt's value equals the fund's net assets every day (the
  fund books a trade the next day, but at the trade's own close price, so the value is the same);
- costs: the fund's cost of each order is passed as a vectorbt fixed fee; vectorbt charges it
  on the execution day, the fund books it with the trade the next day, so the values differ on
  execution days by that day's costs and agree on every other day;
- not modelled by vectorbt, so its value differs by their sum: expenses, interest on cash,
  creations and redemptions, dividends, borrow fees and the Subsidiary's transfers;
- futures and forwards are marked like cash instruments (vectorbt pays the notional in cash):
  their P&L agrees, but vectorbt's cash goes negative where the fund posts only margin, and a
  roll is not an order in vectorbt (the fund's roll P&L is in ``adjusted``), so funds with
  futures differ; options likewise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_vectorbt(result, freq: str = "1D"):
    """``vectorbt.Portfolio`` of a :class:`~backtest.engine.simulator.SimulationResult` (or a
    :class:`~backtest.fund.run.FundRun`, via its ``result``), from its executed orders.

    Returns a portfolio with one column group (the fund), dates × instruments orders.
    """
    import vectorbt as vbt  # slow to import (~3 s); only this function needs it

    result = getattr(result, "result", result)
    a = result.inputs.arrays
    dates, ids = result.inputs.dates, result.inputs.ids
    unit_usd = np.asarray(a["price"], dtype="float64") * a["mult"] * a["fx"]
    qty = np.asarray(result.outputs.trade_qty, dtype="float64")
    traded = qty != 0
    exec_usd = np.where(traded, result.outputs.trade_price * a["mult"] * a["fx"], unit_usd)
    close = pd.DataFrame(unit_usd, index=dates, columns=ids).ffill().fillna(0.0)
    return vbt.Portfolio.from_orders(
        close,
        size=np.where(traded, qty, np.nan),
        size_type="amount",
        price=exec_usd,
        fixed_fees=np.where(traded, result.outputs.trade_cost, 0.0),
        init_cash=float(result.config.initial_nav_usd),
        cash_sharing=True,
        group_by=True,
        freq=freq,
        call_seq="auto",  # sells before buys within a bar, as a fund trades
    )
