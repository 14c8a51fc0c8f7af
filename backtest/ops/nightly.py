"""``multistrat nightly``: turn the day's data into the day's books, tomorrow's orders and the
Disclosed Portfolio, kept in a durable state database.

::

    multistrat nightly --config FUND.toml --asof YYYY-MM-DD [--data DIR] [--state PATH]
                       [--inception YYYY-MM-DD] [--out DIR] [--force]

For each business day ``D`` not yet stored, up to ``--asof``, the job books: the NAV row of
``D`` (cent and 5-decimal NAV per share), holdings at ``D``, the trades executed at ``D-1``
(booked at ``D``), the creations/redemptions received at ``D``, the limit checks of ``D``,
the orders for ``D+1``'s close and the Disclosed Portfolio for ``D+1``
(:mod:`backtest.ops.disclosure`); a semi-transparent fund (``[disclosure] policy =
"substitute_basket"``) also publishes the substitute basket for ``D+1``
(:mod:`backtest.ops.basket`). Each day goes into the state database (:mod:`backtest.ops.state`)
in
one transaction; its files are written atomically after the commit.

How a run works. The fund (:func:`backtest.fund.run_fund`: strategies, allocator, limits,
simulator, compliance) is computed ONCE on the market cut at ``asof`` (nothing after it is
read), from inception; every missing day is then booked from that run in date order. Because
every stage is causal, the rows of day ``D`` are those of a run cut at ``D`` and those of
``multistrat backtest`` on the same data and config (the creation/redemption orders too: the
simulator's seeded draws give row ``D`` the same order in a run cut at ``D`` as in a longer
run, :func:`backtest.engine.simulator.flow_schedule`; the orders are received at ``D``).

Everything is validated before the first write (config, data, the prices of every held
instrument on every day to book, the output locations, the stored state: integrity, schema,
hash chain and every stored NAV against the recomputation, see :mod:`backtest.ops.guard`):
bad input exits 2 and leaves the database byte-identical. Exit codes: 0 done (or nothing to
do); 2 bad input; 3 done but a limit is breached on a booked day (everything is still
booked); 4 state problem (another run holds the lock, the state was made with another config,
the stored history no longer matches its hash chain or the recomputation, a gap it cannot
fill, an empty, foreign or corrupt state). ``--force`` recomputes ``asof`` and replaces it;
with a different config (or a stored history that no longer matches) it rebuilds from
inception.

Test hook: with ``MULTISTRAT_NIGHTLY_PAUSE_AFTER_DAYS=N`` the job prints a line to stderr and
sleeps once it has committed ``N`` days in this run (``MULTISTRAT_NIGHTLY_PAUSE_AT=after_commit``,
the default, before that day's files; ``before_commit``: inside day ``N+1``'s transaction), so
a test can kill it at a known point.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.folder import load_market
from backtest.data.validation import DataError
from backtest.errors import ExitCode, NightlyError
from backtest.fund.basket import basket_series, instrument_kinds
from backtest.fund.checks import read_config
from backtest.fund.run import fund_start, run_fund, with_compliance
from backtest.fund.spec import FundSpec, replace
from backtest.market.calendar import iso_date, xnys_calendar
from backtest.ops import basket as bk
from backtest.ops import disclosure as ds
from backtest.ops import state as st
from backtest.ops.guard import (
    DEFAULT_STATE,
    Reading,
    Stored,
    broken_chain,
    check_writable,
    lock_path,
    read_stored,
    start_reading,
    state_lock,
)
from backtest.ops.held_prices import check_held_prices
from backtest.ops.solves import RunSolves, read_solves, store_solves, to_store

__all__ = ["NightlyOptions", "run_nightly", "lock_path", "state_lock", "read_stored", "Stored",
           "check_writable"]  # fmt: skip
from backtest.synthetic.build import synthetic_market

EXIT_OK, EXIT_BAD_INPUT = ExitCode.OK, ExitCode.BAD_INPUT
EXIT_LIMIT_BREACH, EXIT_STATE = ExitCode.LIMIT_BREACH, ExitCode.STATE
DEFAULT_OUT = Path("runs/nightly")
ENV_PAUSE_AFTER = "MULTISTRAT_NIGHTLY_PAUSE_AFTER_DAYS"
ENV_PAUSE_AT = "MULTISTRAT_NIGHTLY_PAUSE_AT"


@dataclass(frozen=True)
class NightlyOptions:
    config: Path
    asof: str
    data: Path | None = None
    state: Path = DEFAULT_STATE
    inception: str | None = None
    out: Path = DEFAULT_OUT
    force: bool = False


# ================================================================================ inputs
def _date(text: str, what: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` only (:func:`backtest.market.calendar.iso_date`): ``01/07/2019``, ``2019``,
    ``now`` or ``""`` are refused (exit 2)."""
    try:
        return iso_date(text, what)
    except ValueError as exc:
        raise NightlyError(EXIT_BAD_INPUT, str(exc)) from None


