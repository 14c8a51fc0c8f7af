"""Dotted paths into a FundSpec, up-front checks naming the path, sampling, TOML, metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import metrics as mx
from backtest.fund.research import standalone_returns
from backtest.fund.run import run_fund
from backtest.fund.spec import AllocatorMethod, FundSpec
from backtest.research import (
    Experiment,
    SamplingMode,
    get_path,
    run_experiment,
    set_path,
    synthetic_seeds,
    windows,
)
from backtest.research.evaluate import task_key
from backtest.research.experiment import WalkForward
from backtest.research.markets import SyntheticSource
from strategies.quant.trend import Trend
from tests.backtest.research.conftest import (
    END,
    START,
    small_experiment,
    small_fund,
    strategy_experiment,
)

ROOT = Path(__file__).resolve().parents[3]


def test_set_path_reaches_every_part_and_keeps_the_original():
    base = FundSpec()
    spec = set_path(base, "allocator.vol_target_annual", 0.12)
    spec = set_path(spec, "allocator.method", "inverse_volatility")
    spec = set_path(spec, "fund.expense_ratio", 0.005)
    spec = set_path(spec, "fund.subsidiary.target_pct", 0.12)
    spec = set_path(spec, "limits.gross_leverage_max", 4.0)
    spec = set_path(spec, "strategies.trend.params.speeds", [[8, 32], [16, 64]])
    assert spec.allocator.vol_target_annual == 0.12
    assert spec.allocator.method is AllocatorMethod.INVERSE_VOLATILITY
    assert spec.fund.expense_ratio == 0.005 and spec.fund.subsidiary.target_pct == 0.12
    assert spec.limits.gross_leverage_max == 4.0
    assert get_path(spec, "strategies.trend.params.speeds") == ((8, 32), (16, 64))
    assert base == FundSpec()  # unchanged
    assert get_path(spec, "fund.subsidiary.target_pct") == 0.12


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("allocator.vol_target_annul", 0.1),  # unknown field
        ("allocator.method", "risk_parity"),  # unknown enum value
        ("fund.expense_ratio", -0.01),  # refused by FundConfig
        ("limits.gross_leverage_max", 0.0),  # refused by Limits
        ("strategies.nope.params.speeds", [[8, 32]]),  # no such strategy
        ("strategies.trend.params.spedz", [[8, 32]]),  # refused by the strategy
        ("allocator.defensive.vix_above", 30.0),  # defensive not set in the base
    ],
)
def test_bad_paths_and_values_are_refused_before_anything_runs(path, value):
    exp = small_experiment(grid={"allocator.vol_target_annual": [0.08], path: [value]})
    with pytest.raises(ValueError, match=path.split(".")[0]) as info:
        run_experiment(exp, scheduler="serial", progress=False)
    assert path in str(info.value) or path.split(".")[1] in str(info.value)


def test_random_sampling_is_a_seeded_subset_of_the_grid():
    grid = {
        "allocator.vol_target_annual": [0.05, 0.06, 0.07, 0.08],
        "allocator.max_weight": [0.4, 0.5],
    }
    full = Experiment(small_fund(), grid=grid).points()
    a = Experiment(small_fund(), grid=grid, sampling=SamplingMode.RANDOM, n_points=3, seed=4)
    b = Experiment(small_fund(), grid=grid, sampling="random", n_points=3, seed=4)
    assert [p.params for p in a.points()] == [p.params for p in b.points()]
    assert len(a.points()) == 3 and {p.params for p in a.points()} <= {p.params for p in full}


def test_windows_tile_the_market_after_the_warm_up():
    ws = windows(505, 126, WalkForward(0.5, 0.25))
    assert ws[0].label == "full" and (ws[0].first, ws[0].stop) == (126, 505)
    pairs = [(w.label, w.first, w.stop) for w in ws[1:]]
    assert pairs[:4] == [("train_0", 126, 252), ("test_0", 252, 315), ("train_1", 189, 315),
                         ("test_1", 315, 378)]  # fmt: skip
    assert all(w.stop <= 505 for w in ws) and len(ws) == 1 + 2 * 4


def test_task_key_changes_with_spec_market_and_windows_only():
    spec = small_fund()
    k = task_key(spec, "m", 126, None, "fund")
    assert k == task_key(small_fund(), "m", 126, None, "fund")
    assert k != task_key(set_path(spec, "fund.expense_ratio", 0.0), "m", 126, None, "fund")
    assert k != task_key(spec, "m2", 126, None, "fund")
    assert k != task_key(spec, "m", 100, None, "fund")
    wf = WalkForward(1, 1, "sharpe_excess")
    assert task_key(spec, "m", 126, wf, "fund") == task_key(
        spec, "m", 126, WalkForward(1, 1, "annual_return"), "fund"
    )


def test_full_window_metrics_agree_with_a_direct_fund_run():
    exp = small_experiment(seeds=(1,), grid={"allocator.vol_target_annual": [0.08]},
                           walk_forward=None)  # fmt: skip
    row = run_experiment(exp, scheduler="serial", progress=False).table.iloc[0]
    market = SyntheticSource(1, START, END).build()
    run = run_fund(small_fund(), market)
    r = run.nav["nav_per_share_5dp"].pct_change().iloc[126:]
    cash = market.rates["USD"].shift(1).iloc[126:] / 252
    assert row["annual_return"] == pytest.approx(mx.annual_return(r), rel=1e-12)
    excess = (r - cash).to_numpy()
    assert row["sharpe_excess"] == pytest.approx(
        excess.mean() / excess.std(ddof=1) * np.sqrt(252), rel=1e-10
    )
    bench = market.benchmarks["equity_index"].pct_change().iloc[126:]
    assert row["correlation_equity_index"] == pytest.approx(np.corrcoef(r, bench)[0, 1], rel=1e-10)
    trades = run.result.trades
    info = run.result.instrument_info
    fx = market.fx_to_usd(list(info.index)).stack()
    mult = info.loc[trades["instrument"], "multiplier"].to_numpy()
    rate = fx.reindex(pd.MultiIndex.from_frame(trades[["date", "instrument"]])).to_numpy()
    traded = trades.assign(usd=(trades["quantity"] * trades["price"] * mult * rate).abs())
    traded = traded[traded["date"] >= r.index[0]]
    na_prev = run.nav["net_assets"].shift(1)
    by_day = traded.groupby("date")["usd"].sum()
    expected = (by_day / na_prev.reindex(by_day.index)).sum()
    assert row["turnover_annual"] == pytest.approx(expected * 252 / len(r), rel=1e-9)
    comp = run.compliance
    hits = comp[comp["breach"] & comp["applies"] & (comp["date"] >= r.index[0])]
    assert row["breaches"] == len(hits)


def test_experiment_toml_errors_name_file_and_key(tmp_path):
    (tmp_path / "fund.toml").write_text('[[strategies]]\nname = "trend"\n')
    bad = tmp_path / "exp.toml"
    bad.write_text('base = "fund.toml"\n[grid]\n"allocator.vol_target" = [0.1]\n')
    exp = Experiment.from_toml(bad)
    with pytest.raises(ValueError, match="allocator.vol_target"):
        exp.points()
    bad.write_text('base = "fund.toml"\n[markets]\nsynthetic_seed = [1]\n')
    with pytest.raises(ValueError, match=r"exp\.toml.*markets.*synthetic_seed"):
        Experiment.from_toml(bad)
    bad.write_text('base = "fund.toml"\n[walk_forward]\nchoose_by = "luck"\n')
    with pytest.raises(ValueError, match=r"exp\.toml.*choose_by"):
        Experiment.from_toml(bad)


def test_strategy_evaluation_is_the_standalone_stream():
    result = run_experiment(strategy_experiment(), scheduler="serial", progress=False)
    table = result.table
    assert list(table["strategies.trend.params.speeds"]) == ["[[8,32]]", "[[16,64]]", "[[32,128]]"]
    market = SyntheticSource(1, START, END).build()
    r = standalone_returns(Trend(speeds=((16, 64),)), market, warmup_days=126)
    cash = market.rates["USD"].shift(1).iloc[126:] / 252
    row = table.iloc[1]
    assert row["sharpe_excess"] == pytest.approx(mx.sharpe_ratio(r - cash), rel=1e-12)
    assert row["annual_volatility"] == pytest.approx(mx.annual_volatility(r), rel=1e-12)
    assert np.isnan(row["breaches"])


def test_run_method_returns_the_table_of_run_experiment():
    exp = strategy_experiment()
    table = exp.run(scheduler="serial", progress=False)
    pd.testing.assert_frame_equal(
        table, run_experiment(exp, scheduler="serial", progress=False).table, check_exact=True
    )
    assert exp.result(scheduler="serial", progress=False).stats.computed == 3


def test_the_issues_example_runs_as_written_on_a_small_market():
    """Issue #12's example with its names (fewer values, one 8-year market, two workers)."""
    exp = Experiment(
        base=FundSpec.from_toml(ROOT / "examples" / "lalt.toml"),
        grid={
            "allocator.vol_target_annual": [0.06, 0.10],
            "allocator.method": ["equal_risk_contribution", "inverse_volatility"],
            "strategies.trend.params.speeds": [((8, 32),), ((8, 32), (32, 128))],
        },
        markets=synthetic_seeds(range(1), "2012-01-03", "2019-12-31"),
        walk_forward=WalkForward(train_years=5, test_years=1, choose_by="sharpe_excess"),
    )
    table = exp.run(scheduler=None, workers=2, progress=False)  # None: a local Dask cluster
    assert list(table["window"].unique()) == ["full", "train_0", "test_0"]  # 5 + 1 years fit
    assert len(table) == 8 * 3 and table["point"].nunique() == 8
    assert set(table["allocator.method"]) == {"equal_risk_contribution", "inverse_volatility"}
    assert set(table["strategies.trend.params.speeds"]) == {"[[8,32]]", "[[8,32],[32,128]]"}
    assert table["sharpe_excess"].notna().all() and table["sharpe_excess"].nunique() > 1
