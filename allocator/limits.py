"""Fund investment limits: scale targets before trading, check every rule after each day.

The rules (docs/ARCHITECTURE.md, from the fund's filing, plus Rule 18f-4):

=====================  =====================================================================
rule                   what is measured (figure) and its limit
=====================  =====================================================================
subsidiary_cap         Subsidiary net assets / fund total assets at fiscal quarter-ends ≤ 25%
subsidiary_band        the same ratio on every day ≤ the operating band's upper edge (warning)
industry               long equity market value per industry / net assets ≤ 25%
illiquid               long market value of illiquid securities / net assets ≤ 15% (at purchase)
cash_fund / cash_sub   cash of each book ≥ 0 (no borrowing for investment)
gross_leverage         Σ |notional| / net assets ≤ ``gross_leverage_max`` (not a leveraged ETF)
var_18f4               99% 20-day historical VaR of the portfolio ≤ 200% of the reference
                       portfolio's (relative test), or ≤ 20% of net assets without a reference
non_us_equity          no equity security whose issuer country is not US
isg                    derivatives only on Intermarket Surveillance Group member exchanges
=====================  =====================================================================

Pre-trade, :func:`apply_limits` removes what may not be held at all (non-US equities, non-ISG
derivatives) and scales exposures down so that every rule holds on the decision date with the
information of that date. Post-trade, :func:`check_limits` evaluates every rule on every simulated
day from the simulator's result and returns one row per rule and day with the figure, the limit
and whether it was breached.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from backtest.market.arrays import readonly_c
from backtest.market.instruments import FUTURE_KINDS, InstrumentKind, is_option_id
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns

EQUITY_KINDS = frozenset({InstrumentKind.EQUITY.value, InstrumentKind.ETF.value})
DERIVATIVE_KINDS = frozenset({k.value for k in FUTURE_KINDS} | {InstrumentKind.INDEX_OPTION.value})


@dataclass(frozen=True)
class Limits:
    """Limit figures; fractions of net assets unless stated."""

    subsidiary_cap: float = 0.25
    industry_max: float = 0.25
    illiquid_max: float = 0.15
    gross_leverage_max: float = 6.0
    var_confidence: float = 0.99
    var_horizon_days: int = 20
    var_lookback_days: int = 500
    #: fewer daily observations than this: no VaR figure (the test does not apply yet)
    var_min_history_days: int = 250
    var_relative_max: float = 2.0
    var_absolute_max: float = 0.20
    reference: str | None = "equity_index"  # a column of market.benchmarks, or None (absolute)
    #: the pre-trade VaR scaling aims at the lowest limit of the decision day and of the next
    #: ``var_ahead_days`` days as far as it is known then: the reference's VaR over the window
    #: without the days that leave it by then (they are known; the days to come are not). So a
    #: limit that falls as a stressed period rolls out of the look-back is met when it falls.
    #: 3: a book decided on day t trades at t+1's close and is held until the next decision
    #: trades (t+2), plus a day for the no-trade buffer's drift; with 2 the real pysystemtrade
    #: sample still breaches on 2017-11-29 (by 0.3%), with 3 neither it nor the synthetic
    #: market does. 0: the decision day's limit only.
    var_ahead_days: int = 3
    #: pre-trade scaling aims at ``headroom × limit`` so price moves between the decision and
    #: the booking (two days) do not carry a compliant target over the limit
    headroom: float = 0.90

    def __post_init__(self) -> None:
        for name in ("subsidiary_cap", "industry_max", "illiquid_max"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"invalid limits: {name} must be in (0, 1]")
        if not 0.5 <= self.headroom <= 1:
            raise ValueError("invalid limits: headroom must be in [0.5, 1]")
        if self.gross_leverage_max <= 0 or self.var_relative_max <= 0:
            raise ValueError("invalid limits: leverage and VaR limits must be > 0")
        if not 0.5 < self.var_confidence < 1:
            raise ValueError("invalid limits: var_confidence must be in (0.5, 1)")
        if not 0 <= self.var_ahead_days <= 20:
            raise ValueError("invalid limits: var_ahead_days must be in [0, 20]")


def instrument_attributes(market: MarketData, ids) -> pd.DataFrame:
    """Instrument attributes for target columns (on-demand options as SPX index options)."""
    table = market.instruments.reindex(list(ids))
    opts = [i for i in ids if is_option_id(i) and i not in market.instruments.index]
    if opts:
        table.loc[opts, ["kind", "exchange", "isg_member", "country", "liquidity"]] = [
            InstrumentKind.INDEX_OPTION.value,
            "CBOE",
            True,
            "US",
            "liquid",
        ]
        table.loc[opts, "subsidiary_only"] = False
    return table


# ---------------------------------------------------------------------------- VaR
def _rolling_var(
    returns: np.ndarray,
    weights: np.ndarray,
    rows: np.ndarray,
    lookback: int,
    horizon: int,
    q: float,
    min_obs: int,
) -> np.ndarray:
    """Historical VaR of ``weights[t]`` over the last ``lookback`` overlapping ``horizon``-day
    returns up to row t (inclusive), for t in ``rows``; a loss fraction floored at 0, NaN with
    fewer than ``min_obs`` days of history.

    ``returns`` and ``weights`` are (n_dates, n_instruments) float64 arrays of any memory
    layout; ``rows`` (n_rows,) int64. Within a row only the instruments with a non-zero weight
    are summed, in column order, so the figures equal the dense sum's exactly. The kernel
    (:func:`_rolling_var_kernel`) reads them instrument by instrument: a frame's array from
    pandas is column-major, so its transpose is handed over without a copy. (A ``prange`` over
    rows compiles four times slower, ~20 s cold, for little gain on two cores: see the speed
    notes in the README.)
    """
    by_instrument = readonly_c(np.asarray(returns, dtype=np.float64).T)
    weights_by_instrument = readonly_c(np.asarray(weights, dtype=np.float64).T)
    return _rolling_var_kernel(by_instrument, weights_by_instrument, readonly_c(rows, np.int64),
                               lookback, horizon, q, min_obs)  # fmt: skip


@njit(cache=True)
def _rolling_var_kernel(
    returns_t: np.ndarray,
    weights_t: np.ndarray,
    rows: np.ndarray,
    lookback: int,
    horizon: int,
    q: float,
    min_obs: int,
) -> np.ndarray:
    """Kernel of :func:`_rolling_var` on instrument-major arrays: ``returns_t`` and
    ``weights_t`` of shape (n_instruments, n_dates), C-contiguous."""
    m, n = returns_t.shape
    # missing returns as 0, by instrument: the inner loop runs down contiguous memory. Per day
    # the terms are still added in column order, and adding a signed zero leaves a sum that
    # started at +0.0 unchanged, so the figures equal skipping the missing returns exactly.
    by_instrument = np.zeros((m, n))
    for i in range(m):
        for s in range(n):
            r = returns_t[i, s]
            if np.isfinite(r):
                by_instrument[i, s] = r
    out = np.full(rows.shape[0], np.nan)
    size = max(1, min(lookback, n))  # one set of buffers for every row
    daily_buf, cum_buf, hor_buf = np.empty(size), np.empty(size), np.empty(size)
    held = np.empty(m, dtype=np.int64)
    for k in range(rows.shape[0]):
        t = rows[k]
        start = max(0, t - lookback + 1)
        if t - start + 1 < max(min_obs, 2 * horizon):
            continue
        length = t - start + 1
        daily = daily_buf[:length]
        daily[:] = 0.0
        n_held = 0
        for i in range(m):  # the held instruments, in column order
            if weights_t[i, t] != 0.0:
                held[n_held] = i
                n_held += 1
        j = 0
        while j + 4 <= n_held:  # four at a time: each day's terms still added one by one
            i0, i1, i2, i3 = held[j], held[j + 1], held[j + 2], held[j + 3]
            w0, w1, w2, w3 = weights_t[i0, t], weights_t[i1, t], weights_t[i2, t], weights_t[i3, t]
            r0 = by_instrument[i0, start : t + 1]
            r1 = by_instrument[i1, start : t + 1]
            r2 = by_instrument[i2, start : t + 1]
            r3 = by_instrument[i3, start : t + 1]
            for s in range(length):
                daily[s] = (((daily[s] + w0 * r0[s]) + w1 * r1[s]) + w2 * r2[s]) + w3 * r3[s]
            j += 4
        while j < n_held:
            i = held[j]
            w = weights_t[i, t]
            r_i = by_instrument[i, start : t + 1]
            for s in range(length):
                daily[s] += w * r_i[s]
            j += 1
        cum = cum_buf[:length]
        acc = 0.0  # np.cumsum as numba computes it: a running sum started at 0.0
        for s in range(length):
            acc += daily[s]
            cum[s] = acc
        hor = hor_buf[: length - horizon + 1]
        hor[0] = cum[horizon - 1]  # x − 0.0 is x, to the bit
        for j in range(1, hor.shape[0]):
            hor[j] = cum[j + horizon - 1] - cum[j - 1]
        out[k] = max(-_quantile(hor, 1.0 - q), 0.0)
    return out


@njit(cache=True)
def _quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) as numba computes it, to the last bit,
    for a 1-D array of finite float64 values (reordered in place); NaN when one is NaN.

    numba's own ``np.quantile`` compiles ~2.8 s of generic code (cold start); this is its scalar
    path: ``rank = 1 + (n − 1)·(100q / 100)``, the order statistics ``k = ⌊rank⌋ − 1`` and
    ``k + 1``, and ``lower·(1 − m) + upper·m`` with ``m = rank − ⌊rank⌋``. Order statistics do
    not depend on how they are found, so a plain quickselect gives the same two values, and so
    does keeping the ``k + 2`` smallest in one pass when ``k`` is small (the VaR tail).
    """
    n = values.shape[0]
    for i in range(n):
        if np.isnan(values[i]):
            return np.nan
    if n == 1:
        return values[0]
    percentile = q * 100.0
    if percentile == 100.0 or percentile == 0.0:  # the largest or the smallest value
        best = values[0]
        for i in range(1, n):
            if (values[i] > best) if percentile == 100.0 else (values[i] < best):
                best = values[i]
        return best
    rank = 1 + (n - 1) * (percentile / 100.0)
    f = math.floor(rank)
    m = rank - f
    k = int(f - 1)
    if k + 2 <= _SMALL_RANK:  # e.g. the 1% tail of 480 values: the 5th and 6th smallest
        lower, upper = _two_smallest_from(values, k)
        return lower * (1 - m) + upper * m
    lower = _select(values, k)
    upper = values[k + 1]
    for i in range(k + 2, n):  # the partition left values[k + 1:] >= lower: their minimum
        if values[i] < upper:
            upper = values[i]
    return lower * (1 - m) + upper * m


