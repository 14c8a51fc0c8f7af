"""Equity market-neutral long/short: momentum and low volatility, beta- and industry-neutral.

Economics. Within an industry, stocks with strong 12-1 month momentum keep outperforming
(under-reaction to news) and low-volatility stocks earn more per unit of risk than high-volatility
ones (leverage-constrained investors bid up risky stocks: "betting against beta"). A book long
the best composite scores and short the worst, neutral to the market (beta) and to every
industry (net zero per industry), harvests both with little correlation to equity markets.

Steps, all causal (row ``t`` uses data up to ``t``):

1. per stock, total daily returns (:func:`backtest.market.returns.instrument_returns`, dividends
   included), 12-1 momentum (:func:`strategies.signals.momentum`), realised vol
   (:func:`realised_vol`) and a
   rolling beta on the market (:func:`rolling_beta`: SPX when ``index["SPX"]`` exists, else the
   equal-weight universe), shrunk towards 1;
2. on the first trading day of each month: composite ``z(momentum) + z(-vol)``, both z-scores
   taken within industry (:func:`industry_zscore`); long the top ``select_fraction`` and short the
   bottom of each industry, equal weights (:func:`select_long_short`);
3. :func:`neutralise`: least-squares projection of each industry's weights onto ``Σ w = 0``
   and ``Σ β w = 0`` (so the book is industry- and beta-neutral), then industry grosses capped
   at ``max_industry_share`` of the total (:func:`cap_shares`);
4. held until the next rebalance (0 once a stock has no price) and scaled at each rebalance to
   ``vol_target_annual`` with the EWMA ex-ante covariance of :mod:`strategies.sizing`.

Output: dates × equity ids, notional exposure as a fraction of capital (gross a few × 1, net
near 0), finite, 0 for stocks not held or without a price yet.
References: Jegadeesh & Titman (1993), JF 48(1); Frazzini & Pedersen (2014), "Betting against
beta", JFE 111(1); Blume (1975), "Betas and their regression tendencies", JF 30(3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.linalg import _umath_linalg

from backtest.market.instruments import InstrumentKind
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from strategies.base import StrategyInputError, register
from strategies.quant.cross_section import group_columns, industry_zscore
from strategies.rolling import rolling_beta as rolling_ols_beta
from strategies.rolling import rolling_std
from strategies.signals import momentum, month_start_mask
from strategies.sizing import TRADING_DAYS_PER_YEAR, ewma_portfolio_vol

#: Numerical tolerance on the industry-share cap.
_SHARE_TOL = 1e-12

#: numpy's LAPACK least-squares gufunc (``dgelsd``), the routine ``numpy.linalg.lstsq`` calls
#: on one problem, here given a stack of problems of one shape (numpy >= 2; None before, where
#: :func:`neutralise_rows` calls ``numpy.linalg.lstsq`` problem by problem).
_LSTSQ = getattr(_umath_linalg, "lstsq", None)


# --------------------------------------------------------------------------- signals
def realised_vol(
    returns: pd.DataFrame, window_days: int = 126, min_days: int = 100
) -> pd.DataFrame:
    """Annualised rolling standard deviation of daily returns (decimal), NaN before ``min_days``:
    ``returns.rolling(window_days, min_periods=min_days).std() × √252``, every column in one
    pass (:func:`strategies.rolling.rolling_std`, pandas' bits)."""
    std = rolling_std(returns.to_numpy(dtype=np.float64), window_days, min_days)
    return pd.DataFrame(std, index=returns.index, columns=returns.columns) * np.sqrt(
        TRADING_DAYS_PER_YEAR
    )


def rolling_beta(
    returns: pd.DataFrame,
    market_returns: pd.Series,
    window_days: int = 252,
    min_days: int = 126,
    shrink: float = 0.33,
) -> pd.DataFrame:
    """Rolling OLS beta of each stock on the market, shrunk towards 1: ``(1-s) β + s``.

    ``β = cov(r_i, r_m) / var(r_m)`` over the last ``window_days`` rows where both are known
    (at least ``min_days``). Blume's (1975) shrinkage ``s`` corrects the regression of extreme
    estimated betas towards 1. Shapes (n_dates, n_stocks); NaN where undefined.
    """
    beta = rolling_ols_beta(  # DataFrame.rolling(...).mean()'s means, to the bit, in one pass
        returns.to_numpy(np.float64), market_returns.to_numpy(np.float64), window_days, min_days
    )
    return pd.DataFrame(
        (1.0 - shrink) * beta + shrink, index=returns.index, columns=returns.columns
    )


# --------------------------------------------------------------------------- portfolio
def select_long_short(
    score: np.ndarray,
    industries: np.ndarray,
    fraction: float,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Equal-weight long the top and short the bottom ``fraction`` of each industry.

    In an industry with ``n`` scored names, ``k = max(1, floor(fraction n))`` names each side get
    ``+1/k`` and ``-1/k`` (so every industry starts net zero with gross 2); industries with fewer
    than 2 scored names and NaN scores get 0. Ties are broken by position (stable sort).
    ``groups``: :func:`~strategies.quant.cross_section.group_columns` of ``industries`` when the
    caller has it already (the same industries on every rebalance).

    Every industry at once: one stable sort by (industry, score) and each name's rank within
    its industry; the same weights as :func:`select_long_short_py`, one industry at a time.
    """
    score = np.asarray(score, dtype=np.float64)
    columns, starts = group_columns(industries) if groups is None else groups
    codes = np.full(len(score), -1, dtype=np.int64)  # industry of each name, -1: none
    codes[columns] = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    idx = np.flatnonzero(np.isfinite(score) & (codes >= 0))
    order = idx[np.lexsort((score[idx], codes[idx]))]  # stable: ties keep their position
    code = codes[order]
    counts = np.bincount(code, minlength=len(starts) - 1)
    first = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - first[code]
    n = counts[code]
    k = np.maximum(1, np.minimum(np.floor(fraction * n).astype(np.int64), n // 2))
    inv = 1.0 / k
    w = np.zeros(len(score))
    long, short = (n >= 2) & (rank >= n - k), (n >= 2) & (rank < k)
    w[order[long]] = inv[long]
    w[order[short]] = -inv[short]
    return w


def select_long_short_rows(
    scores: np.ndarray,
    industries: np.ndarray,
    fraction: float,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """:func:`select_long_short` of each row of ``scores`` (n_rows, n_names), in one stable
    sort by (row, industry, score); returns (n_rows, n_names), each row the bits of
    :func:`select_long_short` of that row (ties broken by position, as there)."""
    score = np.asarray(scores, dtype=np.float64)
    columns, starts = group_columns(industries) if groups is None else groups
    n_rows, n_groups = score.shape[0], len(starts) - 1
    codes = np.full(score.shape[1], -1, dtype=np.int64)  # industry of each name, -1: none
    codes[columns] = np.repeat(np.arange(n_groups), np.diff(starts))
    rows, cols = np.nonzero(np.isfinite(score) & (codes >= 0))  # by row, then column
    order = np.lexsort((score[rows, cols], codes[cols], rows))  # stable: ties keep position
    rows, cols = rows[order], cols[order]
    key = rows * n_groups + codes[cols]  # (row, industry), ascending
    counts = np.bincount(key, minlength=n_rows * n_groups)
    first = np.cumsum(counts) - counts
    rank = np.arange(len(key)) - first[key]
    n = counts[key]
    k = np.maximum(1, np.minimum(np.floor(fraction * n).astype(np.int64), n // 2))
    inv = 1.0 / k
    w = np.zeros(score.shape)
    long, short = (n >= 2) & (rank >= n - k), (n >= 2) & (rank < k)
    w[rows[long], cols[long]] = inv[long]
    w[rows[short], cols[short]] = -inv[short]
    return w


def select_long_short_py(score: np.ndarray, industries: np.ndarray, fraction: float) -> np.ndarray:
    """Plain twin of :func:`select_long_short`, one industry at a time, for the tests."""
    w = np.zeros(len(score))
    for ind in np.unique(industries):
        idx = np.flatnonzero((industries == ind) & np.isfinite(score))
        if len(idx) < 2:
            continue
        k = max(1, min(int(np.floor(fraction * len(idx))), len(idx) // 2))
        order = idx[np.argsort(score[idx], kind="stable")]
        w[order[-k:]] += 1.0 / k
        w[order[:k]] -= 1.0 / k
    return w


def cap_shares(gross: np.ndarray, max_share: float) -> np.ndarray:
    """Shares of a total, proportional to ``gross`` but none above ``max_share`` (water-filling).

    ``share_j = min(max_share, λ gross_j)`` with ``λ`` such that the shares sum to 1: capped
    entries get exactly ``max_share`` and the rest keep their proportions. All zeros when
    infeasible (fewer than ``1 / max_share`` positive entries).
    """
    g = np.asarray(gross, dtype=np.float64)
    if (g > 0).sum() * max_share < 1.0 - 1e-12:
        return np.zeros_like(g)
    capped = np.zeros(len(g), dtype=bool)
    while True:
        free = 1.0 - capped.sum() * max_share
        rest = np.where(capped, 0.0, g)
        share = np.where(capped, max_share, free * rest / rest.sum())
        over = share > max_share + _SHARE_TOL
        if not over.any():
            return share
        capped |= over


def neutralise(
    weights: np.ndarray,
    betas: np.ndarray,
    industries: np.ndarray,
    max_industry_share: float = 0.25,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Nearest (least-squares) weights on the same names that are beta- and industry-neutral.

    Industry by industry, on the support ``S_j`` of ``weights`` in industry ``j`` (its names with
    a non-zero weight), the weights are projected onto ``{w : Σ w = 0, Σ β w = 0}``:
    ``w_j = w0_j - B_j x`` with ``B_j = [1, β_j]`` and ``x = argmin ||B_j x - w0_j||``
    (``numpy.linalg.lstsq``), the orthogonal projection. Each industry's book is then net zero and
    beta-neutral on its own, so the total is too (``Σ β w = 0``, ``Σ_industry w = 0`` to
    rounding), and industries can be rescaled without breaking either: their gross exposures are
    capped at ``max_industry_share`` of the total by :func:`cap_shares`. (A single projection
    on ``[β, industry dummies]`` moves the weights slightly less, but then capping an industry
    breaks beta neutrality.) The result has gross 1; all zeros when infeasible (fewer than
    ``1 / max_industry_share`` industries with a book).

    Parameters
    ----------
    weights, betas : ndarray of shape (n_names,)
    industries : ndarray of shape (n_names,), any labels.
    max_industry_share : cap on an industry's share of the book's gross exposure.
    groups : :func:`~strategies.quant.cross_section.group_columns` of ``industries``, when the
        caller has it already.

    Returns
    -------
    ndarray of shape (n_names,), gross 1 (or all 0). Reference: Grinold & Kahn, *Active
    Portfolio Management* (2000), ch. 14 (neutralisation by regression).
    """
    w0 = np.asarray(weights, dtype=np.float64)
    beta = np.asarray(betas, dtype=np.float64)
    columns, starts = group_columns(industries) if groups is None else groups
    out = np.zeros(len(w0))
    usable = (w0 != 0) & np.isfinite(w0) & np.isfinite(beta)
    books, gross = [], []
    for g in range(len(starts) - 1):  # industries in sorted order, names in column order
        cols = columns[starts[g] : starts[g + 1]]
        idx = cols[usable[cols]]
        if len(idx) == 0:
            continue
        basis = np.ones((len(idx), 2))
        basis[:, 1] = beta[idx]
        w = w0[idx] - basis @ np.linalg.lstsq(basis, w0[idx], rcond=None)[0]
        g = np.abs(w).sum()
        if g > 1e-9 * np.abs(w0[idx]).sum():
            books.append((idx, w))
            gross.append(g)
    if not books:
        return out
    share = cap_shares(np.array(gross), max_industry_share)
    for (idx, w), g, s in zip(books, gross, share, strict=True):
        out[idx] = w * (s / g)
    return out


def _projections(basis: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """``w0 - basis @ lstsq(basis, w0)`` of each of a stack of problems of one size: ``basis``
    (k, m, 2), ``w0`` (k, m); returns (k, m).

    Each problem goes through the LAPACK call ``numpy.linalg.lstsq(basis[i], w0[i],
    rcond=None)`` makes (``dgelsd``, the same workspace for the same shape, the same ``rcond``)
    and the same ``matmul`` of an (m, 2) matrix and a 2-vector, so each row has the bits of
    :func:`neutralise`'s per-industry arithmetic (``tests/strategies/test_market_neutral.py``).
    """
    k, m = w0.shape
    if _LSTSQ is None:
        x = np.stack([np.linalg.lstsq(basis[i], w0[i], rcond=None)[0] for i in range(k)])
    else:
        rcond = np.finfo(np.float64).eps * max(m, 2)  # lstsq's default, rcond=None
        with np.errstate(call=_no_convergence, invalid="call", over="ignore", divide="ignore",
                         under="ignore"):  # fmt: skip
            x = _LSTSQ(basis, w0[:, :, None], rcond, signature="ddd->ddid")[0]
        x = np.ascontiguousarray(x[:, :, 0])  # lstsq's own copy of each solution
    return w0 - np.matmul(basis, x[:, :, None])[:, :, 0]


def _no_convergence(err, flag):
    """The error ``numpy.linalg.lstsq`` raises when LAPACK's SVD fails."""
    raise np.linalg.LinAlgError("SVD did not converge in Linear Least Squares")


def neutralise_rows(
    weights: np.ndarray,
    betas: np.ndarray,
    industries: np.ndarray,
    max_industry_share: float = 0.25,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """:func:`neutralise` of each row: ``weights`` and ``betas`` of shape (n_rows, n_names),
    ``industries`` (n_names,); returns (n_rows, n_names), each row the bits of
    :func:`neutralise` of that row.

    The rows' per-industry least-squares problems (a row's names with a non-zero weight in one
    industry) are gathered and solved together, one stacked LAPACK call per problem size
    (:func:`_projections`), instead of ~12 ``lstsq`` calls per row; the industry shares are
    then capped row by row (:func:`cap_shares`, industries in sorted order, as
    :func:`neutralise`).
    """
    w0 = np.asarray(weights, dtype=np.float64)
    beta = np.asarray(betas, dtype=np.float64)
    columns, starts = group_columns(industries) if groups is None else groups
    n_rows, n_groups = w0.shape[0], len(starts) - 1
    out = np.zeros(w0.shape)
    usable = (w0 != 0) & np.isfinite(w0) & np.isfinite(beta)
    group_of = np.repeat(np.arange(n_groups), np.diff(starts))  # of each position in columns
    rows, at = np.nonzero(usable[:, columns])  # by row, industry, then column order
    if len(rows) == 0:
        return out
    names = columns[at]
    key = rows * n_groups + group_of[at]  # one problem per (row, industry)
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[first, len(key)])
    gross, ref = np.empty(len(first)), np.empty(len(first))
    solved = {}
    for m in np.unique(size):
        which = np.flatnonzero(size == m)
        cells = first[which][:, None] + np.arange(m)  # (k, m) entries of rows / names
        r, c = rows[cells], names[cells]
        basis = np.ones((len(which), m, 2))
        basis[:, :, 1] = beta[r, c]
        b = w0[r, c]
        w = _projections(basis, b)
        gross[which] = np.abs(w).sum(axis=1)
        ref[which] = np.abs(b).sum(axis=1)
        solved[m] = which, r, c, w
    book = gross > 1e-9 * ref  # an industry with a book (as neutralise keeps it)
    factor = np.zeros(len(first))
    problem_row = rows[first]
    bounds = np.searchsorted(problem_row, np.arange(n_rows + 1))
    for t in range(n_rows):  # the row's books, in industry order
        lo, hi = bounds[t], bounds[t + 1]
        kept = lo + np.flatnonzero(book[lo:hi])
        if len(kept):
            factor[kept] = cap_shares(gross[kept], max_industry_share) / gross[kept]
    for which, r, c, w in solved.values():
        keep = book[which]
        out[r[keep], c[keep]] = w[keep] * factor[which][keep][:, None]
    return out


@register("equity_market_neutral")
@dataclass(frozen=True)
class EquityMarketNeutral:
    """Beta- and industry-neutral long/short equity book on momentum and low volatility.

    See the module docstring for the economics and the steps.

    Parameters
    ----------
    lookback_days, skip_days : momentum window (12-1 months: 252, 21).
    vol_window_days : window of the realised volatility (low-vol factor), trading days.
    beta_window_days, beta_shrink : rolling beta window and Blume shrinkage towards 1.
    select_fraction : fraction of each industry held long (top) and short (bottom).
    max_industry_share : cap on an industry's share of the gross exposure.
    vol_target_annual : annualised volatility the book is sized to at each rebalance.
    halflife_days, max_gross : EWMA covariance half-life, cap on gross exposure.

    Inputs: ``prices`` (and ``dividends`` when present) of the ``equity`` instruments, their
    ``industry``; ``index["SPX"]`` for betas when present. Output: dates × equity ids, fraction
    of capital.
    """

    lookback_days: int = 252
    skip_days: int = 21
    vol_window_days: int = 126
    beta_window_days: int = 252
    beta_shrink: float = 0.33
    select_fraction: float = 0.3
    max_industry_share: float = 0.25
    vol_target_annual: float = 0.10
    halflife_days: float = 30.0
    max_gross: float = 5.0

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices"})
    required_kinds: ClassVar[frozenset[str]] = frozenset({InstrumentKind.EQUITY.value})

    def universe(self, market: MarketData) -> list[str]:
        """Equity ids with a price column."""
        ids = [i for i in market.ids([InstrumentKind.EQUITY]) if i in market.prices]
        if not ids:
            raise StrategyInputError(
                f"EquityMarketNeutral finds no priced equities in {market.name!r}"
            )
        return ids

    def scores(
        self, market: MarketData, returns: pd.DataFrame, rows: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Composite ``z(momentum) + z(-vol)``, z-scores within industry (dates × ids).

        ``rows``: positions of the dates to score (int array; every date when None). The
        signals run over every date either way; a z-score reads its own row only, so a row's
        score is the same bits whichever rows are scored with it.
        """
        industries = market.instruments.loc[returns.columns, "industry"]
        mom = momentum(returns, self.lookback_days, self.skip_days)
        vol = realised_vol(returns, self.vol_window_days, min(100, self.vol_window_days))
        if rows is not None:
            mom, vol = mom.iloc[rows], vol.iloc[rows]
        return industry_zscore(mom, industries) + industry_zscore(-vol, industries)

    def market_returns(self, market: MarketData, returns: pd.DataFrame) -> pd.Series:
        """SPX price returns when the index exists, else the equal-weight universe's."""
        if "SPX" in market.index.columns:
            spx = market.index["SPX"]
            return spx / spx.shift(1) - 1.0
        return returns.mean(axis=1)

    def raw_weights(self, market: MarketData, returns: pd.DataFrame) -> pd.DataFrame:
        """Neutralised gross-1 weights set on each month start and held (dates × ids)."""
        ids = list(returns.columns)
        industries = market.instruments.loc[ids, "industry"].to_numpy()
        rebalance = month_start_mask(market.calendar)
        rows = np.flatnonzero(rebalance)
        score = self.scores(market, returns, rows).to_numpy()  # the rebalance rows only
        beta = rolling_beta(
            returns,
            self.market_returns(market, returns),
            self.beta_window_days,
            self.beta_window_days // 2,
            self.beta_shrink,
        ).to_numpy()
        priced = market.prices[ids].notna().to_numpy()
        groups = group_columns(industries)  # the same industries on every rebalance
        ok = priced[rows] & np.isfinite(beta[rows])  # each rebalance's candidates
        w0 = select_long_short_rows(
            np.where(ok, score, np.nan), industries, self.select_fraction, groups
        )
        books = np.zeros((len(rows) + 1, len(ids)))  # row 0: nothing held yet
        books[1:] = neutralise_rows(w0, beta[rows], industries, self.max_industry_share, groups)
        # each day holds the book of the last rebalance at or before it, 0 where not priced
        held = np.where(priced, books[np.cumsum(rebalance)], 0.0)
        return pd.DataFrame(held, index=market.calendar, columns=ids)

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per stock (dates × equity ids), fraction of capital, vol-targeted monthly."""
        ids = self.universe(market)
        returns = instrument_returns(market, ids)
        raw = self.raw_weights(market, returns)
        rebalance = month_start_mask(market.calendar)  # the only rows whose vol is read
        vol = ewma_portfolio_vol(raw, returns, self.halflife_days, rows=rebalance).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(vol > 1e-12, self.vol_target_annual / vol, 0.0)
        scale = pd.Series(np.where(rebalance, np.nan_to_num(scale), np.nan)).ffill().fillna(0.0)
        sized = raw.mul(scale.to_numpy(), axis=0)
        gross = sized.abs().sum(axis=1)
        cap = (self.max_gross / gross).where(gross > self.max_gross, 1.0)
        return sized.mul(cap, axis=0).fillna(0.0)
