"""How much of a sweep's best result is selection: the deflated Sharpe ratio and the probability
of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Sharpe ratios here are **per period** (daily, not annualised: mean / std of daily returns), as
in the papers; ``n_obs`` is the number of daily returns.

References
----------
- Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", *Journal of Portfolio Management*
  40(5), 94–107 (equations for PSR, the expected maximum Sharpe ratio and DSR).
- Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J. (2015), "The Probability of
  Backtest Overfitting", *Journal of Computational Finance* 20(4), 39–69 (CSCV, the logit
  ``λ`` and PBO).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Euler–Mascheroni constant (the expected maximum of Gaussians, Bailey & López de Prado 2014).
EULER_GAMMA = 0.5772156649015329


def sharpe_per_period(returns: np.ndarray) -> np.ndarray | float:
    """Mean / standard deviation (ddof=1) along axis 0; NaN where the std is 0."""
    r = np.asarray(returns, dtype="float64")
    sd = r.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, r.mean(axis=0) / sd, np.nan)
    return float(out) if out.ndim == 0 else out


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark_sharpe: float, n_obs: int, skewness: float, kurtosis: float
) -> float:
    """P[true Sharpe > ``benchmark_sharpe``] given an observed per-period ``sharpe``.

    ``Φ((SR − SR*) √(n − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 SR²))`` with ``γ₃`` the skewness and
    ``γ₄`` the (non-excess) kurtosis of the returns (a normal has ``γ₄ = 3``).
    """
    denom = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or not denom > 0:
        return float("nan")
    z = (sharpe - benchmark_sharpe) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


def expected_maximum_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` unskilled trials whose Sharpe ratios
    have variance ``sharpe_variance``:
    ``√V × ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))``; 0 for one trial."""
    if n_trials < 2:
        return 0.0
    g = EULER_GAMMA
    q = (1 - g) * stats.norm.ppf(1 - 1 / n_trials) + g * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    return float(math.sqrt(sharpe_variance) * q)


@dataclass(frozen=True)
class DeflatedSharpe:
    """``dsr``: probability the chosen strategy's true Sharpe exceeds ``sharpe_max_expected``,
    the Sharpe the best of ``n_trials`` unskilled trials would show; per-period Sharpe ratios."""

    dsr: float
    sharpe: float
    sharpe_max_expected: float
    n_trials: int
    n_obs: int


def deflated_sharpe_ratio(returns: pd.Series | np.ndarray, trial_sharpes) -> DeflatedSharpe:
    """The deflated Sharpe ratio of ``returns`` (the chosen strategy's daily returns, shape
    (n_obs,)) among trials with per-period Sharpe ratios ``trial_sharpes`` (shape (n_trials,),
    the chosen one included). Skewness and kurtosis are the sample's population moments."""
    r = np.asarray(returns, dtype="float64")
    r = r[np.isfinite(r)]
    trials = np.asarray(trial_sharpes, dtype="float64")
    trials = trials[np.isfinite(trials)]
    sr = sharpe_per_period(r)
    var = float(trials.var(ddof=1)) if len(trials) > 1 else 0.0
    sr0 = expected_maximum_sharpe(len(trials), var)
    skew = float(stats.skew(r))
    kurt = float(stats.kurtosis(r, fisher=False))
    dsr = probabilistic_sharpe_ratio(sr, sr0, len(r), skew, kurt)
    return DeflatedSharpe(dsr, float(sr), sr0, len(trials), len(r))


@dataclass(frozen=True)
class OverfittingProbability:
    """``pbo``: share of the CSCV splits whose in-sample best is at or below the out-of-sample
    median (``logit ≤ 0``); ``logits`` one per split, shape (C(S, S/2),)."""

    pbo: float
    logits: np.ndarray
    n_splits: int


def probability_of_overfitting(
    returns: pd.DataFrame | np.ndarray, n_splits: int = 8
) -> OverfittingProbability:
    """PBO of choosing the best of N strategies by in-sample Sharpe, by CSCV.

    ``returns`` (shape (T, N), daily returns of each strategy) is cut into ``n_splits`` (even)
    consecutive blocks of ``T // n_splits`` rows (the last ``T mod n_splits`` rows dropped).
    For every choice of half the blocks as in-sample (the rest out-of-sample), the strategy
    with the best in-sample Sharpe is ranked out of sample (ranks 1 = worst .. N, ties
    averaged); ``ω = rank / (N + 1)`` and ``λ = ln(ω / (1 − ω))``. PBO = share of ``λ ≤ 0``.
    """
    m = np.asarray(returns, dtype="float64")
    t, n = m.shape
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2, got {n_splits}")
    if n < 2 or t < 2 * n_splits:
        raise ValueError(f"need >= 2 strategies and >= 2 rows per block, got shape {m.shape}")
    size = t // n_splits
    blocks = [m[k * size : (k + 1) * size] for k in range(n_splits)]
    logits = []
    for train in itertools.combinations(range(n_splits), n_splits // 2):
        test = [k for k in range(n_splits) if k not in train]
        is_sr = sharpe_per_period(np.vstack([blocks[k] for k in train]))
        oos_sr = sharpe_per_period(np.vstack([blocks[k] for k in test]))
        best = int(np.nanargmax(is_sr))
        rank = stats.rankdata(np.nan_to_num(oos_sr, nan=-np.inf))[best]
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    lam = np.asarray(logits)
    return OverfittingProbability(float(np.mean(lam <= 0)), lam, n_splits)
