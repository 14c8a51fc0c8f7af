"""The substitute basket's IIV and files: with the actual weights the basket's IIV is the full
portfolio's at every tick; the real basket's IIV at the close stays near NAV per share; the
files say what the basket is."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.analytics import substitute_basket as sb
from backtest.cli import main
from backtest.engine.config import FundConfig
from backtest.engine.simulator import simulate
from backtest.fund import basket as fb
from backtest.fund.run import run_fund
from backtest.fund.spec import FundSpec
from backtest.market.returns import instrument_returns
from backtest.ops import basket as bk
from backtest.ops import state as st
from backtest.ops.iiv import DisclosedPortfolio, iiv_per_share, session_ticks, simulate_intraday
from backtest.synthetic.build import synthetic_market

FUTURES = ["ES", "FESX", "ZN", "FGBL", "CL", "VX", "SR3"]
FORWARDS = ["FWD-EUR-1M", "FWD-JPY-1M", "FWD-AUD-1M"]
LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=7, start="2018-01-02", end="2019-06-28")


@pytest.fixture(scope="module")
def result(market):
    """Weekly trades in futures (USD and EUR), forwards and equities, longs and shorts."""
    cal = market.calendar
    rng = np.random.default_rng(3)
    eq = market.ids(["equity"])[:25] + ["SPY"]
    ids = FUTURES + FORWARDS + eq
    weekly = np.r_[True, cal.day_of_week[1:] < cal.day_of_week[:-1]]
    tg = pd.DataFrame(np.nan, index=cal, columns=ids)
    tg.loc[weekly, FUTURES + FORWARDS] = rng.normal(0.0, 0.1, (weekly.sum(), 10))
    tg.loc[weekly, eq] = rng.normal(0.0, 0.03, (weekly.sum(), len(eq)))
    return simulate(market, tg, FundConfig())


def actual_weights(port: DisclosedPortfolio) -> pd.Series:
    h = port.holdings.set_index("instrument")
    return h["notional_usd"] / port.net_assets_usd


def intraday(market, result, port, t, seed):
    """Brownian-bridge prices from the last close to ``t``'s close for every holding, and FX."""
    ticks = session_ticks(market.calendar[t])
    h = port.holdings.set_index("instrument")
    ids = pd.Index(result.inputs.ids)
    close = pd.Series(result.inputs.arrays["price"][t][ids.get_indexer(h.index)], index=h.index)
    prices = simulate_intraday(h["price"], close, ticks, 0.2, seed)
    ccys = [c for c in market.fx.columns if c != "USD"]
    fx0 = market.fx[ccys].iloc[t - 1]
    fx = simulate_intraday(fx0, market.fx[ccys].iloc[t], ticks, 0.1, seed + 1)
    return prices, fx


def test_basket_equal_to_the_holdings_has_the_full_iiv_at_every_tick(market, result):
    for t in (20, 150, 300):
        port = DisclosedPortfolio.from_result(result, market, market.calendar[t])
        kinds = set(port.holdings["kind"])
        assert {"equity", "currency_forward", "equity_index_future"} <= kinds
        prices, fx = intraday(market, result, port, t, seed=t)
        full = iiv_per_share(port, prices, fx)
        mine = bk.basket_iiv_per_share(port, actual_weights(port), prices, fx)
        assert np.allclose(mine.to_numpy(), full.to_numpy(), rtol=1e-12, atol=0)
        assert mine.index.equals(full.index) and len(mine) == 1561


def test_empty_basket_is_flat_at_the_opening_net_assets_and_foreign_names_are_refused(
    market, result
):
    t = 100
    port = DisclosedPortfolio.from_result(result, market, market.calendar[t])
    prices, fx = intraday(market, result, port, t, seed=1)
    flat = bk.basket_iiv_per_share(port, pd.Series(dtype=float), prices, fx)
    assert (flat == port.net_assets_usd / port.shares_outstanding).all()
    with pytest.raises(ValueError, match="not held"):
        bk.basket_iiv_per_share(port, pd.Series({"NOPE": 0.1}), prices, fx)


