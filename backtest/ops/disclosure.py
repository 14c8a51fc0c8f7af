"""What a booked business day produces: tomorrow's orders, the Disclosed Portfolio, the day's
rows for the state database and the day's files.

The orders and the Disclosed Portfolio read a :class:`backtest.engine.simulator.SimulationResult` at
row ``t`` (business day ``D``) and nothing after it:

- :func:`next_orders` — the orders the fund places for the close of ``D+1``: the kernel's own
  sizing of the targets decided at ``D`` (``backtest.engine.kernel._execute``),
  ``trunc(target × net_assets_D / (multiplier × underlying_D × fx_D)) − position``, where the
  position is what the books hold once ``D``'s executions and in-kind baskets are booked; orders
  inside the no-trade buffers (a fraction of net assets, a fraction of the target position
  scaled by the instrument's cost) are dropped, and outside the position buffer an order goes
  to its edge, as the kernel does. They equal the trades the simulator executes at ``D+1``
  except on days it flags ``cash_shortfall`` (purchases scaled to the cash available at
  ``D+1``'s prices, which ``D`` cannot know). This replicates the kernel's sizing rule; the
  tests compare the orders with the simulator's trades, so a change to one shows at once. With
  ``FundConfig.size_at = "execution"`` the kernel sizes on ``D+1``'s figures: the orders are
  then indicative, sized on ``D``'s.
- :func:`disclosed_portfolio` — the holdings that form the NAV of ``D+1`` (after ``D``'s
  executions are booked, per the filing's T+1 booking) valued at ``D``'s close, with % of net
  assets and the book (fund / subsidiary), plus one "cash and other assets less liabilities"
  line per book so each book's lines sum to its net assets.

:class:`DayBuilder` turns one run into each day's :class:`backtest.ops.state.DayRows` (NAV row,
holdings, trades booked that day, flows received, limit checks, orders, Disclosed Portfolio).
Rendering (:func:`disclosure_csv`, :func:`disclosure_json`, :func:`orders_csv`) takes row tuples
in :data:`backtest.ops.state.COLUMNS` order, so the files written after a commit and the files
re-written from the database (:func:`repair_files`) are byte-identical; :func:`write_atomic`
writes each file by temp + fsync + rename.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.analytics.substitute_basket import held_after_booking
from backtest.engine import kernel as K
from backtest.market.calendar import next_session
from backtest.market.instruments import IndexOption
from backtest.ops import booked_rows as br
from backtest.ops import state as st

CASH_LINE = "CASH&OTHER"
CASH_NAME = "cash and other assets less liabilities"


def _names(result, market) -> tuple[list[str], list[str]]:
    """Readable name and kind of every simulated instrument."""
    table = market.instruments
    # the table's columns as dicts: one lookup per instrument, not a row Series each
    kind_of, industry_of, exchange_of = (
        dict(zip(table.index, table[c].tolist(), strict=True))
        for c in ("kind", "industry", "exchange")
    )
    names, kinds = [], []
    for iid in result.inputs.ids:
        if iid in kind_of:
            kind = str(kind_of[iid])
            industry = industry_of[iid]
            extra = f", {industry}" if str(industry) else ""
            names.append(f"{iid} {kind.replace('_', ' ')}{extra} ({exchange_of[iid]})")
        else:
            opt = IndexOption.from_id(iid)
            kind = "index_option"
            names.append(f"{opt.root} {'call' if opt.is_call else 'put'} {opt.strike:g} "
                         f"expiring {opt.expiry:%Y-%m-%d} ({opt.exchange})")  # fmt: skip
        kinds.append(kind)
    return names, kinds


class Snapshot:
    """Per-instrument arrays of a result needed at each close, computed once per run."""

    def __init__(self, result, market, after_next: pd.DatetimeIndex,
                 days: Sequence[int] | None = None) -> None:  # fmt: skip
        """``after_next[t]``: the business day after the next one (row ``t+2`` of a longer run;
        calendar knowledge, no data). ``days``: the only rows that will be asked for (ascending;
        any row when None): with a few, only their rows of the simulator's arrays are built."""
        a = result.inputs.arrays
        self.result = result
        self.dates = result.inputs.dates
        self.ids = np.asarray(result.inputs.ids, dtype=object)
        self.books = result.instrument_info["book"].to_numpy(dtype=object)
        names, kinds = _names(result, market)
        self.names = np.asarray(names, dtype=object)
        self.kinds = np.asarray(kinds, dtype=object)
        self.a = a
        out = result.outputs
        #: the simulator's arrays at ``days`` (:class:`~backtest.engine.dense.OutputRows`) when
        #: they are few, else None (the dense arrays)
        self.at = out.at_rows(days) if br.few_days(days, len(self.dates)) else None
        at = out if self.at is None else self.at
        self._row = None if self.at is None else {t: i for i, t in enumerate(self.at.rows.tolist())}
        #: (R, N) rows of the simulator's qty / mv / trade_qty: row ``row(t)`` is day ``t``'s
        self.qty, self.mv, self.trade_qty = at.qty, at.mv, at.trade_qty
        self.fund = out.fund
        # an option is not traded at t+1 once its settlement row is <= t+1 (kernel rule), i.e.
        # when it expires before the business day after next
        expiry = np.full(len(self.ids), np.datetime64("NaT"), dtype="datetime64[ns]")
        for j in np.flatnonzero(a["kind"] == K.K_OPTION):
            expiry[j] = IndexOption.from_id(self.ids[j]).expiry.to_datetime64()
        self.option_expiry = expiry
        self.after_next = pd.DatetimeIndex(after_next).to_numpy(dtype="datetime64[ns]")

    def row(self, t: int) -> int:
        """The row of day ``t`` in :attr:`qty`, :attr:`mv` and :attr:`trade_qty`; KeyError
        for a day that was not asked for."""
        return t if self._row is None else self._row[t]

    def post_booking(self, t: int) -> np.ndarray:
        """Quantities held once ``t``'s executions and in-kind basket are booked (at ``t+1``)."""
        i = self.row(t)
        return held_after_booking(self.result, t, self.qty[i], self.trade_qty[i])


