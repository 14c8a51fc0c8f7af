"""A semi-transparent fund: the ``[disclosure]`` config, the run's baskets (in the band every
day, no look-ahead against a cut market, figures recomputed another way), the premium/discount
model with the basket's hedge error, and the transparent default left as it was."""

import math

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import substitute_basket as sb
from backtest.errors import ConfigError
from backtest.fund import basket as fb
from backtest.fund.run import fund_metrics, run_fund
from backtest.fund.spec import DisclosureSpec, FundSpec
from backtest.market.instruments import InstrumentKind
from backtest.ops.disclosure import Snapshot, calendar_after, portfolio_columns
from backtest.report.outputs import write_run
from backtest.report.run_folder import extra_run_files, run_spec
from backtest.synthetic.build import synthetic_market

DOC = {
    "inception": "2016-01-04",
    "market": {"seed": 7, "start": "2015-01-02", "end": "2017-12-29"},
    "strategies": [{"name": "carry"}, {"name": "trend"}, {"name": "equity_market_neutral"}],
    "disclosure": {"policy": "substitute_basket", "basket": {"seed": 11}},
}


@pytest.fixture(scope="module")
def market():
    m = DOC["market"]
    return synthetic_market(seed=m["seed"], start=m["start"], end=m["end"])


@pytest.fixture(scope="module")
def run(market):
    return run_fund(FundSpec.from_dict(DOC), market)


@pytest.fixture(scope="module")
def baskets(run):
    return fb.fund_baskets(run)


# ------------------------------------------------------------------------------ config
def test_default_is_transparent_and_the_section_loads():
    assert not FundSpec().disclosure.semi_transparent
    spec = FundSpec.from_dict(DOC)
    assert spec.disclosure.semi_transparent and spec.disclosure.basket.seed == 11
    assert spec.disclosure.basket.eligible_kinds == tuple(InstrumentKind)
    kinds = {**DOC, "disclosure": {"basket": {"eligible_kinds": ["equity", "bond_future"]}}}
    got = FundSpec.from_dict(kinds).disclosure
    assert got.policy is sb.DisclosurePolicy.TRANSPARENT
    assert got.basket.eligible_kinds == (InstrumentKind.EQUITY, InstrumentKind.BOND_FUTURE)


@pytest.mark.parametrize(
    ("disclosure", "where", "match"),
    [
        ({"policy": "opaque"}, "[disclosure] policy", "must be one of"),
        ({"polcy": "transparent"}, "[disclosure] polcy", "did you mean 'policy'"),
        ({"basket": {"overlap_min": "high"}}, "[disclosure.basket] overlap_min", "a number"),
        ({"basket": {"overlap_min": 0.96}}, "[disclosure.basket]", "overlap_min <= overlap_max"),
        ({"basket": {"eligible_kinds": ["stock"]}}, "eligible_kinds", "must be one of"),
        ({"basket": {"cov_lookback_days": 0}}, "cov_lookback_days", "days"),
        ({"basket": {"guardrail_te_annual": 2.0}}, "[disclosure.basket]", "guardrail_te"),
        ({"basket": {"seed": 1.5}}, "[disclosure.basket] seed", "whole number"),
        ("yes", "[disclosure]", "must be a table"),
    ],
)
def test_bad_disclosure_config_names_the_key(disclosure, where, match):
    with pytest.raises(ConfigError) as info:
        FundSpec.from_dict({**DOC, "disclosure": disclosure}, source="fund.toml")
    text = str(info.value)
    assert "fund.toml" in text and where in text and match in text, text


def test_transparent_spec_json_is_unchanged_and_a_basket_spec_says_its_policy(run):
    plain = run_spec(type(run)(**{**run.__dict__, "spec": FundSpec()}))
    assert "disclosure" not in plain
    doc = run_spec(run)
    assert doc["disclosure"]["policy"] == "substitute_basket"
    assert doc["disclosure"]["basket"]["overlap_min"] == 0.7


# ------------------------------------------------------------------------------ the run
def test_every_day_is_in_the_band_and_names_only_holdings(baskets):
    s = baskets.summary
    held = s["n_holdings"] > 0
    assert held.sum() > 400
    ov = s.loc[held, "overlap"]
    assert ((ov >= 0.70) & (ov <= 0.95 + 1e-12)).all()
    w, b = baskets.series.actual, baskets.series.weights
    assert not (b.to_numpy()[w.to_numpy() == 0.0]).any()
    assert (s.loc[held, "n_basket"] < s.loc[held, "n_holdings"]).all()


def test_actual_weights_are_the_disclosed_portfolios_notionals(run, baskets):
    result = run.result
    _, after = calendar_after(result.inputs.dates)
    snap = Snapshot(result, run.market, after)
    for t in (5, 200, len(result.inputs.dates) - 1):
        p = portfolio_columns(snap, t)
        na = result.nav["net_assets"].iloc[t]
        lines = pd.Series(p["notional_usd"], index=p["instrument"]).drop("CASH&OTHER")
        got = baskets.series.actual.iloc[t]
        got = got[got != 0.0]
        assert set(got.index) == set(lines.index[lines != 0.0])
        assert np.allclose(got.sort_index(), (lines[got.index] / na).sort_index(), rtol=1e-12)


