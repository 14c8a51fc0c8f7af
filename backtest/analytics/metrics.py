"""Performance metrics of daily return series: flat pure functions with textbook names.

Conventions (the one place they are stated; every function below follows them)
--------------------------------------------------------------------------------
- **Input**: daily *simple* returns in decimal (0.01 = +1%), a ``pd.Series`` (one return
  stream) or a ``pd.DataFrame`` of shape (n_dates, n_series), indexed by trading dates
  (``DatetimeIndex``). A DataFrame is handled column by column: a scalar metric then returns a
  Series indexed by the columns, a series-valued one a DataFrame. Levels (NAV per share, index
  values) only where a function says so; :func:`returns_from_levels` converts them.
- **Year**: ``TRADING_DAYS_PER_YEAR = 252`` trading days. Mean daily quantities (mean return,
  active return, alpha) are annualised by ``× 252``, standard deviations by ``× sqrt(252)``,
  and growth is compounded over ``n / 252`` years where ``n`` is the number of daily returns
  observed (trading days, not calendar time).
- **Risk-free rate**: ``risk_free_annual`` is an annual decimal rate; its daily rate is
  ``risk_free_annual / 252`` (simple division, not de-compounding).
- **Dispersion**: standard deviations, variances and covariances are sample estimates
  (``ddof=1``).
- **Months**: calendar months; a month's return compounds its daily returns, ``Π(1 + r) − 1``,
  labelled by a monthly ``PeriodIndex``. The first and last months may be partial.
- **Missing values**: NaN is a missing observation. Statistics skip it; path quantities
  (wealth, drawdown, monthly compounding) treat it as a day on which wealth is unchanged.
  Relative metrics use only the dates on which both the returns and the benchmark are present.
- **Undefined results** (zero denominator, too few observations) are NaN, never ``inf``.
- **Signs**: drawdowns, value at risk and conditional value at risk are *returns*, so losses
  are negative numbers: ``max_drawdown ≤ 0`` and ``conditional_value_at_risk ≤ value_at_risk``.
- **Wealth** starts at 1 before the first return; that starting capital counts as a peak, so
  a loss on the first day is a drawdown (as for a level series whose first value is the base).

vectorbt
--------
This module does not import vectorbt: every metric is a short pandas/numpy formula, so there is
no 3-second import, one NaN policy and one zero-denominator policy for all of them, and
Series and DataFrames are handled the same way. ``tests/backtest/test_analytics.py`` checks the
metrics whose conventions agree (Sharpe ratio, annual volatility, max drawdown, Sortino ratio,
CAGR, beta, VaR) against ``returns.vbt.returns(freq="1D", year_freq="252D")``. Where vectorbt's
convention differs, the function's notes say how.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from backtest.market.calendar import TRADING_DAYS_PER_YEAR

#: Factor that annualises a daily standard deviation.
VOLATILITY_ANNUALISATION = math.sqrt(TRADING_DAYS_PER_YEAR)

Returns = pd.Series | pd.DataFrame


def daily_rate(rate_annual: float) -> float:
    """Daily rate of an annual decimal rate: ``rate_annual / 252`` (see module conventions)."""
    return rate_annual / TRADING_DAYS_PER_YEAR


def _columnwise(metric: Callable) -> Callable:
    """Let a metric written for one Series accept a DataFrame (one result per column)."""

    @functools.wraps(metric)
    def wrapper(returns, *args, **kwargs):
        if isinstance(returns, pd.DataFrame):
            results = [metric(returns[c], *args, **kwargs) for c in returns.columns]
            if results and all(isinstance(x, pd.Series) for x in results):
                frame = pd.concat(results, axis=1)
                frame.columns = returns.columns
                return frame
            return pd.Series(results, index=returns.columns, dtype=None if results else "float64")
        if not isinstance(returns, pd.Series):
            raise TypeError(f"returns must be a pandas Series or DataFrame, not {type(returns)}")
        return metric(returns, *args, **kwargs)

    return wrapper


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is zero or NaN."""
    if denominator == 0 or np.isnan(denominator):
        return float("nan")
    return float(numerator / denominator)


