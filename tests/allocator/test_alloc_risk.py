"""Risk math: shrunk covariance, risk contributions and ERC weights against independent answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import erc_weights, ledoit_wolf_intensity, risk_contributions, shrink_covariance


def random_cov(rng, n, factor=1.0):
    """A random positive-definite covariance with daily-return-like volatilities."""
    a = rng.normal(size=(n + 3, n))
    loading = rng.normal(size=n) * factor
    corr_like = a.T @ a / (n + 3) + np.outer(loading, loading)
    sd = rng.uniform(0.002, 0.03, n)
    d = np.sqrt(np.diag(corr_like))
    return corr_like / np.outer(d, d) * np.outer(sd, sd)


def relative_contributions(w, cov):
    rc = risk_contributions(w, cov)
    return rc / rc.sum()


def erc_by_cyclical_descent(cov, sweeps=2000):
    """Independent ERC: cyclical coordinate descent solving y_i (Σy)_i = 1/n one i at a time.

    Each step solves the scalar quadratic Σ_ii y_i² + b_i y_i − 1/n = 0 for its positive root
    (Griveau-Billion, Richard, Roncalli 2013).
    """
    n = len(cov)
    y = np.ones(n) / np.sqrt(np.diag(cov))
    for _ in range(sweeps):
        for i in range(n):
            b = cov[i] @ y - cov[i, i] * y[i]
            y[i] = (-b + np.sqrt(b * b + 4 * cov[i, i] / n)) / (2 * cov[i, i])
    return y / y.sum()


# --- ERC -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), factor=st.floats(0.0, 3.0))
def test_erc_contributions_equal_on_random_covariances(seed, n, factor):
    cov = random_cov(np.random.default_rng(seed), n, factor)
    w = erc_weights(cov)
    assert w.shape == (n,)
    assert (w > 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(relative_contributions(w, cov), 1.0 / n, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rho", [-0.9, -0.3, 0.0, 0.5, 0.95])
def test_erc_two_assets_is_inverse_volatility(rho):
    sd = np.array([0.01, 0.025])
    cov = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(sd, sd)
    expected = (1 / sd) / (1 / sd).sum()
    np.testing.assert_allclose(erc_weights(cov), expected, atol=1e-9)


def test_erc_uncorrelated_assets_is_inverse_volatility():
    sd = np.array([0.004, 0.01, 0.02, 0.03, 0.05])
    expected = (1 / sd) / (1 / sd).sum()
    np.testing.assert_allclose(erc_weights(np.diag(sd**2)), expected, atol=1e-9)


def test_erc_three_assets_matches_coordinate_descent():
    sd = np.array([0.01, 0.015, 0.03])
    corr = np.array([[1.0, 0.6, -0.2], [0.6, 1.0, 0.3], [-0.2, 0.3, 1.0]])
    cov = corr * np.outer(sd, sd)
    w = erc_weights(cov)
    np.testing.assert_allclose(w, erc_by_cyclical_descent(cov), atol=1e-8)
    # not simply inverse volatility: the correlations move the answer
    assert np.abs(w - (1 / sd) / (1 / sd).sum()).max() > 0.01


def test_erc_rejects_zero_variance():
    with pytest.raises(ValueError, match="positive variances"):
        erc_weights(np.diag([1e-4, 0.0]))


def test_risk_contributions_sum_to_portfolio_volatility():
    cov = random_cov(np.random.default_rng(3), 4)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    rc = risk_contributions(w, cov)
    assert rc.sum() == pytest.approx(np.sqrt(w @ cov @ w), rel=1e-12)
    # a zero weight contributes nothing
    assert risk_contributions(np.array([0.0, 0.5, 0.5, 0.0]), cov)[[0, 3]].tolist() == [0, 0]


# --- shrinkage -------------------------------------------------------------------------------


def sample_returns(seed=0, t=120, n=4):
    rng = np.random.default_rng(seed)
    cov = random_cov(rng, n, factor=1.0)
    return rng.multivariate_normal(np.zeros(n), cov, size=t)


def constant_correlation_target(x):
    s = np.cov(x, rowvar=False)
    sd = np.sqrt(np.diag(s))
    corr = np.corrcoef(x, rowvar=False)
    n = len(sd)
    r_bar = corr[~np.eye(n, dtype=bool)].mean()
    f = r_bar * np.outer(sd, sd)
    np.fill_diagonal(f, np.diag(s))
    return f


def test_shrinkage_zero_is_sample_covariance():
    x = sample_returns()
    np.testing.assert_allclose(shrink_covariance(x, 0.0), np.cov(x, rowvar=False), rtol=1e-14)
    np.testing.assert_allclose(
        shrink_covariance(x, 0.0, target="diagonal"), np.cov(x, rowvar=False), rtol=1e-14
    )


def test_shrinkage_one_is_target():
    x = sample_returns()
    np.testing.assert_allclose(
        shrink_covariance(x, 1.0), constant_correlation_target(x), rtol=1e-12
    )
    np.testing.assert_allclose(
        shrink_covariance(x, 1.0, target="diagonal"), np.diag(np.var(x, axis=0, ddof=1)), rtol=1e-12
    )


def test_shrinkage_in_between_is_the_convex_combination():
    x = sample_returns(seed=1)
    s, f = np.cov(x, rowvar=False), constant_correlation_target(x)
    np.testing.assert_allclose(shrink_covariance(x, 0.3), 0.3 * f + 0.7 * s, rtol=1e-12)


@pytest.mark.parametrize("intensity", [None, 0.05, 0.5])
@pytest.mark.parametrize("target", ["constant_correlation", "diagonal"])
def test_shrunk_covariance_positive_definite_with_fewer_days_than_assets(intensity, target):
    x = sample_returns(seed=2, t=6, n=10)  # sample covariance is singular (rank ≤ 5)
    assert np.linalg.eigvalsh(np.cov(x, rowvar=False)).min() < 1e-12
    cov = shrink_covariance(x, intensity, target=target)
    np.testing.assert_allclose(cov, cov.T, rtol=0, atol=1e-18)
    assert np.linalg.eigvalsh(cov).min() > 0


def ledoit_wolf_by_loops(x):
    """The paper's formulas (Ledoit & Wolf 2004, appendix B) written entry by entry."""
    t, n = x.shape
    y = x - x.mean(axis=0)
    s = y.T @ y / t
    sd = np.sqrt(np.diag(s))
    r_bar = sum(s[i, j] / (sd[i] * sd[j]) for i in range(n) for j in range(n) if i != j)
    r_bar /= n * (n - 1)
    f = r_bar * np.outer(sd, sd)
    np.fill_diagonal(f, np.diag(s))
    pi = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            pi[i, j] = np.mean((y[:, i] * y[:, j] - s[i, j]) ** 2)

    def theta(k, i, j):  # asymptotic covariance of s_kk and s_ij
        return np.mean((y[:, k] ** 2 - s[k, k]) * (y[:, i] * y[:, j] - s[i, j]))

    rho = np.trace(pi)
    for i in range(n):
        for j in range(n):
            if i != j:
                rho += r_bar / 2 * (sd[j] / sd[i] * theta(i, i, j) + sd[i] / sd[j] * theta(j, i, j))
    gamma = ((f - s) ** 2).sum()
    return min(1.0, max(0.0, (pi.sum() - rho) / gamma / t))


@pytest.mark.parametrize("seed,t", [(0, 40), (1, 120), (2, 500)])
def test_ledoit_wolf_intensity_matches_paper_formulas(seed, t):
    x = sample_returns(seed=seed, t=t, n=5)
    expected = ledoit_wolf_intensity(x)
    assert expected == pytest.approx(ledoit_wolf_by_loops(x), rel=1e-10)
    assert 0.0 < expected < 1.0


def test_ledoit_wolf_intensity_falls_with_more_data():
    short, long = sample_returns(seed=4, t=30, n=5), sample_returns(seed=4, t=3000, n=5)
    assert ledoit_wolf_intensity(long) < ledoit_wolf_intensity(short)


def test_shrink_covariance_rejects_missing_values():
    x = sample_returns()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        shrink_covariance(x)
