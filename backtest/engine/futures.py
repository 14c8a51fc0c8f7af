"""The simulator's futures columns: the held contract's price, yesterday's price of today's
contract, and the roll flags, per root (:func:`futures_arrays`) or for many roots at once
(:func:`futures_arrays_batch`, the same bits in a few array operations over all of them).

Each is computed once per market and roll rule (:func:`cached_futures_arrays`: the market's
cache, keys ``("futures_arrays", root, roll_days)``), shared by the simulator and the cost model
(:func:`futures_roll_flags`). Row ``t`` reads rows ``t`` and ``t − 1`` only, so a run on data cut
at any date reproduces the full run's rows.
"""

from __future__ import annotations

import numpy as np

from backtest.market.market_data import MarketData

__all__ = [
    "cached_futures_arrays",
    "ffill",
    "futures_arrays",
    "futures_arrays_batch",
    "futures_roll_flags",
]

#: the curve legs a held contract is found among, in the order yesterday's leg is matched
LEGS = ("price", "carry", "forward")


def ffill(values: np.ndarray) -> np.ndarray:
    """A float array forward-filled along its last axis (dates), as :meth:`pandas.Series.ffill`
    does each row (a NaN takes the last non-NaN value before it; NaN before the first one):
    values are copied, not computed, so the result is pandas' to the bit. Shape (n_dates,) or
    (n_rows, n_dates); ``values`` itself (not a copy) when it has no NaN."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    idx = np.where(missing, 0, np.arange(values.shape[-1]))
    np.maximum.accumulate(idx, axis=-1, out=idx)
    return np.take_along_axis(values, idx, axis=-1) if values.ndim > 1 else values[idx]


def futures_arrays(market: MarketData, root: str, roll_days: int):
    """Held price, yesterday's close of today's contract, and roll flags of one root — each
    (n_dates,), float64, float64 and bool; each row causal.

    The fund holds the market's priced contract until ``roll_days`` business days (weekdays)
    before its expiry, then the ``forward`` contract (or whichever the market holds, if it rolled
    first). A roll happened at ``t-1``'s close when the contract held at ``t`` differs from the
    one held at ``t-1``; today's variation margin is then measured from the new contract's price
    at ``t-1``, found among yesterday's price/carry/forward contracts. A root without a curve is
    held at its (forward-filled) price, never rolled.
    """
    dates = market.calendar
    n = len(dates)
    if root not in market.curves:
        p = market.prices[root] if root in market.prices else market.adjusted[root]
        p = p.ffill().to_numpy(dtype="float64")
        return p, np.r_[p[:1], p[:-1]], np.zeros(n, dtype=np.bool_)
    c = market.curves[root]
    legs = {k: ffill(c[k].to_numpy(dtype="float64")) for k in LEGS}
    ids = {k: ffill(c[f"{k}_contract"].to_numpy(dtype="float64")) for k in legs}
    expiry = c["price_expiry"].to_numpy(dtype="datetime64[D]")
    known = ~np.isnat(expiry)
    days_left = np.full(n, np.iinfo(np.int64).max)
    days_left[known] = np.busday_count(dates.to_numpy(dtype="datetime64[D]")[known],
                                       expiry[known])  # fmt: skip
    early = (days_left <= roll_days) & np.isfinite(legs["forward"]) & np.isfinite(ids["forward"])
    held = np.where(early, legs["forward"], legs["price"])
    held_id = np.where(early, ids["forward"], ids["price"])
    prev_ref = np.r_[held[:1], held[:-1]]
    for k in ("carry", "forward", "price"):  # the leg of yesterday that is today's contract
        match = np.r_[False, held_id[1:] == ids[k][:-1]]
        prev_ref = np.where(match, np.r_[np.nan, legs[k][:-1]], prev_ref)
    rolled = np.r_[False, (held_id[1:] != held_id[:-1]) & np.isfinite(held_id[:-1])]
    return held, prev_ref, rolled


def futures_arrays_batch(market: MarketData, roots: list[str], roll_days: int) -> list[tuple]:
    """:func:`futures_arrays` of each root, in order, to the bit: the roots with a curve as rows
    of (n_roots, n_dates) arrays, each step one array operation over all of them (every step
    copies, selects or compares values element by element, so a row is its root's alone)."""
    out: dict[str, tuple] = {}
    curved = [r for r in roots if r in market.curves]
    for root in roots:
        if root not in market.curves:
            out[root] = futures_arrays(market, root, roll_days)
    if curved:
        for root, arrays in zip(curved, _curved_batch(market, curved, roll_days), strict=True):
            out[root] = arrays
    return [out[r] for r in roots]


def _curved_batch(market: MarketData, roots: list[str], roll_days: int) -> list[tuple]:
    dates = market.calendar
    n, r = len(dates), len(roots)
    curves = [market.curves[root] for root in roots]

    def stacked(column: str, dtype: str) -> np.ndarray:
        return np.stack([c[column].to_numpy(dtype=dtype) for c in curves])

    legs = {k: ffill(stacked(k, "float64")) for k in LEGS}
    ids = {k: ffill(stacked(f"{k}_contract", "float64")) for k in legs}
    expiry = stacked("price_expiry", "datetime64[D]")
    known = ~np.isnat(expiry)
    days_left = np.full((r, n), np.iinfo(np.int64).max)
    day = np.broadcast_to(dates.to_numpy(dtype="datetime64[D]"), (r, n))
    days_left[known] = np.busday_count(day[known], expiry[known])
    early = (days_left <= roll_days) & np.isfinite(legs["forward"]) & np.isfinite(ids["forward"])
    held = np.where(early, legs["forward"], legs["price"])
    held_id = np.where(early, ids["forward"], ids["price"])
    prev_ref = np.concatenate([held[:, :1], held[:, :-1]], axis=1)
    nan_column = np.full((r, 1), np.nan)
    for k in ("carry", "forward", "price"):
        match = np.zeros((r, n), dtype=bool)
        match[:, 1:] = held_id[:, 1:] == ids[k][:, :-1]
        prev_ref = np.where(match, np.concatenate([nan_column, legs[k][:, :-1]], axis=1), prev_ref)
    rolled = np.zeros((r, n), dtype=bool)
    rolled[:, 1:] = (held_id[:, 1:] != held_id[:, :-1]) & np.isfinite(held_id[:, :-1])
    return [(held[i], prev_ref[i], rolled[i]) for i in range(r)]


def cached_futures_arrays(market: MarketData, roots: list[str], roll_days: int) -> list[tuple]:
    """:func:`futures_arrays` of each root, once per market: the ones not computed yet for this
    market computed together (:func:`futures_arrays_batch`). Callers must not modify them."""
    keys = [("futures_arrays", root, roll_days) for root in roots]
    return market.cached_batch(
        keys, lambda missing: futures_arrays_batch(market, [k[1] for k in missing], roll_days)
    )


def futures_roll_flags(market: MarketData, root: str, roll_days: int) -> np.ndarray:
    """The simulator's roll flags of a futures root, bool array of shape (n_dates,): True on
    the row whose opening position was rolled at the previous close (once per market)."""
    return cached_futures_arrays(market, [root], roll_days)[0][2]
