"""Deflated Sharpe ratio and PBO (CSCV) against small cases worked out independently."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from backtest.research.overfitting import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_overfitting,
)


def test_psr_normal_returns_reduces_to_the_textbook_z():
    # normal returns (skew 0, kurtosis 3): z = (SR - SR*) sqrt(n-1) / sqrt(1 + SR^2 / 2)
    sr, n = 0.1, 251
    z = 0.1 * math.sqrt(250) / math.sqrt(1 + 0.5 * 0.01)
    assert probabilistic_sharpe_ratio(sr, 0.0, n, 0.0, 3.0) == pytest.approx(stats.norm.cdf(z))
    assert probabilistic_sharpe_ratio(0.0, 0.0, n, 0.0, 3.0) == pytest.approx(0.5)
    # negative skew and fat tails lower the confidence
    assert probabilistic_sharpe_ratio(sr, 0.0, n, -1.0, 6.0) < stats.norm.cdf(z)


def test_expected_maximum_sharpe_matches_the_paper_formula_and_simulation():
    n, v = 100, 0.5**2
    g = 0.5772156649015329
    expected = 0.5 * ((1 - g) * stats.norm.ppf(0.99) + g * stats.norm.ppf(1 - 1 / (100 * np.e)))
    assert expected_maximum_sharpe(n, v) == pytest.approx(expected, rel=1e-12)
    # the approximation of E[max of N standard normals]: within 2% of a simulation at N = 100
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, n)).max(axis=1).mean() * 0.5
    assert expected_maximum_sharpe(n, v) == pytest.approx(simulated, rel=0.02)
    assert expected_maximum_sharpe(1, v) == 0.0


def test_deflated_sharpe_by_hand_on_five_returns():
    r = np.array([0.01, -0.005, 0.02, 0.0, 0.015])
    trials = np.array([0.2, 0.5, 0.8, 1.1])
    sr = r.mean() / r.std(ddof=1)
    m2 = ((r - r.mean()) ** 2).mean()
    skew = ((r - r.mean()) ** 3).mean() / m2**1.5
    kurt = ((r - r.mean()) ** 4).mean() / m2**2
    v = trials.var(ddof=1)
    g = 0.5772156649015329
    q = (1 - g) * stats.norm.ppf(1 - 1 / 4) + g * stats.norm.ppf(1 - 1 / (4 * math.e))
    sr0 = math.sqrt(v) * q
    z = (sr - sr0) * math.sqrt(4) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    out = deflated_sharpe_ratio(r, trials)
    assert out.sharpe == pytest.approx(sr) and out.sharpe_max_expected == pytest.approx(sr0)
    assert out.dsr == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    assert (out.n_trials, out.n_obs) == (4, 5)


def test_pbo_by_hand_on_a_tiny_cscv():
    # 3 strategies, 4 blocks of 2 rows: strategy 0 is best in blocks 0-1 and worst in 2-3
    m = np.array(
        [
            [0.03, 0.01, 0.00], [0.02, 0.00, 0.01],
            [0.02, 0.01, 0.00], [0.03, 0.00, 0.01],
            [-0.01, 0.01, 0.02], [-0.02, 0.02, 0.01],
            [-0.01, 0.02, 0.01], [-0.02, 0.01, 0.02],
        ]
    )  # fmt: skip
    blocks = [m[2 * k : 2 * k + 2] for k in range(4)]
    logits = []
    for train in itertools.combinations(range(4), 2):
        test = [k for k in range(4) if k not in train]
        tr = np.vstack([blocks[k] for k in train])
        te = np.vstack([blocks[k] for k in test])
        best = int(np.argmax(tr.mean(0) / tr.std(0, ddof=1)))
        oos = te.mean(0) / te.std(0, ddof=1)
        rank = 1 + sum(oos[best] > o for o in oos) + 0.5 * (sum(oos[best] == o for o in oos) - 1)
        w = rank / 4
        logits.append(math.log(w / (1 - w)))
    out = probability_of_overfitting(m, n_splits=4)
    np.testing.assert_allclose(out.logits, logits)
    assert out.pbo == pytest.approx(np.mean(np.array(logits) <= 0))
    # train on blocks {0,1}: strategy 0 wins in sample and is last out of sample (logit < 0)
    assert out.logits[0] == pytest.approx(math.log(0.25 / 0.75))
    assert len(out.logits) == 6


def test_pbo_is_low_for_a_persistent_edge_and_about_half_for_noise():
    rng = np.random.default_rng(1)
    # pure noise: the in-sample best is a coin toss out of sample (PBO about 1/2 on average)
    pbos = [probability_of_overfitting(rng.normal(0, 0.01, (240, 10)), 6).pbo for _ in range(40)]
    assert 0.4 < np.mean(pbos) < 0.6
    noise = rng.normal(0, 0.01, (800, 10))
    edge = noise.copy()
    edge[:, 3] += 0.01
    assert probability_of_overfitting(edge, 8).pbo == 0.0
    with pytest.raises(ValueError, match="even"):
        probability_of_overfitting(noise, 5)
