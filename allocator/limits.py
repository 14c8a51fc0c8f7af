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

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from allocator.var import _rolling_var, reference_var_windows
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
    if ahead_days <= 0:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) <= FEW_ROWS:  # e.g. the nightly's checks: those rows' windows only
            return _var_limit_at(market, limits, rows)
        now = market.cached(key, lambda: _var_limit_all_dates(market, limits))
        return now.iloc[rows]
    # today's limit and the window without its j oldest days, j = 1..k: computed together
    keys = [key] + [key + ("without oldest", j) for j in range(1, ahead_days + 1)]
    ahead = market.cached_batch(
        keys,
        lambda missing: _var_limits_without_oldest(
            market, limits, [keys.index(m) for m in missing]
        ),
    )
    now = ahead[0]
    lowest = np.minimum.reduce([a.to_numpy() for a in ahead])
    return pd.Series(lowest, index=now.index, name=now.name).iloc[rows]


#: :func:`var_limit` (no look-ahead) computes up to this many rows on their own windows (the
#: same figures, to the bit, as every date's, without the other dates' or the market's cache)
FEW_ROWS = 64


def _var_limit_at(market: MarketData, limits: Limits, rows: np.ndarray) -> pd.Series:
    """:func:`var_limit` (no look-ahead) at ``rows`` only: the reference's VaR on each row's
    window (:func:`allocator.var._rolling_var` with a weight of 1, which
    :func:`allocator.var.reference_var_windows` equals to the bit), then the same limit."""
    dates = market.calendar[rows]
    if not (limits.reference and limits.reference in market.benchmarks):
        return pd.Series(limits.var_absolute_max, index=dates)
    ref = market.benchmarks[[limits.reference]].pct_change()[limits.reference]
    r = ref.to_numpy(dtype="float64")[:, None]
    var = _rolling_var(r, np.ones_like(r), rows, limits.var_lookback_days,
                       limits.var_horizon_days, limits.var_confidence,
                       limits.var_min_history_days)  # fmt: skip
    ref_var = pd.Series(var, index=dates, name="var")
    ref_var = ref_var.where(ref_var > 0)
    return (limits.var_relative_max * ref_var).fillna(limits.var_absolute_max)


def _var_limit_all_dates(market: MarketData, limits: Limits) -> pd.Series:
    return _var_limits_without_oldest(market, limits, [0])[0]


def _var_limits_without_oldest(market: MarketData, limits: Limits, drops: list[int]) -> list:
    """The limit on every date (:func:`var_limit` with no look-ahead) over the look-back without
    its ``j`` oldest days, for each ``j`` in ``drops``: the reference's VaR over every window in
    one pass (:func:`allocator.var.reference_var_windows`, the figures of
    :func:`portfolio_var` with one look-back at a time, to the bit)."""
    dates = market.calendar
    if not (limits.reference and limits.reference in market.benchmarks):
        return [pd.Series(limits.var_absolute_max, index=dates) for _ in drops]
    ref = market.benchmarks[[limits.reference]].pct_change()[limits.reference]
    var = reference_var_windows(ref.to_numpy(dtype="float64"), limits.var_lookback_days,
                                max(drops) + 1, limits.var_horizon_days, limits.var_confidence,
                                limits.var_min_history_days)  # fmt: skip
    out = []
    for j in drops:
        ref_var = pd.Series(var[j], index=dates, name="var")
        ref_var = ref_var.where(ref_var > 0)
        out.append((limits.var_relative_max * ref_var).fillna(limits.var_absolute_max))
    return out


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

    eq = kinds.isin(EQUITY_KINDS).to_numpy()
    longs = out.loc[:, eq].clip(lower=0.0).fillna(0.0)  # the equities: all the industry sums read
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
            if scale.index.equals(out.index):  # every row decided: one product, no row look-up
                out = out.mul(scale, axis=0)
            else:
                out.loc[scale.index] = out.loc[scale.index].mul(scale, axis=0)
            book_scale.loc[scale.index] = book_scale.loc[scale.index] * scale
            for d in scale.index[over.to_numpy()]:
                log.append((d, "var_18f4", "fund", fund_var[d], scale[d]))
    actions = pd.DataFrame(log, columns=["date", "rule", "subject", "figure", "scale"])
    actions = actions.sort_values("date", kind="stable").reset_index(drop=True)
    return LimitedTargets(out, actions, book_scale)
