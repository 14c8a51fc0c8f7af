"""The end-to-end fund (issue: allocator, limits and `multistrat backtest`) on the built-in
LALT-like configuration over the 20-year synthetic market."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allocator.risk as risk
from allocator.compliance import breaches
from backtest.cli.app import main
from backtest.cli.backtest_cmd import DEFAULT_CONFIG, _load_spec
from backtest.fund.run import SOLVES_KEY, combine, fund_metrics, live_stream, run_fund
from backtest.fund.spec import FundSpec
from backtest.market.calendar import TRADING_DAYS_PER_YEAR
from backtest.report import attribution_tables, from_run, held_weights, strategy_pnl
from backtest.synthetic.build import synthetic_market


@pytest.fixture(scope="module")
def default_run(synthetic_20y):
    spec = FundSpec.from_toml(DEFAULT_CONFIG)
    return run_fund(spec, synthetic_20y)


def test_default_config_is_the_lalt_like_fund():
    spec = FundSpec.from_toml(DEFAULT_CONFIG)
    assert [s.name for s in spec.strategies] == [
        "carry", "vol_premium", "trend", "equity_market_neutral"
    ]  # fmt: skip
    assert spec.allocator.method == "equal_risk_contribution"
    assert spec.allocator.vol_target_annual == 0.08 and spec.allocator.rebalance == "monthly"
    assert spec.fund.initial_nav_per_share == 25.0 and spec.fund.expense_ratio == 0.0095
    assert spec.fund.flows.ap_daily_prob > 0


def test_the_built_in_fund_is_shipped_with_the_package_and_equals_the_example():
    """``multistrat backtest`` without --config runs the packaged lalt.toml (present in a wheel
    install too), which is the file the README shows as examples/lalt.toml."""
    example = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"
    assert DEFAULT_CONFIG.read_bytes() == example.read_bytes()
    assert _load_spec(None) == FundSpec.from_toml(example)


def test_no_limit_breaches_at_all_and_none_at_quarter_ends(default_run):
    comp = default_run.compliance
    assert breaches(comp).empty
    sub = comp[(comp["rule"] == "subsidiary_cap") & comp["applies"]]
    assert len(sub) >= 71 and (sub["figure"] <= 0.25).all()  # 2007-2024


def test_realised_volatility_near_the_8pct_target(default_run):
    r = default_run.nav["nav_per_share_5dp"].pct_change().iloc[252:]  # after the first year
    vol = r.std() * np.sqrt(TRADING_DAYS_PER_YEAR)
    assert 0.06 <= vol <= 0.10


def test_low_correlation_to_the_equity_index(default_run):
    nav = default_run.nav["nav_per_share_5dp"]
    equity = default_run.market.benchmarks["equity_index"]
    corr = nav.pct_change().corr(equity.pct_change())
    assert corr < 0.3


def test_accounting_identities_hold_on_every_day(default_run):
    result = default_run.result
    nav = result.nav
    lhs = (nav["cash"] + result.market_values.sum(axis=1) + nav["accrued_interest"]
           - nav["accrued_expenses"])  # fmt: skip
    np.testing.assert_allclose(lhs, nav["net_assets"], rtol=1e-11, atol=1e-4)
    sources = (result.pnl.sum(axis=1) - result.costs.sum(axis=1) + nav["interest"]
               - nav["expenses"] + nav["flow_value"] + nav["fees"])  # fmt: skip
    np.testing.assert_allclose(nav["net_assets"].diff().iloc[1:], sources.iloc[1:], atol=1e-4)


def test_fund_targets_are_weights_times_exposures_before_limits(default_run):
    run = default_run
    raw = combine(run.positions, run.weights)
    d = run.market.calendar[3000]
    for inst in ["ES", "VX", "FWD-JPY-1M"]:
        expected = sum(run.weights.at[d, s] * run.positions[s].get(inst, pd.Series(0.0)).get(d, 0)
                       for s in run.positions)  # fmt: skip
        assert raw.at[d, inst] == pytest.approx(expected, abs=1e-15)
    # limits only ever scale down
    assert (run.targets.abs() <= raw.abs() + 1e-12).all().all()


def test_weights_use_only_past_strategy_returns(default_run):
    from backtest.fund.spec import build_allocator

    run = default_run
    alloc = build_allocator(run.spec.allocator)
    cut = 3000
    part = alloc.weights(run.history_returns.iloc[:cut]).fillna(0.0)
    i0 = run.history.calendar.get_loc(run.market.start)  # two years of look-back history
    assert 500 <= i0 <= 510
    pd.testing.assert_frame_equal(part.iloc[i0:], run.weights.iloc[: cut - i0])


def test_metrics_match_their_definitions(default_run):
    m = fund_metrics(default_run)
    nav = default_run.nav["nav_per_share_5dp"]
    r = nav.pct_change().iloc[1:]
    years = len(r) / TRADING_DAYS_PER_YEAR
    assert m["annual_return"] == pytest.approx((nav.iloc[-1] / nav.iloc[0]) ** (1 / years) - 1)
    assert m["annual_volatility"] == pytest.approx(r.std() * np.sqrt(TRADING_DAYS_PER_YEAR))
    assert m["compliance_breaches"] == 0


def test_cli_backtest_writes_every_output_and_is_byte_identical(tmp_path, capsys):
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert main(["backtest", "--out", str(out), "--no-progress"]) == 0
        runs.append(out)
    text = capsys.readouterr().out
    for line in ("Annual return", "Sharpe ratio", "Max drawdown", "Worst month",
                 "Correlation / beta to equity_index", "Compliance breaches"):  # fmt: skip
        assert line in text
    names = {p.name for p in runs[0].iterdir()}
    assert {"nav.csv", "weights.csv", "holdings.parquet", "trades.csv", "compliance.csv",
            "metrics.json", "nav_vs_equity.png", "strategy_weights.png"} <= names  # fmt: skip
    assert (runs[0] / "nav.csv").read_bytes() == (runs[1] / "nav.csv").read_bytes()
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["compliance_breaches"] == 0
    weights = pd.read_csv(runs[0] / "weights.csv", index_col=0)
    assert list(weights.columns) == ["carry", "vol_premium", "trend", "equity_market_neutral"]
    png = (runs[0] / "nav_vs_equity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[strategies]]\nname = "no_such_strategy"\n', "unknown strategy 'no_such_strategy'"),
        ("[fund]\ncreation_unit_shares = 0\n", "creation unit must be > 0"),
        ("[fund\n", "not valid TOML"),
        ('[allocator]\nmethod = "magic"\n', "[allocator] method: must be one of"),
    ],
)
def test_bad_config_exits_2_and_writes_nothing(tmp_path, capsys, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["backtest", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_defensive_overlay_moves_to_cash_when_vix_spikes(synthetic_5y):
    from allocator import Defensive
    from backtest.fund.spec import AllocatorSpec, MarketSpec, StrategySpec

    spec = FundSpec(
        market=MarketSpec(start="2015-01-02", end="2019-12-31"),
        strategies=(StrategySpec("trend"), StrategySpec("rates_carry")),
        allocator=AllocatorSpec(defensive={"vix_above": 30.0, "vix_below": 20.0}),
    )
    run = run_fund(spec, synthetic_5y)
    vix = synthetic_5y.index["VIX"]
    assert vix.max() > 30  # the window has a spike
    gross = run.weights.sum(axis=1)
    spike = vix.index[np.argmax(vix.to_numpy() > 30)]
    after = run.weights.index[run.weights.index.get_loc(spike) + 1]
    # the day after VIX closes above 30, weights are cut to 10% of normal
    assert gross[after] < 0.15 * gross[:spike].iloc[-60:].mean()
    from backtest.fund.spec import build_allocator

    assert isinstance(build_allocator(spec.allocator), Defensive)


# ------------------------------------------------------------------ launch and warm-up
def _launch_vs_steady(run, days=60):
    """(max in the first ``days`` from the first weighted day, steady-state 95th percentile)
    of total weight and of gross leverage (Σ|notional| / net assets)."""
    nav = run.nav
    total = run.weights.reindex(nav.index).fillna(0.0).sum(axis=1)
    gross = run.result.notionals.abs().sum(axis=1) / nav["net_assets"]
    i0 = int(np.flatnonzero(total.to_numpy() > 0)[0])
    launch, steady = slice(i0, i0 + days), slice(i0 + TRADING_DAYS_PER_YEAR, None)
    return {name: (s.iloc[launch].max(), s.iloc[steady].quantile(0.95))
            for name, s in (("total weight", total), ("gross leverage", gross))}  # fmt: skip


def test_launch_every_sleeve_live_and_no_leverage_spike(default_run):
    run = default_run
    assert run.market.start == pd.Timestamp("2007-01-03")  # after two years of history
    assert run.history.start == pd.Timestamp("2005-01-03")
    assert (run.weights.iloc[0] > 0.05).all()  # every sleeve is live on the first day
    assert run.nav["cash"].iloc[0] == run.nav["net_assets"].iloc[0]  # the books start in cash
    for name, (first, p95) in _launch_vs_steady(run).items():
        assert 0 < first <= p95 + 1e-9, (name, first, p95)
    # another way, before the simulator: the gross of the fund's targets (fraction of net
    # assets), and the holdings table's notionals against the simulated gross
    target_gross = run.targets.abs().sum(axis=1)
    assert target_gross.iloc[:60].max() <= target_gross.iloc[252:].quantile(0.95) + 1e-9
    day = run.nav.index[30]
    held = run.result.holdings
    notional = held.loc[held["date"] == day, "notional_usd"].abs().sum()
    assert notional / run.nav.at[day, "net_assets"] == pytest.approx(
        _launch_vs_steady(run, days=31)["gross leverage"][0], rel=0.25
    )


def test_without_look_back_the_sleeves_ramp_in_without_a_spike(synthetic_20y):
    """No history before the first day: each sleeve enters when its track record is long enough,
    and reaches its weight over ``ramp_days``; neither the launch nor a sleeve coming online
    lifts total weight or gross leverage above the steady state's 95th percentile."""
    spec = dataclasses.replace(FundSpec.from_toml(DEFAULT_CONFIG), inception=None)
    run = run_fund(spec, synthetic_20y)
    for name, (first, p95) in _launch_vs_steady(run).items():
        assert 0 < first <= p95 + 1e-9, (name, first, p95)
    w = run.weights
    for sleeve in w.columns:  # its first weight is a fraction of its weight a quarter later
        k = int(np.flatnonzero(w[sleeve].to_numpy() > 0)[0])
        assert w[sleeve].iloc[k] < 0.5 * w[sleeve].iloc[k + 63 : k + 126].median(), sleeve