def _align(returns: pd.Series, benchmark: pd.Series, dropna: bool = True):
    """The two series on their common dates (and, with ``dropna``, where both are present)."""
    if not isinstance(benchmark, pd.Series):
        raise TypeError(f"benchmark must be a pandas Series, not {type(benchmark)}")
    both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1, join="inner")
    if dropna:
        both = both.dropna()
    else:
        both = both.where(both.notna().all(axis=1))
    return both["r"], both["b"]


def returns_from_levels(levels: Returns) -> Returns:
    """Daily simple returns of a level series: ``r_t = L_t / L_{t-1} − 1``.

    The first date has no return and is dropped, so the first level is the starting capital
    (wealth 1 in the module's conventions). Input: levels (NAV per share, index values), shape
    (n_dates,) or (n_dates, n_series), strictly positive where present.

    Reference: Bacon, C. (2008), *Practical Portfolio Performance Measurement and Attribution*,
    2nd ed., Wiley, ch. 2 (simple returns).
    """
    if not isinstance(levels, pd.Series | pd.DataFrame):
        raise TypeError(f"levels must be a pandas Series or DataFrame, not {type(levels)}")
    if (levels <= 0).to_numpy().any():
        raise ValueError("levels must be strictly positive to define simple returns")
    return (levels / levels.shift(1) - 1.0).iloc[1:]


@_columnwise
def total_return(returns: Returns) -> float:
    """Compounded return over the whole sample: ``Π(1 + r_t) − 1``.

    Reference: Bacon (2008), *Practical Portfolio Performance Measurement and Attribution*,
    ch. 2 (geometric linking of returns).
    """
    r = returns.dropna()
    return float((1.0 + r).prod() - 1.0) if len(r) else float("nan")


@_columnwise
def annual_return(returns: Returns) -> float:
    """Compound annual growth rate: ``(Π(1 + r_t))^(252 / n) − 1``, ``n`` returns observed.

    A wealth that ends at or below zero gives −1 (total loss).

    Reference: Bacon (2008), *Practical Portfolio Performance Measurement and Attribution*,
    ch. 2 (annualised return).
    """
    r = returns.dropna()
    if not len(r):
        return float("nan")
    wealth = float((1.0 + r).prod())
    if wealth <= 0:
        return -1.0
    return wealth ** (TRADING_DAYS_PER_YEAR / len(r)) - 1.0


@_columnwise
def annual_volatility(returns: Returns) -> float:
    """Annualised standard deviation: ``std(r, ddof=1) × sqrt(252)``.

    Reference: Hull, J. C. (2018), *Options, Futures, and Other Derivatives*, 10th ed.,
    ch. 15 (estimating volatility from historical data).
    """
    return float(returns.std(ddof=1) * VOLATILITY_ANNUALISATION)


@_columnwise
def sharpe_ratio(returns: Returns, risk_free_annual: float = 0.0) -> float:
    """Annualised Sharpe ratio: ``mean(r − rf) / std(r − rf) × sqrt(252)``, ``rf = rf_annual/252``.

    Reference: Sharpe, W. F. (1994), "The Sharpe Ratio", *Journal of Portfolio Management*
    21(1), 49–58.
    """
    excess = returns.dropna() - daily_rate(risk_free_annual)
    return _ratio(excess.mean(), excess.std(ddof=1)) * VOLATILITY_ANNUALISATION


@_columnwise
def downside_deviation(returns: Returns) -> float:
    """Annualised downside deviation below a target of 0: ``sqrt(mean(min(r, 0)²)) × sqrt(252)``.

    The mean runs over *all* observations (not only the losing ones), as in Sortino & Price.

    Reference: Sortino, F. A. and Price, L. N. (1994), "Performance Measurement in a Downside
    Risk Framework", *Journal of Investing* 3(3), 59–64.
    """
    r = returns.dropna()
    if not len(r):
        return float("nan")
    return float(np.sqrt((r.clip(upper=0.0) ** 2).mean()) * VOLATILITY_ANNUALISATION)


@_columnwise
def sortino_ratio(returns: Returns) -> float:
    """Sortino ratio with target 0: ``mean(r) × 252 / downside_deviation(r)``.

    Reference: Sortino, F. A. and Price, L. N. (1994), "Performance Measurement in a Downside
    Risk Framework", *Journal of Investing* 3(3), 59–64.
    """
    r = returns.dropna()
    return _ratio(r.mean() * TRADING_DAYS_PER_YEAR, downside_deviation(r))