def load_config(path: Path):
    """(FundSpec, parsed TOML document); ValueError naming the file on any problem."""
    return FundSpec.from_toml(path), read_config(path)


def config_identity(doc: dict, inception: str, source: str) -> tuple[str, str]:
    """(sha256 hex, canonical JSON) of what a state is made with: config, inception, source."""
    canonical = json.dumps({"config": doc, "inception": inception, "source": source},
                           sort_keys=True, separators=(",", ":"), default=str)  # fmt: skip
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


def _mismatch(stored: Stored, canonical: str, state_path: Path) -> str:
    old = json.loads(stored.info.get("config", "{}"))
    new = json.loads(canonical)
    what = [k for k in ("config", "inception", "source") if old.get(k) != new.get(k)] or ["config"]
    detail = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in what if k != "config")
    return (f"{state_path} was made with a different {' and '.join(what)}"
            f"{' (' + detail + ')' if detail else ''}; use the matching config, another --state, "
            "or --force to rebuild it from inception")  # fmt: skip


def effective_asof(calendar: pd.DatetimeIndex, asof: pd.Timestamp, where: str) -> pd.Timestamp:
    """``asof`` itself when it is a day of the data; on a weekend or holiday the last day
    before it. DataError (stale data) when an NYSE session up to ``asof`` is missing."""
    if asof < calendar[0]:
        raise DataError(where, f"asof {asof:%Y-%m-%d} is before the first day of the data "
                        f"({calendar[0]:%Y-%m-%d})")  # fmt: skip
    if asof > calendar[-1] + pd.Timedelta(days=31):
        raise DataError(where, f"asof {asof:%Y-%m-%d} is after the last day of the data "
                        f"({calendar[-1]:%Y-%m-%d})")  # fmt: skip
    last = calendar[calendar <= asof][-1]
    missing = xnys_calendar(last + pd.Timedelta(days=1), asof) if asof > last else []
    if len(missing):
        raise DataError(where, f"stale data: no data for {missing[0]:%Y-%m-%d} (asof "
                        f"{asof:%Y-%m-%d}); the data ends on {calendar[-1]:%Y-%m-%d}")  # fmt: skip
    return last


