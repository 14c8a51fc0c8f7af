"""``check_limits(rows=R)``: the all-days table restricted to R's dates, bit for bit, on the
default fund (``examples/lalt.toml`` on the default 20-year market), computed from the
simulator's rows at R only (:meth:`backtest.engine.dense.DenseOutputs.at_rows`)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator import compliance as cp
from allocator.compliance import check_limits
from backtest.engine.dense import DenseOutputs
from backtest.engine.simulator import SimulationResult
from backtest.fund.run import run_fund
from backtest.fund.spec import FundSpec

LALT = Path(__file__).resolve().parents[2] / "examples" / "lalt.toml"


@pytest.fixture(scope="module")
def fund(synthetic_20y):
    return run_fund(FundSpec.from_toml(LALT), synthetic_20y)


@pytest.fixture(scope="module")
def full(fund):
    return check_limits(fund.result, fund.market, fund.spec.limits)


def fresh(result) -> SimulationResult:
    """The same result with no dense array built (as the nightly job's)."""
    out = result.outputs
    return SimulationResult(result.inputs, result.config, DenseOutputs(out.compact, out.arrays))


def rows_of(full: pd.DataFrame, rule: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Row numbers of the days ``rule`` applies."""
    days = full.loc[(full["rule"] == rule) & full["applies"], "date"]
    return dates.get_indexer(pd.DatetimeIndex(days))


def cases(fund, full) -> dict[str, np.ndarray]:
    dates = fund.result.inputs.dates
    T = len(dates)
    quarter = rows_of(full, "subsidiary_cap", dates)
    bought = rows_of(full, "illiquid", dates)
    bought = bought[bought > 0]
    var_rows = rows_of(full, "var_18f4", dates)
    assert len(quarter) > 20 and len(bought) > 5 and len(var_rows) > T / 2
    return {
        "first": np.array([0]),
        "quarter_end": quarter[len(quarter) // 2 : len(quarter) // 2 + 1],
        "illiquid_purchase": bought[len(bought) // 2 : len(bought) // 2 + 1],
        "last": np.array([T - 1]),
        "consecutive": np.arange(bought[1] - 3, bought[1] + 20),
        "first_days": np.arange(0, 5),
        "scattered": np.unique(np.r_[0, quarter[::7], bought[::3], T - 1]),
        "all": np.arange(T),
    }


def restricted(full: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    return full[pd.DatetimeIndex(full["date"]).isin(dates)].reset_index(drop=True)


def test_rows_give_the_all_days_table_at_those_dates_bit_for_bit(fund, full):
    dates = fund.result.inputs.dates
    for name, rows in cases(fund, full).items():
        result = fresh(fund.result)
        got = check_limits(result, fund.market, fund.spec.limits, rows=rows)
        want = restricted(full, dates[rows])
        assert len(want) == len(rows) * full["rule"].nunique(), name
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True,
                                      obj=name)  # fmt: skip
        if len(rows) < 100:  # a few days: no (T, N) array was built for them
            assert not {"qty", "mv", "notional", "trade_qty"} & set(result.outputs.__dict__)


def test_the_cases_exercise_what_they_name(fund, full):
    """The illiquid purchase day's flag needs the previous row; the quarter-end applies; the
    VaR is measured with instruments held on the last day."""
    c = cases(fund, full)
    dates = fund.result.inputs.dates
    one = restricted(full, dates[c["illiquid_purchase"]]).set_index("rule")
    assert one.loc["illiquid", "applies"] and one.loc["illiquid", "figure"] > 0
    assert restricted(full, dates[c["quarter_end"]]).set_index("rule").loc["subsidiary_cap",
                                                                            "applies"]  # fmt: skip
    last = restricted(full, dates[c["last"]]).set_index("rule")
    assert last.loc["var_18f4", "applies"] and last.loc["var_18f4", "figure"] > 0
    assert last.loc["gross_leverage", "figure"] > 0 and last.loc["industry", "figure"] > 0


def test_the_gross_sum_order_matters(fund, full, monkeypatch):
    """Summing |notional| in numpy's pairwise order along a row (not the all-days column-major
    order) changes some day's bits: the bit-for-bit test would see it."""
    rows = cases(fund, full)["scattered"]

    def pairwise(result, rows):
        book = some_days(result, rows)
        gross = np.ascontiguousarray(np.abs(book.notional)).sum(axis=1)
        return cp._Book(book.rows, book.mv, book.qty, gross, book.notional, book.previous_qty)

    some_days = cp._some_days
    monkeypatch.setattr(cp, "_some_days", pairwise)
    got = check_limits(fresh(fund.result), fund.market, fund.spec.limits, rows=rows)
    want = restricted(full, fund.result.inputs.dates[rows])
    gross = (got["rule"] == "gross_leverage").to_numpy()
    assert not np.array_equal(got["figure"][gross], want["figure"][gross])
    assert np.allclose(got["figure"][gross], want["figure"][gross], rtol=1e-12)


def test_rows_must_be_ascending(fund):
    with pytest.raises(ValueError, match="ascending"):
        check_limits(fresh(fund.result), fund.market, fund.spec.limits, rows=np.array([5, 3]))
