"""Benchmarks: the proxy multi-strategy index (causal, equal risk, monthly), 60/40 by hand, and
user benchmark files validated with errors naming file, row and column."""

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import benchmarks as bi
from backtest.data.series import load_user_benchmark
from backtest.data.validation import DataError


@pytest.fixture(scope="module")
def proxy_parts(synthetic_5y):
    components = bi.proxy_component_returns(synthetic_5y)
    weights = bi.inverse_volatility_weights(components)
    level = bi.proxy_multistrategy_index(synthetic_5y)
    return components, weights, level


# ------------------------------------------------------------------------------ 60/40
def test_sixty_forty_by_hand_across_a_month_end():
    dates = pd.to_datetime(["2020-01-29", "2020-01-30", "2020-01-31", "2020-02-03", "2020-02-04"])
    eq = pd.Series([100.0, 102.0, 99.96, 101.9592, 100.939608], index=dates)
    bd = pd.Series([100.0, 99.0, 99.495, 100.48995, 100.48995], index=dates)
    # returns: eq +2%, -2%, +2%, -1%; bond -1%, +0.5%, +1%, 0%
    level = bi.sixty_forty(eq, bd)
    v1 = 60 * 1.02 + 40 * 0.99  # drift from the base close (Jan 29)
    v2 = 60 * 1.02 * 0.98 + 40 * 0.99 * 1.005  # still January: no reset
    v3 = v2 * (1 + 0.6 * 0.02 + 0.4 * 0.01)  # Feb 3: reset to 60/40 at Jan 31's close
    v4 = v2 * (0.6 * 1.02 * 0.99 + 0.4 * 1.01 * 1.0)  # then drift again
    np.testing.assert_allclose(level.to_numpy(), [100.0, v1, v2, v3, v4], rtol=1e-12)


def test_rebalanced_index_keeps_the_unweighted_part_in_cash():
    dates = pd.bdate_range("2021-03-01", periods=3)
    r = pd.DataFrame({"a": [0.0, 0.10, 0.10]}, index=dates)
    w = pd.DataFrame({"a": [0.5, 0.5, 0.5]}, index=dates)
    level = bi.rebalanced_index(r, w, np.array([True, False, False]), start_level=1.0)
    np.testing.assert_allclose(level.to_numpy(), [1.0, 1.05, 0.5 * 1.21 + 0.5])


# ------------------------------------------------------------------------------ proxy index
def test_inverse_volatility_weights_use_only_previous_days():
    dates = pd.bdate_range("2022-01-03", periods=8)
    r = pd.DataFrame(
        {
            "a": [0.01, -0.01, 0.01, -0.01, 0.01, -0.01, 0.5, 0.0],
            "b": [0.02, -0.02, 0.02, -0.02, 0.02, -0.02, 0.0, 0.0],
        },
        index=dates,
    )
    w = bi.inverse_volatility_weights(r, lookback_days=4, min_days=3)
    assert (w.iloc[:3] == 0).all().all()  # fewer than 3 previous returns
    sa, sb = r["a"].iloc[2:6].std(), r["b"].iloc[2:6].std()
    expected_a = (1 / sa) / (1 / sa + 1 / sb)
    assert w["a"].iloc[6] == pytest.approx(expected_a)  # row 6 ignores its own 0.5 return
    assert w["a"].iloc[6] == pytest.approx(2 / 3)
    np.testing.assert_allclose(w.iloc[3:].sum(axis=1), 1.0)


def test_proxy_index_starts_at_100_and_uses_every_family(proxy_parts, synthetic_5y):
    components, weights, level = proxy_parts
    assert list(components.columns) == [label for label, _ in bi.PROXY_COMPONENTS]
    assert level.iloc[0] == 100.0 and level.index.equals(synthetic_5y.calendar)
    assert (level > 0).all() and level.iloc[-1] != 100.0
    month_start = bi.month_starts(weights.index)
    live = weights[month_start].iloc[-1]
    assert (live > 0).all() and live.sum() == pytest.approx(1.0)


def test_proxy_return_equals_hand_weighted_component_returns(proxy_parts):
    components, weights, level = proxy_parts
    r = level.pct_change()
    starts = np.flatnonzero(bi.month_starts(level.index))
    k = starts[-6]  # a rebalance day well after the warm-up
    w = weights.iloc[k]
    assert w.sum() == pytest.approx(1.0)
    assert r.iloc[k] == pytest.approx(float((w * components.iloc[k]).sum()), abs=1e-14)
    # two days later: the holdings have drifted with the components since the rebalance
    grown = w * (1 + components.iloc[k]) * (1 + components.iloc[k + 1])
    by_hand = float((grown * components.iloc[k + 2]).sum() / grown.sum())
    assert r.iloc[k + 2] == pytest.approx(by_hand, abs=1e-14)
    assert level.iloc[k + 1] / level.iloc[k - 1] == pytest.approx(float(grown.sum()))


def test_proxy_index_is_causal(proxy_parts, synthetic_5y):
    _, _, full = proxy_parts
    rng = np.random.default_rng(3)
    cut = synthetic_5y.calendar[int(rng.integers(300, len(synthetic_5y.calendar) - 200))]
    short = bi.proxy_multistrategy_index(synthetic_5y.until(cut))
    pd.testing.assert_series_equal(short, full.loc[:cut], check_freq=False)