def load_inputs(opts: NightlyOptions, spec, inception: str | None, asof: pd.Timestamp):
    """(market cut at the effective asof, effective asof, inception date, source name, note).

    The market keeps its history before inception: the strategies and the allocator read it as
    their look-back window, as a live fund has at launch, and the books start at inception.
    ``note`` says what was done: the look-back history used, an inception that precedes the
    data (the fund then starts on the data's first day, with no history before it), or an
    inception moved to the first business day on or after it; empty otherwise.
    """
    inception = inception or spec.inception
    note = ""
    if opts.data is None:
        m = spec.market
        start = min(inception or m.start, m.start, key=pd.Timestamp)
        first = xnys_calendar(start, _date(start, "inception") + pd.Timedelta(days=14))
        if not len(first) or first[0] > asof:
            raise NightlyError(EXIT_BAD_INPUT, f"inception {start} is after asof {asof:%Y-%m-%d}")
        if inception is not None and pd.Timestamp(inception) < pd.Timestamp(m.start):
            note = (f"--inception {inception} precedes the synthetic market's start {m.start}: "
                    f"the market is generated from {first[0]:%Y-%m-%d}, with no history before "
                    "the fund's first day")  # fmt: skip
        # the config's window, cut at asof (the generator is prefix-stable, so this equals
        # generating to asof; the config's end bounds what a run may book)
        market = synthetic_market(seed=m.seed, start=first[0], end=m.end)
        where = f"synthetic market of {opts.config} ([market] {first[0]:%Y-%m-%d}..{m.end})"
        source = "synthetic"
    else:
        market = load_market(opts.data, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
        where = str(opts.data)
        source = "data"
        if inception is not None and pd.Timestamp(inception) < market.start:
            note = (
                f"inception {inception} precedes the data (first day {market.start:%Y-%m-%d}):"
                f" the fund starts on {market.start:%Y-%m-%d}, with no history before it"
            )
    day = effective_asof(market.calendar, asof, where)
    try:
        launch = fund_start(inception, market.until(day))
    except ValueError:
        raise NightlyError(EXIT_BAD_INPUT, f"{where}: no data from inception {inception} to asof "
                           f"{day:%Y-%m-%d}") from None  # fmt: skip
    if (not note and inception is not None and launch > market.start
            and launch != _date(inception, "--inception")):  # fmt: skip
        note = (f"inception {inception} adjusted to {launch:%Y-%m-%d}, the first business day of "
                "the data on or after it")  # fmt: skip
    if launch > market.start:
        last = market.calendar[market.calendar < launch][-1]
        history = (f"look-back history {market.start:%Y-%m-%d}..{last:%Y-%m-%d} before inception "
                   f"{launch:%Y-%m-%d}")  # fmt: skip
        note = f"{note}; {history}" if note else history
    return market.until(day), day, launch, source, note


# ================================================================================ computation
def compute(spec, market, days=None, solves=None):
    """(FundRun, causal SimulationResult) for ``market`` (already cut at asof); the limit checks
    of the fund-day rows ``days`` only (all when None); ``solves``: the allocator's stored
    solves, extended in place (:mod:`backtest.ops.solves`)."""
    # causal: its rows up to asof are final
    run = run_fund(spec, market, compliance_rows=days, solves=solves)
    return run, run.result


# ================================================================================ the run
@dataclass
class Plan:
    stored: Stored | None
    rebuild: bool
    days: list  # row numbers of the days to book, in order
    note: str = ""


def run_nightly(opts: NightlyOptions, pool=None, ahead=None) -> tuple[int, str]:
    """Run the job; returns (exit code, message). Raises NightlyError/ValueError on refusals.

    ``pool``: the command's helper process (:func:`backtest.workers.helper_process`), which
    checks the stored state (SQLite's ``quick_check``, the hash chain) while this one computes
    the fund; None: checked here. Either way nothing is built on the state before its checks
    pass, and its refusal comes before any other (:func:`_verified`). ``ahead``: the helper's
    :func:`backtest.ops.guard.check_ahead` of the state, submitted at the command's start."""
    t0 = time.perf_counter()
    # one database, one lock and one journal whatever path (symbolic link) reaches it
    opts = dataclasses.replace(opts, state=Path(os.path.realpath(opts.state)))
    spec, doc = load_config(opts.config)
    asof = _date(opts.asof, "--asof")
    if opts.inception is not None:
        _date(opts.inception, "--inception")
    check_writable(opts.out, "--out")
    check_writable(Path(opts.state).parent, "the folder of --state")
    with state_lock(opts.state):
        reading = start_reading(opts.state, asof, opts.force, pool, ahead)
        try:  # the stored state's own checks run in the helper meanwhile
            stored = None if reading is None else reading.stored
            if opts.force:  # the plan decides from the chain what to rebuild
                stored = _verified(reading, opts)
            has_days = stored is not None and bool(stored.days)
            inception = opts.inception or (stored.info.get("inception") if has_days else None)
            inception = inception or spec.inception
            source = "synthetic" if opts.data is None else "data"
            if has_days and opts.inception in (None, stored.info.get("inception")):
                h, canonical = config_identity(doc, inception, source)
                same = h == stored.info.get("config_hash")
                if not same and not opts.force:
                    raise NightlyError(EXIT_STATE, _mismatch(stored, canonical, opts.state))
                if same and not opts.force and f"{asof:%Y-%m-%d}" in stored.dates:
                    _verified(reading, opts)
                    return _nothing_to_do(opts, f"{asof:%Y-%m-%d}")
            market, day, first, source, note = load_inputs(opts, spec, inception, asof)
            inception = f"{first:%Y-%m-%d}"
            h, canonical = config_identity(doc, inception, source)
            plan = _plan(opts, stored, market.calendar[market.calendar >= first], h, canonical)
            plan.note = "; ".join(n for n in (plan.note, note) if n)
            if not plan.days:
                _verified(reading, opts)
                return _nothing_to_do(opts, f"{day:%Y-%m-%d}")
            read = _stored_solves(opts, stored)
            solves = RunSolves(read)
            run, result = compute(replace(spec, inception=inception), market, plan.days, solves)
        except Exception:
            _verified(reading, opts)  # a damaged or changed state is refused first, as ever
            raise
        stored = plan.stored = _verified(reading, opts)  # before anything builds on it
        if stored is not None and stored.days and not plan.rebuild:
            plan = _check_history(opts, plan, result)
            run = with_compliance(run, plan.days)  # a rebuild books every day
        rows = np.asarray(plan.days)
        check_held_prices(market, result, rows)
        nxt, after = ds.calendar_after(result.inputs.dates)
        builder = ds.DayBuilder(run, result, after, nxt, plan.days)
        info = {"config_hash": h, "config": canonical, "inception": inception, "source": source}
        baskets = _baskets(run, plan.days) if spec.disclosure.semi_transparent else None
        return _book(opts, plan, builder, info, t0, baskets, to_store(read, solves))


def _stored_solves(opts: NightlyOptions, stored: Stored | None) -> dict:
    """The allocator's stored solves (:mod:`backtest.ops.solves`); none for a new state, and
    none read by ``--force``, which rebuilds without them."""
    if opts.force or stored is None:
        return {}
    conn = st.connect(opts.state, readonly=True)
    try:
        return read_solves(conn, stored.version)
    finally:
        conn.close()


def _verified(reading: Reading | None, opts: NightlyOptions) -> Stored | None:
    """The stored state once its checks are done (:meth:`backtest.ops.guard.Reading.checked`:
    corrupt, exit 4); a history changed after booking is refused (exit 4) unless ``--force``."""
    if reading is None:
        return None
    stored = reading.checked()
    if stored.broken and not opts.force:
        raise NightlyError(EXIT_STATE, broken_chain(stored, opts.state))
    return stored


def _baskets(run, days) -> dict[int, tuple[list, float]]:
    """Row → (basket lines, overlap) of the substitute basket of each day to book (a
    semi-transparent fund; computed before the first write, from data up to each day)."""
    series, _ = basket_series(run, rows=days)
    kinds = instrument_kinds(series.weights.columns, run.market)
    return {t: (bk.basket_lines(series.weights.iloc[i], kinds),
                float(series.summary["overlap"].iloc[i]))
            for i, t in enumerate(days)}  # fmt: skip


def _repair_files(conn, out: Path) -> int:
    """Re-write the stored days' missing day and basket files (how many days), from one
    listing of the output folder (~13,600 files after 20 years) for both."""
    existing = ds.listing(out)
    return ds.repair_files(conn, out, existing) + bk.repair_basket_files(conn, out, existing)


def _nothing_to_do(opts: NightlyOptions, day: str) -> tuple[int, str]:
    """The day is stored: only re-write missing files (no database write, but a pending schema
    migration)."""
    conn = st.connect(opts.state)
    try:
        st.migrate(conn)
        written = _repair_files(conn, opts.out)
        summary = opts.out / f"summary_{day}.json"
        if not summary.exists():
            run = {"status": "already stored"}
            ds.write_atomic(summary, ds.summary_json(conn, day, run, opts.state, opts.config))
    finally:
        conn.close()
    extra = f"; re-wrote {written} missing files" if written else ""
    return EXIT_OK, f"nightly: {day} is already stored in {opts.state}: nothing to do{extra}"


def _plan(opts, stored: Stored | None, calendar: pd.DatetimeIndex, h: str, canonical) -> Plan:
    text = list(calendar.strftime("%Y-%m-%d"))
    last = len(text) - 1
    if stored is None or not stored.days:
        return Plan(stored, False, list(range(last + 1)))
    if h != stored.info.get("config_hash"):
        if not opts.force:
            raise NightlyError(EXIT_STATE, _mismatch(stored, canonical, opts.state))
        return Plan(stored, True, list(range(last + 1)), "config changed: rebuilt from inception")
    dates = stored.dates
    if dates != text[: len(dates)]:
        bad = next((i for i, d in enumerate(dates) if i >= len(text) or text[i] != d), 0)
        raise NightlyError(EXIT_STATE, f"{opts.state}: stored day {dates[bad]} is not business "
                           f"day {bad + 1} of the data from inception {text[0]}: the data's "
                           "calendar changed; the gap cannot be filled (--force rebuilds only "
                           "with a new config)")  # fmt: skip
    if stored.broken and (stored.broken != dates[-1] or len(dates) <= last):
        # --force (else refused earlier): a changed day that is not the one replaced
        return Plan(stored, True, list(range(last + 1)), "history changed: rebuilt from inception")
    if len(dates) > last:  # asof already stored
        return Plan(stored, False, [last] if opts.force else [])
    return Plan(stored, False, list(range(len(dates), last + 1)))


def _check_history(opts, plan: Plan, result) -> Plan:
    """The recomputation must reproduce every stored day before the ones to book (NAV per
    share, 5-dp NAV and shares exactly, net assets to 1e-9), not only the last one."""
    ref = plan.days[0] - 1
    if ref < 0:
        return plan
    columns = ("net_assets", "nav_per_share", "nav_per_share_5dp", "shares_outstanding")
    conn = st.connect(opts.state, readonly=True)
    try:  # the four columns only (the table has 25): no DataFrame of the whole history
        query = f"SELECT date, {', '.join(columns)} FROM nav"
        stored = {row[0]: row[1:] for row in conn.execute(query)}
    finally:
        conn.close()
    dates = plan.stored.dates[: ref + 1]
    missing = (np.nan,) * len(columns)  # a missing row (or NULL) is NaN: a mismatch
    table = np.array([stored.get(d, missing) for d in dates], dtype="float64")
    old = {c: table[:, k] for k, c in enumerate(columns)}
    new = {c: result.nav[c].to_numpy(dtype="float64")[: ref + 1] for c in columns}
    ok = np.isclose(old["net_assets"], new["net_assets"], rtol=1e-9, atol=0.0)
    for c in columns[1:]:
        ok &= old[c] == new[c]
    if ok.all():
        return plan
    bad = int(np.flatnonzero(~ok)[0])
    old_nav = old["nav_per_share_5dp"][bad]
    why = (f"the recomputed NAV of stored day {dates[bad]} is "
           f"{new['nav_per_share_5dp'][bad]:.5f} but {old_nav:.5f} is stored: "
           "the data or the program changed since it was booked")  # fmt: skip
    if not opts.force:
        raise NightlyError(EXIT_STATE, f"{why}; use --force to rebuild from inception")
    return Plan(plan.stored, True, list(range(len(result.nav))), f"{why}: rebuilt")


def _pause(point: str, committed: int) -> None:
    want = os.environ.get(ENV_PAUSE_AFTER)
    if want and int(want) == committed and os.environ.get(ENV_PAUSE_AT, "after_commit") == point:
        print(f"nightly: test hook: paused {point} after {committed} days", file=sys.stderr,
              flush=True)  # fmt: skip
        time.sleep(3600)


def _book(opts, plan: Plan, builder: ds.DayBuilder, info: dict, t0: float,
          baskets: dict | None = None, solves: dict | None = None) -> tuple[int, str]:  # fmt: skip
    asof = builder.text[-1]
    conn = st.connect(opts.state)
    done, breaches, run_id = 0, [], None
    try:
        st.migrate(conn)
        with st.transaction(conn):
            run_id = st.start_run(conn, builder.text[-1], info["config_hash"], os.getpid())
            if plan.rebuild:
                st.delete_all_days(conn)
            st.write_info(conn, info | ({} if plan.stored and plan.stored.info else
                                        {"created": st.now()}))  # fmt: skip
            if solves is not None:  # pure answers: kept even if a day fails
                store_solves(conn, solves)
        for t in plan.days:
            day = builder.day(t)
            if baskets is not None:  # stored with the day, so the files can be re-written
                day.rows.update(bk.basket_rows(day.next_date, day.date, *baskets[t]))
            st.write_day(conn, day, info["config_hash"], run_id,
                         before_commit=lambda n=done: _pause("before_commit", n))  # fmt: skip
            done += 1
            _pause("after_commit", done)
            ds.write_day_files(opts.out, day, builder.nav_dict(t))
            if baskets is not None:
                bk.write_basket_files(opts.out, day.next_date, day.date, *baskets[t])
            breaches += [(day.date, r[1]) for r in day.rows["limit_checks"] if r[4]]
        _repair_files(conn, opts.out)
    except Exception as exc:
        message = f"failed after booking {done} days: {type(exc).__name__}: {exc}"
        try:
            if run_id is not None:
                st.finish_run(conn, run_id, "failed", EXIT_STATE, message, done)
        finally:
            conn.close()
        raise NightlyError(EXIT_STATE, message) from exc
    code = EXIT_LIMIT_BREACH if breaches else EXIT_OK
    first, last = builder.text[plan.days[0]], builder.text[plan.days[-1]]
    msg = _message(plan, builder, done, first, last, breaches, time.perf_counter() - t0)
    st.finish_run(conn, run_id, "done", code, msg, done)
    run = {"status": "booked", "run_id": run_id, "days_booked": done, "first_day": first,
           "last_day": last, "exit_code": code, "note": plan.note,
           "breaches": [{"date": d, "rule": r} for d, r in breaches[-50:]],
           "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
    ds.write_atomic(
        opts.out / f"summary_{asof}.json", ds.summary_json(conn, last, run, opts.state, opts.config)
    )
    conn.close()
    return code, msg


def _message(plan, builder, done, first, last, breaches, seconds) -> str:
    t = plan.days[-1]
    nav = builder.nav_dict(t)
    orders = len(ds.order_columns(builder.snap, t)["instrument"])
    lines = [f"nightly: booked {done} business day{'s' * (done != 1)} {first}..{last} in "
             f"{seconds:.1f} s" + (f" ({plan.note})" if plan.note else ""),
             f"NAV {last}: ${nav['nav_per_share']:.2f} per share ({nav['nav_per_share_5dp']:.5f}),"
             f" net assets ${nav['net_assets']:,.2f}",
             f"orders for {builder.next_text[t]}: {orders}"]  # fmt: skip
    if breaches:
        days = sorted({d for d, _ in breaches})
        rules = sorted({r for _, r in breaches})
        lines.append(f"LIMIT BREACH on {len(days)} day(s) (last {days[-1]}): {', '.join(rules)}")
    return "\n".join(lines)