#: :func:`_quantile` finds order statistics below this rank with :func:`_two_smallest_from`
_SMALL_RANK = 32


@njit(cache=True)
def _two_smallest_from(values: np.ndarray, k: int) -> tuple[float, float]:
    """The ``k``-th and ``k+1``-th smallest values (0-based) of ``values`` (no NaN, more than
    ``k + 1`` of them), from one pass that keeps the ``k + 2`` smallest sorted (insertion).

    Order statistics do not depend on how they are found, so these are the values
    :func:`_select` and the scan after it give; for a small ``k`` (a VaR tail) this pass is a
    few times quicker than partitioning the whole window."""
    size = k + 2
    kept = np.empty(size)
    count = 0
    for i in range(values.shape[0]):
        v = values[i]
        if count < size:
            j = count
            count += 1
        elif v < kept[size - 1]:
            j = size - 1
        else:
            continue
        while j > 0 and kept[j - 1] > v:
            kept[j] = kept[j - 1]
            j -= 1
        kept[j] = v
    return kept[k], kept[k + 1]


@njit(cache=True)
def _select(a: np.ndarray, k: int) -> float:
    """The ``k``-th smallest value (0-based) of ``a``, partitioning ``a`` in place so that
    ``a[:k] <= a[k] <= a[k + 1:]`` (quickselect, median-of-three pivot)."""
    lo, hi = 0, a.shape[0] - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[lo], a[mid] = a[mid], a[lo]
        if a[hi] < a[lo]:
            a[lo], a[hi] = a[hi], a[lo]
        if a[mid] < a[hi]:
            a[mid], a[hi] = a[hi], a[mid]
        pivot = a[hi]  # the median of the three
        i = lo
        for j in range(lo, hi):
            if a[j] < pivot:
                a[i], a[j] = a[j], a[i]
                i += 1
        a[i], a[hi] = a[hi], a[i]
        if i == k:
            break
        if i < k:
            lo = i + 1
        else:
            hi = i - 1
    return a[k]