def order_columns(snap: Snapshot, t: int) -> dict[str, np.ndarray]:
    """The columns of :func:`next_orders` as arrays (the nightly job's fast path)."""
    a = snap.a
    w = a["target"][t]
    na = snap.fund[t, K.C_NET_ASSETS]
    unit = a["mult"] * a["under"][t] * a["fx"][t]
    current = snap.post_booking(t)
    ok = np.isfinite(w) & np.isfinite(unit) & (unit != 0.0)
    ok &= ~((a["kind"] == K.K_OPTION) & (snap.option_expiry < snap.after_next[t]))
    with np.errstate(invalid="ignore", divide="ignore"):
        desired = np.trunc(w * na / unit)
    delta = desired - current
    params = a["params"]
    buffer = params.buffer_pct_nav * na
    ok &= (delta != 0.0) & ~(np.abs(delta) * np.abs(unit) < buffer)
    # the buffer relative to the target position, scaled by the instrument's cost, and the
    # trade to the band's edge (the kernel's rule, backtest.engine.execution._execute)
    band = params.buffer_pct_position * np.abs(desired)
    if params.buffer_cost_ref_bps > 0.0:
        with np.errstate(invalid="ignore", divide="ignore"):
            c_bps = a["cost_bps"] + a["commission"] / np.abs(unit) * 1e4
            band = band * (c_bps / params.buffer_cost_ref_bps) ** (1.0 / 3.0)
    is_open = current != 0.0
    ok &= ~(is_open & (np.abs(delta) < band))
    if params.buffer_to_edge:
        with np.errstate(invalid="ignore"):
            edge = np.sign(delta) * np.ceil(np.abs(delta) - band)
        delta = np.where(is_open & ok, edge, delta)
        ok &= delta != 0.0
    j = np.flatnonzero(ok)
    ref = a["price"][t, j].copy()
    fwd = a["kind"][j] == K.K_FORWARD
    if fwd.any():
        tau = 30.0 / 360.0
        jf = j[fwd]
        ref[fwd] = (
            a["under"][t, jf] * (1.0 + a["r_usd"][t] * tau) / (1.0 + a["rate_for"][t, jf] * tau)
        )
    return {
        "instrument": snap.ids[j],
        "book": snap.books[j],
        "side": np.where(delta[j] > 0, "buy", "sell").astype(object),
        "quantity": np.abs(delta[j]),
        "reference_price": ref,
        "target_exposure": w[j],
        "target_quantity": desired[j],
        "current_quantity": current[j],
    }


def next_orders(snap: Snapshot, t: int) -> pd.DataFrame:
    """Orders decided at row ``t`` for the close of the next business day (module docstring).

    Columns: instrument, book, side (buy | sell), quantity (> 0), reference_price (``t``'s
    close; the 1-month outright for forwards), target_exposure (fraction of net assets),
    target_quantity, current_quantity (held once ``t``'s executions are booked).
    """
    return pd.DataFrame(order_columns(snap, t))