@_columnwise
def drawdown_series(returns: Returns) -> pd.Series:
    """Drawdown on each date: ``W_t / max(1, W_1, …, W_t) − 1`` with ``W_t = Π_{s≤t}(1 + r_s)``.

    Same index as ``returns``; values ≤ 0 (for returns ≥ −1). The starting capital ``W_0 = 1``
    is a peak (see module conventions). Note: vectorbt's ``drawdown`` takes the running maximum
    from the first *return* on, so it shows no drawdown after a first-day loss.

    Reference: Magdon-Ismail, M. and Atiya, A. F. (2004), "Maximum drawdown", *Risk* 17(10),
    99–102.
    """
    wealth = (1.0 + returns.fillna(0.0)).cumprod()
    return wealth / wealth.cummax().clip(lower=1.0) - 1.0


@_columnwise
def max_drawdown(returns: Returns) -> float:
    """Largest peak-to-trough fall of wealth, a number in [−1, 0]: ``min_t drawdown_t``.

    Reference: Magdon-Ismail, M. and Atiya, A. F. (2004), "Maximum drawdown", *Risk* 17(10),
    99–102.
    """
    if not returns.notna().any():
        return float("nan")
    return float(drawdown_series(returns).min())


@_columnwise
def max_drawdown_duration(returns: Returns) -> int:
    """Longest drawdown in trading days: from the peak to the first date wealth regains it.

    A drawdown not recovered by the last date counts to the last date. The peak may be the
    starting capital (position −1, the day before the first return), so a series that loses on
    its first day and recovers on its second has a duration of 2. 0 when wealth never falls.

    Reference: Bacon, C. (2008), *Practical Portfolio Performance Measurement and Attribution*,
    2nd ed., Wiley, ch. 4 (drawdown duration).
    """
    dd = drawdown_series(returns).to_numpy()
    if not len(dd):
        return 0
    pos = np.arange(len(dd))
    at_peak = dd >= 0.0
    last_peak = np.maximum.accumulate(np.where(at_peak, pos, -1))  # last peak at or before t
    prev_peak = np.concatenate(([-1], last_peak[:-1]))  # last peak strictly before t
    under = ~at_peak
    recovery = at_peak & np.concatenate(([False], under[:-1]))
    counted = under | recovery
    return int((pos - prev_peak)[counted].max()) if counted.any() else 0


@_columnwise
def calmar_ratio(returns: Returns) -> float:
    """Calmar ratio over the whole sample: ``annual_return / |max_drawdown|``.

    Young's original uses the last 36 months; here it is the full series given.

    Reference: Young, T. W. (1991), "Calmar Ratio: A Smoother Tool", *Futures* 20(1), 40.
    """
    return _ratio(annual_return(returns), abs(max_drawdown(returns)))


@_columnwise
def monthly_returns(returns: Returns) -> pd.Series:
    """Calendar-month returns, ``Π_{t in month}(1 + r_t) − 1``, indexed by a monthly PeriodIndex.

    A month with no observation is NaN. First and last months may be partial.

    Reference: Bacon (2008), *Practical Portfolio Performance Measurement and Attribution*,
    ch. 2 (compounding sub-period returns).
    """
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("monthly returns need a DatetimeIndex of trading dates")
    months = returns.index.to_period("M").rename("month")
    return (1.0 + returns).groupby(months).prod(min_count=1) - 1.0


@_columnwise
def worst_month(returns: Returns) -> float:
    """Lowest calendar-month return: ``min_m monthly_returns_m``.

    Reference: Bacon (2008), *Practical Portfolio Performance Measurement and Attribution*,
    ch. 4 (largest individual loss).
    """
    return float(monthly_returns(returns).min())


@_columnwise
def skewness(returns: Returns) -> float:
    """Sample skewness, adjusted Fisher–Pearson ``G1 = n / ((n−1)(n−2)) Σ((r − r̄) / s)³``.

    ``s`` is the sample standard deviation. The same estimator as Excel's ``SKEW``, pandas'
    ``skew`` and ``scipy.stats.skew(bias=False)``. NaN below 3 observations.

    Reference: Joanes, D. N. and Gill, C. A. (1998), "Comparing measures of sample skewness and
    kurtosis", *The Statistician* 47(1), 183–189.
    """
    return float(returns.skew())


