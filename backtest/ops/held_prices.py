"""The nightly job's check that every instrument held or traded around a day to book has its
price that day (:func:`check_held_prices`): the simulator carries a last price forward over a
gap, the nightly job refuses to book on one instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.data.validation import DataError
from backtest.market.instruments import IndexOption
from backtest.ops import booked_rows as br

__all__ = ["check_held_prices"]


def check_held_prices(market, result, rows: np.ndarray) -> None:
    """Every instrument held (or traded) around each day to book must have its price that day.

    The simulator carries the last price forward over a gap; the nightly job refuses instead,
    with a DataError naming the field, date and instrument.
    """
    held = br.held_or_traded_around(result, rows)  # at the day's close or the previous one
    dates = result.inputs.dates[rows]
    usd = market.rates["USD"] if "USD" in market.rates else None
    if usd is not None:
        miss = usd.reindex(dates).isna().to_numpy()
        if miss.any():
            raise DataError("rates", "USD rate is missing", date=f"{dates[miss][0]:%Y-%m-%d}",
                            column="USD")  # fmt: skip
    priced = _Priced(market, dates)
    for j in np.flatnonzero(held.any(axis=0)):
        iid = result.inputs.ids[j]
        for field, ok in priced.sources(iid):
            bad = held[:, j] & ~ok
            if bad.any():
                raise DataError(field, f"no price for held instrument {iid!r}",
                                date=f"{dates[bad][0]:%Y-%m-%d}", column=iid)  # fmt: skip


class _Priced:
    """Which of ``market``'s series have a value on each of ``dates`` (a few booked days): each
    table is cut to those dates once, not once per held instrument."""

    def __init__(self, market, dates: pd.DatetimeIndex):
        self.market, self.dates, self._cut = market, dates, {}
        inst = market.instruments  # (currency, root, kind) of each id, read once
        columns = [map(str, inst[c]) for c in ("currency", "root", "kind")]
        self._kind = dict(zip(inst.index, zip(*columns, strict=True), strict=True))

    def _has(self, key, series_or_frame) -> np.ndarray:
        """Bool per date (per date and column for a frame): a value there (False for a date
        the series does not have)."""
        if key not in self._cut:
            self._cut[key] = series_or_frame.reindex(self.dates).notna().to_numpy()
        return self._cut[key]

    def _column(self, field: str, iid: str) -> np.ndarray:
        frame = getattr(self.market, field)
        return self._has(field, frame)[:, frame.columns.get_loc(iid)]

    def sources(self, iid: str) -> list[tuple[str, np.ndarray]]:
        """(field, has a value on each date) of every series the simulator values ``iid``
        with, in the order they are checked."""
        m, none = self.market, np.zeros(len(self.dates), dtype=bool)
        if iid not in self._kind:
            root = IndexOption.from_id(iid).root
            level = self._has(("index", root), m.index[root]) if root in m.index else none
            surface = self._has("vol_surface", m.vol_surface).all(axis=1)
            return [("index", level), ("vol_surface", surface)]
        currency, root, kind = self._kind[iid]
        out = []
        if iid in m.curves:
            out.append((f"curves/{iid}", self._has(("curves", iid), m.curves[iid]["price"])))
        for field in ("prices", "adjusted"):
            if iid in getattr(m, field).columns and (field == "prices" or not out):
                out.append((field, self._column(field, iid)))
        if not out:
            out.append(("prices", none))
        ccys = {currency} | ({root} if kind == "currency_forward" else set())
        for ccy in sorted(ccys - {"USD"}):
            out.append(("fx", self._has(("fx", ccy), m.fx[ccy]) if ccy in m.fx else none))
        return out
