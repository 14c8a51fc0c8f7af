"""Semi-transparent disclosure: the substitute basket published instead of the holdings.

The 2020 exemptive order for actively managed ETFs without daily portfolio transparency relies
on a proxy-portfolio model: before each open the fund publishes a *substitute basket* covering
between 70% and 95% of its actual holdings by weight, with that percentage weight overlap,
whose weights may differ from the fund's so that the strategy cannot be reverse-engineered, while
its value tracks the fund closely enough for market makers to hedge and arbitrage.

Definitions (weights are notional exposures as fractions of net assets, the units of the
Disclosed Portfolio's ``notional_usd / net assets``; cash is not a weight):

- **overlap** of a basket ``b`` with the actual weights ``w`` (vectors over instruments)::

      overlap(b, w) = Σ_i clip(b_i · sign(w_i), 0, |w_i|) / Σ_i |w_i|

  i.e. ``Σ_i min(|b_i|, |w_i|) / Σ_i |w_i|`` over the instruments where ``b_i`` and ``w_i`` have
  the same sign (a basket short what the fund is long overlaps nothing there). It is 1 for
  ``b = w``, 0 for an empty basket, continuous in ``b``; NaN when ``w`` holds nothing.
- **ex-ante tracking error**: ``sqrt((b − w)ᵀ Σ (b − w) · 252)`` (annual decimal), ``Σ`` the
  daily covariance of the instruments' returns per unit of notional.
- **realised tracking difference** of day ``t+1``: ``Σ_i (b_{t,i} − w_{t,i}) r_{t+1,i}``, the
  basket published after ``t``'s close against the holdings it stands for (fraction of net
  assets; the cash line, the same in both, cancels). Its annualised standard deviation is the
  realised tracking error.

Construction of one day's basket (:func:`build_basket`; a heuristic: the overlap constraint is
not convex, so this is a short search, not a global optimum):

1. draw, from ``np.random.default_rng((seed, day ordinal))``, a target overlap
   ``o* ∈ [overlap_max − overlap_jitter, overlap_max]`` (clipped to the band) and a random
   score per holding;
2. the subset ``S``: eligible holdings ranked by ``|w_i| × exp(score_i)``, taken in that order
   while their cumulative share of ``Σ|w|`` is below ``o*`` (the rest are left out: the basket
   never names them);
3. the minimum-tracking-error weights on ``S``: ``b_S = w_S + Σ_SS⁻¹ Σ_SX w_X`` (the left-out
   weights ``w_X`` replaced by their regression hedge on ``S``), covariance from the
   ``cov_lookback_days`` rows up to ``t`` only, shrunk toward its diagonal by ``shrinkage``;
4. perturbation: each ``b_i`` multiplied by ``1 + weight_noise · z_i``, ``z_i ~ N(0, 1)``;
5. the overlap brought to ``o*`` by a bisection on one segment: when it is below, toward ``b``
   with the lines of ``S`` below their actual weight (or of the other sign) lifted to it
   (overlap ``Σ_S|w| / Σ|w| ≥ o*``; the lines above keep their hedge and noise); when it is
   above, toward ``b`` with its same-sign lines scaled to zero (overlap 0). The result is
   inside the band by construction.

Everything is deterministic given the seed, the day and the data up to the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from backtest.engine import kernel as K
from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.market.instruments import InstrumentKind

#: Iterations of the overlap bisection (the segment is halved each time: 2**-60 of it remains).
_BISECTION_STEPS = 60
#: Floor of a variance on the covariance diagonal (an instrument without history).
_VARIANCE_FLOOR = 1e-12


class DisclosurePolicy(StrEnum):
    """What the fund publishes before each open."""

    TRANSPARENT = "transparent"  # the Disclosed Portfolio: every holding
    SUBSTITUTE_BASKET = "substitute_basket"  # a proxy basket with its overlap figure


@dataclass(frozen=True)
class SubstituteBasketSpec:
    """Parameters of the substitute basket (module docstring).

    ``overlap_min``/``overlap_max``: the band of the published overlap (fractions);
    ``overlap_jitter``: the target overlap is drawn in ``[overlap_max − jitter, overlap_max]``;
    ``weight_noise``: standard deviation of the multiplicative noise on basket weights;
    ``eligible_kinds``: the instrument kinds that may appear in the basket; ``seed``;
    ``cov_lookback_days``: rows of returns in the covariance; ``shrinkage``: weight of the
    diagonal in the shrunk covariance; ``guardrail_te_annual``: the realised tracking error
    (annual decimal) above which the guardrail is hit, measured over the trailing
    ``guardrail_window_days``.
    """

    overlap_min: float = 0.70
    overlap_max: float = 0.95
    overlap_jitter: float = 0.05
    weight_noise: float = 0.10
    eligible_kinds: tuple[InstrumentKind, ...] = tuple(InstrumentKind)
    seed: int = 2020
    cov_lookback_days: int = 126
    shrinkage: float = 0.10
    guardrail_te_annual: float = 0.03
    guardrail_window_days: int = 63

    def __post_init__(self) -> None:
        kinds = tuple(InstrumentKind(k) for k in self.eligible_kinds)
        object.__setattr__(self, "eligible_kinds", kinds)
        if not 0.0 < self.overlap_min <= self.overlap_max < 1.0:
            raise ValueError(f"need 0 < overlap_min <= overlap_max < 1, got overlap_min "
                             f"{self.overlap_min}, overlap_max {self.overlap_max}")  # fmt: skip
        if not 0.0 <= self.overlap_jitter <= self.overlap_max - self.overlap_min:
            raise ValueError(f"overlap_jitter must be in [0, overlap_max - overlap_min], got "
                             f"{self.overlap_jitter}")  # fmt: skip
        if not 0.0 <= self.weight_noise <= 1.0:
            raise ValueError(f"weight_noise must be in [0, 1], got {self.weight_noise}")
        if not kinds:
            raise ValueError("eligible_kinds must name at least one instrument kind")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.cov_lookback_days < 2:
            raise ValueError(f"cov_lookback_days must be >= 2, got {self.cov_lookback_days}")
        if not 0.0 <= self.shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be in [0, 1], got {self.shrinkage}")
        if not 0.0 < self.guardrail_te_annual <= 1.0:
            raise ValueError(f"guardrail_te_annual must be in (0, 1], got "
                             f"{self.guardrail_te_annual}")  # fmt: skip
        if self.guardrail_window_days < 2:
            raise ValueError(f"guardrail_window_days must be >= 2, got "
                             f"{self.guardrail_window_days}")  # fmt: skip


# ------------------------------------------------------------------------------ one day
def overlap(b: np.ndarray, w: np.ndarray) -> float:
    """Percentage weight overlap of basket ``b`` with weights ``w`` (module docstring);
    arrays of shape (n,); a fraction in [0, 1], NaN when ``Σ|w| = 0``."""
    total = float(np.sum(np.abs(w)))
    if total == 0.0:
        return math.nan
    return float(np.sum(np.clip(b * np.sign(w), 0.0, np.abs(w)))) / total


def tracking_error(b: np.ndarray, w: np.ndarray, cov_daily: np.ndarray) -> float:
    """Ex-ante tracking error ``sqrt((b − w)ᵀ Σ (b − w) · 252)``, annual decimal; ``cov_daily``
    of shape (n, n) in daily return units."""
    d = b - w
    return math.sqrt(max(float(d @ cov_daily @ d), 0.0) * TRADING_DAYS_PER_YEAR)


def covariance_py(x: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof 1) of the columns of ``x`` (n_rows >= 2, n): plain loops, the
    twin of the compiled :data:`covariance_nb` (BLAS threads thrash on a busy machine for
    these small blocks; the loops do not). Shape (n, n)."""
    rows, n = x.shape
    mean = np.zeros(n)
    for i in range(rows):
        for j in range(n):
            mean[j] += x[i, j]
    for j in range(n):
        mean[j] /= rows
    out = np.zeros((n, n))
    for i in range(rows):
        for j in range(n):
            dj = x[i, j] - mean[j]
            for k in range(j, n):
                out[j, k] += dj * (x[i, k] - mean[k])
    for j in range(n):
        for k in range(j, n):
            out[j, k] /= rows - 1
            out[k, j] = out[j, k]
    return out


