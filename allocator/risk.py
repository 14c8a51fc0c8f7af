"""Pure risk math for allocation: shrunk covariance, risk contributions, equal risk contribution.

Every function takes and returns plain arrays (daily returns in decimal, covariances in
decimal² per day) and keeps no state; the allocators in :mod:`allocator.rules` call them on
trailing windows of strategy returns.

References
----------
- O. Ledoit, M. Wolf (2004), "Honey, I shrunk the sample covariance matrix", Journal of
  Portfolio Management 30(4): the constant-correlation target and its optimal intensity.
- S. Maillard, T. Roncalli, J. Teïletche (2010), "The properties of equally weighted risk
  contribution portfolios", Journal of Portfolio Management 36(4).
- F. Spinu (2013), "An algorithm for computing risk parity weights", SSRN 2297383: the convex
  log-barrier formulation solved below.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Literal

import numpy as np
import pandas as pd
import scipy

__all__ = [
    "RecentSolves",
    "ShrinkageTarget",
    "erc_solver_version",
    "erc_weights",
    "ledoit_wolf_intensity",
    "risk_contributions",
    "shrink_covariance",
    "shrinkage_target",
    "solved_erc_weights",
]

#: What the sample covariance is shrunk toward.
ShrinkageTarget = Literal["constant_correlation", "diagonal"]

#: Weight of the identity blended into a (near-)singular correlation matrix before solving ERC.
SINGULAR_RIDGE = 1e-8

#: Accuracy of :func:`erc_weights`: max |relative risk contribution − 1/n| it guarantees.
ERC_TOLERANCE = 1e-9

#: The algorithm of :func:`erc_weights`; part of :func:`solved_erc_weights`' keys. Bump it when
#: the solver changes what it returns, so that no stored solve of the old one is taken.
ERC_ALGORITHM = "erc/1 spinu trust-exact + damped newton polish"


def _observations(returns: np.ndarray | pd.DataFrame) -> np.ndarray:
    x = np.asarray(returns, dtype="float64")
    if x.ndim != 2:
        raise ValueError(f"returns must be 2-D (n_observations, n_assets), got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 observations, got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("returns must be finite (drop or fill missing values first)")
    return x


def shrinkage_target(cov: np.ndarray, target: ShrinkageTarget = "constant_correlation"):
    """The structured matrix a covariance is shrunk toward, shape (n_assets, n_assets).

    ``"constant_correlation"``: the sample variances on the diagonal and ``r̄·σ_i·σ_j`` off it,
    ``r̄`` the average sample correlation (Ledoit–Wolf 2004). ``"diagonal"``: the sample
    variances only (zero correlation).
    """
    cov = np.asarray(cov, dtype="float64")
    var = np.diag(cov).copy()
    n = len(var)
    if target == "diagonal" or n == 1:
        return np.diag(var)
    if target != "constant_correlation":
        raise ValueError(f"unknown shrinkage target {target!r}")
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    r_bar = (corr.sum() - np.trace(corr)) / (n * (n - 1))
    prior = r_bar * np.outer(sd, sd)
    np.fill_diagonal(prior, var)
    return prior


def ledoit_wolf_intensity(
    returns: np.ndarray | pd.DataFrame, target: ShrinkageTarget = "constant_correlation"
) -> float:
    """Ledoit–Wolf optimal shrinkage intensity in [0, 1], computed analytically.

    ``δ* = max(0, min(1, κ / T))`` with ``κ = (π − ρ) / γ``: ``π`` the summed asymptotic
    variances of the sample covariance entries, ``ρ`` their asymptotic covariance with the
    target, ``γ`` the squared Frobenius distance between target and sample (Ledoit & Wolf 2004,
    appendix B; moments with divisor ``T`` as in the paper). For the diagonal target the
    target's diagonal equals the sample's, so ``ρ`` is the diagonal part of ``π``.

    Parameters
    ----------
    returns : array of shape (n_observations, n_assets)
        Daily returns without missing values.
    target : {"constant_correlation", "diagonal"}

    Returns
    -------
    float
        The intensity; 0 when the sample already equals the target (e.g. one asset).
    """
    x = _observations(returns)
    t, n = x.shape
    x = x - x.mean(axis=0)
    sample = x.T @ x / t
    prior = shrinkage_target(sample, target)
    gamma = float(((sample - prior) ** 2).sum())
    if n == 1 or gamma <= 0.0:
        return 0.0
    y = x**2
    pi_mat = y.T @ y / t - sample**2
    pi = float(pi_mat.sum())
    if target == "diagonal":
        rho = float(np.trace(pi_mat))
    else:
        var = np.diag(sample)
        sd = np.sqrt(var)
        theta = (x**3).T @ x / t - var[:, None] * sample
        np.fill_diagonal(theta, 0.0)
        corr = sample / np.outer(sd, sd)
        r_bar = (corr.sum() - n) / (n * (n - 1))
        rho = float(np.trace(pi_mat) + r_bar * ((sd[None, :] / sd[:, None]) * theta).sum())
    kappa = (pi - rho) / gamma
    return float(min(1.0, max(0.0, kappa / t)))


def shrink_covariance(
    returns: np.ndarray | pd.DataFrame,
    intensity: float | None = None,
    target: ShrinkageTarget = "constant_correlation",
) -> np.ndarray:
    """Covariance of returns shrunk toward a structured target.

    ``Σ = δ·F + (1 − δ)·S`` with ``S`` the sample covariance (divisor ``T − 1``, as
    ``np.cov``) and ``F`` :func:`shrinkage_target` of ``S``. With ``δ > 0`` and assets of
    positive variance the result is positive definite even when ``T ≤ n``.

    Parameters
    ----------
    returns : array of shape (n_observations, n_assets)
        Daily returns (decimal) without missing values.
    intensity : float in [0, 1], optional
        ``δ``; 0 gives the sample covariance, 1 the target. None: the Ledoit–Wolf optimum
        (:func:`ledoit_wolf_intensity`).
    target : {"constant_correlation", "diagonal"}

    Returns
    -------
    ndarray of shape (n_assets, n_assets)
        Daily covariance, decimal².
    """
    x = _observations(returns)
    if intensity is None:
        intensity = ledoit_wolf_intensity(x, target)
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"shrinkage intensity must be in [0, 1], got {intensity}")
    sample = np.atleast_2d(np.cov(x, rowvar=False))
    if intensity == 0.0:
        return sample
    prior = shrinkage_target(sample, target)
    if intensity == 1.0:
        return prior
    return intensity * prior + (1.0 - intensity) * sample


def risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Each asset's contribution to portfolio volatility, shape (n_assets,).

    ``RC_i = w_i · (Σw)_i / sqrt(wᵀΣw)`` (Euler decomposition: the contributions sum to the
    portfolio volatility, in the units of ``sqrt(cov)``). Divide by their sum for fractions.
    All zeros when the portfolio has no variance.
    """
    w = np.asarray(weights, dtype="float64")
    marginal = np.asarray(cov, dtype="float64") @ w
    variance = float(w @ marginal)
    if variance <= 0.0:
        return np.zeros_like(w)
    return w * marginal / np.sqrt(variance)


