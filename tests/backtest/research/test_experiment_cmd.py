"""``multistrat experiment``: files written, a re-run resumes from the cache, bad input exits 2
naming the file and the key, and a foreign non-empty --out folder is left alone."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.cli.app import main

FUND = '[[strategies]]\nname = "trend"\n[[strategies]]\nname = "fx_carry"\n'
EXPERIMENT = """base = "fund.toml"
warmup_days = 126
[grid]
"allocator.vol_target_annual" = [0.06, 0.10]
"strategies.trend.params.speeds" = [[[8, 32]], [[16, 64]]]
[markets]
synthetic_seeds = [1]
start = "2019-01-02"
end = "2020-12-31"
[walk_forward]
train_years = 0.5
test_years = 0.25
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "fund.toml").write_text(FUND)
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    return tmp_path


def run(files, *extra):
    return main(["experiment", str(files / "exp.toml"), "--scheduler", "serial",
                 "--no-progress", *extra])  # fmt: skip


def test_writes_the_folder_and_resumes(files, capsys):
    out = files / "out"
    assert run(files, "--out", str(out)) == 0
    names = {p.name for p in out.iterdir()}
    assert {"table.parquet", "returns.parquet", "walk_forward.csv", "walk_forward.parquet",
            "heatmap.png", "sharpe_distribution.png", "walk_forward.png", "summary.html",
            "overfitting.csv", "points.csv", "points"} <= names  # fmt: skip
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 4 * (1 + 2 * 4)
    assert list(table.columns[:4]) == ["market", "point", "allocator.vol_target_annual",
                                       "strategies.trend.params.speeds"]  # fmt: skip
    assert set(table["strategies.trend.params.speeds"]) == {"[[8,32]]", "[[16,64]]"}
    html = (out / "summary.html").read_text()
    assert "Deflated Sharpe" in html and html.count("<img") == 3
    assert "4 tasks computed, 0 cached" in capsys.readouterr().out
    assert run(files, "--out", str(out)) == 0
    assert "0 tasks computed, 4 cached" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "table.parquet"), table)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[grid]\n"allocator.vol_target_annul" = [0.1]\n', "allocator.vol_target_annul"),
        ('[grid]\n"fund.expense_ratio" = [-1.0]\n', "fund.expense_ratio"),
        ("[markets]\nseeds = [1]\n", "markets"),
        ("[walk_forward]\ntrain_years = -1\n", "walk_forward"),
        ('evaluation = "portfolio"\n', "evaluation"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_bad_experiment_file_exits_2_naming_file_and_key(files, capsys, text, key):
    (files / "exp.toml").write_text('base = "fund.toml"\n' + text)
    out = files / "out"
    assert run(files, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "exp.toml" in err and key in err
    assert not out.exists()  # nothing written


def test_a_foreign_non_empty_out_folder_is_refused_and_kept(files, capsys):
    out = files / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert run(files, "--out", str(out)) == 2
    assert "not written by `experiment`" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
