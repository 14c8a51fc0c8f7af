"""``multistrat backtest --data`` on the real pysystemtrade sample: the built-in futures fund
(carry, trend, momentum, both volatility-premium legs), the approximation notes in the summary
and the report, and the correlations to the sample's equity and bond futures recomputed by hand.

Skipped with a reason when the sample (../shared/data/pysystemtrade) is absent.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.cli.app import main
from backtest.cli.backtest_cmd import DEFAULT_CONFIG, FUTURES_CONFIG, _load_spec, builtin_config
from backtest.fund.spec import FundSpec

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "pysystemtrade"


def test_the_futures_fund_is_shipped_and_equals_the_example():
    example = ROOT / "examples" / "futures.toml"
    assert FUTURES_CONFIG.read_bytes() == example.read_bytes()
    spec = FundSpec.from_dict(tomllib.loads(FUTURES_CONFIG.read_text()))
    assert [s.name for s in spec.strategies] == ["carry", "vol_premium", "trend", "xs_momentum"]
    lalt = FundSpec.from_toml(ROOT / "examples" / "lalt.toml")
    assert (spec.allocator, spec.limits, spec.fund) == (lalt.allocator, lalt.limits, lalt.fund)


def test_the_built_in_config_follows_the_data_layout(tmp_path):
    assert builtin_config(None) == DEFAULT_CONFIG
    assert _load_spec(None) == FundSpec.from_toml(ROOT / "examples" / "lalt.toml")
    assert main(["data", "synthetic", "--seed", "3", "--start", "2019-01-02", "--end",
                 "2019-03-01", "--out", str(tmp_path / "ours")]) == 0  # fmt: skip
    assert builtin_config(tmp_path / "ours") == DEFAULT_CONFIG
    if DATA.is_dir():
        assert builtin_config(DATA) == FUTURES_CONFIG


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    if not DATA.is_dir():
        pytest.skip(f"pysystemtrade sample not found at {DATA}")
    out = tmp_path_factory.mktemp("real") / "run"
    return out, main(["backtest", "--data", str(DATA), "--out", str(out), "--no-progress"])


@pytest.mark.realdata
def test_real_run_holds_every_family_and_names_the_approximations(real_run, capsys):
    out, code = real_run
    # 0: no limit breached (the pre-trade VaR scaling sees the 2017 fall of the limit coming,
    # Limits.var_ahead_days; without it five days in 2017-11/12 breach and the exit is 3)
    assert code == 0
    weights = pd.read_csv(out / "weights.csv", index_col=0, parse_dates=True)
    assert list(weights.columns) == ["carry", "vol_premium", "trend", "momentum"]
    assert (weights.loc["2010":] > 0).all().all()
    trades = pd.read_csv(out / "trades.csv", usecols=["instrument"])["instrument"]
    assert trades.str.startswith("SPX-").any() and (trades == "VIX").any()
    metrics = json.loads((out / "metrics.json").read_text())
    assert not metrics["skipped_strategies"]
    assert metrics["strategy_notes"]["vol_premium.put_write"].startswith("approximated:")
    assert metrics["strategy_notes"]["vol_premium.short_vix"].startswith("approximated:")
    assert {"index.SPX", "vol_surface", "rates.USD"} <= set(metrics["data_approximations"])
    assert metrics["cash_rate_annual"] == 0 and metrics["sharpe_ratio"] == metrics[
        "sharpe_ratio_rf0"]  # fmt: skip
    html = (out / "report.html").read_text()
    assert "Strategy leg vol_premium.put_write: approximated" in html
    assert "Fund vs every comparator of the market (own windows)" in html
    assert "future_EUROSTX" in html and "bond_futures" in html


@pytest.mark.realdata
def test_real_run_correlations_to_the_sample_futures_recomputed_by_hand(real_run):
    """Each correlation and beta of metrics.json against numpy's on returns rebuilt from the
    loaded prices: back-adjusted change over the previous held price, baskets as plain means of
    the members trading (not through the comparators' levels)."""
    from backtest.data.folder import load_market

    out, _ = real_run
    metrics = json.loads((out / "metrics.json").read_text())
    nav = pd.read_csv(out / "nav.csv", index_col=0, parse_dates=True)["nav_per_share_5dp"]
    fund = nav.pct_change().iloc[1:]
    m = load_market(DATA)
    # members from their first to their last price, a day without a price inside returning 0
    inside = m.prices.notna().cummax() & m.prices[::-1].notna().cummax()[::-1]
    rets = (m.adjusted.ffill().diff() / m.prices.ffill().shift(1).abs()).where(inside)
    members = {
        "equity": ["SP500", "NASDAQ", "EUROSTX"],
        "bond": ["US10", "US2", "US5", "OAT", "SHATZ"],  # BOBL: adjusted prices only
    }
    series = {"equity_index": rets["SP500"], "bond_index": rets["US10"]}
    for group, ids in members.items():
        series[f"{group}_futures"] = rets[ids].mean(axis=1)
        series.update({f"future_{i}": rets[i] for i in ids[1:]})
    assert {f"correlation_{k}" for k in series} == {k for k in metrics if
                                                     k.startswith("correlation_")}  # fmt: skip
    for name, r in series.items():
        # a comparator's level is carried forward after its last value (pct_change pads it)
        r = r.where(r.isna().cumprod() == 1, r.fillna(0.0))
        both = pd.concat([fund, r.reindex(fund.index)], axis=1).dropna()
        hand = np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]
        assert metrics[f"correlation_{name}"] == pytest.approx(hand, abs=1e-9), name
        beta = np.cov(both.iloc[:, 0], both.iloc[:, 1])[0, 1] / both.iloc[:, 1].var()
        assert metrics[f"beta_{name}"] == pytest.approx(beta, abs=1e-9), name