def erc_weights(cov: np.ndarray) -> np.ndarray:
    """Long-only equal-risk-contribution weights summing to 1, shape (n_assets,).

    Solves Spinu's convex problem ``min_y ½·yᵀCy − (1/n)·Σ log y_i`` (``y > 0``) with scipy's
    ``trust-exact`` Newton method on the correlation matrix ``C`` (scale-free, well
    conditioned), then polishes with damped Newton steps. At the optimum ``y_i (Cy)_i = 1/n``
    for every ``i``, so ``w = D⁻¹y / Σ D⁻¹y`` (``D`` the volatilities) has equal contributions
    to the volatility of ``cov`` to within :data:`ERC_TOLERANCE` (relative to the total).

    Parameters
    ----------
    cov : array of shape (n_assets, n_assets)
        Symmetric positive semi-definite covariance with positive variances. When it is
        (nearly) singular — some long-only mix has no variance, and then no finite solution
        exists — its correlation matrix is first blended with the identity by
        :data:`SINGULAR_RIDGE`.

    Returns
    -------
    ndarray of shape (n_assets,)
    """
    # at the first solve only: ~0.1 s of import that a nightly run taking every solve from
    # its stored ones (:func:`solved_erc_weights`) does without
    from scipy.optimize import minimize

    cov = _checked_cov(cov)
    n = len(cov)
    if n == 1:
        return np.ones(1)
    corr, sd = _erc_problem(cov)

    def objective(y: np.ndarray) -> tuple[float, np.ndarray]:
        if (y <= 0.0).any():
            return np.inf, np.full(n, np.nan)
        cy = corr @ y
        return 0.5 * float(y @ cy) - float(np.log(y).sum()) / n, cy - 1.0 / (n * y)

    def hessian(y: np.ndarray) -> np.ndarray:
        return corr + np.diag(1.0 / (n * y * y))

    y0 = np.full(n, 1.0 / np.sqrt(max(corr.sum(), 1e-12)))
    result = minimize(
        objective, y0, jac=True, hess=hessian, method="trust-exact", options={"gtol": 1e-12}
    )
    y = _newton_polish(corr, result.x if np.all(result.x > 0) else y0)
    w = y / sd
    return w / w.sum()


def _checked_cov(cov: np.ndarray) -> np.ndarray:
    cov = np.asarray(cov, dtype="float64")
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be square, got shape {cov.shape}")
    var = np.diag(cov)
    if not (np.isfinite(cov).all() and (var > 0.0).all()):
        raise ValueError("cov must be finite with positive variances")
    return cov