covariance_nb = njit(cache=True)(covariance_py)


def shrunk_covariance(returns: np.ndarray, shrinkage: float) -> np.ndarray:
    """Covariance of ``returns`` (n_rows, n) — NaN counted as 0 — shrunk toward its diagonal:
    ``(1 − shrinkage) S + shrinkage diag(S)``, the diagonal floored at 1e-12. Shape (n, n)."""
    x = np.ascontiguousarray(np.nan_to_num(returns, nan=0.0, posinf=0.0, neginf=0.0))
    if len(x) < 2:
        s = np.zeros((x.shape[1], x.shape[1]))
    else:
        s = covariance_nb(x)
    diag = np.maximum(np.diag(s), _VARIANCE_FLOOR)
    out = (1.0 - shrinkage) * s
    out[np.diag_indices_from(out)] = diag
    return out


def _day_rng(seed: int, day: pd.Timestamp) -> np.random.Generator:
    return np.random.default_rng((seed, pd.Timestamp(day).toordinal()))


def _bisect(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, target: float) -> np.ndarray:
    """A point of the segment ``lo → hi`` whose overlap is within 2**-60 of the segment of
    ``target``; ``overlap(lo) >= target >= overlap(hi)`` (overlap is continuous). The returned
    end has overlap on the ``lo`` side (>= target)."""
    sign, absw = np.sign(w), np.abs(w)
    scaled = target * float(absw.sum())
    a, c = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        m = 0.5 * (a + c)
        if np.minimum(np.maximum((lo + m * (hi - lo)) * sign, 0.0), absw).sum() >= scaled:
            a = m
        else:
            c = m
    return lo + a * (hi - lo)


