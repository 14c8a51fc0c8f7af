"""``multistrat nightly``: equal to the backtest, idempotent, durable under kill -9, strict on
bad input (exit 2, state untouched), refusing concurrent runs and foreign state (exit 4).

A short LALT-like fund (examples/lalt.toml on a 2015–2016 synthetic market) keeps it fast.
"""

import dataclasses
import fcntl
import hashlib
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.cli import main
from backtest.engine.simulator import simulate
from backtest.fund.run import run_fund
from backtest.fund.spec import FundSpec
from backtest.ops import disclosure as ds
from backtest.ops import nightly
from backtest.ops import state as st

LALT = Path(__file__).resolve().parents[3] / "examples" / "lalt.toml"
START, END = "2015-01-02", "2016-12-30"
EXACT_NAV = ["nav_per_share", "nav_per_share_5dp", "shares_outstanding"]


def write_config(path: Path, *edits: tuple[str, str]) -> Path:
    text = LALT.read_text().replace('start = "2005-01-03"', f'start = "{START}"')
    text = text.replace('inception = "2007-01-03"\n', "")  # no look-back window (see below)
    text = text.replace('end = "2024-12-31"', f'end = "{END}"')
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def run(capsys, config, asof, state, out, *extra) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["nightly", "--config", str(config), "--asof", str(asof), "--state", str(state),
                         "--out", str(out), *map(str, extra)])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def day_tables(state: Path) -> dict[str, pd.DataFrame]:
    conn = st.connect(state, readonly=True)
    try:
        out = {t: st.read_table(conn, t) for t in st.DAY_TABLES}
        out["days"] = st.read_table(conn, "days")[["date", "next_date", "config_hash"]]
        return out
    finally:
        conn.close()


def out_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name[:7] != "summary"}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("cfg") / "fund.toml")


@pytest.fixture(scope="module")
def backtest(config):
    """What ``multistrat backtest`` computes on the config's whole market."""
    return run_fund(FundSpec.from_toml(config))


@pytest.fixture(scope="module")
def calendar(backtest) -> pd.DatetimeIndex:
    return backtest.result.nav.index


@pytest.fixture(scope="module")
def booked(tmp_path_factory, config, calendar):
    """A state caught up to 2016-06-16, then run day by day for the next 10 business days."""
    root = tmp_path_factory.mktemp("booked")
    state, out = root / "s.sqlite", root / "out"
    end = calendar.get_loc(pd.Timestamp("2016-06-30"))
    assert main(["nightly", "--config", str(config), "--asof", f"{calendar[end - 10]:%Y-%m-%d}",
                         "--state", str(state), "--out", str(out)]) == 0  # fmt: skip
    for t in range(end - 9, end + 1):
        assert main(["nightly", "--config", str(config), "--asof", f"{calendar[t]:%Y-%m-%d}",
                             "--state", str(state), "--out", str(out)]) == 0  # fmt: skip
    return state, out, calendar[end - 59 : end + 1]


# ------------------------------------------------------------------ equal to the backtest
def test_nightly_equals_the_backtest_over_60_business_days(booked, backtest):
    state, _, window = booked
    tables = day_tables(state)
    nav = tables["nav"].set_index(pd.DatetimeIndex(tables["nav"]["date"])).loc[window]
    ref = backtest.result.nav.loc[window]
    for col in EXACT_NAV:  # published (cent) and dealing (5 dp) NAV: identical
        assert (nav[col] == ref[col]).all(), col
    for col in st.NAV_FIELDS:  # costs/pnl are sums over instruments: rounding differs by 1e-9
        np.testing.assert_allclose(nav[col], ref[col], rtol=1e-12, atol=1e-6, err_msg=col)
    assert (nav["cash_shortfall"].astype(bool) == ref["cash_shortfall"]).all()
    days = [f"{d:%Y-%m-%d}" for d in window]
    held = tables["holdings"][tables["holdings"]["date"].isin(days)].reset_index(drop=True)
    want = backtest.result.holdings[backtest.result.holdings["date"].isin(window)]
    want = want.assign(date=want["date"].dt.strftime("%Y-%m-%d"))
    want = want.sort_values(["date", "instrument"]).reset_index(drop=True)
    assert len(held) > 60 * 30
    pd.testing.assert_frame_equal(held, want[held.columns], check_exact=True, check_dtype=False)
    trades = tables["trades"][tables["trades"]["booked"].isin(days)]
    bt = backtest.result.trades[backtest.result.trades["booked"].isin(window)]
    assert len(trades) == len(bt) > 0
    np.testing.assert_array_equal(trades["quantity"], bt.sort_values(["booked", "instrument"])
                                  ["quantity"])  # fmt: skip
    limits = tables["limit_checks"]
    comp = backtest.compliance[backtest.compliance["date"] <= window[-1]]
    assert len(limits) == len(comp) and limits["breach"].sum() == comp["breach"].sum()