def test_basket_iiv_at_the_close_is_within_the_stated_distance_of_nav(market, result):
    """Stated distance: at the close, |basket IIV / NAV per share − 1| is the basket's tracking
    difference for the day; it is below 4 × the day's ex-ante daily tracking error on at least
    95% of days and below 1% on every day."""
    spec = sb.SubstituteBasketSpec()
    ids = list(result.inputs.ids)
    returns = instrument_returns(market, ids)
    nav = result.nav
    inside, days = 0, 0
    for t in range(130, len(market.calendar), 3):
        port = DisclosedPortfolio.from_result(result, market, market.calendar[t])
        w = actual_weights(port)
        window = returns[w.index].iloc[t - spec.cov_lookback_days : t].to_numpy()  # up to t-1
        cov = sb.shrunk_covariance(window, spec.shrinkage)
        ok = np.ones(len(w), dtype=bool)
        b = pd.Series(sb.build_basket(w.to_numpy(), cov, ok, spec, market.calendar[t - 1]),
                      index=w.index)  # fmt: skip
        tick = [market.calendar[t]]
        a = result.inputs.arrays
        j = pd.Index(ids).get_indexer(w.index)
        prices = pd.DataFrame([a["price"][t][j]], index=tick, columns=w.index)
        fx = pd.DataFrame([market.fx.iloc[t]], index=tick)
        nav_ps = nav["net_assets"].iloc[t] / nav["shares_outstanding"].iloc[t]
        full = iiv_per_share(port, prices, fx).iloc[-1]
        basket = bk.basket_iiv_per_share(port, b, prices, fx).iloc[-1]
        assert full == pytest.approx(nav_ps, rel=1e-4)  # forwards: approximated (iiv.py)
        gap = basket / nav_ps - 1.0
        assert abs(gap) < 0.01
        te_daily = sb.tracking_error(b.to_numpy(), w.to_numpy(), cov) / np.sqrt(252)
        inside += abs(gap) <= 4.0 * te_daily
        days += 1
    assert days > 80 and inside / days >= 0.95, (inside, days)


def test_files_say_what_the_basket_is(tmp_path):
    lines = bk.basket_lines(pd.Series({"ZN": -0.2, "AAA": 0.1, "B": 0.0}),
                            pd.Series({"ZN": "bond_future", "AAA": "equity"}))  # fmt: skip
    assert lines == [("AAA", "equity", 0.1), ("ZN", "bond_future", -0.2)]
    bk.write_basket_files(tmp_path, "2024-03-05", "2024-03-04", lines, 0.93)
    csv = (tmp_path / "substitute_basket_2024-03-05.csv").read_text()
    assert csv.splitlines() == [
        "for_date,valued_at,instrument,kind,weight,overlap",
        "2024-03-05,2024-03-04,AAA,equity,0.1,0.93",
        "2024-03-05,2024-03-04,ZN,bond_future,-0.2,0.93",
    ]
    doc = json.loads((tmp_path / "substitute_basket_2024-03-05.json").read_text())
    assert doc["overlap"] == 0.93 and doc["instruments"] == 2
    assert doc["basket"][1] == {"instrument": "ZN", "kind": "bond_future", "weight": -0.2}


# ------------------------------------------------------------------------------ nightly
def _semi_transparent_fund(folder: Path) -> Path:
    """The built-in fund on 2015–2016, books from 2016-01-04, publishing substitute baskets."""
    text = LALT.read_text().replace('start = "2005-01-03"', 'start = "2015-01-02"')
    text = text.replace('end = "2024-12-31"', 'end = "2016-12-30"')
    text = text.replace('inception = "2007-01-03"', 'inception = "2016-01-04"')
    config = folder / "fund.toml"
    config.write_text(text + '\n[disclosure]\npolicy = "substitute_basket"\n')
    return config