def portfolio_columns(snap: Snapshot, t: int) -> dict[str, np.ndarray]:
    """The columns of :func:`disclosed_portfolio` as arrays (the nightly job's fast path)."""
    a = snap.a
    q = snap.post_booking(t)
    j = np.flatnonzero(q != 0.0)
    kind = a["kind"][j]
    price = a["price"][t, j]
    fx = a["fx"][t, j]
    mult = a["mult"][j]
    mv = np.where(kind == K.K_FUTURE, 0.0, q[j] * mult * price * fx)
    i = snap.row(t)
    fwd_mv = np.where(snap.trade_qty[i, j] == 0.0, snap.mv[i, j], 0.0)
    mv = np.where(kind == K.K_FORWARD, fwd_mv, mv)
    notional = q[j] * mult * a["under"][t, j] * fx
    books = snap.books[j]
    na = snap.fund[t, K.C_NET_ASSETS]
    sub_na = snap.fund[t, K.C_SUB_NA]
    cash_books, cash_mv = [], []
    for book, book_na in (("fund", na - sub_na), ("subsidiary", sub_na)):
        mine = books == book
        if book == "fund" or book_na != 0.0 or mine.any():
            cash_books.append(book)
            cash_mv.append(book_na - np.sum(mv[mine]))
    n = len(cash_books)
    mv = np.concatenate([mv, cash_mv])
    return {
        "instrument": np.concatenate([snap.ids[j], [CASH_LINE] * n]),
        "book": np.concatenate([books, cash_books]),
        "name": np.concatenate([snap.names[j], [CASH_NAME] * n]),
        "kind": np.concatenate([snap.kinds[j], ["cash"] * n]),
        "quantity": np.concatenate([q[j], np.zeros(n)]),
        "price": np.concatenate([price, np.ones(n)]),
        "market_value": mv,
        "notional_usd": np.concatenate([notional, np.zeros(n)]),
        "pct_net_assets": mv / na if na else np.zeros(len(mv)),
    }


def disclosed_portfolio(snap: Snapshot, t: int) -> pd.DataFrame:
    """The Disclosed Portfolio for the business day after row ``t`` (module docstring).

    Columns: instrument, book, name, kind, quantity, price (instrument currency), market_value
    (USD, at ``t``'s close), notional_usd, pct_net_assets (market value / ``t``'s net assets).
    Futures have no market value (variation margin is settled daily): their exposure is
    ``notional_usd``. The last line of each book, :data:`CASH_LINE`, is its cash and other
    assets less liabilities, so each book's lines sum to its net assets.
    """
    return pd.DataFrame(portfolio_columns(snap, t))


# ------------------------------------------------------------------------------ day rows
def _cols(frame: pd.DataFrame, names: Sequence[str]) -> list[list]:
    out = []
    for n in names:
        s = frame[n]
        if pd.api.types.is_datetime64_any_dtype(s):
            out.append(list(s.dt.strftime("%Y-%m-%d")))
        elif pd.api.types.is_bool_dtype(s):
            out.append([int(v) for v in s])
        else:
            out.append(s.tolist())
    return out