def rolling_var_py(returns, weights, rows, lookback, horizon, q, min_obs) -> np.ndarray:
    """Plain-Python twin of :func:`_rolling_var` (dense sums, no numba), for the tests."""
    out = np.full(len(rows), np.nan)
    for k, t in enumerate(rows):
        start = max(0, t - lookback + 1)
        if t - start + 1 < max(min_obs, 2 * horizon):
            continue
        w = weights[t]
        r = returns[start : t + 1]
        daily = np.where((w != 0.0) & np.isfinite(r), r * w, 0.0).sum(axis=1)
        cum = np.cumsum(daily)
        hor = cum[horizon - 1 :] - np.concatenate(([0.0], cum[: len(cum) - horizon]))
        out[k] = max(-np.quantile(hor, 1.0 - q), 0.0)
    return out


def portfolio_var(
    weights: pd.DataFrame, returns: pd.DataFrame, limits: Limits, rows: np.ndarray | None = None
) -> pd.Series:
    """99% ``horizon``-day historical VaR of exposure weights (fraction of net assets) on the
    dates of ``rows`` (all dates by default), from returns up to each date only."""
    rows = np.arange(len(weights)) if rows is None else np.asarray(rows, dtype=np.int64)
    r = returns.reindex(index=weights.index, columns=weights.columns).to_numpy(dtype="float64")
    w = weights.fillna(0.0).to_numpy(dtype="float64")
    var = _rolling_var(  # column-major arrays from pandas: no copy on the way to the kernel
        r,
        w,
        rows,
        limits.var_lookback_days,
        limits.var_horizon_days,
        limits.var_confidence,
        limits.var_min_history_days,
    )
    return pd.Series(var, index=weights.index[rows], name="var")


