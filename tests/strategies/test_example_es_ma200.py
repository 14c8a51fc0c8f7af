"""The example strategy package ``examples/es_ma200`` (README "Write a strategy").

Its signal by hand on a tiny market; the package installed with pip into a temporary folder
and found by ``multistrat backtest`` through its ``multistrat.strategies`` entry point.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.market.instruments import EquityIndexFuture, instruments_table
from backtest.market.market_data import MarketData
from strategies import StrategyInputError, run_strategy

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "examples" / "es_ma200"


def _load_example():
    spec = importlib.util.spec_from_file_location("es_ma200", PACKAGE / "es_ma200.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


es_ma200 = _load_example()


def _es_market(adjusted: list[float]) -> MarketData:
    calendar = pd.bdate_range("2020-01-01", periods=len(adjusted))
    frame = pd.DataFrame({"ES": adjusted}, index=calendar, dtype="float64")
    table = instruments_table([EquityIndexFuture("ES")])
    return MarketData(calendar=calendar, instruments=table, prices=frame, adjusted=frame,
                      name="hand")  # fmt: skip


def test_the_signal_by_hand():
    # 3-day averages from row 2: 11, 11.33, 11, 10, 9.67, 10.33, 12; rising on rows 3, 7 and 8
    market = _es_market([10, 11, 12, 11, 10, 9, 10, 12, 14])
    got = es_ma200.EsMa200(window_days=3).signal(market)
    assert got.index.equals(market.calendar) and got.name == "ES"
    assert got.tolist() == [0, 0, 0, 1, 0, 0, 0, 1, 1]


def test_long_while_the_average_rises_flat_otherwise_sized_to_the_target():
    n = 400
    rng = np.random.default_rng(5)
    trend = np.where(np.arange(n) < 250, 20.0, -20.0).cumsum()  # up for 250 days, then down
    market = _es_market(list(4000.0 + trend + rng.normal(0.0, 40.0, n).cumsum()))  # ~1% a day
    strategy = es_ma200.EsMa200(window_days=20)
    pos = run_strategy(strategy, market)  # the engine's contract checks pass
    signal = strategy.signal(market)
    assert list(pos.columns) == ["ES"] and (pos["ES"] >= 0).all()
    assert (pos["ES"][signal == 0] == 0).all()
    live = (signal == 1) & (np.arange(n) >= 60)  # after the covariance warm-up of vol_target
    assert live.sum() > 100 and (pos["ES"][live] > 0).all()
    assert (pos["ES"].iloc[100:250] > 0).mean() > 0.9 and (pos["ES"].iloc[300:] == 0).mean() > 0.9
    # sized to 10% a year: about 0.10 / 16% (1% a day) of capital, far from the gross cap of 10
    assert 0.3 < pos["ES"][live].median() < 1.5


def test_a_market_without_the_future_is_refused_by_name():
    market = _es_market([10.0] * 5).replace(adjusted=pd.DataFrame(index=pd.bdate_range(
        "2020-01-01", periods=5)))  # fmt: skip
    with pytest.raises(StrategyInputError, match="adjusted prices of 'ES'"):
        es_ma200.EsMa200().target_positions(market)


CONFIG = """name = "ES above its rising 200-day average"
inception = "2016-01-04"   # inside the market window: 2015 is the look-back history

[market]
seed = 7
start = "2015-01-02"
end = "2018-12-31"

[[strategies]]
name = "es_ma200"
params = { vol_target_annual = 0.10 }

[allocator]
max_weight = 1.0
"""


def _can_build_without_isolation() -> bool:
    """setuptools builds a wheel itself from 70.1, with the ``wheel`` package before."""
    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _install(src: Path, target: Path) -> None:
    """``pip install --no-deps --no-build-isolation --target`` (offline: nothing is fetched).

    Where this environment's setuptools cannot build a wheel (older than 70.1 without the
    ``wheel`` package), the same metadata is written with setuptools' ``egg_info`` beside the
    module: the entry point is found the same way (``importlib.metadata``)."""
    if _can_build_without_isolation():
        cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
               "--no-index", "--quiet", "--target", str(target), str(src)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    else:
        setup = [sys.executable, "-c", "import setuptools; setuptools.setup()", "--quiet",
                 "egg_info", "--egg-base", str(target)]  # fmt: skip
        subprocess.run(setup, check=True, cwd=src, capture_output=True, text=True, timeout=300)
        shutil.copy(src / "es_ma200.py", target / "es_ma200.py")


def test_installed_package_runs_through_the_cli(tmp_path):
    src = tmp_path / "src"  # a copy: building writes into the source folder
    shutil.copytree(PACKAGE, src)
    target = tmp_path / "site"
    target.mkdir()
    _install(src, target)
    assert (target / "es_ma200.py").is_file()
    assert any(target.glob("es_ma200*/entry_points.txt")), sorted(p.name for p in target.iterdir())
    cfg = tmp_path / "fund.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT), env.get("PYTHONPATH", "")])
    script = shutil.which("multistrat")
    command = [script] if script else [sys.executable, "-m", "backtest.cli"]
    done = subprocess.run([*command, "backtest", "--config", str(cfg), "--out", str(out),
                           "--no-progress"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stdout, done.stdout
    weights = pd.read_csv(out / "weights.csv", index_col=0)
    assert "es_ma200" in weights.columns and (weights["es_ma200"] != 0).any()
    nav = pd.read_csv(out / "nav.csv", index_col=0)
    assert nav.index[0] == "2016-01-04"