class DayBuilder:
    """Builds each day's rows (:class:`backtest.ops.state.DayRows`) from one run.

    ``days`` (row numbers, ascending) are the days that will be asked for: only their rows of
    the long tables are turned into database rows (all days when None). With a few days
    (:func:`~backtest.ops.booked_rows.few_days`), only their rows of the simulator's arrays are
    built (:mod:`backtest.ops.booked_rows`), not the all-days tables.
    """

    def __init__(self, run, result, after_next: pd.DatetimeIndex, next_dates,
                 days: Sequence[int] | None = None) -> None:  # fmt: skip
        self.dates = result.inputs.dates
        self.text = list(self.dates.strftime("%Y-%m-%d"))
        self.next_text = list(pd.DatetimeIndex(next_dates).strftime("%Y-%m-%d"))
        self.snap = Snapshot(result, run.market, after_next, days)
        nav = result.nav
        self.nav_values = nav[list(st.NAV_FIELDS)].to_numpy().tolist()
        self.shortfall = nav["cash_shortfall"].astype(int).tolist()
        if self.snap.at is not None:  # the days' rows only (booked_rows), not all days' tables
            holdings = br.holdings_at(result, self.snap.at)
            trades = br.trades_booked_at(result, np.asarray(days))
        else:
            holdings, trades = result.holdings, result.trades
        tables = {
            "holdings": (holdings, "date", st.COLUMNS["holdings"]),
            "trades": (trades.rename(columns={"date": "executed"}), "booked",
                       st.COLUMNS["trades"]),
            "flows": (result.flows.assign(seq=result.flows.groupby("date").cumcount()),
                      "date", st.COLUMNS["flows"]),
            "limit_checks": (run.compliance.rename(columns={"limit": "limit_value"}), "date",
                             st.COLUMNS["limit_checks"]),
        }  # fmt: skip
        self.rows, self.bounds = {}, {}
        lo, hi = (0, len(self.dates) - 1) if days is None or not len(days) else (days[0], days[-1])
        for table, (frame, key, cols) in tables.items():
            t = self.dates.get_indexer(pd.DatetimeIndex(frame[key]))
            wanted = (t >= lo) & (t <= hi)
            frame, t = frame[wanted], t[wanted]
            order = np.argsort(t, kind="stable")
            frame, t = frame.iloc[order], t[order]
            self.rows[table] = list(zip(*_cols(frame, cols), strict=True)) if len(frame) else []
            self.bounds[table] = t

    def _slice(self, table: str, t: int) -> list[tuple]:
        b = self.bounds[table]
        return self.rows[table][np.searchsorted(b, t, "left") : np.searchsorted(b, t, "right")]

    def day(self, t: int) -> st.DayRows:
        d, nxt = self.text[t], self.next_text[t]
        rows = {"nav": [(d, *self.nav_values[t], self.shortfall[t])]}
        for table in ("holdings", "trades", "flows", "limit_checks"):
            rows[table] = self._slice(table, t)
        o = order_columns(self.snap, t)
        n = len(o["instrument"])
        rows["orders"] = list(zip([d] * n, [nxt] * n, *(o[c].tolist() for c in
                                  st.COLUMNS["orders"][2:]), strict=True))  # fmt: skip
        p = portfolio_columns(self.snap, t)
        n = len(p["instrument"])
        cols = (p[c].tolist() for c in st.COLUMNS["disclosed_portfolios"][2:])
        rows["disclosed_portfolios"] = list(zip([nxt] * n, [d] * n, *cols, strict=True))
        return st.DayRows(d, nxt, rows)

    def nav_dict(self, t: int) -> dict:
        return dict(zip(st.NAV_FIELDS, self.nav_values[t], strict=True))