def test_orders_are_the_next_days_trades_and_the_disclosure_its_holdings(booked, backtest):
    state, _, _ = booked
    tables = day_tables(state)
    result = backtest.result
    trades = result.trades.assign(date=result.trades["date"].dt.strftime("%Y-%m-%d"))
    orders = tables["orders"].assign(
        signed=lambda o: np.where(o["side"] == "buy", o["quantity"], -o["quantity"])
    )
    # purchases scaled to the cash of day+1 (cash_shortfall) are not knowable the day before
    last = pd.Timestamp(orders["for_date"].max())
    days = [f"{d:%Y-%m-%d}" for d in result.nav.index[1:] if d <= last]
    days = [d for d in days if not result.nav.loc[d, "cash_shortfall"]]
    assert len(days) > 300
    got = orders[orders["for_date"].isin(days)].set_index(["for_date", "instrument"])["signed"]
    done = trades[trades["date"].isin(days)].set_index(["date", "instrument"])["quantity"]
    assert len(done) > 2000
    pd.testing.assert_series_equal(got.sort_index(), done.sort_index(), check_names=False,
                                   check_exact=True)  # fmt: skip
    dp = tables["disclosed_portfolios"]
    lines = dp[dp["instrument"] != ds.CASH_LINE]
    for day, g in lines.groupby("for_date"):
        q = result.quantities.loc[day]
        expiring = [c for c in g["instrument"] if c.startswith("SPX-") and c[4:14] == day]
        got = g.set_index("instrument")["quantity"].drop(expiring).sort_index()
        pd.testing.assert_series_equal(got, q[q != 0].sort_index(), check_names=False)
    # each book's lines (cash line included) add up to its net assets
    nav = tables["nav"].set_index("date")
    by_book = dp.groupby(["valued_at", "book"])["market_value"].sum().unstack()
    sub = nav.loc[by_book.index, "subsidiary_net_assets"]
    np.testing.assert_allclose(by_book["subsidiary"].fillna(0.0), sub, atol=1e-4)
    np.testing.assert_allclose(by_book["fund"], nav.loc[by_book.index, "net_assets"] - sub,
                               atol=1e-4)  # fmt: skip


NO_BUFFERS = (
    ("no_trade_buffer_pct_nav = 0.002", "no_trade_buffer_pct_nav = 0.0"),
    ("no_trade_buffer_pct_position = 0.15", "no_trade_buffer_pct_position = 0.0"),
)


