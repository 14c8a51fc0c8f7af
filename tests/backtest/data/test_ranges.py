"""Values out of any plausible range are refused on load and by ``data validate``
(backtest/data/ranges.py); manifest paths stay inside the data folder; ids cannot start a
spreadsheet formula."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import main
from backtest.data.folder import load_market
from backtest.data.writer import write_market
from backtest.errors import DataError
from backtest.synthetic.build import synthetic_market


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    market = synthetic_market(seed=5, start="2019-01-02", end="2019-06-28")
    return write_market(market, tmp_path_factory.mktemp("ranges") / "m", format="csv")


@pytest.fixture
def data(folder, tmp_path) -> Path:
    shutil.copytree(folder, tmp_path / "m")
    return tmp_path / "m"


def edit(path: Path, column: str, value, from_date: str | None = None, scale=None) -> str:
    """Set (or scale, from ``from_date`` on) a column of a CSV file; the first date edited."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = table.index[table["date"] >= (from_date or "2019-03-01")]
    rows = rows if from_date else rows[:1]
    if scale is not None:
        table.loc[rows, column] = (table.loc[rows, column].astype(float) * scale).map(repr)
    else:
        table.loc[rows, column] = value
    table.to_csv(path, index=False)
    return str(table.loc[rows[0], "date"])


def validate(capsys, path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["data", "validate", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_synthetic_market_passes_without_warnings(folder, capsys):
    code, out, err = validate(capsys, folder)
    assert code == 0 and "Checks: passed (0 warning(s))" in out and err == ""


def _future(data: Path, kind: str) -> str:
    table = pd.read_csv(data / "instruments.csv")
    return table.loc[table["kind"] == kind, "id"].iloc[0]


@pytest.mark.parametrize(
    "case", ["rate 5000%", "index future x1000 from one day on", "negative VIX",
             "negative dividend", "price 1e300", "dividend yield 80%", "ATM vol 900%"],
)  # fmt: skip
def test_implausible_values_are_errors_naming_file_row_date_column(case, data, capsys):
    if case == "rate 5000%":
        day = edit(data / "rates.csv", "USD", "50.0")
        expect = ["rates.csv", "column 'USD'", "interest rate", "outside"]
    elif case == "index future x1000 from one day on":
        es = _future(data, "equity_index_future")
        day = edit(data / "prices.csv", es, None, from_date="2019-04-01", scale=1000.0)
        expect = ["prices.csv", f"column '{es}'", "value jumps x99", "refused"]
    elif case == "negative VIX":
        day = edit(data / "index.csv", "VIX", "-15.0")
        expect = ["index.csv", "column 'VIX'", "index level -15.0"]
    elif case == "negative dividend":
        eq = pd.read_csv(data / "dividends.csv").columns[1]
        day = edit(data / "dividends.csv", eq, "-0.5")
        expect = ["dividends.csv", f"column '{eq}'", "dividend -0.5"]
    elif case == "price 1e300":
        eq = _future(data, "equity")
        day = edit(data / "prices.csv", eq, "1e300")
        expect = ["prices.csv", f"column '{eq}'", "1e+300", "outside"]
    elif case == "dividend yield 80%":
        day = edit(data / "index.csv", "SPX_DY", "0.8")
        expect = ["index.csv", "dividend yield 0.8"]
    else:
        day = edit(data / "vol_surface.csv", "atm_1m", "9.0")
        expect = ["vol_surface.csv", "implied volatility 9.0"]
    code, _, err = validate(capsys, data)
    assert code == 2, err
    row = 1 + pd.read_csv(data / "calendar.csv")["date"].tolist().index(day)
    for text in [*expect, f"row {row} ({day})"]:
        assert text in err, (text, err)
    with pytest.raises(DataError):
        load_market(data)  # the same check on every load (backtest --data, nightly --data)


def test_suspicious_values_are_warnings_said_as_such(data, capsys):
    edit(data / "rates.csv", "EUR", "0.3")  # 30%: possible (hyperinflation), suspicious
    code, out, _ = validate(capsys, data)
    assert code == 0
    assert "warning: rates.csv" in out and "column 'EUR'" in out and "(warning: used" in out
    assert "Checks: passed (1 warning(s))" in out


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "link/prices.csv"])
def test_manifest_paths_stay_inside_the_data_folder(path, data, capsys):
    (data.parent / "outside").mkdir()
    shutil.copy(data / "prices.csv", data.parent / "outside" / "prices.csv")
    shutil.copy(data / "prices.csv", data.parent / "outside.csv")
    os.symlink(data.parent / "outside", data / "link")
    manifest = json.loads((data / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["field"] == "prices")
    entry["path"] = path
    (data / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = validate(capsys, data)
    assert code == 2 and "manifest.json" in err and repr(path) in err, err
    assert "outside the data folder" in err or "must be relative" in err


@pytest.mark.parametrize("bad", ["=HYPERLINK(1)", "+1", "-SUM(A1)", "@cmd", "ES\tX", " ES"])
def test_instrument_ids_cannot_start_a_formula_or_hold_control_characters(bad, data, capsys):
    text = (data / "instruments.csv").read_text()
    first = text.splitlines()[1].split(",")[0]
    (data / "instruments.csv").write_text(text.replace(f"\n{first},", f"\n{bad},", 1))
    code, _, err = validate(capsys, data)
    assert code == 2 and "instruments.csv" in err and "row 1" in err, err
    assert "formula" in err or "control character" in err or "blank" in err
