"""Our folder layout: exact round trips, atomic writes, and one DataError per kind of bad file."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backtest.data import writer
from backtest.data.folder import load_market, read_folder, validate_dataset
from backtest.data.validation import DataError
from backtest.data.writer import write_market
from backtest.market.instruments import (
    CommodityFuture,
    CurrencyForward,
    Equity,
    EquityIndexFuture,
    instruments_table,
)
from backtest.market.market_data import SURFACE_COLUMNS, MarketData

FORMATS = ["parquet", "csv"]


def small_market() -> MarketData:
    """6 days, 5 instruments (EUR future, commodity with a negative price), 2 curves, NaNs,
    awkward floats (0.1 + 0.2, 1e-300) in the back-adjusted series."""
    cal = pd.bdate_range("2020-01-01", periods=6, name="date")  # Jan 1,2,3,6,7,8
    ins = instruments_table(
        [
            EquityIndexFuture("ES", multiplier=50.0),
            EquityIndexFuture(
                "FESX", currency="EUR", multiplier=10.0, exchange="EUREX", country="DE"
            ),
            CommodityFuture("CL", multiplier=1000.0, exchange="NYMEX"),
            Equity("AAPL", industry="tech"),
            CurrencyForward("EUR"),
        ]
    )
    prices = pd.DataFrame(
        {
            "ES": [3000.0, 3010.5, np.nan, 3001.25, 3000.1 + 0.2, 3001 + 1 / 3],
            "FESX": [3700.0, 3712.1, 3699.9, np.nan, np.nan, 3650.0],
            "CL": [60.0, -37.63, 20.0, 21.0, 22.0, 23.0],
            "AAPL": [300.0, 301.0, 302.0, 303.0, 304.0, 305.0],
            "FWD-EUR-1M": [1.1, 1.1, 1.1, 1.1, 1.1, np.nan],
        },
        index=cal,
    )
    # floats that only a shortest-repr writer reads back bit for bit (prices must stay plausible)
    adjusted = pd.DataFrame({"ES": [-5.5, 1.0, 2.0, np.nan, 0.1 + 0.2, 1e-300], "CL": 1.0 / 3},
                            index=cal)  # fmt: skip
    mar, jun, sep = (pd.Timestamp(d) for d in ("2020-03-20", "2020-06-19", "2020-09-18"))
    es = pd.DataFrame(
        {
            "price": prices["ES"],
            "price_contract": np.int64(20200300),
            "price_expiry": mar,
            "carry": prices["ES"] + 1,
            "carry_contract": np.int64(20200600),
            "carry_expiry": jun,
            "forward": np.nan,
            "forward_contract": np.int64(20200600),
            "forward_expiry": jun,
        },
        index=cal,
    )
    es.loc[cal[-1], ["price_contract", "carry_contract", "forward_contract"]] = [
        20200600,
        20200900,
        20200900,
    ]
    es.loc[cal[-1], ["price_expiry", "carry_expiry", "forward_expiry"]] = [jun, sep, sep]
    cl = es.copy()
    cl["price"] = prices["CL"]
    fx = pd.DataFrame({"USD": 1.0, "EUR": [1.1, 1.2, np.nan, 1.15, 1.1, 1.1]}, index=cal)
    rates = pd.DataFrame({"USD": [0.015, 0.0151, -0.0, 0.0, 0.02, 0.02], "EUR": -0.005}, index=cal)
    index = pd.DataFrame({"SPX": 3000.0, "SPX_DY": 0.018, "VIX": 15.0}, index=cal)
    surface = pd.DataFrame({c: 0.2 for c in SURFACE_COLUMNS}, index=cal)
    surface["skew"] = -0.1
    dividends = pd.DataFrame({"AAPL": [0.0, 0.0, 0.82, 0.0, 0.0, 0.0]}, index=cal)
    bench = pd.DataFrame({"equity_index": [100.0, 101, 102, 103, 104, 105]}, index=cal)
    return MarketData(
        calendar=cal,
        instruments=ins,
        prices=prices,
        adjusted=adjusted,
        curves={"ES": es, "CL": cl},
        fx=fx,
        rates=rates,
        index=index,
        vol_surface=surface,
        dividends=dividends,
        benchmarks=bench,
        name="small",
    )


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_is_exact(tmp_path, fmt):
    market = small_market()
    out = write_market(market, tmp_path / "m", format=fmt)
    back = load_market(out)
    assert back.equals(market)
    assert back.name == "small"
    assert back.adjusted.loc["2020-01-07", "ES"] == 0.1 + 0.2  # not 0.3: every bit kept
    assert back.curves["ES"]["price_contract"].dtype == np.dtype("int64")
    assert back.curves["ES"]["price_expiry"].dtype == market.curves["ES"]["price_expiry"].dtype
    assert np.isnan(back.curves["ES"]["forward"]).all()
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    ext = f".{fmt}"
    expected = {
        "manifest.json",
        f"calendar{ext}",
        f"instruments{ext}",
        f"curves/ES{ext}",
        f"curves/CL{ext}",
    } | {
        f"{f}{ext}"
        for f in (
            "prices",
            "adjusted",
            "fx",
            "rates",
            "index",
            "vol_surface",
            "dividends",
            "benchmarks",
        )
    }
    assert files == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == fmt and manifest["format_version"] == 1
    assert manifest["calendar"] == {"start": "2020-01-01", "end": "2020-01-08", "length": 6}
    assert sorted(e["path"] for e in manifest["files"]) == sorted(files - {"manifest.json"})


def test_round_trip_detects_a_changed_value(tmp_path):
    """The round-trip assertion itself can fail: a one-ulp change is seen."""
    market = small_market()
    prices = market.prices.copy()
    prices.iloc[0, 0] = np.nextafter(prices.iloc[0, 0], np.inf)
    out = write_market(market.replace(prices=prices), tmp_path / "m", format="csv")
    assert not load_market(out).equals(market)


@settings(max_examples=30, deadline=None)
@given(
    values=hnp.arrays(np.float64, (6, 3), elements=st.floats(allow_infinity=False, width=64)),
    fmt=st.sampled_from(FORMATS),
)
def test_round_trip_keeps_any_finite_float(values, fmt):
    """Subnormals, huge and negative values, -0.0 and NaN all come back bit for bit (the file
    format: read without the plausibility ranges of load_market)."""
    market = small_market()
    index = pd.DataFrame(values, index=market.calendar, columns=["A", "B", "C"])
    market = market.replace(index=index)
    with tempfile.TemporaryDirectory() as tmp:
        back, _ = read_folder(write_market(market, Path(tmp) / "m", format=fmt))
    got = back.index.to_numpy()
    assert np.array_equal(
        got.view(np.int64)[~np.isnan(values)], values.view(np.int64)[~np.isnan(values)]
    )
    assert np.array_equal(np.isnan(got), np.isnan(values))


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_synthetic(tmp_path, fmt):
    from backtest.synthetic import build as synthetic

    market = synthetic.synthetic_market(seed=3, start="2019-06-03", end="2020-06-30")
    out = write_market(market, tmp_path / "syn", format=fmt)
    assert load_market(out).equals(market)


@pytest.mark.slow
def test_twenty_year_synthetic_parquet_round_trips(tmp_path):
    """The full market round trips exactly (its load time is in benchmarks/foundation.py)."""
    from backtest.synthetic import build as synthetic

    market = synthetic.synthetic_market()
    out = write_market(market, tmp_path / "syn")
    assert load_market(out).equals(market)


# ------------------------------------------------------------------------------ atomic writes
def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing(frame, path):
        calls.append(path)
        if len(calls) == 4:
            raise OSError("disk full")
        real(frame, path)

    real = writer._write_parquet
    monkeypatch.setattr(writer, "_write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        write_market(small_market(), tmp_path / "m")
    assert len(calls) == 4
    assert list(tmp_path.iterdir()) == []  # neither out_dir nor the temporary folder


def test_failed_overwrite_keeps_the_old_dataset(tmp_path, monkeypatch):
    market = small_market()
    out = write_market(market, tmp_path / "m")
    before = sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())

    def failing(frame, path):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_write_parquet", failing)
    with pytest.raises(OSError):
        write_market(market.until("2020-01-03"), out, overwrite=True)
    after = sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert load_market(out).equals(market)


def test_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        write_market(small_market(), out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    shorter = small_market().until("2020-01-03")
    write_market(shorter, out, format="csv", overwrite=True)
    assert not (out / "notes.txt").exists()
    assert load_market(out).equals(shorter)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_writes_into_an_existing_empty_folder(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    write_market(small_market(), out)
    assert load_market(out).equals(small_market())


# ------------------------------------------------------------------------------ bad files
def _dataset(tmp_path) -> Path:
    return write_market(small_market(), tmp_path / "m", format="csv")


def _edit(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV (row = 1-based data row; row 0 = header) keeping the rest as is."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if row == 0:
        rows[0][rows[0].index(column)] = value
    else:
        rows[row][rows[0].index(column)] = value
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def _expect(folder: Path, file: str, row, date, column, words: str) -> DataError:
    with pytest.raises(DataError) as info:
        load_market(folder)
    err = info.value
    assert (err.file, err.row, err.date, err.column) == (file, row, date, column), str(err)
    message = str(err)
    assert message.startswith(file)
    if row is not None:
        assert f"row {row}" in message
    if date is not None:
        assert date in message
    if column is not None:
        assert repr(column) in message
    assert words in message
    return err


def test_missing_date_column(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "prices.csv", 0, "date", "day")
    _expect(folder, "prices.csv", None, None, "date", "missing column")


def test_duplicate_date(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "fx.csv", 3, "date", "2020-01-02")
    _expect(folder, "fx.csv", 3, "2020-01-02", "date", "duplicate date (same as row 2)")


def test_unsorted_dates(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "prices.csv", 3, "date", "2020-01-06")
    _edit(folder / "prices.csv", 4, "date", "2020-01-03")
    _expect(folder, "prices.csv", 4, "2020-01-03", "date", "not in ascending order")


def test_unparseable_date(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "rates.csv", 2, "date", "2020-13-45")
    _expect(folder, "rates.csv", 2, None, "date", "not a valid date ('2020-13-45')")


def test_non_numeric_cell(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "prices.csv", 2, "AAPL", "abc")
    err = _expect(folder, "prices.csv", 2, "2020-01-02", "AAPL", "not a number ('abc')")
    assert str(err) == (
        "prices.csv, row 2 (2020-01-02), column 'AAPL': value is not a number ('abc')"
    )


def test_infinite_value(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "index.csv", 5, "VIX", "inf")
    _expect(folder, "index.csv", 5, "2020-01-07", "VIX", "not finite")


@pytest.mark.parametrize("value", ["0", "-3.5"])
def test_non_positive_price(tmp_path, value):
    folder = _dataset(tmp_path)
    _edit(folder / "prices.csv", 4, "AAPL", value)
    _expect(folder, "prices.csv", 4, "2020-01-06", "AAPL", "price must be positive")


def test_non_positive_price_in_parquet(tmp_path):
    market = small_market()
    folder = write_market(market, tmp_path / "m")
    prices = market.prices.copy()
    prices.loc["2020-01-03", "FESX"] = 0.0
    writer._write_parquet(prices.reset_index(), folder / "prices.parquet")
    _expect(folder, "prices.parquet", 3, "2020-01-03", "FESX", "must be positive")


def test_non_positive_fx_rate(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "fx.csv", 6, "EUR", "-1.1")
    _expect(folder, "fx.csv", 6, "2020-01-08", "EUR", "must be positive")


def test_unknown_currency_of_an_instrument(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "instruments.csv", 2, "currency", "XYZ")
    _expect(folder, "instruments.csv", 2, None, "currency", "unknown currency 'XYZ'")


def test_unknown_currency_column(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "rates.csv", 0, "EUR", "EURO")
    _expect(folder, "rates.csv", None, None, "EURO", "unknown currency 'EURO'")


def test_instrument_currency_without_fx(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "fx.csv", 0, "EUR", "JPY")
    _expect(folder, "instruments.csv", 2, None, "currency", "'EUR' of instrument 'FESX' has no")


def test_instrument_referenced_but_not_defined(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "dividends.csv", 0, "AAPL", "MSFT")
    _expect(
        folder,
        "dividends.csv",
        None,
        None,
        "MSFT",
        "instrument 'MSFT' is not defined in instruments.csv",
    )


def test_curve_root_not_defined(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "curves" / "ES.csv").rename(folder / "curves" / "ZZ.csv")
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry.get("root") == "ES":
            entry.update(path="curves/ZZ.csv", root="ZZ")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _expect(folder, "curves/ZZ.csv", None, None, None, "curve root 'ZZ' is not an instrument")


def test_curve_near_contract_expiring_after_far_one(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "curves" / "ES.csv", 3, "price_expiry", "2020-12-18")
    _expect(
        folder,
        "curves/ES.csv",
        3,
        "2020-01-03",
        "price_expiry",
        "near contract 20200300 (price) expires 2020-12-18, after the far contract 20200600",
    )


def test_curve_contract_id_not_an_integer(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "curves" / "CL.csv", 2, "carry_contract", "20200600.5")
    _expect(folder, "curves/CL.csv", 2, "2020-01-02", "carry_contract", "not an integer")


def test_calendar_mismatch_between_files(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "benchmarks.csv", 4, "date", "2020-01-05")
    _expect(
        folder,
        "benchmarks.csv",
        4,
        "2020-01-05",
        "date",
        "does not match the calendar in calendar.csv (expected 2020-01-06)",
    )


def test_dated_file_shorter_than_calendar(tmp_path):
    folder = _dataset(tmp_path)
    lines = (folder / "vol_surface.csv").read_text().splitlines(keepends=True)
    (folder / "vol_surface.csv").write_text("".join(lines[:-1]))
    _expect(
        folder,
        "vol_surface.csv",
        None,
        None,
        "date",
        "file has 5 dates but the calendar in calendar.csv has 6",
    )


def test_file_listed_in_manifest_but_missing(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "adjusted.csv").unlink()
    _expect(folder, "adjusted.csv", None, None, None, "listed in manifest.json but missing")


def test_manifest_calendar_disagrees_with_calendar_file(tmp_path):
    folder = _dataset(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["calendar"]["length"] = 7
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _expect(folder, "manifest.json", None, None, "calendar.length", "calendar.csv has 6")


def test_unrecognised_folder(tmp_path):
    (tmp_path / "prices.csv").write_text("date,ES\n")
    with pytest.raises(DataError, match="not a market data folder"):
        load_market(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_market(tmp_path / "nowhere")


def test_data_error_message_and_pickling():
    import pickle

    err = DataError(
        "prices.csv", "price is not a number ('abc')", row=12, date="2020-03-05", column="ES"
    )
    text = "prices.csv, row 12 (2020-03-05), column 'ES': price is not a number ('abc')"
    assert str(err) == text
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.row, again.date, again.column, str(again)) == (
        "prices.csv",
        12,
        "2020-03-05",
        "ES",
        text,
    )
    assert str(DataError("manifest.json", "bad")) == "manifest.json: bad"


# ------------------------------------------------------------------------------ summary
def test_validate_dataset_summary(tmp_path):
    folder = _dataset(tmp_path)
    summary = validate_dataset(folder)
    assert summary.layout == "multistrat" and summary.name == "small"
    assert summary.n_instruments == 5
    assert dict(summary.kinds) == {
        "commodity_future": 1,
        "currency_forward": 1,
        "equity": 1,
        "equity_index_future": 2,
    }
    assert summary.currencies == ("EUR", "USD")
    assert (summary.calendar_start, summary.calendar_end, summary.calendar_days) == (
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2020-01-08"),
        6,
    )
    fesx = summary.coverage.loc["FESX"]
    assert (fesx["first"], fesx["last"], fesx["days"], fesx["gaps"]) == (
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2020-01-08"),
        4,
        2,
    )
    fwd = summary.coverage.loc["FWD-EUR-1M"]
    assert (fwd["last"], fwd["days"], fwd["gaps"]) == (pd.Timestamp("2020-01-07"), 5, 0)
    text = summary.format()
    assert "2020-01-01 .. 2020-01-08, 6 days" in text
    fesx_line = next(line for line in text.splitlines() if line.startswith("FESX"))
    assert fesx_line.split()[1:] == [
        "equity_index_future",
        "EUR",
        "2020-01-01",
        "2020-01-08",
        "4",
        "2",
    ]
    with pytest.raises(AttributeError):
        summary.n_instruments = 3  # frozen


def test_validate_dataset_raises_on_bad_data(tmp_path):
    folder = _dataset(tmp_path)
    _edit(folder / "prices.csv", 1, "ES", "n/a?")
    with pytest.raises(DataError, match=r"row 1 \(2020-01-01\), column 'ES'"):
        validate_dataset(folder)