def calendar_after(dates: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(next business day, the one after) of every date: calendar facts, no data."""
    d1 = next_session(dates)
    d2 = next_session(pd.DatetimeIndex([d1]))
    ext = dates.append(pd.DatetimeIndex([d1, d2]))
    return ext[1:-1], ext[2:]


# ------------------------------------------------------------------------------ files
#: Names of :func:`write_atomic`'s temporary files for the nightly outputs.
TEMP_PREFIXES = (".disclosed_portfolio_", ".orders_", ".summary_")


def file_names(for_date: str) -> dict[str, str]:
    """Output file names of one business day, by the date they are for (``YYYY-MM-DD``)."""
    return {
        "disclosure_csv": f"disclosed_portfolio_{for_date}.csv",
        "disclosure_json": f"disclosed_portfolio_{for_date}.json",
        "orders_csv": f"orders_{for_date}.csv",
    }


def basket_file_names(for_date: str) -> dict[str, str]:
    """File names of a semi-transparent fund's substitute basket for ``for_date``
    (:mod:`backtest.ops.basket`)."""
    return {"csv": f"substitute_basket_{for_date}.csv",
            "json": f"substitute_basket_{for_date}.json"}  # fmt: skip


def _num(x):
    """Shortest exact text of a number; whole quantities without ``.0``."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


DISCLOSURE_FIELDS = ("for_date", "valued_at", "book", "instrument", "name", "kind", "quantity",
                     "price", "market_value", "notional_usd", "pct_net_assets")  # fmt: skip
ORDER_FIELDS = ("date", "for_date", "book", "instrument", "side", "quantity", "reference_price",
                "target_exposure", "target_quantity", "current_quantity")  # fmt: skip


def _sorted(rows, columns, fields) -> list[list]:
    """Rows by book, then instrument (the cash line last), with only ``fields``."""
    pick = [columns.index(f) for f in fields]
    ib, ii = columns.index("book"), columns.index("instrument")
    rows = sorted(rows, key=lambda r: (r[ib], r[ii] == CASH_LINE, r[ii]))
    return [[_num(r[k]) for k in pick] for r in rows]


def _csv(rows: list[list], fields) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(rows)
    return buf.getvalue()


def disclosure_csv(rows, columns) -> str:
    """CSV text of a Disclosed Portfolio from state rows (``columns`` names the tuple fields)."""
    return _csv(_sorted(rows, columns, DISCLOSURE_FIELDS), DISCLOSURE_FIELDS)


def disclosure_json(rows, columns, for_date: str, valued_at: str, nav: dict) -> str:
    """JSON text: the day, the NAV it is valued against, and one object (line) per position."""
    fields = DISCLOSURE_FIELDS[2:]
    head = {
        "for_date": for_date,
        "valued_at": valued_at,
        "net_assets": nav["net_assets"],
        "nav_per_share": nav["nav_per_share"],
        "shares_outstanding": _num(nav["shares_outstanding"]),
    }
    positions = ",\n  ".join(
        json.dumps(dict(zip(fields, r, strict=True))) for r in _sorted(rows, columns, fields)
    )
    return json.dumps(head)[:-1] + f', "positions": [\n  {positions}\n]}}\n'


def orders_csv(rows, columns) -> str:
    return _csv(_sorted(rows, columns, ORDER_FIELDS), ORDER_FIELDS)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, fsync'ed, then
    renamed over ``path``: a reader (or a crash) sees the old file or the new one, never half.
    Its mode follows the umask, as a plain ``open`` would (the Disclosed Portfolio is
    published)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # mkstemp creates 0600: a published file follows the umask
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_day_files(out: Path, day: st.DayRows, nav: dict) -> None:
    names = file_names(day.next_date)
    cols = st.COLUMNS["disclosed_portfolios"]
    rows = day.rows["disclosed_portfolios"]
    write_atomic(out / names["disclosure_csv"], disclosure_csv(rows, cols))
    write_atomic(out / names["disclosure_json"],
                    disclosure_json(rows, cols, day.next_date, day.date, nav))  # fmt: skip
    write_atomic(out / names["orders_csv"],
                    orders_csv(day.rows["orders"], st.COLUMNS["orders"]))  # fmt: skip


def listing(out: Path) -> set[str]:
    """The names in the output folder ``out`` (none when it does not exist yet)."""
    return set(os.listdir(out)) if out.is_dir() else set()


def repair_files(conn, out: Path, existing: set[str] | None = None) -> int:
    """Re-write, from the database, the day files that are missing; returns how many days.
    Temporary files a killed run left behind are removed (call it under the state lock).
    ``existing``: :func:`listing` of ``out`` when the caller has it."""
    existing = listing(out) if existing is None else existing
    for name in existing:
        if name.startswith(TEMP_PREFIXES):
            (out / name).unlink(missing_ok=True)
    count = 0
    for date, next_date, _ in st.stored_days(conn):
        if existing.issuperset(file_names(next_date).values()):
            continue
        rows = {t: st.read_day(conn, t, date) for t in ("orders", "disclosed_portfolios")}
        nav = dict(zip(st.COLUMNS["nav"], st.read_day(conn, "nav", date)[0], strict=True))
        write_day_files(out, st.DayRows(date, next_date, rows), nav)
        count += 1
    return count


def _basket_summary(conn, day: str, next_date: str) -> dict:
    """The summary's ``substitute_basket`` entry when a basket is stored for ``day``."""
    if "substitute_basket_days" not in st.present_day_tables(conn):
        return {}
    head = st.read_day(conn, "substitute_basket_days", day)
    if not head:
        return {}
    return {"substitute_basket": {**basket_file_names(next_date), "overlap": head[0][2]}}


def summary_json(conn, day: str, run: dict, state_path, config_path) -> str:
    """The run summary JSON: the booked state of ``day`` read back from the database, and
    ``run`` (what this run did)."""
    info = st.read_info(conn)
    nav = dict(zip(st.COLUMNS["nav"], st.read_day(conn, "nav", day)[0], strict=True))
    next_date = conn.execute("SELECT next_date FROM days WHERE date = ?", (day,)).fetchone()[0]
    orders = st.read_day(conn, "orders", day)
    checks = st.read_day(conn, "limit_checks", day)
    names = file_names(next_date)
    doc = {
        "asof": day,
        "next_business_day": next_date,
        "state": str(state_path),
        "config": str(config_path),
        "config_hash": info.get("config_hash"),
        "inception": info.get("inception"),
        "nav": {
            k: nav[k]
            for k in ("nav_per_share", "nav_per_share_5dp", "net_assets", "shares_outstanding")
        },  # fmt: skip
        "orders": {"count": len(orders), "file": names["orders_csv"]},
        "disclosed_portfolio": {"csv": names["disclosure_csv"], "json": names["disclosure_json"]},
        **_basket_summary(conn, day, next_date),
        "limit_breaches": [{"rule": r[1], "figure": r[2], "limit": r[3]} for r in checks if r[4]],
        "run": run,
    }
    return json.dumps(doc, indent=1, default=str) + "\n"
