"""Shared fixtures: the synthetic markets every suite uses, built once per session."""

import pytest

from backtest.synthetic.build import synthetic_market


@pytest.fixture(scope="session")
def synthetic_20y():
    """The default 20-year synthetic market (seed 7, 2005-01-03 .. 2024-12-31)."""
    return synthetic_market(seed=7, start="2005-01-03", end="2024-12-31")


@pytest.fixture(scope="session")
def synthetic_5y():
    """A shorter window for faster checks (seed 7, 2015-01-02 .. 2019-12-31)."""
    return synthetic_market(seed=7, start="2015-01-02", end="2019-12-31")
