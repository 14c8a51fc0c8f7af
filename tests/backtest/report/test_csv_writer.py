"""``write_csv`` writes the bytes ``DataFrame.to_csv`` writes, faster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.report.csv_writer import write_csv

FMT = "%.10g"


def _frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n) * 10.0 ** rng.integers(-12, 12, n)
    x[[1, 5]] = np.nan
    x[2], x[3], x[4] = np.inf, -np.inf, -0.0
    dates = pd.Series(pd.bdate_range("1999-12-29", periods=n))
    dates[7] = pd.NaT
    text = pd.Series([f"id{k}" for k in range(n)], dtype="str")
    text[3] = 'a "quoted", comma'
    text[4] = None
    text[6] = "line\nbreak"
    return pd.DataFrame({
        "x": x, "y": rng.integers(-5, 5, n).astype("int64"), "flag": rng.random(n) > 0.5,
        "when": dates, "name": text, "obj": pd.Series(list(text), dtype=object),
        "tiny": np.full(n, 1e-300), "whole": np.arange(n, dtype="float64") * 1e6,
    }, index=pd.bdate_range("2007-01-03", periods=n, name="date"))  # fmt: skip


@pytest.mark.parametrize("index", [True, False])
@pytest.mark.parametrize("float_format", [FMT, "%.4f", None])
def test_bytes_equal_to_pandas(tmp_path, index, float_format):
    frame = _frame()
    kw = dict(float_format=float_format, date_format="%Y-%m-%d", index=index)
    frame.to_csv(tmp_path / "pandas.csv", **kw)
    write_csv(frame, tmp_path / "ours.csv", **kw)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f.rename_axis(None),  # unnamed index: an empty first label
        lambda f: f[["x"]],  # one column, with NaN: rows of one empty field
        lambda f: f.iloc[:0],  # header only
        lambda f: f.set_axis(pd.RangeIndex(len(f)), axis=0),  # integer index
        lambda f: f.set_axis([str(k) for k in range(f.shape[1])], axis=1),
        lambda f: f.assign(cat=pd.Categorical(["a", "b"] * (len(f) // 2))),  # fallback dtype
        lambda f: f.assign(when=f["when"] + pd.Timedelta(hours=13)),  # times, dropped by format
        lambda f: f.assign(when=f["when"] - pd.Timedelta(days=11000, hours=3)),  # before 1970
        lambda f: f.assign(when=f["when"].astype("datetime64[ns]")).set_axis(
            f.index.astype("datetime64[ns]"), axis=0
        ),
        lambda f: f.set_axis(pd.MultiIndex.from_arrays([f.index, range(len(f))]), axis=0),
        lambda f: f.set_axis(range(f.shape[1]), axis=1),  # non-string labels: pandas itself
        lambda f: f.assign(mixed=[1.5, "a"] * (len(f) // 2)),  # object, not all strings
    ],
)
def test_other_shapes_and_dtypes_equal_pandas(tmp_path, make):
    frame = make(_frame())
    kw = dict(float_format=FMT, date_format="%Y-%m-%d")
    frame.to_csv(tmp_path / "pandas.csv", **kw)
    write_csv(frame, tmp_path / "ours.csv", **kw)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_other_date_formats_equal_pandas(tmp_path):
    frame = _frame()
    kw = dict(float_format=FMT, date_format="%d/%m/%Y %H:%M")
    frame.to_csv(tmp_path / "pandas.csv", **kw)
    write_csv(frame, tmp_path / "ours.csv", **kw)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_the_run_folder_dtypes_take_the_fast_path(tmp_path, monkeypatch):
    """Floats, integers, booleans, dates and strings never go through ``to_csv`` (the speed)."""
    frame = _frame()

    def refuse(*args, **kwargs):
        raise AssertionError("DataFrame.to_csv called")

    monkeypatch.setattr(pd.DataFrame, "to_csv", refuse)
    write_csv(frame, tmp_path / "a.csv", float_format=FMT, date_format="%Y-%m-%d")
    write_csv(frame, tmp_path / "b.csv", float_format=FMT, date_format="%Y-%m-%d", index=False)
