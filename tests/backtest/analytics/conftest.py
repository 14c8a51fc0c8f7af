"""The hand-worked return series shared by the analytics tests (metrics, tear sheet,
performance): eight business days across a month end, fund and benchmark."""

import pandas as pd
import pytest

# Mon 29 Jan 2024 … Wed 7 Feb 2024: three January days, five February days.
DATES = pd.bdate_range("2024-01-29", periods=8)
R = [0.02, -0.01, 0.03, -0.04, -0.01, 0.02, -0.02, 0.05]
B = [0.01, -0.02, 0.01, -0.02, 0.005, 0.01, -0.01, 0.005]


@pytest.fixture
def r() -> pd.Series:
    return pd.Series(R, index=DATES, name="fund")


@pytest.fixture
def b() -> pd.Series:
    return pd.Series(B, index=DATES, name="bench")
