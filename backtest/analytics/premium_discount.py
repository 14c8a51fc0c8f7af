"""Premium/discount of the fund's closing market price to its NAV, and the filing's disclosure.

The filing asks the fund to publish, for the most recently completed calendar year and each of
the most recently completed four calendar quarters, how many trading days the closing bid/ask
midpoint stood at a premium or a discount to NAV, by size.

Conventions
-----------
- Premium/discount on a day: ``(midpoint − NAV) / NAV`` in decimal (+0.001 = 0.10% premium);
  NAV is the published NAV per share (rounded to the cent).
- Bins (:data:`DEFAULT_BINS`, decimal edges that must include 0) are closed on the edge
  *nearer zero*: a premium ``p > 0`` falls in ``[a, b)``, a discount ``p < 0`` in ``(a, b]``; so a
  bin holds the days whose absolute premium or discount is at least the inner edge and below the
  outer one, as "0 to 24.9 basis points" in fund disclosures. A premium of exactly zero (midpoint
  equal to NAV) has its own row, **"At NAV"**, between the discounts and the premiums. Values are
  rounded to 10 decimal places first, so that a midpoint landing on an edge is not pushed to the
  wrong side by binary floating point.
- Days with no premium (NaN: no price or no NAV) are not counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.market.calendar import next_session

#: Bin edges of the frequency distribution, decimal (−2%, −1%, ..., 2%).
DEFAULT_BINS: tuple[float, ...] = (
    -np.inf,
    -0.02,
    -0.01,
    -0.005,
    -0.0025,
    0.0,
    0.0025,
    0.005,
    0.01,
    0.02,
    np.inf,
)
#: Label of the row counting days on which the midpoint equalled NAV.
AT_NAV = "At NAV (0.00%)"
#: Decimal places premiums are rounded to before binning.
ROUND_DECIMALS = 10


def premium_discount(nav_per_share: pd.Series, midpoint: pd.Series) -> pd.Series:
    """Daily premium (+) or discount (−) of the midpoint to NAV, ``(mid − NAV) / NAV``, decimal.

    Both series are aligned on their common dates; a non-positive NAV gives NaN.
    """
    nav, mid = nav_per_share.align(midpoint, join="inner")
    out = (mid - nav) / nav.where(nav > 0)
    return out.rename("premium_discount")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def bin_labels(bins=DEFAULT_BINS) -> list[str]:
    """Row labels of :func:`frequency_distribution`: discounts (most negative first), "At NAV",
    premiums; e.g. ``"-0.25% to 0.00%"``, ``"0.00% to 0.25%"``, ``"2.00% and above"``."""
    edges = _check_bins(bins)
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if np.isneginf(lo):
            labels.append(f"{_pct(hi)} and below")
        elif np.isposinf(hi):
            labels.append(f"{_pct(lo)} and above")
        else:
            labels.append(f"{_pct(lo)} to {_pct(hi)}")
    labels.insert(int(np.flatnonzero(edges == 0.0)[0]), AT_NAV)
    return labels


def _check_bins(bins) -> np.ndarray:
    edges = np.asarray(bins, dtype="float64")
    if edges.ndim != 1 or len(edges) < 3 or not (np.diff(edges) > 0).all():
        raise ValueError(f"bins must be at least 3 strictly increasing edges, got {bins}")
    if 0.0 not in edges:
        raise ValueError("bins must include 0 (discounts and premiums are binned apart)")
    return edges


def frequency_distribution(pd_series: pd.Series, bins=DEFAULT_BINS) -> pd.DataFrame:
    """Number and percentage of days in each premium/discount bin (see the module conventions).

    Parameters
    ----------
    pd_series : Series of shape (n_days,)
        Daily premium/discount in decimal (NaN days are not counted).
    bins : sequence of float
        Strictly increasing edges including 0; values outside them raise ``ValueError``.

    Returns
    -------
    DataFrame of shape (n_bins, 2)
        Indexed by :func:`bin_labels` (discounts, "At NAV", premiums); columns ``days`` (int) and
        ``percent_of_days`` (0–100; 0 when there is no day). ``days`` sums to the number of
        non-NaN values.
    """
    edges = _check_bins(bins)
    x = np.round(pd_series.dropna().to_numpy(dtype="float64"), ROUND_DECIMALS)
    outside = ((x < 0) & (x <= edges[0])) | ((x > 0) & (x >= edges[-1]))
    if outside.any():
        raise ValueError(f"premium {x[outside][0]} lies outside the bins {edges[0]}..{edges[-1]}")
    zero = int(np.flatnonzero(edges == 0.0)[0])
    # positive: edges[k] <= x < edges[k+1]; negative: edges[k] < x <= edges[k+1]
    pos_bin = np.searchsorted(edges, x, side="right") - 1
    neg_bin = np.searchsorted(edges, x, side="left") - 1
    which = np.where(x > 0, pos_bin, neg_bin)
    counts = np.bincount(which[x != 0], minlength=len(edges) - 1)[: len(edges) - 1]
    days = np.r_[counts[:zero], int((x == 0).sum()), counts[zero:]].astype("int64")
    total = int(days.sum())
    percent = 100.0 * days / total if total else np.zeros(len(days))
    return pd.DataFrame(
        {"days": days, "percent_of_days": percent},
        index=pd.Index(bin_labels(edges), name="premium/discount"),
    )


def _period_end(period: pd.Period) -> pd.Timestamp:
    return period.end_time.normalize()


def disclosure_periods(dates: pd.DatetimeIndex) -> dict[str, pd.DatetimeIndex]:
    """The disclosure windows as of the last date: the most recently *completed* calendar year
    and the four most recently completed calendar quarters.

    A period is completed when the last date is its last calendar day or when the next trading
    session (:func:`backtest.market.next_session`: NYSE on an NYSE calendar, else the next
    weekday) falls after it — so data ending on 2024-12-31, or on 2024-12-31's last session,
    complete 2024 and its Q4.

    Returns
    -------
    dict
        ``{"2024": dates in 2024, "2024 Q1": ..., "2024 Q2": ..., "2024 Q3": ..., "2024 Q4": ...}``
        in that order (year, then quarters oldest first); each value holds the members of
        ``dates`` in the period (possibly partial or empty when the data start later).
    """
    dates = pd.DatetimeIndex(dates)
    if not len(dates):
        raise ValueError("disclosure periods need at least one date")
    last = dates[-1].normalize()
    upcoming = next_session(dates).normalize()

    def completed(period: pd.Period) -> bool:
        end = _period_end(period)
        return last >= end or upcoming > end

    year = pd.Period(last, freq="Y")
    if not completed(year):
        year -= 1
    quarter = pd.Period(last, freq="Q")
    if not completed(quarter):
        quarter -= 1
    quarters = [quarter - k for k in (3, 2, 1, 0)]
    out = {str(year.year): dates[dates.to_period("Y") == year]}
    for q in quarters:
        out[f"{q.year} Q{q.quarter}"] = dates[dates.to_period("Q") == q]
    return out


def disclosure_table(pd_series: pd.Series, bins=DEFAULT_BINS) -> pd.DataFrame:
    """The filing's table: days and % of days per bin for each of :func:`disclosure_periods`.

    Columns: a MultiIndex ``(period, "days" | "percent_of_days")``; rows as
    :func:`frequency_distribution`.
    """
    periods = disclosure_periods(pd_series.index)
    return pd.concat(
        {
            name: frequency_distribution(pd_series.reindex(days), bins)
            for name, days in periods.items()
        },
        axis=1,
    )


def simulate_secondary_market(
    nav_per_share: pd.Series,
    seed: int,
    half_spread_bps: float = 5.0,
    noise_bps: float = 10.0,
    ar: float = 0.5,
) -> pd.DataFrame:
    """Closing bid, ask and midpoint from a seeded mean-reverting premium model.

    For backtests, where the fund has no market price. Arbitrage by authorised participants keeps
    the price near NAV, so the premium is an AR(1) around zero:
    ``p_t = ar × p_{t−1} + noise_bps / 1e4 × ε_t`` with ``ε_t ~ N(0, 1)`` from
    ``np.random.default_rng(seed)`` and ``p_0`` drawn from the stationary distribution (standard
    deviation ``noise_bps / sqrt(1 − ar²)``). The quote around the fair price
    ``F_t = NAV_t (1 + p_t)``: bid ``F (1 − h)`` rounded *down* to the cent, ask ``F (1 + h)``
    rounded *up* (at least one cent apart), ``h = half_spread_bps / 1e4``; midpoint
    ``(bid + ask) / 2``. Each row uses draws up to its own, so the model is causal.

    Parameters
    ----------
    nav_per_share : Series of shape (n_days,)
        NAV per share in USD (NaN rows give NaN quotes).
    seed : int
    half_spread_bps, noise_bps : float
        Half the bid/ask spread and the daily premium shock, basis points.
    ar : float
        Daily persistence of the premium, in [0, 1).

    Returns
    -------
    DataFrame of shape (n_days, 4)
        ``bid``, ``ask``, ``midpoint`` (USD per share) and ``model_premium`` (decimal).
    """
    if not 0.0 <= ar < 1.0:
        raise ValueError(f"ar must be in [0, 1), got {ar}")
    if half_spread_bps < 0 or noise_bps < 0:
        raise ValueError("half_spread_bps and noise_bps must be non-negative")
    nav = nav_per_share.to_numpy(dtype="float64")
    n = len(nav)
    eps = np.random.default_rng(seed).standard_normal(n)
    sigma = noise_bps / 1e4
    p = np.empty(n)
    for t in range(n):
        p[t] = eps[t] * sigma / np.sqrt(1.0 - ar**2) if t == 0 else ar * p[t - 1] + sigma * eps[t]
    fair = nav * (1.0 + p)
    h = half_spread_bps / 1e4
    bid = np.floor(np.round(100.0 * fair * (1.0 - h), 6)) / 100.0
    ask = np.ceil(np.round(100.0 * fair * (1.0 + h), 6)) / 100.0
    ask = np.maximum(ask, bid + 0.01)
    mid = np.round((bid + ask) / 2.0, 3)
    return pd.DataFrame(
        {"bid": bid, "ask": ask, "midpoint": mid, "model_premium": p}, index=nav_per_share.index
    )