def var_limit(market: MarketData, limits: Limits, rows: np.ndarray, ahead_days: int = 0
              ) -> pd.Series:  # fmt: skip
    """The VaR each date may reach: 200% of the reference portfolio's VaR where it is measured
    (enough history, positive), else the absolute 20% of net assets.

    With ``ahead_days`` = k > 0, the lowest of that limit and of the limits the next k days will
    have if they add nothing to the reference's tail: the limit computed over the look-back
    without its j oldest days, j = 1..k (the days that leave the window by day t + j, known on
    day t). Data up to each date only.

    A function of the market and the VaR settings only: computed once per market for every date
    (shared by the pre-trade scaling, the post-trade check and every fund run on the market).
    """
    key = ("var_limit", limits.reference, limits.var_confidence, limits.var_horizon_days,
           limits.var_lookback_days, limits.var_min_history_days, limits.var_relative_max,
           limits.var_absolute_max)  # fmt: skip
    now = market.cached(key, lambda: _var_limit_all_dates(market, limits))
    if ahead_days <= 0:
        return now.iloc[rows]
    ahead = [now]
    for j in range(1, ahead_days + 1):  # the window without its j oldest days
        shorter = dataclasses.replace(limits, var_lookback_days=limits.var_lookback_days - j)
        ahead.append(market.cached(key + ("without oldest", j),
                                   lambda s=shorter: _var_limit_all_dates(market, s)))  # fmt: skip
    lowest = np.minimum.reduce([a.to_numpy() for a in ahead])
    return pd.Series(lowest, index=now.index, name=now.name).iloc[rows]


def _var_limit_all_dates(market: MarketData, limits: Limits) -> pd.Series:
    dates = market.calendar
    if limits.reference and limits.reference in market.benchmarks:
        ref = market.benchmarks[[limits.reference]].pct_change()
        w = pd.DataFrame(1.0, index=dates, columns=[limits.reference])
        ref_var = portfolio_var(w, ref, limits)
        ref_var = ref_var.where(ref_var > 0)
        return (limits.var_relative_max * ref_var).fillna(limits.var_absolute_max)
    return pd.Series(limits.var_absolute_max, index=dates)


# ---------------------------------------------------------------------------- pre-trade
class LimitedTargets(NamedTuple):
    """What :func:`apply_limits` did.

    ``targets``: the compliant targets (dates × ids, fraction of net assets); ``actions``: a log
    (date, rule, subject, figure, scale) of the first day each instrument rule bound and of
    every day the VaR test scaled; ``scale``: the factor (dates,) by which the whole book was
    scaled on each decision date (gross leverage × VaR; 1 when neither bound, NaN where no
    decision) — every position of the book, so every strategy's sleeve, is held at ``scale`` ×
    its pre-limit size, apart from the instrument rules (bans, industry, illiquid) that trim
    single columns.
    """

    targets: pd.DataFrame
    actions: pd.DataFrame
    scale: pd.Series