def test_the_defensive_spec_has_the_overlays_parameters_and_defaults():
    import dataclasses

    import allocator as al
    from backtest.fund.spec import DefensiveSpec

    overlay = {f.name: f.default for f in dataclasses.fields(al.Defensive) if f.name != "inner"}
    assert dataclasses.asdict(DefensiveSpec()) == overlay


def test_attribution_adds_up_and_leaves_a_residual_under_1pct_a_year(default_run):
    """Issue 15: the strategies are credited with the weights the fund held after the
    pre-trade limits' whole-book scaling; the items add up to the change in net assets less
    flows on every day, and what they leave unexplained averages under 1% a year."""
    run = default_run
    folder = from_run(run, {}, "default")
    pnl = strategy_pnl(folder)
    nav = run.nav
    change = (nav["net_assets"].diff() - nav["flow_value"]).fillna(0.0)
    np.testing.assert_allclose(pnl.sum(axis=1), change, rtol=0, atol=1e-6)
    # the limits scaled the book on many days (gross leverage held at 6 × 0.9 headroom)
    scale = run.limit_scale
    assert (scale < 1).sum() > 1000 and scale.between(0, 1).all()
    np.testing.assert_allclose(
        held_weights(folder), run.weights.mul(scale, axis=0), rtol=0, atol=1e-15
    )
    _, by_year = attribution_tables(pnl, nav["net_assets"])
    residual = by_year["implementation (residual)"].drop("Since inception")
    assert residual.abs().mean() < 0.01
    # crediting the allocator's weights before the limits' scaling leaves a residual over 2%
    unscaled = strategy_pnl(dataclasses.replace(folder, limit_scale=None))
    _, before = attribution_tables(unscaled, nav["net_assets"])
    assert before["implementation (residual)"].drop("Since inception").abs().mean() > 0.02


