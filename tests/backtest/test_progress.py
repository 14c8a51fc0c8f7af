"""Progress bars: tqdm's when shown; nothing, and tqdm not even imported, when not."""

import subprocess
import sys
import textwrap

from backtest.progress import progress_bar


def test_a_shown_bar_is_tqdms_with_its_total_name_and_unit(capsys):
    from tqdm.auto import tqdm

    bar = progress_bar(7, "fund", unit="step")
    assert isinstance(bar, tqdm)
    assert (bar.total, bar.desc, bar.unit) == (7, "fund", "step")
    bar.update(2)
    assert bar.n == 2
    bar.close()


def test_a_hidden_bar_takes_the_same_calls_and_prints_nothing(capsys):
    with progress_bar(3, "market", show=False) as bar:
        bar.set_postfix_str("rates", refresh=False)
        bar.update()
        bar.update(2)
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_a_run_without_bars_does_not_import_tqdm():
    """The nightly job's path (a synthetic market, the whole fund) shows no bar: tqdm (and
    the asyncio/ssl that tqdm.auto brings) stays out of the process."""
    probe = textwrap.dedent("""
        import sys
        from backtest.fund.run import run_fund
        from backtest.fund.spec import FundSpec
        from backtest.synthetic.build import synthetic_market
        from pathlib import Path
        spec = FundSpec.from_toml(Path("examples/lalt.toml"))
        market = synthetic_market(seed=1, start="2019-01-02", end="2020-12-31")
        run_fund(spec, market)
        print("tqdm" in sys.modules)
    """)
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False"
