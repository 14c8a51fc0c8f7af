"""``multistrat backtest``: ``--start/--end`` run a window of the data (ISO dates, refused with
exit 2 outside the data or around the config's inception), a bad flag shows the subcommand's
usage, and the summary says which config and data it ran, explains weights above 1 and lists
every file of the run folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import backtest_cmd, main

README = Path(__file__).resolve().parents[3] / "README.md"
CONFIG = """name = "small"
inception = "2016-01-04"
[market]
seed = 7
start = "2015-01-02"
end = "2016-12-30"
[[strategies]]
name = "trend"
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "fund.toml"
    path.write_text(CONFIG)
    return path


def backtest(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["backtest", *args, "--no-progress"])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_a_bad_flag_shows_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backtest", "--bogus"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("usage: multistrat backtest") and "--bogus" in err, err
    with pytest.raises(SystemExit):
        main(["data", "synthetic", "--out", "x", "--bogus"])
    assert capsys.readouterr().err.startswith("usage: multistrat data synthetic")


@pytest.mark.parametrize(
    ("window", "expect"),
    [(["--start", "01/02/2016"], "--start '01/02/2016' is not a date YYYY-MM-DD"),
     (["--end", "2016-02-30"], "--end '2016-02-30' is not a valid day"),
     (["--start", "2016-06-01", "--end", "2016-03-01"], "is after --end 2016-03-01"),
     (["--start", "2014-12-31"], "--start 2014-12-31 is before the first day of the data "
                                 "(2015-01-02..2016-12-30)"),
     (["--start", "2017-01-03"], "--start 2017-01-03 is after the last day of the data"),
     (["--end", "2017-06-30"], "--end 2017-06-30 is after the last day of the data"),
     (["--start", "2016-02-01"], "inception 2016-01-04 (the fund's first day) is outside the "
                                 "window 2016-02-01..2016-12-30"),
     (["--end", "2015-12-31"], "inception 2016-01-04 (the fund's first day) is outside the "
                               "window 2015-01-02..2015-12-31")],
)  # fmt: skip
def test_a_window_outside_the_data_or_the_inception_exits_2(window, expect, config, tmp_path,
                                                            capsys):  # fmt: skip
    out = tmp_path / "out"
    code, _, err = backtest(capsys, "--config", str(config), "--out", str(out), *window)
    assert code == 2 and expect in err and err.count("\n") == 1, err
    assert not out.exists()


def test_a_window_run_says_what_it_ran_and_lists_every_file(config, tmp_path, capsys):
    out = tmp_path / "out"
    code, text, _ = backtest(capsys, "--config", str(config), "--out", str(out),
                             "--start", "2015-03-02", "--end", "2016-06-30")  # fmt: skip
    assert code == 0
    assert f"config: {config}\n" in text
    assert ("data:   synthetic seed 7, 2015-01-02..2016-12-30, window 2015-03-02..2016-06-30"
            in text)  # fmt: skip
    nav = pd.read_csv(out / "nav.csv", index_col=0, parse_dates=True)
    assert (nav.index[0], nav.index[-1]) == (pd.Timestamp("2016-01-04"), pd.Timestamp("2016-06-30"))
    assert "Strategy weights sum to" in text and "levers the sleeves up" in text
    listed = text.split(f"wrote {out}/: ", 1)[1].split()
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert [n.rstrip(",") for n in listed] == names
    assert {"nav.csv", "weights.csv", "report.html", "spec.json", "cash_rate.csv"} <= set(names)
    readme = README.read_text()
    table = readme[readme.index("## What `multistrat backtest` does") :]
    table = table[: table.index("\n## ")]
    assert [n for n in names if f"`{n}`" not in table] == []  # the README lists every file


def test_the_built_in_config_is_named():
    """Without --config or --data the summary names the built-in fund and its market."""
    args = type("A", (), {"config": None, "data": None, "start": None, "end": None})()
    spec = backtest_cmd._load_spec(None)
    lines = backtest_cmd.describe_run(args, spec, None)
    assert lines == ["config: built-in lalt.toml",
                     "data:   synthetic seed 7, 2005-01-03..2024-12-31"]  # fmt: skip
