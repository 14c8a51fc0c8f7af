"""Data-quality checks that warn rather than refuse: moves that look like bad prints.

A *reversed spike* is a one-day move larger than ``threshold_sigma`` times the series' recent
daily volatility that the next day takes back by at least ``reversal`` of itself: the pattern a
stale or mismatched quote leaves in a daily close (a fall and a rise that did not happen). Real
crashes rarely reverse by half the next day at 5 sigma; bad prints always do.

Conventions (:func:`reversed_spikes`):

* moves are differences of consecutive observed values, in price points (back-adjusted series
  can be negative, so no percentage returns); a move across a change of contract is not a move;
* ``sigma`` at ``t`` is the exponentially weighted standard deviation (span ``span_days``,
  at least ``min_days`` moves) of the moves **before** ``t``, so a spike does not hide itself;
* a row is flagged when ``|move_t| > threshold_sigma * sigma_t``, ``move_{t+1}`` has the
  opposite sign and ``|move_{t+1}| >= reversal * |move_t|``.

:func:`market_reversed_spikes` runs it over a market's curve price legs (within a contract) and
back-adjusted prices; ``multistrat data validate`` reports the rows as warnings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.market.market_data import MarketData

SPIKE_COLUMNS = ("before", "value", "after", "move", "next_move", "sigma", "move_sigma")


def reversed_spikes(
    values: pd.Series,
    contracts: pd.Series | None = None,
    threshold_sigma: float = 5.0,
    reversal: float = 0.75,
    span_days: int = 35,
    min_days: int = 20,
) -> pd.DataFrame:
    """Rows of ``values`` (a dated series) whose move is a reversed spike (module docstring).

    Returns a DataFrame indexed by date with columns :data:`SPIKE_COLUMNS`: the values before,
    on and after the date, the move and the next move (points), sigma (points) and the move in
    sigmas.
    """
    seen = values.dropna()
    move = seen.diff()
    if contracts is not None:
        ids = contracts.reindex(seen.index).astype("float64")
        move[ids.ne(ids.shift())] = np.nan
    sigma = move.ewm(span=span_days, min_periods=min_days).std().shift(1)
    next_move = move.shift(-1)
    flag = (
        (move.abs() > threshold_sigma * sigma)
        & (np.sign(next_move) == -np.sign(move))
        & (next_move.abs() >= reversal * move.abs())
    )
    out = pd.DataFrame(
        {
            "before": seen.shift(1),
            "value": seen,
            "after": seen.shift(-1),
            "move": move,
            "next_move": next_move,
            "sigma": sigma,
            "move_sigma": move / sigma,
        }
    )
    return out[flag.to_numpy()]


def market_reversed_spikes(market: MarketData, threshold_sigma: float = 5.0) -> pd.DataFrame:
    """:func:`reversed_spikes` over every instrument of a market: the curve's price leg (moves
    within a contract) and the back-adjusted price, or the price when it has neither.

    Columns ``instrument``, ``series`` (``"price"`` or ``"adjusted"``), ``date`` and
    :data:`SPIKE_COLUMNS`; one row per flag."""
    frames = []
    for ident in market.instruments.index:
        series = []
        if ident in market.curves:
            curve = market.curves[ident]
            series.append(("price", curve["price"], curve["price_contract"]))
        if ident in market.adjusted.columns and market.adjusted[ident].notna().any():
            series.append(("adjusted", market.adjusted[ident], None))
        if not series and ident in market.prices.columns:
            series.append(("price", market.prices[ident], None))
        for name, values, contracts in series:
            found = reversed_spikes(values, contracts, threshold_sigma=threshold_sigma)
            if len(found):
                found = found.rename_axis("date").reset_index()
                found.insert(0, "series", name)
                found.insert(0, "instrument", ident)
                frames.append(found)
    columns = ["instrument", "series", "date", *SPIKE_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
