"""Plausibility checks on loaded market data: values out of any plausible range are refused.

:func:`check_ranges` runs on every load (:func:`backtest.data.folder.load_market`, both layouts,
so also ``multistrat data validate``, ``backtest --data`` and ``nightly --data``). An **error**
raises :class:`~backtest.errors.DataError` naming the file, row (our layout), date and column;
a **warning** is passed to the caller's ``warn`` (printed on stderr by the commands, listed by
``data validate``) and the data is used as it is.

Thresholds (a "jump" is the day-over-day factor ``max(x_t / x_prev, x_prev / x_t)`` between
consecutive values present, for series that must be positive):

=======================  =============================================  =====================
field                    error                                          warning
=======================  =============================================  =====================
every value              ``|x| > 1e9`` (e.g. a price of 1e300)
``rates`` (annual)       outside [-5%, +50%]                            outside [-2%, +25%]
``index`` levels         ``<= 0`` (a negative VIX); jump > x100         jump > x3
``index`` ``*_DY``       dividend yield outside [0, 50%]
``fx`` (USD per unit)    jump > x10                                     jump > x1.25
``benchmarks``           jump > x10                                     jump > x1.25
``vol_surface``          ATM vol above 500%; ``|skew|``,                ATM vol above 200%
                         ``|curvature|`` above 100
``dividends``            negative; above the day's price                above 25% of the price
``prices``, by kind      jump above: equity/etf x100, equity index      jump above: equity/etf
                         future x10, VIX future x10, currency           x2, equity index
                         future/forward x10, bond/rate future x2,       future x1.25, VIX
                         T-bill/money market x2 (commodity futures      future x3, currency
                         may cross zero: magnitude only)                x1.25, bond/rate x1.1,
                                                                        T-bill x1.1
=======================  =============================================  =====================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from backtest.errors import DataError
from backtest.market.instruments import InstrumentKind as K
from backtest.market.market_data import MarketData

MAX_ABS = 1e9
RATE_ERROR = (-0.05, 0.50)
RATE_WARNING = (-0.02, 0.25)
YIELD_ERROR = (0.0, 0.50)
ATM_VOL_ERROR, ATM_VOL_WARNING = 5.0, 2.0
SHAPE_MAX = 100.0
DIVIDEND_WARNING = 0.25
#: (warning, error) jump factors of ``prices`` by instrument kind; None: not checked.
PRICE_JUMPS: dict[str, tuple[float, float] | None] = {
    K.EQUITY.value: (2.0, 100.0),
    K.ETF.value: (2.0, 100.0),
    K.EQUITY_INDEX_FUTURE.value: (1.25, 10.0),
    K.VIX_FUTURE.value: (3.0, 10.0),
    K.CURRENCY_FUTURE.value: (1.25, 10.0),
    K.CURRENCY_FORWARD.value: (1.25, 10.0),
    K.BOND_FUTURE.value: (1.1, 2.0),
    K.RATE_FUTURE.value: (1.1, 2.0),
    K.TBILL.value: (1.1, 2.0),
    K.MONEY_MARKET.value: (1.1, 2.0),
    K.COMMODITY_FUTURE.value: None,
}
FIELD_JUMPS = {"index": (3.0, 100.0), "fx": (1.25, 10.0), "benchmarks": (1.25, 10.0)}
YIELD_SUFFIXES = ("_DY", "_YIELD")

Warn = Callable[[str], None]


class _Place:
    """Names the place of a cell: file (or field), row (when the file has the calendar's rows)
    and date."""

    def __init__(self, calendar: pd.DatetimeIndex, files: Mapping[str, str] | None) -> None:
        self.calendar, self.files = calendar, files

    def error(self, field: str, i: int, column: str, problem: str) -> DataError:
        file = self.files.get(field, field) if self.files is not None else field
        row = i + 1 if self.files is not None else None
        return DataError(file, problem, row=row, date=f"{self.calendar[i]:%Y-%m-%d}",
                         column=column)  # fmt: skip


def _first(mask: np.ndarray) -> tuple[int, int] | None:
    rows, cols = np.nonzero(mask)
    return (int(rows[0]), int(cols[0])) if rows.size else None


def _cells(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy(dtype="float64", na_value=np.nan)


def _outside(frame, place, field, low, high, what, warn: Warn | None = None,
             open_low: bool = False) -> None:  # fmt: skip
    """Error (or, with ``warn``, a warning) at the first value outside ``[low, high]``
    (``(low, high]`` with ``open_low``)."""
    if frame.shape[1] == 0:
        return
    x = _cells(frame)
    with np.errstate(invalid="ignore"):
        hit = _first(((x <= low) if open_low else (x < low)) | (x > high))
    if hit is None:
        return
    i, j = hit
    bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
    err = place.error(field, i, frame.columns[j], f"{what} {float(x[i, j])!r} is outside the "
                      f"plausible range {bounds}")  # fmt: skip
    if warn is None:
        raise err
    warn(f"{err} (warning: used as it is)")


def _jumps(frame, place, field, limits: Mapping[str, tuple[float, float] | None], warn) -> None:
    """Day-over-day factor of positive series: error above ``limits[col][1]``, warning above
    ``limits[col][0]`` (the first of each per file)."""
    cols = [c for c in frame.columns if limits.get(c)]
    if not cols:
        return
    x = _cells(frame[cols])
    prev = _cells(frame[cols].ffill().shift(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (x > 0) & (prev > 0)
        factor = np.where(ok, np.maximum(x / prev, prev / x), 1.0)
    high = np.array([limits[c][1] for c in cols])
    low = np.array([limits[c][0] for c in cols])
    for bound, is_error in ((high, True), (low, False)):
        hit = _first(factor > bound)
        if hit is None:
            continue
        i, j = hit
        problem = (f"value jumps x{factor[i, j]:.4g} in one day ({prev[i, j]:.6g} -> "
                   f"{x[i, j]:.6g}); a jump above x{bound[j]:g} is "
                   f"{'refused' if is_error else 'suspicious'} here")  # fmt: skip
        err = place.error(field, i, cols[j], problem)
        if is_error:
            raise err
        warn(f"{err} (warning: used as it is)")
        return


def check_ranges(market: MarketData, files: Mapping[str, str] | None = None,
                 warn: Warn | None = None) -> None:  # fmt: skip
    """Refuse implausible values of ``market`` (thresholds in the module docstring).

    ``files`` maps a field (``prices``, ``curves/ES``...) to its file name when each file has
    exactly the calendar's rows (our layout: messages then name the row); None names the field.
    """
    warn = warn or (lambda message: None)
    place = _Place(market.calendar, files)
    frames = {f: getattr(market, f) for f in
              ("prices", "adjusted", "fx", "rates", "index", "vol_surface", "dividends",
               "benchmarks")}  # fmt: skip
    for field, frame in frames.items():
        _outside(frame.select_dtypes("number"), place, field, -MAX_ABS, MAX_ABS, "value")
    for root, curve in market.curves.items():
        legs = curve[["price", "carry", "forward"]]
        _outside(legs, place, f"curves/{root}", -MAX_ABS, MAX_ABS, "price")
    rates = frames["rates"]
    _outside(rates, place, "rates", *RATE_ERROR, "interest rate")
    _outside(rates, place, "rates", *RATE_WARNING, "interest rate", warn)
    index = frames["index"]
    yields = [c for c in index.columns if str(c).upper().endswith(YIELD_SUFFIXES)]
    levels = [c for c in index.columns if c not in yields]
    _outside(index[yields], place, "index", *YIELD_ERROR, "dividend yield")
    _outside(index[levels], place, "index", 0.0, MAX_ABS, "index level", open_low=True)
    _jumps(index[levels], place, "index", dict.fromkeys(levels, FIELD_JUMPS["index"]), warn)
    for field in ("fx", "benchmarks"):
        frame = frames[field]
        _jumps(frame, place, field, dict.fromkeys(frame.columns, FIELD_JUMPS[field]), warn)
    surface = frames["vol_surface"]
    atm = [c for c in surface.columns if str(c).startswith("atm_")]
    shape = [c for c in surface.columns if c not in atm]
    _outside(surface[atm], place, "vol_surface", 0.0, ATM_VOL_ERROR, "implied volatility")
    _outside(surface[atm], place, "vol_surface", 0.0, ATM_VOL_WARNING, "implied volatility", warn)
    _outside(surface[shape], place, "vol_surface", -SHAPE_MAX, SHAPE_MAX, "surface parameter")
    _check_dividends(frames["dividends"], frames["prices"], place, warn)
    kinds = market.instruments["kind"].astype(str)
    prices = frames["prices"]
    limits = {c: PRICE_JUMPS.get(kinds.get(c, ""), (2.0, 100.0)) for c in prices.columns}
    _jumps(prices, place, "prices", limits, warn)


def _check_dividends(dividends, prices, place, warn: Warn) -> None:
    _outside(dividends, place, "dividends", 0.0, MAX_ABS, "dividend")
    if dividends.shape[1] == 0:
        return
    price = _cells(prices.reindex(index=dividends.index, columns=dividends.columns))
    x = _cells(dividends)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = x / price
    for bound, is_error in ((1.0, True), (DIVIDEND_WARNING, False)):
        with np.errstate(invalid="ignore"):
            hit = _first(share > bound)
        if hit is None:
            continue
        i, j = hit
        err = place.error("dividends", i, dividends.columns[j],
                          f"dividend {x[i, j]:.6g} is {share[i, j]:.0%} of the day's price "
                          f"{price[i, j]:.6g} (above {bound:.0%} is "
                          f"{'refused' if is_error else 'suspicious'})")  # fmt: skip
        if is_error:
            raise err
        warn(f"{err} (warning: used as it is)")
        return