def test_benchmark_series_columns_and_market_levels(synthetic_5y):
    b = bi.benchmark_series(synthetic_5y, proxy=False)
    assert list(b.columns) == ["equity_index", "bond_index", "sixty_forty"]
    pd.testing.assert_series_equal(b["equity_index"], synthetic_5y.benchmarks["equity_index"])
    assert b["sixty_forty"].iloc[0] == 100.0


# ------------------------------------------------------------------------------ user files
def _write(tmp_path, text, name="ref.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_benchmark_levels_and_returns(tmp_path):
    lv = load_user_benchmark(_write(tmp_path, "date,level\n2020-01-02,50\n2020-01-03,55\n"))
    assert lv.name == "ref" and list(lv) == [50.0, 55.0]
    rt = load_user_benchmark(
        _write(tmp_path, "date,return\n2020-01-02,0.1\n2020-01-03,-0.5\n", "ret.csv")
    )
    np.testing.assert_allclose(rt.to_numpy(), [110.0, 55.0])
    assert rt.index[0] == pd.Timestamp("2020-01-02")


@pytest.mark.parametrize(
    "text, row, column, words",
    [
        ("date,level\n2020-01-02,1\n2020-13-45,2\n", 2, "date", "not a valid date"),
        ("date,level\n2020-01-02,1\n2020-01-02,2\n", 2, "date", "duplicate"),
        ("date,level\n2020-01-03,1\n2020-01-02,2\n", 2, "date", "ascending"),
        ("date,level\n2020-01-02,1\n2020-01-03,abc\n", 2, "level", "not a number"),
        ("date,level\n2020-01-02,1\n2020-01-03,0\n", 2, "level", "positive"),
        ("date,level\n2020-01-02,1\n2020-01-03,-4\n2020-01-06,1\n", 2, "level", "positive"),
        ("date,level\n2020-01-02,1\n2020-01-03,\n", 2, "level", "missing"),
        ("date,return\n2020-01-02,0.1\n2020-01-03,-1.0\n", 2, "return", "greater than -1"),
        ("date,price\n2020-01-02,1\n", None, "level", "missing column"),
        ("day,level\n2020-01-02,1\n", None, "date", "missing column"),
        ("date,level,return\n2020-01-02,1,0\n", None, "level", "more than one"),
    ],
)
def test_user_benchmark_errors_name_file_row_and_column(tmp_path, text, row, column, words):
    with pytest.raises(DataError) as err:
        load_user_benchmark(_write(tmp_path, text))
    e = err.value
    assert e.file == "ref.csv" and e.row == row and e.column == column
    assert words in e.problem
    assert "ref.csv" in str(e)


def test_user_benchmark_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_user_benchmark(tmp_path / "nope.csv")


def test_user_benchmark_accepts_any_case_and_a_leading_blank_return(tmp_path):
    text = "Date,Return\n2020-01-02,\n2020-01-03,0.1\n2020-01-06,-0.5\n"
    s = load_user_benchmark(_write(tmp_path, text, "pct.csv"))
    np.testing.assert_allclose(s.to_numpy(), [100.0, 110.0, 55.0])  # the first row is the base
    lv = load_user_benchmark(_write(tmp_path, "DATE,Level\n2020-01-02,5\n2020-01-03,6\n"))
    assert list(lv) == [5.0, 6.0]
    with pytest.raises(DataError, match="missing") as err:  # a level may not be blank
        load_user_benchmark(_write(tmp_path, "date,level\n2020-01-02,\n2020-01-03,6\n"))
    assert err.value.row == 1


def test_user_benchmark_messages_name_the_columns_found_and_hint_at_percent(tmp_path):
    with pytest.raises(DataError) as err:
        load_user_benchmark(_write(tmp_path, "day,close\n2020-01-02,1\n"))
    assert "found 'day', 'close'" in err.value.problem
    with pytest.raises(DataError) as err:
        load_user_benchmark(_write(tmp_path, "date,price\n2020-01-02,1\n"))
    assert "found 'date', 'price'" in err.value.problem
    percent = "date,return\n" + "".join(
        f"2020-01-{d:02d},{r}\n" for d, r in zip(range(2, 12), [0.5, 1.2, -0.8, 2.1, 0.3, -1.5,
                                                                 0.7, 1.1, -0.2, 0.4], strict=True)
    )  # fmt: skip
    with pytest.raises(DataError) as err:
        load_user_benchmark(_write(tmp_path, percent))
    msg = str(err.value)
    assert "in percent" in msg and "0.01 = 1%" in msg and "-1.5" in msg  # the ≤ −1 row, hinted
    assert "np." not in msg and "float64" not in msg
    with pytest.raises(DataError) as err:  # percents but none ≤ −100%
        load_user_benchmark(_write(tmp_path, percent.replace("-1.5", "1.5")))
    assert "in percent" in str(err.value) and "np." not in str(err.value)
    decimal = "date,return\n2020-01-02,0.01\n2020-01-03,1.2\n" + "".join(
        f"2020-02-{d:02d},0.001\n" for d in range(3, 28)
    )
    assert len(load_user_benchmark(_write(tmp_path, decimal))) == 27  # one big day is no hint