def test_combine_by_hand_with_signed_zeros_and_a_missing_instrument():
    """Σ_s weight_s × exposure_s on the union of columns (sorted), in the order of the
    strategies, an instrument a strategy does not hold counting as 0 × its weight (so signed
    zeros come out as the dense sum makes them)."""
    idx = pd.bdate_range("2024-01-01", periods=3)
    a = pd.DataFrame({"X": [1.0, -2.0, -1.0], "Y": [0.5, 0.0, 2.0]}, index=idx)
    b = pd.DataFrame({"Z": [4.0, 1.0, 0.0]}, index=idx)
    w = pd.DataFrame({"a": [0.5, 0.0, 1.0], "b": [0.25, -1.0, 2.0]}, index=idx)
    got = combine({"a": a, "b": b}, w)
    assert list(got.columns) == ["X", "Y", "Z"] and got.index.equals(idx)
    expected = np.array([[0.5, 0.25, 1.0], [0.0, 0.0, -1.0], [-1.0, 2.0, 0.0]])
    assert np.array_equal(got.to_numpy(), expected)
    # row 1: X = (-2 × 0.0) + (0 × -1) = -0.0 + -0.0 = -0.0; Y = (0 × 0.0) + (0 × -1) = +0.0
    assert np.signbit(got.at[idx[1], "X"]) and not np.signbit(got.at[idx[1], "Y"])


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_live_stream_starts_the_row_the_first_position_is_traded(lag):
    """NaN before the first traded position (a NaN exposure is none), the stream from then
    on, by hand: exposures first non-zero on row 22 (column b; column a is NaN until 25)."""
    rows = 40
    x = pd.DataFrame(0.0, index=range(rows), columns=["a", "b"])
    x.iloc[:25, 0] = np.nan
    x.iloc[22, 1] = 0.5
    stream = pd.Series(np.arange(1.0, rows + 1.0))
    got = live_stream(stream, x, lag)
    first = 22 + lag
    assert got.iloc[:first].isna().all() and got.iloc[first:].equals(stream.iloc[first:])
    assert live_stream(stream.iloc[:2], x.iloc[:2], 3).isna().all()  # never traded yet


