"""Industry z-scores: the numba kernel against a hand computation and, to the last bit, against
its pandas twin on cases with missing values, ties, tiny groups and unlabelled columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.quant.cross_section import group_columns, industry_zscore, industry_zscore_py


def assert_bit_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a.index.equals(b.index) and a.columns.equals(b.columns)
    x, y = a.to_numpy(), b.to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y))
    ok = ~np.isnan(x)
    assert np.array_equal(x[ok].view(np.int64), y[ok].view(np.int64))  # same bits, signed zeros


def test_group_columns_sorted_groups_columns_in_order_missing_left_out():
    columns, starts = group_columns(np.array(["b", "a", None, "b", "a", "c"], dtype=object))
    assert columns.tolist() == [1, 4, 0, 3, 5] and starts.tolist() == [0, 2, 4, 5]


def test_zscore_by_hand():
    values = pd.DataFrame(
        [[1.0, 2.0, 3.0, 10.0, np.nan, 5.0], [4.0, 4.0, 4.0, 1.0, 2.0, np.nan]],
        columns=list("ABCDEF"),
    )
    industries = pd.Series(["x", "x", "x", "y", "y", "y"], index=list("ABCDEF"))
    z = industry_zscore(values, industries, min_names=2, clip=3.0)
    # row 0, x: mean 2, std 1 -> -1, 0, 1; y: 10 and 5, mean 7.5, std sqrt(12.5)
    assert z.iloc[0, :3].tolist() == [-1.0, 0.0, 1.0]
    assert z.at[0, "D"] == pytest.approx(2.5 / np.sqrt(12.5), rel=1e-15)
    assert np.isnan(z.at[0, "E"])
    # row 1, x: no dispersion -> NaN; y: 1 and 2 -> -0.7071, +0.7071
    assert z.iloc[1, :3].isna().all()
    assert z.at[1, "E"] == pytest.approx(0.5 / np.sqrt(0.5), rel=1e-15)
    # three names needed by default: y on row 0 has two
    assert industry_zscore(values, industries).iloc[0, 3:].isna().all()
    # clipping
    assert industry_zscore(values, industries, min_names=2, clip=0.5).iloc[0, 0] == -0.5


def test_zscore_equals_pandas_twin_on_edge_cases():
    # a missing first column (the sum starts at its 0), ties, -0.0, a one-name group, an
    # unlabelled column, an all-missing row, labels not in column order
    v = np.array(
        [
            [np.nan, 1.0, 1.0, 1.0, 2.0, 7.0, 3.0, -0.0],
            [-0.0, 0.0, 0.0, 5.0, 5.0, 7.0, np.nan, 1e-300],
            [np.nan] * 8,
            [1e16, 1.0, -1.0, 3.0, np.inf, 2.0, 2.0, 2.0],
            [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2],
        ]
    )
    values = pd.DataFrame(v, columns=[f"s{i}" for i in range(8)])
    labels = ["m", "a", "m", "a", "m", "solo", None, "a"]
    industries = pd.Series(labels, index=values.columns, dtype=object)
    for min_names in (1, 2, 3):
        with np.errstate(invalid="ignore"):  # pandas: inf - inf in the twin
            twin = industry_zscore_py(values, industries, min_names)
        assert_bit_equal(industry_zscore(values, industries, min_names), twin)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_names=st.integers(1, 40),
    n_groups=st.integers(1, 6),
    missing=st.sampled_from([0.0, 0.2, 0.7]),
    ties=st.booleans(),
)
def test_zscore_equals_pandas_twin_random(seed, n_names, n_groups, missing, ties):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(30, n_names)) * 10.0 ** rng.integers(-3, 3, n_names)
    if ties:
        v = np.round(v, 0)
    v[rng.random(v.shape) < missing] = np.nan
    values = pd.DataFrame(v, columns=[f"s{i}" for i in range(n_names)])
    industries = pd.Series(rng.integers(0, n_groups, n_names), index=values.columns)
    assert_bit_equal(industry_zscore(values, industries), industry_zscore_py(values, industries))


def test_zscore_truncation_row_by_row():
    """Each row uses its own row only: z of a truncated frame is the truncated z."""
    rng = np.random.default_rng(1)
    values = pd.DataFrame(rng.normal(size=(20, 9)))
    industries = pd.Series(np.repeat([0, 1, 2], 3), index=values.columns)
    full = industry_zscore(values, industries)
    assert_bit_equal(industry_zscore(values.iloc[:7], industries), full.iloc[:7])