def _erc_problem(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(correlation matrix ``C`` the solver works on, volatilities ``D``) of a checked ``cov``
    with two or more assets: ``C`` symmetrised, blended with the identity when (nearly)
    singular."""
    n = len(cov)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    corr = 0.5 * (corr + corr.T)
    if np.linalg.eigvalsh(corr)[0] < SINGULAR_RIDGE:  # e.g. two perfectly hedging assets
        corr = (1.0 - SINGULAR_RIDGE) * corr + SINGULAR_RIDGE * np.eye(n)
    return corr, sd


def erc_solver_version() -> str:
    """:data:`ERC_ALGORITHM` and the versions of the libraries its result depends on (numpy's
    linear algebra, scipy's ``trust-exact``), for :func:`solved_erc_weights`' keys (scipy's
    top-level package only: its optimiser is imported at the first solve)."""
    return f"{ERC_ALGORITHM}; numpy {np.__version__}; scipy {scipy.__version__}"


def solved_erc_weights(
    cov: np.ndarray,
    solves: MutableMapping[str, np.ndarray] | None,
    version: str | None = None,
) -> np.ndarray:
    """:func:`erc_weights` of ``cov``, taken from ``solves`` when it holds this very problem.

    ``solves`` maps a key — the sha256 of ``version`` (:func:`erc_solver_version` when None) and of
    ``cov``'s shape and exact bytes — to the weights :func:`erc_weights` returned for it; a
    solve not in it is computed and added. The same deterministic function of the same bytes,
    so the result is the same bit for bit with or without ``solves`` (None: always computed).
    A stored answer is taken only when it still passes the solver's own test on ``cov`` (shape,
    positive weights summing to 1, equal risk budgets to :data:`ERC_TOLERANCE`); a damaged one
    is solved again and replaced.
    """
    if solves is None:
        return erc_weights(cov)
    cov = _checked_cov(cov)
    digest = hashlib.sha256((erc_solver_version() if version is None else version).encode())
    digest.update(repr(cov.shape).encode())
    digest.update(np.ascontiguousarray(cov).tobytes())
    key = digest.hexdigest()
    stored = solves.get(key)
    if stored is not None and _solves_erc(np.asarray(stored, dtype="float64"), cov):
        return np.array(stored, dtype="float64")
    w = erc_weights(cov)
    solves[key] = w.copy()
    return w


class RecentSolves(MutableMapping[str, np.ndarray]):
    """A memo of solves for :func:`solved_erc_weights` holding at most ``limit`` entries, the
    least recently used dropped first: what the runs made on one market share
    (:func:`backtest.fund.run.run_fund` keeps one with the market), so that the settings of a
    sweep that leave the strategy returns and the look-back alone (a volatility target, a
    limit, an overlay) do not solve the same risk budgets again. Bounded because a sweep over
    the strategies' own parameters meets new problems at every point (~240 a run, ~0.3 KB
    each). Threads may share it: each operation is one of ``OrderedDict``'s, and a key that
    another thread drops between a look-up and its refresh reads as missing (solved again)."""

    def __init__(self, limit: int = 50_000) -> None:
        if limit < 1:
            raise ValueError(f"RecentSolves: limit must be at least 1, got {limit}")
        self.limit = limit
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()

    def __getitem__(self, key: str) -> np.ndarray:
        value = self._entries[key]
        self._entries.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        del self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def _solves_erc(w: np.ndarray, cov: np.ndarray) -> bool:
    """Whether ``w`` is a long-only ERC answer for ``cov``: what :func:`erc_weights` ensures."""
    n = len(cov)
    if w.shape != (n,) or not (np.isfinite(w).all() and (w > 0.0).all()):
        return False
    if abs(w.sum() - 1.0) > 1e-12:
        return False
    if n == 1:
        return True
    corr, sd = _erc_problem(cov)
    y = w * sd
    budgets = y * (corr @ y)
    return bool(np.abs(budgets / budgets.sum() - 1.0 / n).max() < ERC_TOLERANCE)


def _newton_polish(corr: np.ndarray, y: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Damped Newton on ``Cy − 1/(n·y) = 0`` until the risk budgets hold to ERC_TOLERANCE."""
    n = len(y)
    for _ in range(max_iter):
        budgets = y * (corr @ y)
        if np.abs(budgets / budgets.sum() - 1.0 / n).max() < ERC_TOLERANCE:
            break
        grad = corr @ y - 1.0 / (n * y)
        step = np.linalg.solve(corr + np.diag(1.0 / (n * y * y)), -grad)
        shrink = step < 0
        alpha = min(1.0, 0.95 * float(np.min(-y[shrink] / step[shrink]))) if shrink.any() else 1.0
        y = y + alpha * step
    return y