@_columnwise
def kurtosis(returns: Returns) -> float:
    """Sample excess kurtosis ``G2`` (0 for a normal distribution).

    ``G2 = n(n+1) / ((n−1)(n−2)(n−3)) Σ((r − r̄) / s)⁴ − 3(n−1)² / ((n−2)(n−3))``, as Excel's
    ``KURT``, pandas' ``kurt`` and ``scipy.stats.kurtosis(bias=False)``. NaN below 4
    observations.

    Reference: Joanes, D. N. and Gill, C. A. (1998), "Comparing measures of sample skewness and
    kurtosis", *The Statistician* 47(1), 183–189.
    """
    return float(returns.kurt())


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level}")


@_columnwise
def value_at_risk(returns: Returns, level: float = 0.95) -> float:
    """Historical value at risk: the ``1 − level`` quantile of daily returns (a negative number).

    The quantile interpolates linearly between order statistics (Hyndman–Fan type 7, numpy's
    and pandas' default, also vectorbt's).

    Reference: Jorion, P. (2007), *Value at Risk*, 3rd ed., McGraw-Hill, ch. 5.
    """
    _check_level(level)
    return float(returns.dropna().quantile(1.0 - level))


@_columnwise
def conditional_value_at_risk(returns: Returns, level: float = 0.95) -> float:
    """Historical expected shortfall: mean of the returns at or below :func:`value_at_risk`.

    Always ``≤ value_at_risk``. vectorbt's ``cond_value_at_risk`` averages the lowest
    ``int((n − 1)(1 − level)) + 1`` returns instead, which can differ; hence written here.

    Reference: Rockafellar, R. T. and Uryasev, S. (2002), "Conditional value-at-risk for general
    loss distributions", *Journal of Banking & Finance* 26(7), 1443–1471.
    """
    r = returns.dropna()
    var = value_at_risk(r, level)
    return float(r[r <= var].mean())


@_columnwise
def beta(returns: Returns, benchmark: pd.Series) -> float:
    """CAPM beta: ``cov(r, b) / var(b)`` on the dates both are present.

    Reference: Sharpe, W. F. (1964), "Capital Asset Prices: A Theory of Market Equilibrium under
    Conditions of Risk", *Journal of Finance* 19(3), 425–442.
    """
    r, b = _align(returns, benchmark)
    return _ratio(r.cov(b), b.var())


@_columnwise
def alpha(returns: Returns, benchmark: pd.Series, risk_free_annual: float = 0.0) -> float:
    """Annualised Jensen's alpha: ``mean(r − rf − β (b − rf)) × 252``, ``rf = rf_annual / 252``.

    vectorbt compounds the mean daily alpha, ``(1 + ᾱ)^252 − 1``; Jensen's alpha is the
    intercept of a linear regression, so it is annualised linearly here.

    Reference: Jensen, M. C. (1968), "The Performance of Mutual Funds in the Period 1945–1964",
    *Journal of Finance* 23(2), 389–416.
    """
    r, b = _align(returns, benchmark)
    rf = daily_rate(risk_free_annual)
    b_ = beta(r, b)
    return float((r - rf - b_ * (b - rf)).mean() * TRADING_DAYS_PER_YEAR)


@_columnwise
def correlation(returns: Returns, benchmark: pd.Series) -> float:
    """Pearson correlation of daily returns on the dates both are present.

    Reference: Pearson, K. (1895), "Notes on regression and inheritance in the case of two
    parents", *Proceedings of the Royal Society of London* 58, 240–242.
    """
    r, b = _align(returns, benchmark)
    return float(np.clip(_ratio(r.cov(b), r.std() * b.std()), -1.0, 1.0))


def _check_window(window: int) -> None:
    if int(window) != window or window < 2:
        raise ValueError(f"window must be an integer number of trading days ≥ 2; got {window}")


@_columnwise
def rolling_correlation(returns: Returns, benchmark: pd.Series, window: int) -> pd.Series:
    """Pearson correlation over trailing windows of ``window`` common trading days.

    Index: the dates common to both series. NaN until ``window`` days are available and for any
    window holding a missing value.

    Reference: Pearson (1895), see :func:`correlation`.
    """
    _check_window(window)
    r, b = _align(returns, benchmark, dropna=False)
    cov = r.rolling(window, min_periods=window).cov(b)
    sd = r.rolling(window, min_periods=window).std() * b.rolling(window, min_periods=window).std()
    return (cov / sd).replace([np.inf, -np.inf], np.nan).rename(returns.name)


