"""The command line: help, data synthetic, data validate, and exit codes on bad data."""

import subprocess
import sys

import pandas as pd

from backtest.cli import main


def test_console_script_lists_its_commands():
    out = subprocess.run(
        [sys.executable, "-m", "backtest.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("data", "backtest"):
        assert command in out


def test_synthetic_then_validate(tmp_path, capsys):
    out = tmp_path / "syn"
    code = main(["data", "synthetic", "--seed", "3", "--start", "2019-01-02", "--end",
                 "2019-12-31", "--out", str(out), "--format", "csv"])  # fmt: skip
    assert code == 0
    assert (out / "manifest.json").exists() and (out / "prices.csv").exists()
    capsys.readouterr()
    assert main(["data", "validate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2019-01-02 .. 2019-12-31, 252 days" in text
    assert "equity" in text and "vix_future" in text


def test_validate_bad_file_exits_2_naming_file_row_and_column(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["data", "synthetic", "--seed", "3", "--start", "2019-01-02", "--end",
                 "2019-03-29", "--out", str(out), "--format", "csv"]) == 0  # fmt: skip
    prices = pd.read_csv(out / "prices.csv", dtype=str)
    prices.loc[4, "ES"] = "abc"  # data row 5
    prices.to_csv(out / "prices.csv", index=False)
    before = sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())
    capsys.readouterr()
    assert main(["data", "validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "prices.csv" in err and "row 5" in err and "'ES'" in err and "abc" in err
    # validating writes nothing
    assert before == sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())


def test_synthetic_refuses_to_overwrite_and_leaves_folder_intact(tmp_path, capsys):
    out = tmp_path / "syn"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["data", "synthetic", "--start", "2019-01-02", "--end", "2019-02-01",
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
