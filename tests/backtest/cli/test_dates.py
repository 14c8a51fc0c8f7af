"""Dates on the command line are ISO ``YYYY-MM-DD`` only, with clear one-line refusals (exit 2);
an adjustment of --inception is said on stdout."""

from pathlib import Path

import pytest

from backtest.cli import main

LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    text = LALT.read_text().replace('start = "2005-01-03"', 'start = "2015-01-02"')
    path = tmp_path_factory.mktemp("cfg") / "fund.toml"
    path.write_text(text.replace('end = "2024-12-31"', 'end = "2015-12-31"'))
    return path


def nightly(capsys, config, tmp_path, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["nightly", "--config", str(config), "--state", str(tmp_path / "s.sqlite"),
                 "--out", str(tmp_path / "out"), *args])  # fmt: skip
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.mark.parametrize(
    ("flag", "value", "expect"),
    [("--asof", "01/07/2019", "is not a date YYYY-MM-DD"),
     ("--asof", "now", "is not a date YYYY-MM-DD"),
     ("--asof", "2019", "is not a date YYYY-MM-DD"),
     ("--asof", "", "is not a date YYYY-MM-DD"),
     ("--asof", "2019-02-30", "is not a valid day"),
     ("--asof", "9999-12-31", "out of range"),
     ("--asof", "2099-12-31", "after the last day of the data"),
     ("--inception", "07/01/2015", "is not a date YYYY-MM-DD")],
)  # fmt: skip
def test_nightly_dates_are_iso_only(flag, value, expect, config, tmp_path, capsys):
    args = ["--asof", "2015-02-02", flag, value] if flag != "--asof" else [flag, value]
    code, _, err = nightly(capsys, config, tmp_path, *args)
    assert code == 2 and expect in err and err.count("\n") == 1, err
    assert "Traceback" not in err and not (tmp_path / "s.sqlite").exists()


def test_an_adjusted_inception_is_said_on_stdout(config, tmp_path, capsys):
    code, out, _ = nightly(capsys, config, tmp_path, "--asof", "2015-01-09",
                           "--inception", "2015-01-03")  # a Saturday  # fmt: skip
    assert code == 0
    assert "inception 2015-01-03 adjusted to 2015-01-05" in out


@pytest.mark.parametrize(("flag", "value"), [("--start", "2019"), ("--end", "31/12/2019")])
def test_data_synthetic_dates_are_iso_only(flag, value, tmp_path, capsys):
    code = main(["data", "synthetic", "--out", str(tmp_path / "m"), flag, value])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and "YYYY-MM-DD" in err and not (tmp_path / "m").exists()