def test_no_look_ahead_a_run_on_the_market_cut_at_a_day_publishes_the_same_basket(
    market, run, baskets
):
    for day in (run.market.calendar[150], run.market.calendar[-60]):
        cut = run_fund(run.spec, market.until(day))
        mine = fb.basket_series(cut, rows=[len(cut.market.calendar) - 1])[0]
        full = baskets.series.weights.loc[day]
        got = mine.weights.iloc[0].reindex(full.index, fill_value=0.0)
        assert np.array_equal(got.to_numpy(), full.to_numpy())
        assert mine.summary["overlap"].iloc[0] == baskets.summary.loc[day, "overlap"]


def test_figures_recomputed_another_way(baskets):
    w, b, r = baskets.series.actual, baskets.series.weights, baskets.returns
    # tracking difference: the basket's return minus the holdings', each summed by hand
    t = 300
    day, prev = w.index[t], w.index[t - 1]
    rr = r.loc[day].fillna(0.0)
    expected = float((b.loc[prev] * rr).sum() - (w.loc[prev] * rr).sum())
    assert baskets.summary.loc[day, "tracking_difference"] == pytest.approx(expected, abs=1e-15)
    h = baskets.headline
    td = baskets.summary["tracking_difference"].dropna().to_numpy()
    te = math.sqrt(np.sum((td - td.mean()) ** 2) / (len(td) - 1) * 252)
    assert h["tracking_error_annual"] == pytest.approx(te, rel=1e-12)
    hits = baskets.summary["guardrail_hit"].dropna()
    assert h["guardrail_hit_rate"] == pytest.approx(hits.sum() / len(hits))
    assert h["r2_transparent_median_year"] == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < h["r2_basket_median_year"] < 1.0
    assert 0.70 <= h["overlap_min"] <= h["overlap_mean"] <= h["overlap_max"] <= 0.95 + 1e-12


def test_published_rows_are_for_the_next_business_day(run, baskets):
    rows = fb.published_baskets(baskets, fb.instrument_kinds(baskets.series.weights.columns,
                                                             run.market))  # fmt: skip
    cal = run.market.calendar
    t = 40
    mine = rows[rows["valued_at"] == cal[t]]
    assert (mine.index == cal[t + 1]).all()
    b = baskets.series.weights.iloc[t]
    assert dict(zip(mine["instrument"], mine["weight"], strict=True)) == b[b != 0.0].to_dict()
    assert (mine["overlap"] == baskets.summary["overlap"].iloc[t]).all()
    assert set(mine["kind"]) <= {k.value for k in InstrumentKind}


def test_premium_effect_scales_the_model_premium_by_the_closed_form_factor(run):
    nav = run.nav["nav_per_share"]
    effect = fb.premium_effect(nav, te_annual=0.02, seed=3)
    factor = math.hypot(10.0, 1e4 * 0.02 / math.sqrt(252)) / 10.0
    tr, bs = effect.loc["transparent"], effect.loc["substitute_basket"]
    # the same draws: the AR(1) premium is linear in its noise, so its std scales exactly
    assert bs["premium_std_bp"] == pytest.approx(factor * tr["premium_std_bp"], rel=1e-12)
    assert bs["days_beyond_25bp_pct"] >= tr["days_beyond_25bp_pct"]
    same = fb.premium_effect(nav, te_annual=0.0, seed=3)
    assert same.loc["transparent"].equals(same.loc["substitute_basket"])


def test_run_folder_tables_only_for_a_semi_transparent_fund(run):
    files = extra_run_files(run)
    assert {"substitute_basket_summary.csv", "substitute_basket_scores.csv",
            "substitute_baskets.csv"} <= set(files)  # fmt: skip
    plain = type(run)(**{**run.__dict__, "spec": FundSpec(disclosure=DisclosureSpec())})
    assert not any(name.startswith("substitute") for name in extra_run_files(plain))


def test_a_transparent_disclosure_section_writes_the_same_bytes_as_none(market, tmp_path):
    """Whatever its basket parameters, a transparent fund writes the run folder a config
    without ``[disclosure]`` writes (the default run's files stay byte-identical)."""
    plain = {k: v for k, v in DOC.items() if k != "disclosure"}
    section = {"policy": "transparent", "basket": {"seed": 5, "overlap_min": 0.8}}
    folders = []
    for i, doc in enumerate((plain, {**plain, "disclosure": section})):
        run = run_fund(FundSpec.from_dict(doc), market)
        out = write_run(run, tmp_path / str(i) / "run", fund_metrics(run), report=False)
        folders.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert folders[0].keys() == folders[1].keys()
    assert not any(name.startswith("substitute") for name in folders[0])
    assert all(folders[0][name] == folders[1][name] for name in folders[0])
