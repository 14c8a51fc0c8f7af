"""A fund run as a ``vectorbt.Portfolio``, built from the fund's executed orders, so a vectorbt
user gets its statistics and plots (``pf.stats()``, ``pf.plot()``) on the fund.

:func:`to_vectorbt` replays the simulator's executions (``trade_qty`` at each day's close) with
``Portfolio.from_orders(size_type="amount")`` on one cash-sharing group, starting from the
fund's initial net assets. One vectorbt share is one contract or share of the fund; its
"price" is in USD per unit:

- securities, options and forwards: price × multiplier × FX, traded at the execution price;
- futures, cash-settled through variation margin (vectorbt has no margin: it pays a price in
  full and fills a buy only up to its cash): the contract's cumulative variation margin per
  contract held, ``Σ mult × (P_t − ref_t) × fx_t`` (``ref_t`` yesterday's close of today's
  contract, so rolls are included, as in the simulator's kernel), shifted so that its lowest
  value is :data:`FUTURES_FLOOR_USD`; every order trades at that day's level. A position held
  from ``t−1`` to ``t`` then gains exactly the fund's variation margin, so the portfolio's value
  is the fund's whatever the shift; vectorbt's cash is the fund's cash less the levels paid
  (``Σ q × level``, an accounting device, not margin). If vectorbt cannot fill an order in full
  (levels worth more than its cash), :func:`to_vectorbt` raises ``ValueError``.

Where the two agree and where they do not (tested in ``tests/backtest/research/test_vbt.py``):

- a fund of equities, futures and cash without frictions (``FundConfig.frictionless``: no
  costs, fees, expenses, interest or flows): vectorbt's value equals the fund's net assets every
  day (the fund books a trade the next day, but at the trade's own close price, so the value is
  the same);
- costs: the fund's cost of each order is passed as a vectorbt fixed fee; vectorbt charges it
  on the execution day, the fund books it with the trade the next day, so the values differ on
  execution days by that day's costs and agree on every other day; a futures roll is not an
  order, so its cost (both legs) reaches vectorbt only on a day the contract also traded;
- not modelled by vectorbt, so its value differs by their sum: expenses, interest on cash,
  creations and redemptions, dividends, borrow fees and the Subsidiary's transfers (these net
  to zero across the two books, which vectorbt holds as one);
- currency forwards are priced as spot notional (their forward points and settlement are not
  modelled), options likewise at their model price × multiplier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.engine.layout import K_FUTURE

#: Lowest level of a futures contract's cumulative-variation-margin "price", USD per contract.
FUTURES_FLOOR_USD = 1.0


def futures_levels(price: np.ndarray, prev_ref: np.ndarray, mult: np.ndarray, fx: np.ndarray):
    """Cumulative variation margin per contract held, USD, shape (T, N), lowest value
    :data:`FUTURES_FLOOR_USD` in each column: ``level_t − level_{t−1} = mult × (price_t −
    prev_ref_t) × fx_t`` (the simulator's daily variation margin of one contract), 0 on row 0."""
    step = mult * (price - prev_ref) * fx
    step[0] = 0.0
    level = np.cumsum(step, axis=0)
    return level - level.min(axis=0) + FUTURES_FLOOR_USD


def to_vectorbt(result, freq: str = "1D"):
    """``vectorbt.Portfolio`` of a :class:`~backtest.engine.simulator.SimulationResult` (or a
    :class:`~backtest.fund.run.FundRun`, via its ``result``), from its executed orders.

    Returns a portfolio with one column group (the fund), dates × instruments orders; futures
    priced as in the module docstring. ``ValueError`` if vectorbt cannot fill every order.
    """
    import vectorbt as vbt  # slow to import (~3 s); only this function needs it

    result = getattr(result, "result", result)
    a = result.inputs.arrays
    dates, ids = result.inputs.dates, result.inputs.ids
    price = np.asarray(a["price"], dtype="float64")
    unit_usd = price * a["mult"] * a["fx"]
    qty = np.asarray(result.outputs.trade_qty, dtype="float64")
    traded = qty != 0
    exec_usd = np.where(traded, result.outputs.trade_price * a["mult"] * a["fx"], unit_usd)
    fut = np.asarray(a["kind"]) == K_FUTURE
    if fut.any():
        mult, fx = np.asarray(a["mult"])[fut], np.asarray(a["fx"])[:, fut]
        levels = futures_levels(price[:, fut], np.asarray(a["prev_ref"])[:, fut], mult, fx)
        unit_usd[:, fut] = levels
        exec_usd[:, fut] = levels  # the fund marks a futures trade from its day's close
    close = pd.DataFrame(unit_usd, index=dates, columns=ids).ffill().fillna(0.0)
    pf = vbt.Portfolio.from_orders(
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
    filled = pf.orders.records["size"].sum() if pf.orders.count() else 0.0
    if pf.orders.count() != int(traded.sum()) or not np.isclose(filled, np.abs(qty).sum()):
        raise ValueError(
            f"vectorbt filled {pf.orders.count()} of {int(traded.sum())} orders in full: its "
            "cash (the fund's less the futures levels paid) ran short"
        )
    return pf