@_columnwise
def rolling_beta(returns: Returns, benchmark: pd.Series, window: int) -> pd.Series:
    """Beta ``cov(r, b) / var(b)`` over trailing windows of ``window`` common trading days.

    Index and missing values as :func:`rolling_correlation`.

    Reference: Sharpe (1964), see :func:`beta`.
    """
    _check_window(window)
    r, b = _align(returns, benchmark, dropna=False)
    cov = r.rolling(window, min_periods=window).cov(b)
    var = b.rolling(window, min_periods=window).var()
    return (cov / var).replace([np.inf, -np.inf], np.nan).rename(returns.name)


@_columnwise
def active_return(returns: Returns, benchmark: pd.Series) -> float:
    """Annualised mean active return: ``mean(r − b) × 252``.

    Reference: Grinold, R. C. and Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed.,
    McGraw-Hill, ch. 5.
    """
    r, b = _align(returns, benchmark)
    return float((r - b).mean() * TRADING_DAYS_PER_YEAR)


@_columnwise
def tracking_error(returns: Returns, benchmark: pd.Series) -> float:
    """Annualised tracking error: ``std(r − b, ddof=1) × sqrt(252)``.

    Reference: Grinold, R. C. and Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed.,
    McGraw-Hill, ch. 5.
    """
    r, b = _align(returns, benchmark)
    return float((r - b).std(ddof=1) * VOLATILITY_ANNUALISATION)


@_columnwise
def information_ratio(returns: Returns, benchmark: pd.Series) -> float:
    """Annualised information ratio: ``active_return / tracking_error``.

    vectorbt's ``information_ratio`` is not annualised (a daily ratio); hence written here.

    Reference: Grinold, R. C. and Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed.,
    McGraw-Hill, ch. 5.
    """
    return _ratio(active_return(returns, benchmark), tracking_error(returns, benchmark))


def _monthly_pair(returns: pd.Series, benchmark: pd.Series) -> tuple[pd.Series, pd.Series]:
    r, b = _align(returns, benchmark)
    return monthly_returns(r), monthly_returns(b)


def _geometric_mean(monthly: pd.Series) -> float:
    return float((1.0 + monthly).prod() ** (1.0 / len(monthly)) - 1.0)


def _capture(returns: pd.Series, benchmark: pd.Series, up: bool) -> float:
    r, b = _monthly_pair(returns, benchmark)
    months = b > 0 if up else b < 0
    if not months.any():
        return float("nan")
    return _ratio(_geometric_mean(r[months]), _geometric_mean(b[months]))


@_columnwise
def up_capture(returns: Returns, benchmark: pd.Series) -> float:
    """Upside capture ratio on calendar months in which the benchmark rose (1.0 = 100%).

    ``((Π(1 + r_m))^(1/n) − 1) / ((Π(1 + b_m))^(1/n) − 1)`` over the ``n`` months with
    ``b_m > 0``; months compound the daily returns of the dates both series are present. This is
    Morningstar's geometric-mean definition, not annualised; vectorbt's ``up_capture`` instead
    uses daily returns and annualised growth, which weighs the number of up days.

    Reference: Morningstar, Inc., "Upside/Downside Capture Ratio" (Morningstar methodology
    definitions).
    """
    return _capture(returns, benchmark, up=True)


@_columnwise
def down_capture(returns: Returns, benchmark: pd.Series) -> float:
    """Downside capture ratio on calendar months in which the benchmark fell (1.0 = 100%).

    As :func:`up_capture` over the months with ``b_m < 0``; below 1 means the fund lost less
    than the benchmark in down months, negative means it gained in them.

    Reference: Morningstar, Inc., "Upside/Downside Capture Ratio" (Morningstar methodology
    definitions).
    """
    return _capture(returns, benchmark, up=False)


@_columnwise
def hit_rate(returns: Returns, benchmark: pd.Series) -> float:
    """Share of calendar months in which the returns beat the benchmark (``r_m > b_m``).

    Reference: Morningstar, Inc., "Batting Average" (Morningstar methodology definitions).
    """
    r, b = _monthly_pair(returns, benchmark)
    return float((r > b).mean()) if len(r) else float("nan")
