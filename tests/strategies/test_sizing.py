"""EWMA ex-ante volatility: the numba kernel against a closed form, against its plain-Python twin
to the last bit (missing returns, zero and NaN weights, wanted rows, blocks of days), and
truncation (row t reads returns up to t only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.sizing import (
    TRADING_DAYS_PER_YEAR,
    _ewma_portfolio_var,
    ewma_portfolio_var_py,
    ewma_portfolio_vol,
    portfolio_vol_array,
)


def test_constant_return_gives_its_own_volatility():
    """One asset returning r every day: the bias-corrected EWMA of r² is r², the vol |r|·√252."""
    n = 80
    r = np.full((n, 1), 0.01)
    vol = portfolio_vol_array(np.full((n, 1), 2.0), r, halflife_days=10.0, warmup_days=5)
    assert np.isnan(vol[:4]).all()
    assert vol[4:] == pytest.approx(2.0 * 0.01 * np.sqrt(TRADING_DAYS_PER_YEAR), rel=1e-12)


def test_two_assets_by_hand():
    """Two days, halflife 1 (λ = ½): cov = (½ r₁r₁ᵀ·½ + ½ r₂r₂ᵀ) / (½·½ + ½), by hand."""
    r = np.array([[0.01, -0.02], [0.03, 0.01]])
    w = np.array([[0.0, 0.0], [1.0, 2.0]])
    lam = 0.5
    cov = (lam * (1 - lam) * np.outer(r[0], r[0]) + (1 - lam) * np.outer(r[1], r[1])) / (
        lam * (1 - lam) + (1 - lam)
    )
    var = _ewma_portfolio_var(r, w, lam, 1, np.ones(2, dtype=bool))
    assert var[1] == pytest.approx(w[1] @ cov @ w[1], rel=1e-14)
    assert var[0] == 0.0  # no weight held: no risk


@pytest.mark.parametrize("max_block", [1, 3, 32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_equals_plain_python_twin(seed, max_block):
    rng = np.random.default_rng(seed)
    n, m = 90, 6
    r = rng.normal(0.0, 0.02, (n, m))
    r[rng.random(r.shape) < 0.15] = np.nan
    r[:20, 0] = np.nan  # a late lister
    r[7, 3] = np.inf  # a bad print counts as missing
    w = rng.normal(size=(n, m))
    w[rng.random(w.shape) < 0.3] = 0.0
    w[11, 1] = np.nan
    w[40] = 0.0  # nothing held on a wanted row
    lam = 0.5 ** (1.0 / 7.0)
    for rows in (np.ones(n, dtype=bool), rng.random(n) < 0.1, np.zeros(n, dtype=bool)):
        rows[-1] = rows[-1] or seed == 1  # the last day as a wanted row, sometimes
        want = _ewma_portfolio_var(r, w, lam, 10, rows, max_block)
        twin = ewma_portfolio_var_py(r, w, lam, 10, rows)
        assert np.array_equal(np.isnan(want), np.isnan(twin))
        ok = ~np.isnan(twin)
        assert np.array_equal(want[ok].view(np.int64), twin[ok].view(np.int64))
        assert np.isnan(want[:9]).all() and np.isnan(want[~rows]).all()


def test_wanted_rows_equal_every_row_and_truncation():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=200)
    returns = pd.DataFrame(rng.normal(0, 0.01, (200, 5)), index=idx, columns=list("ABCDE"))
    weights = pd.DataFrame(rng.normal(size=(200, 5)), index=idx, columns=list("ABCDE"))
    every = ewma_portfolio_vol(weights, returns)
    rows = np.zeros(200, dtype=bool)
    rows[[59, 60, 61, 120, 199]] = True
    some = ewma_portfolio_vol(weights, returns, rows=rows)
    assert np.array_equal(some.to_numpy()[rows], every.to_numpy()[rows])
    assert some[~rows].isna().all()
    cut = ewma_portfolio_vol(weights.iloc[:121], returns.iloc[:121])
    assert np.array_equal(cut.to_numpy(), every.to_numpy()[:121], equal_nan=True)