def apply_limits(
    targets: pd.DataFrame,
    market: MarketData,
    limits: Limits | None = None,
    returns: pd.DataFrame | None = None,
) -> LimitedTargets:
    """Scale or trim ``targets`` (dates × ids, fraction of net assets) so that the fund complies.

    Returns a :class:`LimitedTargets` (the compliant targets, the log of actions and the
    whole-book scale of each date). NaN rows (no decision) stay NaN. Uses only data up to each
    decision date.
    """
    limits = limits or Limits()
    table = instrument_attributes(market, targets.columns)
    out = targets.copy()
    log: list[tuple] = []
    decided = out.notna().any(axis=1).to_numpy()
    kinds = table["kind"].astype(str)

    banned = (kinds.isin(EQUITY_KINDS) & (table["country"] != "US")) | (
        kinds.isin(DERIVATIVE_KINDS) & ~table["isg_member"].astype(bool)
    )
    for iid in table.index[banned.to_numpy()]:
        held = out[iid].fillna(0.0).abs() > 0
        if held.any():
            rule = "non_us_equity" if kinds[iid] in EQUITY_KINDS else "isg"
            log.append((out.index[held.to_numpy()][0], rule, iid, 0.0, 0.0))
        out[iid] = out[iid].where(out[iid].isna(), 0.0)

    longs = out.clip(lower=0.0).fillna(0.0)
    eq = kinds.isin(EQUITY_KINDS).to_numpy()
    for industry, cols in table.loc[eq].groupby("industry").groups.items():
        exposure = longs[list(cols)].sum(axis=1)
        cap = limits.industry_max * limits.headroom
        over = exposure > cap
        if over.any():
            scale = (cap / exposure).where(over, 1.0)
            sub = out[list(cols)]
            out[list(cols)] = sub.where(sub <= 0, sub.mul(scale, axis=0))
            for d in exposure.index[over.to_numpy()][:1]:
                log.append((d, "industry", industry, exposure[d], scale[d]))

    illiquid_cols = list(table.index[(table["liquidity"] == "illiquid").to_numpy()])
    if illiquid_cols:
        exposure = out[illiquid_cols].clip(lower=0.0).fillna(0.0).sum(axis=1)
        cap = limits.illiquid_max * limits.headroom
        over = exposure > cap
        if over.any():
            scale = (cap / exposure).where(over, 1.0)
            sub = out[illiquid_cols]
            out[illiquid_cols] = sub.where(sub <= 0, sub.mul(scale, axis=0))
            d = exposure.index[over.to_numpy()][0]
            log.append((d, "illiquid", "illiquid", exposure[d], scale[d]))

    book_scale = pd.Series(np.where(decided, 1.0, np.nan), index=out.index, name="limit_scale")
    gross = out.abs().sum(axis=1)
    cap = limits.gross_leverage_max * limits.headroom
    over = gross > cap
    if over.any():
        gross_scale = (cap / gross).where(over, 1.0)
        out = out.mul(gross_scale, axis=0)
        book_scale = book_scale * gross_scale
        d = gross.index[over.to_numpy()][0]
        log.append((d, "gross_leverage", "fund", gross[d], cap / gross[d]))

    rows = np.flatnonzero(decided)
    if len(rows):
        if returns is None:
            returns = instrument_returns(market, list(out.columns))
        fund_var = portfolio_var(out, returns, limits, rows)
        allowed = var_limit(market, limits, rows, limits.var_ahead_days) * limits.headroom
        over = fund_var > allowed
        if over.any():
            scale = (allowed / fund_var).where(over, 1.0)
            out.loc[scale.index] = out.loc[scale.index].mul(scale, axis=0)
            book_scale.loc[scale.index] = book_scale.loc[scale.index] * scale
            for d in scale.index[over.to_numpy()]:
                log.append((d, "var_18f4", "fund", fund_var[d], scale[d]))
    actions = pd.DataFrame(log, columns=["date", "rule", "subject", "figure", "scale"])
    actions = actions.sort_values("date", kind="stable").reset_index(drop=True)
    return LimitedTargets(out, actions, book_scale)
