"""What a cut of a market (:meth:`MarketData.until`, :meth:`MarketData.between`) may keep of its
parent's cache: the results it would compute identically on its own rows (option marks, and for
``between`` instrument returns). Kept out of :mod:`backtest.market.market_data` for its size;
``parent`` and ``cut`` are :class:`~backtest.market.market_data.MarketData` (not imported here:
that module imports this one).
"""

from __future__ import annotations

import numpy as np

from backtest.market.instruments import FUTURE_KINDS, IndexOption

#: cache key (with an instrument id) of one instrument's daily return per unit of notional
#: (:func:`backtest.market.returns.instrument_returns`)
RETURN_KEY = "instrument_return"


def row_local_marks(parent, rows: slice, cut) -> dict:
    """The option marks already computed that the cut market would compute identically.

    A mark on a row reads that row's index level, rates and surface, and after expiry the
    index level on the expiry date: so an option expiring on or after the cut's first day
    has, on the cut, the rows of its mark here (tested). One expiring before it is left to
    be recomputed (its settlement level is not in the cut). Nothing computed on rows outside
    the cut is carried over."""
    if not len(cut.calendar):
        return {}
    first = cut.calendar[0]
    return {
        key: marks.iloc[rows]
        for key, marks in parent._memo.items()
        if key[0] == "option_price" and IndexOption.from_id(key[1]).expiry >= first
    }


def row_local_returns(parent, rows: slice, cut) -> dict:
    """The instrument returns already computed (:data:`RETURN_KEY`, by
    :func:`backtest.market.returns.instrument_returns`) that the cut would compute
    identically, for :meth:`MarketData.between` (a fund's days cut from its history).

    A return on a row reads that row and the previous one only (prices, dividends, adjusted
    prices, fx, rates, calendar days, option marks): so the cut's row ``k ≥ 1`` is this
    market's row, and its first row is NaN (no previous row; every formula reads one).
    Left to be recomputed: options expiring before the cut's first day (their marks are, see
    :func:`row_local_marks`), and futures whose held price is a different column on the
    cut (the contract's price when it has one on the market's rows, else the adjusted
    price). :meth:`MarketData.until` carries none over, so the truncation tests recompute them.
    """
    if not len(cut.calendar):
        return {}
    first = cut.calendar[0]
    kinds = parent.instruments["kind"].to_dict()
    futures = {k.value for k in FUTURE_KINDS}
    out = {}
    for key, values in parent._memo.items():
        if key[0] != RETURN_KEY:
            continue
        iid = key[1]
        if iid not in kinds:
            if IndexOption.from_id(iid).expiry < first:
                continue
        elif str(kinds[iid]) in futures and iid in parent.prices:
            here = np.isfinite(parent.prices[iid].to_numpy(dtype="float64")).any()
            if here != np.isfinite(cut.prices[iid].to_numpy(dtype="float64")).any():
                continue
        kept = np.array(values[rows], dtype="float64")
        kept[0] = np.nan
        out[key] = kept
    return out
