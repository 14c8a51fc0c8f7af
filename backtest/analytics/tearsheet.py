"""Tear-sheet metrics beyond :mod:`backtest.analytics.metrics`: the cash rate and the Sharpe ratio
in excess of it, the shape of the return distribution, rolling risk and relative statistics, and
the worst drawdowns. Flat pure functions of daily return series, in empyrical's style.

The conventions of :mod:`backtest.analytics.metrics` hold (daily simple decimal returns, 252
trading days a year, sample dispersion, NaN for undefined results). Two additions:

- **Cash rate**: a fund collateralised with T-bills earns the USD short rate on its cash, so a
  Sharpe ratio with ``rf = 0`` counts that interest as skill. :func:`cash_returns` turns an
  annual ACT/360 money-market rate (``MarketData.rates["USD"]``, what the simulator accrues on
  cash: rate of ``t−1`` over the calendar days since ``t−1``) into the daily return of holding
  cash, and :func:`sharpe_ratio_over_cash` is the Sharpe ratio of the returns in excess of it.
- **Own window**: a statistic of a series shorter than the fund's is computed over the series'
  own dates (first to last present value, :func:`own_window`), never over days it lacks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.analytics.metrics import (
    VOLATILITY_ANNUALISATION,
    Returns,
    _align,
    _check_window,
    _columnwise,
    _ratio,
    drawdown_series,
    sharpe_ratio,
)
from backtest.market.calendar import TRADING_DAYS_PER_YEAR

#: Day count of the USD money-market rate (ACT/360), as the simulator accrues cash interest.
MONEY_MARKET_DAYS_PER_YEAR = 360.0


def own_window(series: pd.Series) -> pd.Series:
    """``series`` from its first to its last present value (inner gaps kept)."""
    first, last = series.first_valid_index(), series.last_valid_index()
    return series.iloc[:0] if first is None else series.loc[first:last]


def cash_returns(rate_annual: pd.Series) -> pd.Series:
    """Daily return of cash: ``c_t = rate_{t−1} × (d_t − d_{t−1}) / 360`` (ACT/360).

    ``rate_annual``: the annual short rate (decimal) at each close, indexed by trading dates;
    missing rates are carried forward. The first date has no return and is dropped. A Friday
    to Monday step earns three days.

    Reference: ISDA (2006), *ISDA Definitions*, section 4.16(e) (Actual/360).
    """
    rate = rate_annual.sort_index().ffill()
    days = rate.index.to_series().diff().dt.days.to_numpy(dtype="float64")
    out = rate.shift(1) * days / MONEY_MARKET_DAYS_PER_YEAR
    return out.iloc[1:].rename("cash")


@_columnwise
def sharpe_ratio_over_cash(returns: Returns, cash: pd.Series) -> float:
    """Annualised Sharpe ratio of the returns in excess of cash, on the dates both are present:
    ``mean(r − c) / std(r − c, ddof=1) × sqrt(252)`` with ``c`` from :func:`cash_returns`.

    Reference: Sharpe, W. F. (1994), "The Sharpe Ratio", *Journal of Portfolio Management*
    21(1), 49–58 (the differential return over a riskless asset).
    """
    r, c = _align(returns, cash)
    return float(sharpe_ratio(r - c))


@_columnwise
def best_day(returns: Returns) -> float:
    """Highest daily return."""
    return float(returns.max())


@_columnwise
def worst_day(returns: Returns) -> float:
    """Lowest daily return."""
    return float(returns.min())


@_columnwise
def omega_ratio(returns: Returns, threshold_daily: float = 0.0) -> float:
    """Omega ratio: ``Σ max(r − τ, 0) / Σ max(τ − r, 0)`` with a daily threshold ``τ``.

    Reference: Keating, C. and Shadwick, W. F. (2002), "A Universal Performance Measure",
    *Journal of Performance Measurement* 6(3), 59–84.
    """
    r = returns.dropna() - threshold_daily
    return _ratio(r.clip(lower=0.0).sum(), (-r).clip(lower=0.0).sum())


@_columnwise
def tail_ratio(returns: Returns) -> float:
    """Tail ratio: ``|q_95(r)| / |q_5(r)|`` (quantiles as numpy's default, type 7).

    Above 1: the right tail is fatter than the left one. As empyrical's ``tail_ratio``.

    Reference: Quantopian, *empyrical* (2016), ``tail_ratio``.
    """
    r = returns.dropna()
    if not len(r):
        return float("nan")
    return _ratio(abs(r.quantile(0.95)), abs(r.quantile(0.05)))


@_columnwise
def stability(returns: Returns) -> float:
    """R² of the least-squares line through the log cumulative return against time:
    ``y_t = Σ_{s≤t} ln(1 + r_s)`` regressed on ``t = 0, 1, …`` (1 = a steady compounding path).

    Reference: Quantopian, *empyrical* (2016), ``stability_of_timeseries``.
    """
    r = returns.dropna()
    if len(r) < 3:
        return float("nan")
    y = np.log1p(r.to_numpy()).cumsum()
    x = np.arange(len(y), dtype="float64")
    c = np.corrcoef(x, y)[0, 1]
    return float(c * c) if np.isfinite(c) else float("nan")


@_columnwise
def rolling_volatility(returns: Returns, window: int) -> pd.Series:
    """Annualised volatility over trailing ``window`` days: ``std(ddof=1) × sqrt(252)``."""
    _check_window(window)
    return returns.rolling(window, min_periods=window).std() * VOLATILITY_ANNUALISATION


@_columnwise
def rolling_sharpe(returns: Returns, window: int, cash: pd.Series | None = None) -> pd.Series:
    """Sharpe ratio over trailing ``window`` days of the returns in excess of ``cash`` (daily
    cash returns, :func:`cash_returns`; none: ``rf = 0``): ``mean / std × sqrt(252)``."""
    _check_window(window)
    excess = returns if cash is None else returns - cash.reindex(returns.index)
    roll = excess.rolling(window, min_periods=window)
    return (roll.mean() / roll.std() * VOLATILITY_ANNUALISATION).replace([np.inf, -np.inf], np.nan)


@_columnwise
def rolling_tracking_error(returns: Returns, benchmark: pd.Series, window: int) -> pd.Series:
    """Tracking error ``std(r − b, ddof=1) × sqrt(252)`` over trailing ``window`` common days."""
    _check_window(window)
    r, b = _align(returns, benchmark, dropna=False)
    return (r - b).rolling(window, min_periods=window).std() * VOLATILITY_ANNUALISATION


@_columnwise
def rolling_information_ratio(returns: Returns, benchmark: pd.Series, window: int) -> pd.Series:
    """Information ratio ``mean(r − b) × 252 / (std(r − b) × sqrt(252))`` over trailing
    ``window`` common days.

    Reference: Grinold, R. C. and Kahn, R. N. (2000), *Active Portfolio Management*, ch. 5.
    """
    _check_window(window)
    r, b = _align(returns, benchmark, dropna=False)
    roll = (r - b).rolling(window, min_periods=window)
    ir = roll.mean() * TRADING_DAYS_PER_YEAR / (roll.std() * VOLATILITY_ANNUALISATION)
    return ir.replace([np.inf, -np.inf], np.nan)


def worst_drawdowns(returns: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdowns of one return series, deepest first.

    A drawdown is a run of days under the running peak of wealth (:func:`drawdown_series`;
    the starting capital is a peak). Columns: ``peak`` (last date at the peak before the fall;
    NaT when the peak is the starting capital), ``trough`` (date of the lowest wealth),
    ``recovery`` (first date back at the peak; NaT if not recovered), ``depth`` (wealth at the
    trough over the peak, minus 1, ≤ 0) and ``days`` (trading days from the peak to the
    recovery, or to the last date; the largest is ``metrics.max_drawdown_duration``).

    Reference: Bacon, C. (2008), *Practical Portfolio Performance Measurement and Attribution*,
    2nd ed., Wiley, ch. 4 (drawdown, duration).
    """
    dd = drawdown_series(returns).to_numpy()
    dates, n = returns.index, len(dd)
    under = dd < 0.0
    rows = []
    k = 0
    while k < n:
        if not under[k]:
            k += 1
            continue
        end = k
        while end + 1 < n and under[end + 1]:
            end += 1
        trough = k + int(np.argmin(dd[k : end + 1]))
        recovered = end + 1 < n
        rows.append({
            "peak": dates[k - 1] if k > 0 else pd.NaT, "trough": dates[trough],
            "recovery": dates[end + 1] if recovered else pd.NaT, "depth": float(dd[trough]),
            "days": (end + 1 if recovered else n - 1) - (k - 1),
        })  # fmt: skip
        k = end + 1
    columns = ["peak", "trough", "recovery", "depth", "days"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("depth", kind="stable").head(top).reset_index(drop=True)