def _solve(a: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``a⁻¹ rhs`` for a covariance ``a``; least squares when it is singular."""
    try:
        return np.linalg.solve(a, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, rhs, rcond=None)[0]


def build_basket(
    w: np.ndarray, cov_daily: np.ndarray, eligible: np.ndarray, spec: SubstituteBasketSpec, day
) -> np.ndarray:
    """One day's substitute basket (module docstring, steps 1–5).

    Parameters
    ----------
    w : ndarray of shape (n,)
        Actual weights (notional, fraction of net assets) at the next open.
    cov_daily : ndarray of shape (n, n)
        Daily covariance of the instruments' returns, from data up to the day only.
    eligible : ndarray of bool, shape (n,)
        Instruments that may appear in the basket.
    spec : SubstituteBasketSpec
    day : date-like
        The business day the basket is built at (seeds the draws).

    Returns
    -------
    ndarray of shape (n,): the basket weights, zero outside the chosen subset. All zeros when
    ``w`` holds nothing. ValueError when the eligible holdings cover less than ``overlap_min``.
    """
    n = len(w)
    b = np.zeros(n)
    absw = np.abs(w)
    total = float(absw.sum())
    if total == 0.0:
        return b
    rng = _day_rng(spec.seed, day)
    target = spec.overlap_max - spec.overlap_jitter * rng.random()
    score = rng.standard_normal(n)
    noise = rng.standard_normal(n)
    share_eligible = float(absw[eligible].sum()) / total
    if share_eligible < spec.overlap_min:
        raise ValueError(f"{pd.Timestamp(day):%Y-%m-%d}: the eligible instruments hold "
                         f"{share_eligible:.1%} of the weight, below overlap_min "
                         f"{spec.overlap_min:.0%}: widen eligible_kinds")  # fmt: skip
    target = max(min(target, share_eligible), spec.overlap_min)
    candidates = np.flatnonzero(eligible & (absw > 0.0))
    order = candidates[np.argsort(-(absw[candidates] * np.exp(score[candidates])), kind="stable")]
    cum = np.cumsum(absw[order]) / total
    target = min(target, float(cum[-1]))
    k = int(np.searchsorted(cum, target, side="left")) + 1  # first k reach the target
    s = np.sort(order[: min(k, len(order))])
    x = np.setdiff1d(np.flatnonzero(absw > 0.0), s)
    b[s] = w[s]
    if len(x):
        b[s] += _solve(cov_daily[np.ix_(s, s)], cov_daily[np.ix_(s, x)] @ w[x])
    b[s] *= 1.0 + spec.weight_noise * noise[s]
    o = overlap(b, w)
    if o < target:  # lift the lines of S below their actual weight: overlap then >= target
        in_s = np.isin(np.arange(n), s)
        lifted = np.where(in_s & (b * np.sign(w) < absw), w, b)
        return _bisect(lifted, b, w, target)
    same = np.where(b * np.sign(w) > 0.0, b, 0.0)
    return _bisect(b, b - same, w, target)


# ------------------------------------------------------------------------------ a run
def held_after_booking(result, t: int, qty_t=None, trade_qty_t=None) -> np.ndarray:
    """Quantities held once row ``t``'s executions and in-kind basket are booked (at ``t+1``):
    the holdings the Disclosed Portfolio for the next business day lists. Shape (n_instruments,).
    ``qty_t`` / ``trade_qty_t``: rows ``t`` of ``result.outputs.qty`` / ``trade_qty`` when the
    caller has them (:meth:`~backtest.engine.dense.DenseOutputs.at_rows`), else read there.
    """
    a, out = result.inputs.arrays, result.outputs
    held = out.qty[t] if qty_t is None else qty_t
    q = held + (out.trade_qty[t] if trade_qty_t is None else trade_qty_t)
    units = a["flow_units"][t]
    if units != 0 and a["flow_in_kind"][t]:
        shares = out.fund[t, K.C_SHARES]
        n_sh = units * a["params"].creation_unit_shares
        basket = (a["kind"] == K.K_SECURITY) & (a["book"] == 0) & (held != 0.0)
        q = q + np.where(basket, np.round(held * n_sh / shares), 0.0)
    return q


def opening_weights(result, rows=None) -> pd.DataFrame:
    """Actual weights at each next open (dates × instruments): notional of
    :func:`held_after_booking` at row ``t``'s prices (``q × multiplier × underlying × fx``)
    over ``t``'s net assets — the Disclosed Portfolio's ``notional_usd / net assets``.
    ``rows``: the row numbers wanted (all when None)."""
    a, out = result.inputs.arrays, result.outputs
    rows = range(len(result.inputs.dates)) if rows is None else list(rows)
    values = np.zeros((len(rows), len(result.inputs.ids)))
    for i, t in enumerate(rows):
        q = held_after_booking(result, t)
        na = out.fund[t, K.C_NET_ASSETS]
        with np.errstate(invalid="ignore"):
            notional = q * a["mult"] * a["under"][t] * a["fx"][t]
        if na:
            values[i] = np.where(q != 0.0, notional, 0.0) / na
    return pd.DataFrame(values, index=result.inputs.dates[list(rows)], columns=result.inputs.ids)


class BasketSeries(NamedTuple):
    """Baskets of a run, one per business day ``t`` (published for the next one).

    ``weights`` and ``actual``: DataFrames of shape (n_days, n_instruments), notional fractions of
    net assets; ``summary``: DataFrame indexed by date with ``overlap`` (fraction),
    ``ex_ante_te`` (annual decimal), ``n_basket`` and ``n_holdings`` (counts).
    """

    weights: pd.DataFrame
    actual: pd.DataFrame
    summary: pd.DataFrame


def substitute_baskets(
    actual: pd.DataFrame, returns: pd.DataFrame, kinds: pd.Series, spec: SubstituteBasketSpec
) -> BasketSeries:
    """Each day's basket from the actual weights and returns known at that day's close.

    Parameters
    ----------
    actual : DataFrame of shape (n_days, n_instruments)
        :func:`opening_weights` (row ``t``: weights at the open after ``t``).
    returns : DataFrame of shape (n_history, n_instruments)
        Daily returns per unit of notional, dates × the same instruments; may start before
        ``actual`` (the look-back). Row ``t`` of ``actual`` reads returns up to its date only.
    kinds : Series of :class:`InstrumentKind` values by instrument.
    spec : SubstituteBasketSpec
    """
    ids = list(actual.columns)
    r = returns.reindex(columns=ids).to_numpy(dtype="float64")
    pos = returns.index.searchsorted(actual.index, side="right")  # rows <= t
    eligible_all = kinds.reindex(ids).isin([k.value for k in spec.eligible_kinds]).to_numpy()
    w_all = actual.to_numpy(dtype="float64")
    out = np.zeros_like(w_all)
    ov, te, nb, nh = (np.full(len(actual), np.nan) for _ in range(4))
    for t, day in enumerate(actual.index):
        held = np.flatnonzero(w_all[t] != 0.0)
        nh[t] = len(held)
        if not len(held):
            nb[t] = 0
            continue
        window = r[max(pos[t] - spec.cov_lookback_days, 0) : pos[t]][:, held]
        cov = shrunk_covariance(window, spec.shrinkage)
        w = w_all[t, held]
        b = build_basket(w, cov, eligible_all[held], spec, day)
        out[t, held] = b
        ov[t] = overlap(b, w)
        te[t] = tracking_error(b, w, cov)
        nb[t] = int(np.count_nonzero(b))
    summary = pd.DataFrame(
        {"overlap": ov, "ex_ante_te": te, "n_basket": nb, "n_holdings": nh}, index=actual.index
    )
    weights = pd.DataFrame(out, index=actual.index, columns=ids)
    return BasketSeries(weights, actual, summary)


# ------------------------------------------------------------------------------ measures
def tracking_difference(
    basket: pd.DataFrame, actual: pd.DataFrame, returns: pd.DataFrame
) -> pd.Series:
    """Realised daily tracking difference (module docstring): row ``t+1`` is
    ``Σ_i (basket_{t,i} − actual_{t,i}) r_{t+1,i}`` (fraction of net assets); the first day is
    NaN. NaN returns count as 0. Shape (n_days,)."""
    d = (basket - actual).shift(1)
    r = returns.reindex(index=actual.index, columns=actual.columns).fillna(0.0)
    out = (d * r).sum(axis=1, min_count=1)
    out.iloc[0] = np.nan
    return out.rename("tracking_difference")


def rolling_tracking_error(td: pd.Series, window_days: int) -> pd.Series:
    """Annualised standard deviation (ddof 1) of ``td`` over the trailing ``window_days``
    rows (NaN until a full window)."""
    te = td.rolling(window_days, min_periods=window_days).std() * math.sqrt(TRADING_DAYS_PER_YEAR)
    return te.rename("rolling_te")


def guardrail_hits(td: pd.Series, spec: SubstituteBasketSpec) -> pd.Series:
    """1.0 on days the trailing realised tracking error (:func:`rolling_tracking_error` over
    ``guardrail_window_days``) exceeds ``guardrail_te_annual``, else 0.0; NaN until a full
    window (not counted by :func:`guardrail_hit_rate`)."""
    te = rolling_tracking_error(td, spec.guardrail_window_days)
    hit = (te > spec.guardrail_te_annual).astype("float64")
    return hit.where(te.notna()).rename("guardrail_hit")


def guardrail_hit_rate(hits: pd.Series) -> float:
    """Fraction of the days with a full window on which the guardrail was hit."""
    valid = hits.dropna()
    return float(valid.mean()) if len(valid) else math.nan


def reverse_engineering_r2(published: pd.DataFrame, actual: pd.DataFrame) -> float:
    """How well an outsider recovers the actual weights from the published ones.

    Pooled OLS over every (day, instrument) with a published or actual weight:
    ``actual = α + β · published + ε``; returns its R² (the squared correlation). 1 for the
    transparent Disclosed Portfolio (published = actual); NaN with fewer than 3 points or no
    variance.
    """
    p = published.to_numpy(dtype="float64").ravel()
    a = actual.reindex_like(published).to_numpy(dtype="float64").ravel()
    keep = ((p != 0.0) | (a != 0.0)) & np.isfinite(p) & np.isfinite(a)
    p, a = p[keep], a[keep]
    if len(p) < 3 or np.std(p) == 0.0 or np.std(a) == 0.0:
        return math.nan
    return float(np.corrcoef(p, a)[0, 1] ** 2)


def weight_error(published: pd.DataFrame, actual: pd.DataFrame) -> float:
    """Mean over days of ``Σ_i |published_i − actual_i| / Σ_i |actual_i|`` (0 when exact);
    days holding nothing are skipped."""
    a = actual.reindex_like(published).to_numpy(dtype="float64")
    p = published.to_numpy(dtype="float64")
    den = np.abs(a).sum(axis=1)
    ok = den > 0
    return float(np.mean(np.abs(p - a).sum(axis=1)[ok] / den[ok])) if ok.any() else math.nan


def widened_premium_noise_bps(noise_bps: float, te_daily: float) -> float:
    """The daily premium shock when market makers hedge with the basket instead of the
    holdings: their hedge error (the basket's daily tracking error ``te_daily``, decimal) adds
    to the premium's own noise, independent of it: ``sqrt(noise² + (1e4 · te_daily)²)`` bp."""
    return math.hypot(noise_bps, 1e4 * te_daily)
