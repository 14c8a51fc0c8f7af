"""Stored ERC solves (``AllocationContext.solves``): the same weights bit for bit, no solve of a
problem met before, a damaged answer solved again, and scipy's optimiser not imported until a
problem needs it."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import allocator.risk as risk
from allocator import AllocationContext, EqualRiskContribution, erc_weights
from allocator.risk import erc_solver_version, solved_erc_weights

VERSION = erc_solver_version()


def random_cov(rng, n):
    a = rng.normal(size=(n + 5, n))
    sd = rng.uniform(0.002, 0.03, n)
    c = a.T @ a
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d) * np.outer(sd, sd)


def strategy_returns(seed=3, days=900, n=4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)  # the first ``days`` of one 1,000-day history
    r = (rng.normal(0.0003, 0.01, size=(1000, n)) * rng.uniform(0.3, 2.0, n))[:days]
    r[:120, 3] = np.nan  # a strategy that starts late: eligibility changes, extra recomputes
    index = pd.bdate_range("2019-01-01", periods=days)
    return pd.DataFrame(r, index=index, columns=[f"s{i}" for i in range(n)])


def refuse(cov):
    raise AssertionError("solved again: the answer should have come from the stored solves")


def test_a_stored_solve_is_the_solvers_answer_bit_for_bit(monkeypatch):
    rng = np.random.default_rng(0)
    covs = [random_cov(rng, n) for n in (2, 3, 4, 6)]
    want = [erc_weights(c) for c in covs]
    solves: dict = {}
    for c, w in zip(covs, want, strict=True):  # solved once and stored
        assert solved_erc_weights(c, solves, VERSION).tobytes() == w.tobytes()
    assert len(solves) == len(covs)
    monkeypatch.setattr(risk, "erc_weights", refuse)
    for c, w in zip(covs, want, strict=True):  # now from the store
        assert solved_erc_weights(c, solves, VERSION).tobytes() == w.tobytes()
    with pytest.raises(AssertionError, match="solved again"):  # None: always solved
        solved_erc_weights(covs[0], None, VERSION)


def test_the_key_is_the_exact_problem_and_the_solvers_version():
    rng = np.random.default_rng(1)
    c = random_cov(rng, 4)
    solves: dict = {}
    solved_erc_weights(c, solves, VERSION)
    nudged = c.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], 1.0)  # one ulp: another problem
    solved_erc_weights(nudged, solves, VERSION)
    solved_erc_weights(c, solves, VERSION + " (another scipy)")
    assert len(solves) == 3
    assert "scipy" in VERSION and "numpy" in VERSION


@pytest.mark.parametrize(
    "damage",
    [
        lambda w: w[::-1].copy(),  # a permutation: sums to 1, unequal budgets
        lambda w: np.append(w, 0.0),  # another shape
        lambda w: np.where(np.arange(len(w)) == 0, np.nan, w),
        lambda w: w * 1.01,  # equal budgets, but does not sum to 1
        lambda w: -w,
    ],
    ids=["permuted", "shape", "nan", "scaled", "negative"],
)
def test_a_damaged_stored_answer_is_solved_again_and_replaced(damage):
    rng = np.random.default_rng(2)
    c = random_cov(rng, 4)
    c[0] *= 4.0
    c[:, 0] *= 4.0  # unequal volatilities: a permutation is not an answer
    want = erc_weights(c)
    solves: dict = {}
    solved_erc_weights(c, solves, VERSION)
    (key,) = solves
    solves[key] = damage(solves[key])
    assert solved_erc_weights(c, solves, VERSION).tobytes() == want.tobytes()
    assert solves[key].tobytes() == want.tobytes()


def test_the_allocator_with_stored_solves_gives_the_same_weights(monkeypatch):
    returns = strategy_returns()
    rule = EqualRiskContribution(lookback_days=126, min_history_days=40)
    want = rule.weights(returns)
    solves: dict = {}
    first = rule.weights(returns, AllocationContext(solves=solves))
    pd.testing.assert_frame_equal(first, want, check_exact=True)
    assert len(solves) >= 40  # one per recompute date (monthly over ~3.5 years, and entries)

    monkeypatch.setattr(risk, "erc_weights", refuse)
    again = rule.weights(returns, AllocationContext(solves=solves))
    pd.testing.assert_frame_equal(again, want, check_exact=True)
    # one more month of data: only the new recompute dates are solved
    longer = strategy_returns(days=930)
    assert longer.iloc[:900].equals(returns)
    monkeypatch.undo()
    calls = []
    real = risk.erc_weights
    monkeypatch.setattr(risk, "erc_weights", lambda cov: calls.append(1) or real(cov))
    grown = rule.weights(longer, AllocationContext(solves=solves))
    assert 1 <= len(calls) <= 2  # the new month's first day (and no other problem)
    pd.testing.assert_frame_equal(grown, rule.weights(longer), check_exact=True)


def test_scipy_optimize_is_imported_at_the_first_solve_only():
    code = (
        "import sys; import allocator, backtest.fund.run; "
        "assert 'scipy.optimize' not in sys.modules; "
        "import numpy as np; from allocator import erc_weights; "
        "erc_weights(np.array([[1e-4, 0.0], [0.0, 4e-4]])); "
        "assert 'scipy.optimize' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_recent_solves_keeps_the_most_recently_used_up_to_its_limit():
    memo = risk.RecentSolves(limit=3)
    for key in "abc":
        memo[key] = np.array([float(ord(key))])
    assert memo.get("a") is not None  # "a" used again: "b" is now the least recent
    memo["d"] = np.array([4.0])
    assert sorted(memo) == ["a", "c", "d"] and len(memo) == 3
    memo["c"] = np.array([3.5])  # replaced, and the most recent
    memo["e"] = np.array([5.0])
    assert sorted(memo) == ["c", "d", "e"] and memo["c"][0] == 3.5
    assert memo.get("a") is None
    with pytest.raises(ValueError, match="limit must be at least 1"):
        risk.RecentSolves(limit=0)


def test_recent_solves_as_the_allocators_memo_gives_the_same_weights_bit_for_bit(monkeypatch):
    """A memo too small for the run's problems: each is solved again when it was dropped, and
    the weights are the same bit for bit as with no memo and with an unbounded one."""
    returns = strategy_returns()
    rule = EqualRiskContribution(lookback_days=126, min_history_days=40)
    want = rule.weights(returns)
    small = risk.RecentSolves(limit=5)
    pd.testing.assert_frame_equal(rule.weights(returns, AllocationContext(solves=small)), want,
                                  check_exact=True)  # fmt: skip
    assert len(small) == 5
    big = risk.RecentSolves()
    rule.weights(returns, AllocationContext(solves=big))
    monkeypatch.setattr(risk, "erc_weights", refuse)
    again = rule.weights(returns, AllocationContext(solves=big))
    pd.testing.assert_frame_equal(again, want, check_exact=True)
