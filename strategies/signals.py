"""Pure signal functions for the carry, trend and momentum strategies (pysystemtrade spirit).

Every function takes plain series / frames (dates × instruments) and returns the same shape;
none reads a file, holds state or looks ahead: row ``t`` of every output uses rows ``<= t`` of
the inputs only (causal exponentially weighted means, expanding sums, row-wise ranks), so a
strategy built from them passes the truncation test bit for bit.

Why pandas/numpy and not vectorbt here: ``DataFrame.ewm(adjust=True)`` is the exact, causal
EWMA pysystemtrade uses (vectorbt's ``MA.run(ewm=True)`` is the ``adjust=False`` recursion with
a ``min_periods = span`` warm-up, and importing vectorbt costs ~3 s); :func:`ewma` computes it
with :func:`strategies.rolling.ewm_mean`, pandas' recursion over every column in one numba pass,
equal to pandas' to the last bit. Batched trend sweeps (``backtest.research.trend_batch``) use
vectorbt's numba EWMA kernel with ``adjust=True``, the same recursion, equal to the last bit.

Units: prices in price points, returns as decimals per day, vols annualised decimals unless the
name says ``daily``; carry as an annual decimal of the price; forecasts are unitless with an
average absolute value of 10 (pysystemtrade convention).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.market.futures import curve_carry, years_between
from strategies.rolling import ewm_mean

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)

#: Average absolute value of a scaled forecast (pysystemtrade convention).
FORECAST_TARGET_ABS = 10.0
#: Trading days a price may be stale before the instrument counts as not trading.
STALE_PRICE_DAYS = 5
#: Days in a year for converting expiry differences (ACT/365.25) when contract ids are missing.
DAYS_PER_YEAR = 365.25


# --------------------------------------------------------------------------- volatility
def live_mask(prices: pd.DataFrame, stale_days: int = STALE_PRICE_DAYS) -> pd.DataFrame:
    """True where an instrument has a price at ``t`` or within the last ``stale_days`` rows."""
    return prices.ffill(limit=stale_days).notna()


def ewma(values: Frame, span_days: float, min_periods: int = 1) -> Frame:
    """Exponentially weighted moving average with ``alpha = 2 / (span + 1)`` (pandas ``adjust``).

    ``y_t = Σ_i (1-α)^i x_{t-i} / Σ_i (1-α)^i`` over the observations so far; NaN inputs keep the
    previous value. Causal. Reference: pandas ``DataFrame.ewm``; Carver, *Systematic Trading*.
    """
    if span_days < 1:
        raise ValueError("span must satisfy: span >= 1")
    return _ewm(values, (span_days - 1) / 2.0, min_periods)  # pandas' centre of mass of a span


def price_vol(price: Frame, span_days: float = 35, min_periods: int = 10) -> Frame:
    """Daily volatility of price changes, in price points: ``sqrt(EWMA(Δp²))`` (zero mean).

    The daily mean of a price change is negligible next to its dispersion, so the RiskMetrics
    zero-mean estimate is used. NaN until ``min_periods`` changes are seen.
    Reference: J.P. Morgan, *RiskMetrics Technical Document* (1996), §5.2.
    """
    return np.sqrt(ewma(price.diff() ** 2, span_days, min_periods))


def return_vol(returns: Frame, span_days: float = 35, min_periods: int = 10) -> Frame:
    """Annualised volatility of daily returns: ``sqrt(252 · EWMA(r²))``, decimal (0.1 = 10%)."""
    return np.sqrt(ewma(returns**2, span_days, min_periods) * TRADING_DAYS_PER_YEAR)


# --------------------------------------------------------------------------- trend
def ewmac(price: Frame, vol: Frame, fast_span: int, slow_span: int) -> Frame:
    """Exponentially weighted moving-average crossover, in units of daily price vol.

    ``(EWMA_fast(price) - EWMA_slow(price)) / vol``: positive when the price trends up.

    Parameters
    ----------
    price : Series or DataFrame of shape (n_dates, n_instruments)
        Back-adjusted futures prices or FX spot, price points.
    vol : same shape
        Daily volatility of price changes, price points (:func:`price_vol`).
    fast_span, slow_span : int
        EWMA spans in days, ``fast_span < slow_span``.

    Returns
    -------
    Same shape: the raw (unscaled) forecast; NaN where vol is missing or zero.
    Reference: Carver, *Systematic Trading* (2015), ch. 15; pysystemtrade ``ewmac``.
    """
    raw = (ewma(price, fast_span) - ewma(price, slow_span)) / vol
    return raw.replace([np.inf, -np.inf], np.nan)


def ewmac_random_walk_abs(fast_span: float, slow_span: float) -> float:
    """Expected ``|ewmac|`` for a driftless Gaussian random walk with unit daily vol.

    With ``a = 1 - 2/(fast+1)`` and ``b = 1 - 2/(slow+1)`` the crossover is
    ``Σ_j ε_{t-j} (b^{j+1} - a^{j+1})``, whose variance is
    ``a²/(1-a²) - 2ab/(1-ab) + b²/(1-b²)``; the mean absolute value of a normal variable is
    ``sqrt(2/π)`` times its standard deviation. Used as the prior of :func:`forecast_scalar`.
    """
    a, b = 1.0 - 2.0 / (fast_span + 1.0), 1.0 - 2.0 / (slow_span + 1.0)
    var = a * a / (1 - a * a) - 2 * a * b / (1 - a * b) + b * b / (1 - b * b)
    return float(np.sqrt(2.0 / np.pi * var))


def forecast_scalar(
    raw: pd.DataFrame,
    prior_abs: float,
    prior_days: float = 250.0,
    target_abs: float = FORECAST_TARGET_ABS,
) -> pd.Series:
    """Causal scalar that makes ``scalar × raw`` average ``target_abs`` in absolute value.

    The mean absolute raw forecast is pooled across instruments each day and averaged over all
    days so far (expanding, as pysystemtrade estimates it), shrunk towards ``prior_abs`` with the
    weight of ``prior_days`` pseudo-days, so the first rows are usable and no row looks ahead::

        scalar_t = target_abs / ((prior_days · prior_abs + Σ_{s<=t} m_s) / (prior_days + n_t))

    where ``m_s`` is the cross-sectional mean of ``|raw|`` on day ``s`` and ``n_t`` the number of
    days with any forecast. Returns a Series indexed like ``raw``.
    Reference: Carver, *Systematic Trading*, ch. 7 ("forecast scalars").
    """
    pooled = raw.abs().mean(axis=1).to_numpy()
    seen = np.isfinite(pooled)
    total = np.cumsum(np.where(seen, pooled, 0.0))
    count = np.cumsum(seen)
    mean_abs = (prior_days * prior_abs + total) / (prior_days + count)
    return pd.Series(target_abs / mean_abs, index=raw.index, name="forecast_scalar")


def scaled_forecast(raw: pd.DataFrame, scalar: pd.Series, cap: float) -> pd.DataFrame:
    """``raw × scalar`` (per row), capped to ``[-cap, cap]``; NaN stays NaN."""
    return raw.mul(scalar, axis=0).clip(-cap, cap)


# --------------------------------------------------------------------------- carry
def rate_differential(
    rates: pd.DataFrame, currencies: list[str], base: str = "USD"
) -> pd.DataFrame:
    """FX carry: ``r_XXX - r_USD`` per currency (annual decimals), dates × currencies.

    Holding a forward that buys XXX against USD earns the forward discount, which by covered
    interest parity is the rate differential. Reference: Lustig, Roussanov & Verdelhan (2011),
    "Common Risk Factors in Currency Markets", RFS 24(11).
    """
    return rates.reindex(columns=currencies).sub(rates[base], axis=0)


def forward_discount(spot: Frame, forward: Frame, tenor_years: float) -> Frame:
    """Annualised forward discount ``ln(spot / forward) / tenor`` (USD per unit quotes).

    Equals ``r_XXX - r_USD`` (continuously compounded) when the forward obeys covered interest
    parity ``F = S e^{(r_USD - r_XXX) τ}``: a currency at a forward discount pays carry.
    """
    return np.log(spot / forward) / tenor_years


def futures_curve_carry(curve: pd.DataFrame) -> pd.Series:
    """Annualised roll-down carry of a futures curve: ``(near - far) / years_apart / price``.

    ``curve`` has the :data:`backtest.market.CURVE_COLUMNS` (pysystemtrade multiple prices). The
    nearer of the held (``price``) and carry contracts is decided by expiry (by contract id when
    an expiry is missing), so instruments whose carry contract is the *previous* one
    (``CarryOffset = -1``: SOFR, Euribor, VIX, Corn, WTI) get the right sign. The gap is the
    number of contract months apart / 12 (:func:`backtest.market.futures.years_between`), or the
    expiry difference in ACT/365.25 years when ids are missing. Positive in backwardation: a
    long position gains as the held contract rolls up towards the nearer price.

    Rates/bond futures: roll-down (slope); equity index: dividend yield minus financing rate;
    currency futures (USD per unit): foreign minus USD rate; commodities: convenience yield
    minus storage and financing. Returns a Series (annual decimal), NaN where undefined.
    Reference: Koijen, Moskowitz, Pedersen & Vrugt (2018), "Carry", JFE 127(2), eq. (9).
    """
    carry = futures_curve_carry_rows([curve])[0]
    return pd.Series(carry, index=curve.index, name="carry")


def futures_curve_carry_rows(curves: list[pd.DataFrame]) -> np.ndarray:
    """:func:`futures_curve_carry` of several curves on one index, one row each: shape
    (n_curves, n_dates), the same element-wise arithmetic on the stacked columns (the same
    bits as one curve at a time)."""

    def rows(column: str, dtype) -> np.ndarray:
        return np.stack([c[column].to_numpy(dtype) for c in curves])

    held, other = rows("price", float), rows("carry", float)
    held_id, other_id = rows("price_contract", float), rows("carry_contract", float)
    held_exp = rows("price_expiry", "datetime64[ns]")
    other_exp = rows("carry_expiry", "datetime64[ns]")
    have_exp = ~(np.isnat(held_exp) | np.isnat(other_exp))
    other_nearer = np.where(have_exp, other_exp < held_exp, other_id < held_id)
    near = np.where(other_nearer, other, held)
    far = np.where(other_nearer, held, other)
    gap_ids = np.abs(years_between(held_id, other_id))
    gap_exp = np.abs((other_exp - held_exp).astype("timedelta64[s]").astype(float))
    gap_exp = np.where(have_exp, gap_exp / 86_400.0 / DAYS_PER_YEAR, np.nan)
    gap = np.where(np.isfinite(gap_ids), gap_ids, gap_exp)
    return curve_carry(near, far, 0.0, gap, held)


def ewma_com(values: Frame, com_days: float, min_periods: int = 1) -> Frame:
    """Exponentially weighted moving average with centre of mass ``com_days``:
    ``alpha = 1 / (1 + com)`` (pandas ``adjust``; span ``2 com + 1``). ``com_days = 0`` returns
    the input. Causal. Reference: pandas ``DataFrame.ewm(com=...)``, the first positional
    argument of ``ewm`` (pysystemtrade's ``ewm(90)``)."""
    if com_days == 0:
        return values
    return _ewm(values, com_days, min_periods)


def _ewm(values: Frame, com: float, min_periods: int) -> Frame:
    """``values.ewm(com=com, min_periods=min_periods, adjust=True).mean()``, every column in one
    numba pass (:func:`strategies.rolling.ewm_mean`, equal to pandas' to the last bit)."""
    out = ewm_mean(values.to_numpy(dtype="float64"), com, min_periods)
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    return pd.DataFrame(out, index=values.index, columns=values.columns)


#: Centre of mass (days) of the published carry smoothing: pysystemtrade ``carry`` rule,
#: ``(ann_roll / ann_vol).ewm(smooth_days=90).mean()`` whose first positional argument is ``com``.
CARRY_SMOOTH_COM_DAYS = 90.0

CarrySmoothing = Literal["ratio", "carry"]


def carry_forecast(
    carry: pd.DataFrame,
    vol_annual: pd.DataFrame,
    smooth_com_days: float = 0.0,
    smooth: CarrySmoothing = "ratio",
) -> pd.DataFrame:
    """Time-series carry forecast, unscaled: annualised carry over annualised vol (a Sharpe),
    smoothed by an EWMA of centre of mass ``smooth_com_days``.

    ``smooth = "ratio"`` (the published convention) smooths ``carry / vol``;
    ``smooth = "carry"`` smooths the carry and divides by today's vol (this project's former
    default, with a span of 10 days, i.e. ``com = 4.5``). Smoothing the ratio with ``com = 90``
    leaves the forecast's turnover to the slow carry itself; the former default also moved with
    every change of the daily vol (on the real sample's US10 it correlated 0.69 with the
    published forecast).

    Reference: Carver, *Systematic Trading* (2015), ch. 15; pysystemtrade ``carry`` rule
    (``raw_carry = ann_roll / ann_stdev; raw_carry.ewm(smooth_days).mean()``).
    """
    if smooth == "ratio":
        raw = ewma_com((carry / vol_annual).replace([np.inf, -np.inf], np.nan), smooth_com_days)
    elif smooth == "carry":
        raw = ewma_com(carry, smooth_com_days) / vol_annual
    else:
        raise ValueError(f"smooth must be 'ratio' or 'carry', got {smooth!r}")
    return raw.replace([np.inf, -np.inf], np.nan)


# --------------------------------------------------------------------------- cross-section
def demeaned_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Cross-sectional ranks per row, demeaned and scaled to ``[-1, 1]``.

    The lowest of ``n`` valid scores gets -1, the highest +1, evenly spaced (ties share the
    average rank); NaN scores stay NaN; rows with fewer than two valid scores get 0.
    Reference: Asness, Moskowitz & Pedersen (2013), "Value and Momentum Everywhere", JF, eq. (1).
    """
    ranks = scores.rank(axis=1)
    n = scores.notna().sum(axis=1)
    half = (n - 1.0) / 2.0
    centred = ranks.sub(ranks.mean(axis=1), axis=0)
    out = centred.div(half.where(half > 0), axis=0)
    few = (n < 2).to_numpy()[:, None] & scores.notna().to_numpy()
    return out.mask(few, 0.0)


def long_short_weights(score: pd.DataFrame, vol_annual: pd.DataFrame) -> pd.DataFrame:
    """Dollar-neutral, inverse-vol weights from a signed score (e.g. :func:`demeaned_ranks`).

    ``w = score / vol``, then longs scaled to sum to +1 and shorts to -1 on each row, so the row
    sums to 0 and its gross is 2. A row without both a long and a short is all zero.
    NaN (no score or no vol) counts as zero.
    """
    w = (score / vol_annual).replace([np.inf, -np.inf], np.nan).fillna(0.0)
    longs, shorts = w.clip(lower=0.0), w.clip(upper=0.0)
    long_sum, short_sum = longs.sum(axis=1), -shorts.sum(axis=1)
    both = (long_sum > 0) & (short_sum > 0)
    longs = longs.div(long_sum.where(both), axis=0)
    shorts = shorts.div(short_sum.where(both), axis=0)
    return (longs + shorts).fillna(0.0)


# --------------------------------------------------------------------------- momentum
def momentum(
    returns: pd.DataFrame, lookback_days: int = 252, skip_days: int = 21, min_fraction: float = 0.9
) -> pd.DataFrame:
    """Total-return momentum from ``t - lookback`` to ``t - skip`` ("12-1"), log return.

    ``Σ_{s = t-lookback+1}^{t-skip} ln(1 + r_s)``; NaN unless at least ``min_fraction`` of the
    window's returns are known. The most recent ``skip_days`` are left out (short-term reversal).
    Reference: Jegadeesh & Titman (1993), JF 48(1); Moskowitz, Ooi & Pedersen (2012), JFE 104(2).
    """
    logret = np.log1p(returns.to_numpy(dtype="float64"))
    known = ~np.isnan(logret)
    cum = np.cumsum(np.where(known, logret, 0.0), axis=0)  # sequential down each column
    count = np.cumsum(known, axis=0).astype("float64")  # as pandas' shifted int64 counts
    window = lookback_days - skip_days
    need = min_fraction * window
    if skip_days >= 0 and lookback_days >= 0:  # rows before both shifts reach data: NaN
        n, first = len(cum), max(skip_days, lookback_days)
        out = np.full(cum.shape, np.nan)
        if first < n:
            now = slice(first - skip_days, n - skip_days)  # rows t − skip
            then = slice(first - lookback_days, n - lookback_days)  # rows t − lookback
            enough = (count[now] - count[then]) >= need
            out[first:] = np.where(enough, cum[now] - cum[then], np.nan)
    else:
        mom = _shift_rows(cum, skip_days) - _shift_rows(cum, lookback_days)
        enough = (_shift_rows(count, skip_days) - _shift_rows(count, lookback_days)) >= need
        out = np.where(enough, mom, np.nan)
    # (dates × ids) C order: the (ids × dates) block layout pandas' own frame operations gave
    return pd.DataFrame(out, index=returns.index, columns=returns.columns, copy=False)


def _shift_rows(a: np.ndarray, periods: int) -> np.ndarray:
    """``DataFrame.shift(periods)`` of a float array (rows down; NaN shifted in)."""
    out = np.full(a.shape, np.nan)
    n = a.shape[0]
    if periods >= 0:
        if periods < n:
            out[periods:] = a[: n - periods]
    elif -periods < n:
        out[:periods] = a[-periods:]
    return out


def momentum_py(
    returns: pd.DataFrame, lookback_days: int = 252, skip_days: int = 21, min_fraction: float = 0.9
) -> pd.DataFrame:
    """Plain pandas twin of :func:`momentum` (the frame operations it replaced), for the tests."""
    logret = np.log1p(returns)
    cum = logret.fillna(0.0).cumsum()
    known = logret.notna().cumsum()
    window = lookback_days - skip_days
    mom = cum.shift(skip_days) - cum.shift(lookback_days)
    enough = (known.shift(skip_days) - known.shift(lookback_days)) >= min_fraction * window
    return mom.where(enough)


def month_start_mask(calendar: pd.DatetimeIndex) -> np.ndarray:
    """True on the first trading day of each month (the first close known to be in a new month).

    The first row is False: whether it starts a month cannot be told from the data. Using the
    month's *first* day keeps the rule causal: a truncated calendar cannot know that today is the
    last trading day of a month.
    """
    month = calendar.year.to_numpy() * 12 + calendar.month.to_numpy()
    mask = np.zeros(len(calendar), dtype=bool)
    mask[1:] = month[1:] != month[:-1]
    return mask


def hold_between(frame: pd.DataFrame, rebalance: np.ndarray) -> pd.DataFrame:
    """Rows of ``frame`` taken on ``rebalance`` days and held until the next one; 0 before.

    NaN on a rebalance day means 0 (no position), not "keep the previous one".
    """
    kept = frame.fillna(0.0).where(np.broadcast_to(rebalance[:, None], frame.shape))
    return kept.ffill().fillna(0.0)