def test_nightly_publishes_the_backtests_basket_beside_the_disclosed_portfolio(tmp_path):
    config = _semi_transparent_fund(tmp_path)
    state, out = tmp_path / "s.sqlite", tmp_path / "out"
    asof = "2016-02-29"
    code = main(["nightly", "--config", str(config), "--asof", asof, "--state", str(state),
                 "--out", str(out)])  # fmt: skip
    assert code in (0, 3)
    disclosed = sorted(p.name for p in out.glob("disclosed_portfolio_*.csv"))
    published = sorted(p.name for p in out.glob("substitute_basket_*.csv"))
    assert len(published) == len(disclosed) > 30
    assert [n.split("_")[-1] for n in published] == [n.split("_")[-1] for n in disclosed]
    # the backtest on the whole market publishes the same basket for the same day
    run = run_fund(FundSpec.from_toml(config))
    baskets = fb.fund_baskets(run)
    rows = fb.published_baskets(baskets, fb.instrument_kinds(baskets.series.weights.columns,
                                                             run.market))  # fmt: skip
    for name in published[:2] + published[5::10] + published[-1:]:
        day = pd.Timestamp(name.split("_")[-1][:10])
        got = pd.read_csv(out / name)
        want = rows.loc[[day]] if day in rows.index else rows.iloc[:0]
        assert list(got["instrument"]) == sorted(want["instrument"])
        if not len(want):  # the first day: the fund holds only cash
            continue
        w = want.set_index("instrument")
        assert np.array_equal(
            got["weight"].to_numpy(), w.loc[got["instrument"], "weight"].to_numpy()
        )
        assert (got["overlap"] == w["overlap"].iloc[0]).all()
        assert 0.70 <= got["overlap"].iloc[0] <= 0.95
        doc = json.loads((out / name.replace(".csv", ".json")).read_text())
        assert doc["overlap"] == got["overlap"].iloc[0] and doc["instruments"] == len(got)


def test_basket_files_are_kept_with_their_day_and_rewritten_when_missing(tmp_path):
    """The basket is stored with its day (same transaction, in the hash chain): deleted or
    never written files (a kill between the commit and the files) are re-written from the
    database byte for byte by the next run, the summary names them, and a changed stored
    weight breaks the chain at its day."""
    config = _semi_transparent_fund(tmp_path)
    state, out = tmp_path / "s.sqlite", tmp_path / "out"
    args = ["nightly", "--config", str(config), "--asof", "2016-01-29", "--state", str(state),
            "--out", str(out)]  # fmt: skip
    assert main(args) in (0, 3)
    files = sorted(out.glob("substitute_basket_*"))
    assert len(files) == 2 * 19  # 19 business days booked, a CSV and a JSON each
    before = {p.name: p.read_bytes() for p in files}
    lost = [files[0], files[7], files[-1]]
    for p in lost:
        p.unlink()
    assert main(args) == 0  # the day is stored: nothing to book, the files are re-written
    assert {p.name: p.read_bytes() for p in sorted(out.glob("substitute_basket_*"))} == before
    conn = st.connect(state)
    try:
        assert st.verify_chain(conn) is None
        days = conn.execute("SELECT valued_at, for_date FROM substitute_basket_days").fetchall()
        assert len(days) == 19
        last, for_date = max(days)
        summary = json.loads((out / f"summary_{last}.json").read_text())
        assert summary["substitute_basket"]["csv"] == f"substitute_basket_{for_date}.csv"
        day = days[10][0]
        conn.execute("UPDATE substitute_baskets SET weight = weight * 1.01 WHERE valued_at = ?",
                     (day,))  # fmt: skip
        conn.commit()
        assert st.verify_chain(conn) == day
    finally:
        conn.close()


def test_a_transparent_state_keeps_its_chain_across_the_basket_tables_migration(tmp_path):
    """Version 4 adds the basket tables; a day without basket rows hashes as in version 3, so a
    version 3 state (chain checked before its migration too) still verifies after it."""
    conn = st.connect(tmp_path / "s.sqlite")
    try:
        st.migrate(conn, 3)
        day = st.DayRows("2024-01-02", "2024-01-03", {"nav": [("2024-01-02", *range(23), 0)]})
        st.write_day(conn, day, "h", 1)
        chain = conn.execute("SELECT chain FROM days").fetchone()[0]
        assert "substitute_baskets" not in st.present_day_tables(conn)
        assert st.verify_chain(conn) is None
        assert st.migrate(conn) == st.SCHEMA_VERSION
        assert st.verify_chain(conn) is None
        assert st.day_hash(conn, "2024-01-02", "") == chain
    finally:
        conn.close()
