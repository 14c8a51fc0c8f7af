"""``backtest --out`` never destroys what we did not write: a non-empty folder that is not one
of our runs (no marker file) is refused before anything is computed; our runs are replaced."""

import os
import stat

import pytest

from backtest.cli import main
from backtest.report.outputs import RUN_MARKER, _follow_umask, check_out_dir


def test_a_foreign_folder_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work\n")
    code = main(["backtest", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "not a multistrat run" in err and err.count("\n") == 1
    assert (out / "chapter1.tex").read_text() == "years of work\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # no temp folder left


@pytest.mark.parametrize("kind", ["empty", "ours", "ours before the marker", "new"])
def test_empty_new_or_our_run_folders_are_accepted(kind, tmp_path):
    out = tmp_path / "run"
    if kind != "new":
        out.mkdir()
    if kind == "ours":
        (out / RUN_MARKER).write_text("x")
        (out / "nav.csv").write_text("x")
    elif kind == "ours before the marker":
        (out / "spec.json").write_text("{}")
        (out / "nav.csv").write_text("x")
    assert check_out_dir(out) == out


def test_a_file_or_a_path_through_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("keep")
    with pytest.raises(FileExistsError, match="not a folder"):
        check_out_dir(tmp_path / "f")
    with pytest.raises(NotADirectoryError):
        check_out_dir(tmp_path / "f" / "run")
    assert (tmp_path / "f").read_text() == "keep"


def test_the_run_folder_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        (tmp_path / "d").mkdir(mode=0o700)
        _follow_umask(tmp_path / "d", 0o777)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750


def test_a_run_folder_written_with_a_worker_equals_one_written_alone(tmp_path):
    """The worker draws half the charts and computes the benchmarks while the fund runs (as
    ``multistrat backtest`` does): every file is byte for byte the one written without it."""
    from backtest.fund.run import fund_benchmarks, fund_metrics, run_fund
    from backtest.fund.spec import FundSpec, MarketSpec
    from backtest.report.chart_pool import chart_workers
    from backtest.report.outputs import write_run
    from backtest.synthetic import synthetic_market

    spec = FundSpec(market=MarketSpec(start="2016-01-04", end="2018-12-31"),
                    inception="2017-01-03")  # fmt: skip
    m = spec.market
    market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    with chart_workers() as pool:
        future = pool.submit(fund_benchmarks, spec, market) if pool is not None else None
        run = run_fund(spec, market)
        bench = future.result() if future is not None else fund_benchmarks(spec, market)
        shared = write_run(run, tmp_path / "a" / "run", fund_metrics(run), pool=pool,
                           benchmarks=bench)  # fmt: skip
    alone = write_run(run, tmp_path / "b" / "run", fund_metrics(run))
    names = sorted(p.name for p in alone.iterdir())
    assert names == sorted(p.name for p in shared.iterdir())
    assert {"benchmarks.csv", "report.html", "nav_vs_equity.png"} <= set(names)
    for name in names:
        assert (shared / name).read_bytes() == (alone / name).read_bytes(), name