@pytest.mark.parametrize("edits", [NO_BUFFERS, ()], ids=["without buffers", "with the buffers"])
def test_orders_equal_next_day_trades(tmp_path, capsys, calendar, edits):
    """The orders replicate the kernel's sizing, with or without the no-trade buffers (the
    built-in fund's: a fraction of net assets, 15% of the position scaled by each instrument's
    cost, trades to the band's edge)."""
    cfg = write_config(tmp_path / "f.toml", *edits)
    code, _, _ = run(capsys, cfg, "2015-12-31", tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 0
    result = run_fund(FundSpec.from_toml(cfg)).result
    orders = day_tables(tmp_path / "s.sqlite")["orders"]
    assert len(orders) > 1000
    nav = result.nav.loc[: pd.Timestamp(orders["for_date"].max())].iloc[1:]
    days = nav.index[~nav["cash_shortfall"].to_numpy()]
    signed = np.where(orders["side"] == "buy", orders["quantity"], -orders["quantity"])
    got = pd.Series(signed, index=pd.MultiIndex.from_arrays(
        [pd.DatetimeIndex(orders["for_date"]), orders["instrument"]])).sort_index()  # fmt: skip
    got = got[got.index.get_level_values(0).isin(days)]
    trades = result.trades[result.trades["date"].isin(days)]
    want = trades.set_index(["date", "instrument"])["quantity"].sort_index()
    pd.testing.assert_series_equal(got, want, check_names=False, check_index_type=False)


def test_last_day_creation_orders_are_received_as_in_a_longer_run(backtest):
    """The day's creation/redemption order (an in-kind one here) is booked, priced and sized
    into the next day's orders exactly as the full run does."""
    result, market = backtest.result, backtest.market
    flows = result.flows[result.flows["kind"] == "in_kind"]
    assert len(flows)
    day = flows["date"].iloc[0]
    part = simulate(market.until(day), backtest.targets.loc[:day], result.config)
    pd.testing.assert_frame_equal(part.flows, result.flows[result.flows["date"] <= day])
    pd.testing.assert_frame_equal(part.nav, result.nav.loc[:day])
    nxt, after = ds.calendar_after(part.inputs.dates)
    snap = ds.Snapshot(part, market.until(day), after)
    t = len(part.nav) - 1
    orders = ds.next_orders(snap, t)
    signed = np.where(orders["side"] == "buy", orders["quantity"], -orders["quantity"])
    traded = result.trades[result.trades["date"] == nxt[t]].set_index("instrument")["quantity"]
    assert dict(zip(orders["instrument"], signed, strict=True)) == traded.to_dict()
    port = ds.disclosed_portfolio(snap, t).set_index("instrument")["quantity"]
    q = result.quantities.loc[nxt[t]]
    assert port.drop(ds.CASH_LINE).sort_index().equals(q[q != 0].sort_index())


# ------------------------------------------------------------------ idempotency and --force
def test_second_run_changes_nothing_and_rewrites_missing_files(booked, tmp_path, capsys, config):
    state, out, window = booked
    shutil.copytree(out, tmp_path / "out")
    shutil.copy(state, tmp_path / "s.sqlite")
    before = digest(tmp_path / "s.sqlite")
    files = out_files(tmp_path / "out")
    victim = ds.file_names(f"{window[-1]:%Y-%m-%d}")["disclosure_json"]
    (tmp_path / "out" / victim).unlink()
    code, text, _ = run(capsys, config, window[-1].date(), tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 0 and "already stored" in text and "re-wrote 1" in text
    assert digest(tmp_path / "s.sqlite") == before
    assert out_files(tmp_path / "out") == files


def test_force_replaces_the_day_in_one_go(booked, tmp_path, capsys, config):
    state, out, window = booked
    shutil.copy(state, tmp_path / "s.sqlite")
    asof = f"{window[-1]:%Y-%m-%d}"
    conn = st.connect(tmp_path / "s.sqlite")
    with st.transaction(conn):  # a damaged day: wrong NAV, a holding lost
        conn.execute("UPDATE nav SET nav_per_share = 1.0 WHERE date = ?", (asof,))
        conn.execute("DELETE FROM holdings WHERE date = ? AND instrument = 'ES'", (asof,))
    code, _, err = run(capsys, config, asof, tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 4 and f"stored day {asof} does not match the hash chain" in err
    assert day_tables(tmp_path / "s.sqlite")["nav"].iloc[-1]["nav_per_share"] == 1.0
    code, text, _ = run(capsys, config, asof, tmp_path / "s.sqlite", tmp_path / "out", "--force")
    assert code == 0 and "booked 1 business day" in text
    fixed, good = day_tables(tmp_path / "s.sqlite"), day_tables(state)
    for table in st.DAY_TABLES:
        pd.testing.assert_frame_equal(fixed[table], good[table])
    conn = st.connect(tmp_path / "s.sqlite", readonly=True)
    assert st.check_consistency(conn, list(fixed["days"]["date"])) == []
    runs = conn.execute("SELECT run_id FROM days WHERE date = ?", (asof,)).fetchone()[0]
    assert runs == conn.execute("SELECT MAX(id) FROM runs").fetchone()[0] > 1


def test_another_config_is_refused_then_rebuilt_with_force(booked, tmp_path, capsys):
    state, _, window = booked
    shutil.copy(state, tmp_path / "s.sqlite")
    before = digest(tmp_path / "s.sqlite")
    other = write_config(tmp_path / "other.toml",
                         ("expense_ratio = 0.0095", "expense_ratio = 0.0075"))  # fmt: skip
    asof = f"{window[-1]:%Y-%m-%d}"
    code, _, err = run(capsys, other, asof, tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 4 and "different config" in err and "--force" in err
    assert digest(tmp_path / "s.sqlite") == before
    code, _, err = run(capsys, other, asof, tmp_path / "s.sqlite", tmp_path / "out",
                       "--inception", "2015-02-02")  # fmt: skip
    assert code == 4 and "inception" in err
    code, text, _ = run(capsys, other, asof, tmp_path / "s.sqlite", tmp_path / "out", "--force")
    assert code == 0 and "rebuilt from inception" in text
    new, old = day_tables(tmp_path / "s.sqlite"), day_tables(state)
    assert len(new["nav"]) == len(old["nav"])
    assert new["nav"]["nav_per_share_5dp"].iloc[-1] > old["nav"]["nav_per_share_5dp"].iloc[-1]
    assert new["days"]["config_hash"].nunique() == 1
    assert new["days"]["config_hash"].iloc[0] != old["days"]["config_hash"].iloc[0]


def reseal(conn) -> None:
    """Recompute the hash chain (a history revised consistently, not damaged)."""
    previous = ""
    for (date,) in conn.execute("SELECT date FROM days ORDER BY date").fetchall():
        previous = st.day_hash(conn, date, previous)
        conn.execute("UPDATE days SET chain = ? WHERE date = ?", (previous, date))


@pytest.mark.parametrize(
    ("revision", "refused"),
    [
        ("UPDATE nav SET nav_per_share_5dp = nav_per_share_5dp + 0.01 WHERE date = :last", True),
        ("UPDATE nav SET net_assets = net_assets * (1 + 1e-8) WHERE date = :first", True),
        ("UPDATE nav SET shares_outstanding = shares_outstanding + 1 WHERE date = :middle", True),
        ("UPDATE nav SET nav_per_share = nav_per_share * (1 + 1e-15) WHERE date = :middle", True),
        ("DELETE FROM nav WHERE date = :middle", True),
        ("UPDATE nav SET net_assets = net_assets * (1 + 1e-12) WHERE date = :middle", False),
    ],
)
def test_a_revised_history_is_a_state_problem(
    revision, refused, booked, tmp_path, capsys, config, calendar
):
    """Any stored day's NAV per share, 5-dp NAV or shares not reproduced to the bit, its net
    assets not to 1e-9, or its row missing: exit 4 and nothing written; within 1e-9: booked."""
    state, _, window = booked
    shutil.copy(state, tmp_path / "s.sqlite")
    conn = st.connect(tmp_path / "s.sqlite")
    days = {"first": window[0], "middle": window[len(window) // 2], "last": window[-1]}
    with st.transaction(conn):
        conn.execute(revision, {k: f"{d:%Y-%m-%d}" for k, d in days.items()})
        reseal(conn)
    before = digest(tmp_path / "s.sqlite")
    nxt = calendar[calendar.get_loc(window[-1]) + 1]
    code, _, err = run(capsys, config, nxt.date(), tmp_path / "s.sqlite", tmp_path / "out")
    if refused:
        assert code == 4 and "recomputed NAV" in err, err
        assert digest(tmp_path / "s.sqlite") == before
    else:
        assert code == 0, err


def test_weekend_asof_books_up_to_the_friday(booked, tmp_path, capsys, config):
    state, _, window = booked
    shutil.copy(state, tmp_path / "s.sqlite")
    code, text, _ = run(capsys, config, "2016-07-03", tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 0 and "2016-07-01..2016-07-01" in text  # Friday, before the July 4 holiday
    assert day_tables(tmp_path / "s.sqlite")["days"]["next_date"].iloc[-1] == "2016-07-05"
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"orders_2016-07-05.csv", "disclosed_portfolio_2016-07-05.json"} <= files


def test_a_breached_limit_exits_3_with_everything_booked(tmp_path, capsys):
    # the compliance cap below the Subsidiary's 15% target: breached at most quarter-ends
    cfg = write_config(tmp_path / "f.toml", ("subsidiary_cap = 0.25", "subsidiary_cap = 0.10"))
    code, text, _ = run(capsys, cfg, "2016-03-30", tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 3 and "LIMIT BREACH on 4 day(s) (last 2015-12-31): subsidiary_cap" in text
    code, text, _ = run(capsys, cfg, "2016-03-31", tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 3 and "LIMIT BREACH on 1 day(s) (last 2016-03-31)" in text
    tables = day_tables(tmp_path / "s.sqlite")
    assert tables["days"]["date"].iloc[-1] == "2016-03-31"
    assert (tables["orders"]["date"] == "2016-03-31").sum() > 0
    assert (tmp_path / "out" / "orders_2016-04-01.csv").exists()
    summary = (tmp_path / "out" / "summary_2016-03-31.json").read_text()
    assert '"rule": "subsidiary_cap"' in summary and '"limit": 0.1' in summary
    code, text, _ = run(capsys, cfg, "2016-03-31", tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 0 and "already stored" in text  # idempotent: nothing new to report


# ------------------------------------------------------------------ concurrency and kill -9
def _spawn(config, asof, state, out, env=None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof", asof,
           "--state", str(state), "--out", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))  # fmt: skip


def _wait_for(proc: subprocess.Popen, text: bytes, timeout: float = 120.0) -> None:
    seen, deadline = b"", time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in time; stderr so far: {seen!r}"
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk or proc.poll() is None, f"exited {proc.poll()}: {seen!r}"
            seen += chunk


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def _stored(state: Path, calendar) -> int:
    """Whole days only: a prefix of the business days, each with all its rows."""
    conn = st.connect(state)  # read-write: rolls back what a killed run left in the journal
    try:
        problems = st.check_consistency(conn, [f"{d:%Y-%m-%d}" for d in calendar])
        assert problems == []
        days = [r[0] for r in conn.execute("SELECT date FROM days ORDER BY date")]
        held = [r[0] for r in conn.execute("SELECT DISTINCT date FROM holdings ORDER BY date")]
        assert held == [d for d in days if held and d >= held[0]]  # no day without holdings
        disclosed = "SELECT DISTINCT valued_at FROM disclosed_portfolios ORDER BY valued_at"
        assert [r[0] for r in conn.execute(disclosed)] == days  # the cash line, at least
        return len(days)
    finally:
        conn.close()


def test_a_concurrent_run_is_refused(booked, tmp_path, config):
    state, _, window = booked
    shutil.copy(state, tmp_path / "s.sqlite")
    before = digest(tmp_path / "s.sqlite")
    lock = nightly.lock_path(tmp_path / "s.sqlite")
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write("pid test\n")
        f.flush()
        done = subprocess.run(
            [sys.executable, "-m", "backtest.cli", "nightly", "--config", str(config), "--asof",
             "2016-07-15", "--state", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "o")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "another nightly run holds" in done.stderr and "pid test" in done.stderr
    assert digest(tmp_path / "s.sqlite") == before


def test_kill_9_at_any_point_leaves_whole_days_and_resumes(tmp_path, capsys, config, calendar):
    asof = "2015-04-30"
    days = calendar[calendar <= asof]
    ref_state, ref_out = tmp_path / "ref.sqlite", tmp_path / "ref"
    assert run(capsys, config, asof, ref_state, ref_out)[0] == 0
    state, out = tmp_path / "s.sqlite", tmp_path / "out"
    # 1. killed right after committing day 5, before writing its files
    proc = _spawn(config, asof, state, out, {nightly.ENV_PAUSE_AFTER: "5"})
    _wait_for(proc, b"paused after_commit after 5 days")
    _kill(proc)
    assert _stored(state, days) == 5
    assert not (out / ds.file_names(f"{days[5]:%Y-%m-%d}")["orders_csv"]).exists()
    # 2. killed inside the transaction of its 8th day (after 7 commits): day 13 must vanish
    hook = {nightly.ENV_PAUSE_AFTER: "7", nightly.ENV_PAUSE_AT: "before_commit"}
    proc = _spawn(config, asof, state, out, hook)
    _wait_for(proc, b"paused before_commit after 7 days")
    assert Path(f"{state}-journal").exists()  # the uncommitted day is in flight
    _kill(proc)
    assert _stored(state, days) == 12
    # 3. killed at an arbitrary moment while booking
    proc = _spawn(config, asof, state, out)
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline and proc.poll() is None
        try:
            conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
            n = conn.execute("SELECT COUNT(*) FROM days").fetchone()[0]
            conn.close()
        except sqlite3.OperationalError:
            n = 0
        if n >= 20:
            break
        time.sleep(0.01)
    _kill(proc)
    assert 20 <= _stored(state, days) < len(days)
    # 4. an undisturbed run finishes the job: the same tables and files as never interrupted
    proc = _spawn(config, asof, state, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert _stored(state, days) == len(days)
    got, want = day_tables(state), day_tables(ref_state)
    for table in want:
        pd.testing.assert_frame_equal(got[table], want[table], check_exact=True)
    assert out_files(out) == out_files(ref_out)
    statuses = st.read_table(st.connect(state, readonly=True), "runs")["status"].tolist()
    assert statuses == ["interrupted"] * 3 + ["done"]


# ------------------------------------------------------------------ bad input: exit 2
@pytest.fixture(scope="module")
def data_state(tmp_path_factory, config):
    """A data folder (our CSV layout) 2013-01-02..2016-03-31 and a state booked to the day
    before, launched at START (the two years before are the look-back window)."""
    from backtest.data.writer import write_market
    from backtest.synthetic.build import synthetic_market

    root = tmp_path_factory.mktemp("data")
    market = synthetic_market(seed=7, start="2013-01-02", end=END).until("2016-03-31")
    write_market(market, root / "data", format="csv")
    state = root / "s.sqlite"
    assert main(["nightly", "--config", str(config), "--asof", "2016-03-30", "--data",
                         str(root / "data"), "--state", str(state), "--out",
                         str(root / "out"), "--inception", START]) == 0  # fmt: skip
    held = day_tables(state)["holdings"]
    held = held[held["date"] == "2016-03-30"]["instrument"]
    return root, state, held.tolist()


def _corrupt(path: Path, date: str, column: str, value: str) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = table.index[table["date"] == date]
    assert len(row) == 1 and column in table.columns
    table.loc[row, column] = value
    table.to_csv(path, index=False)


@pytest.mark.parametrize(
    "case",
    ["missing price", "NaN curve price", "negative price", "stale data", "malformed config",
     "unknown strategy", "partial creation unit"],
)  # fmt: skip
def test_bad_input_exits_2_and_leaves_the_state_byte_identical(
    case, data_state, tmp_path, capsys, config
):
    root, state, held = data_state
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    shutil.copy(state, tmp_path / "s.sqlite")
    before = digest(tmp_path / "s.sqlite")
    cfg, asof = config, "2016-03-31"
    equity = next(i for i in held if i.startswith("EQ"))
    future = next(i for i in held if (data / "curves" / f"{i}.csv").exists())
    if case == "missing price":
        _corrupt(data / "prices.csv", "2016-03-31", equity, "")
        expect = ["no price for held instrument", equity, "2016-03-31"]
    elif case == "NaN curve price":
        _corrupt(data / "curves" / f"{future}.csv", "2016-03-31", "price", "NaN")
        expect = ["no price for held instrument", f"curves/{future}"]
    elif case == "negative price":
        _corrupt(data / "prices.csv", "2016-03-15", equity, "-12.5")
        expect = ["prices.csv", "must be positive", "2016-03-15", equity]
    elif case == "stale data":
        asof = "2016-04-01"
        expect = ["stale data", "2016-04-01", "ends on 2016-03-31"]
    elif case == "malformed config":
        cfg = tmp_path / "bad.toml"
        cfg.write_text(config.read_text().replace("[allocator]", "[allocator"))
        expect = ["bad.toml", "not valid TOML"]
    elif case == "unknown strategy":
        cfg = write_config(tmp_path / "bad.toml", ('name = "trend"', 'name = "trending"'))
        expect = ["unknown strategy 'trending'"]
    else:
        cfg = tmp_path / "bad.toml"
        cfg.write_text(config.read_text() + '\n[[fund.flows.flows]]\ndate = "2016-03-31"\n'
                       "units = 1.5\n")  # fmt: skip
        expect = ["[fund.flows.flows, entry 1] units", "whole number", "1.5"]
    code, _, err = run(capsys, cfg, asof, tmp_path / "s.sqlite", tmp_path / "out", "--data", data)
    assert code == 2, err
    for text in expect:
        assert text in err, (text, err)
    assert digest(tmp_path / "s.sqlite") == before
    assert not (tmp_path / "out").exists()
    # with no state yet, nothing is created either
    code, _, _ = run(capsys, cfg, asof, tmp_path / "new.sqlite", tmp_path / "out", "--data", data)
    assert code == 2 and not (tmp_path / "new.sqlite").exists()


def test_data_that_no_longer_reaches_inception_is_a_state_problem(data_state, tmp_path, capsys,
                                                                  config):  # fmt: skip
    from backtest.data.folder import load_market
    from backtest.data.writer import write_market

    root, state, _ = data_state
    later = load_market(root / "data").between("2015-02-02", "2016-03-31")
    write_market(later, tmp_path / "data", format="csv")
    shutil.copy(state, tmp_path / "s.sqlite")
    before = digest(tmp_path / "s.sqlite")
    code, _, err = run(capsys, config, "2016-03-31", tmp_path / "s.sqlite", tmp_path / "out",
                       "--data", tmp_path / "data")  # fmt: skip
    assert code == 4 and "inception '2015-01-02' -> '2015-02-02'" in err
    assert digest(tmp_path / "s.sqlite") == before


# ------------------------------------------------------------------ look-back before inception
def test_nightly_reads_history_before_inception_and_says_so(tmp_path, capsys):
    """With [market] start before the fund's inception, the nightly job launches at inception
    with every sleeve live (the history before it is the strategies' and allocator's look-back
    window), says so, and books exactly what the backtest of the same config books."""
    cfg = write_config(tmp_path / "fund.toml", (f'start = "{START}"', 'start = "2013-01-02"'),
                       ('name = "LALT', f'inception = "{START}"\nname = "LALT'))  # fmt: skip
    asof = "2015-02-27"
    code, text, err = run(capsys, cfg, asof, tmp_path / "s.sqlite", tmp_path / "out")
    assert code == 0, err
    assert f"look-back history 2013-01-02..2014-12-31 before inception {START}" in text
    nav = day_tables(tmp_path / "s.sqlite")["nav"]
    assert nav["date"].iloc[0] == START and nav["date"].iloc[-1] == asof
    spec = FundSpec.from_toml(cfg)
    ref = run_fund(dataclasses.replace(spec, market=dataclasses.replace(spec.market, end=asof)))
    assert ref.result.nav.index[0] == pd.Timestamp(START)
    assert (ref.weights.iloc[0] > 0).all()  # every sleeve live on the first day
    for col in EXACT_NAV:
        assert (nav[col].to_numpy() == ref.result.nav[col].to_numpy()).all(), col


def test_an_inception_before_the_data_starts_the_fund_on_the_first_day_and_says_so(
    data_state, tmp_path, capsys, config
):
    root, _, _ = data_state
    code, text, err = run(capsys, config, "2015-03-31", tmp_path / "s.sqlite", tmp_path / "out",
                          "--data", root / "data", "--inception", "2012-06-01")  # fmt: skip
    assert code == 0, err
    assert "inception 2012-06-01 precedes the data (first day 2013-01-02)" in text
    assert "the fund starts on 2013-01-02" in text
    assert day_tables(tmp_path / "s.sqlite")["nav"]["date"].iloc[0] == "2013-01-02"