def test_runs_on_one_market_share_their_solves_and_give_the_same_fund(monkeypatch):
    """A second run on the same market with another volatility target takes every risk budget
    from the first run's (the strategy returns and the look-back are the same): not one solve,
    and the fund is the one a fresh market gives, bit for bit. Another look-back solves anew."""

    def market():
        return synthetic_market(seed=7, start="2015-01-02", end="2019-12-31")

    spec = FundSpec.from_toml(DEFAULT_CONFIG)
    other = dataclasses.replace(
        spec, allocator=dataclasses.replace(spec.allocator, vol_target_annual=0.10)
    )
    shared = market()
    run_fund(spec, shared)
    solved = len(shared.cached((SOLVES_KEY,), dict))
    assert solved >= 40  # ~monthly over 4 years of look-back-eligible dates
    want = run_fund(other, market())
    calls = []
    real = risk.erc_weights
    monkeypatch.setattr(risk, "erc_weights", lambda cov: calls.append(1) or real(cov))
    got = run_fund(other, shared)
    assert calls == []
    pd.testing.assert_frame_equal(got.weights, want.weights, check_exact=True)
    pd.testing.assert_frame_equal(got.nav, want.nav, check_exact=True)
    longer = dataclasses.replace(
        spec, allocator=dataclasses.replace(spec.allocator, lookback_days=378)
    )
    run_fund(longer, shared)
    assert len(calls) >= 30 and len(shared.cached((SOLVES_KEY,), dict)) == solved + len(calls)
