"""A semi-transparent fund's daily publication: the substitute basket's files and its Intraday
Indicative Value.

Files, beside the Disclosed Portfolio's (:mod:`backtest.ops.disclosure`), by the date they are
for: ``substitute_basket_YYYY-MM-DD.csv`` (``for_date, valued_at, instrument, kind, weight,
overlap``: one line per instrument of the basket; ``weight`` is notional as a fraction of net
assets) and ``substitute_basket_YYYY-MM-DD.json`` (the day, its overlap, one object per line).
Their rows are stored with the day, in the same transaction (state tables
``substitute_basket_days`` and ``substitute_baskets``, :func:`basket_rows`); the files are
written after the commit and re-written from the database when missing
(:func:`repair_basket_files`, byte-identical), as the Disclosed Portfolio's are.

IIV (:func:`basket_iiv_per_share`): the basket re-priced every tick as the full portfolio is
(:func:`backtest.ops.iiv.iiv_per_share`), on the net assets of the Disclosed Portfolio::

    IIV_basket(k) = (net_assets + net_assets · Σ_i b_i R_i(k)) / shares

with ``R_i(k)`` the return per unit of notional of instrument ``i`` from the last close to tick
``k``: ``(p_k fx_k − p_0 fx_0) / (underlying_0 fx_0)`` (securities, options; ``p_0`` the holdings'
``price``), ``(p_k − p_0) fx_k / (underlying_0 fx_0)`` for futures (variation margin from the
last settlement), ``(s_k − s_0) / s_0`` for currency forwards (spot). With ``b`` equal
to the actual weights ``notional_usd / net_assets`` it equals :func:`iiv_per_share` at every
tick (tested); the difference at the close is the day's tracking difference of the basket.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.market.instruments import FUTURE_KINDS, InstrumentKind
from backtest.ops import state as st
from backtest.ops.disclosure import basket_file_names, listing, write_atomic
from backtest.ops.iiv import DisclosedPortfolio, _tick_matrix

BASKET_FIELDS = ("for_date", "valued_at", "instrument", "kind", "weight", "overlap")


def basket_lines(weights: pd.Series, kinds: pd.Series) -> list[tuple[str, str, float]]:
    """(instrument, kind, weight) of the basket's non-zero weights, by instrument."""
    w = weights[weights != 0.0].sort_index()
    return [(str(i), str(kinds.get(i, "")), float(v)) for i, v in w.items()]


def basket_csv(for_date: str, valued_at: str, lines, overlap: float) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(BASKET_FIELDS)
    writer.writerows((for_date, valued_at, i, k, w, overlap) for i, k, w in lines)
    return buf.getvalue()


def basket_json(for_date: str, valued_at: str, lines, overlap: float) -> str:
    head = {"for_date": for_date, "valued_at": valued_at, "overlap": overlap,
            "instruments": len(lines)}  # fmt: skip
    body = ",\n  ".join(json.dumps({"instrument": i, "kind": k, "weight": w})
                        for i, k, w in lines)  # fmt: skip
    return json.dumps(head)[:-1] + f', "basket": [\n  {body}\n]}}\n'


def write_basket_files(out: Path, for_date: str, valued_at: str, lines, overlap: float) -> None:
    """Both files of one day, each written atomically."""
    names = basket_file_names(for_date)
    write_atomic(out / names["csv"], basket_csv(for_date, valued_at, lines, overlap))
    write_atomic(out / names["json"], basket_json(for_date, valued_at, lines, overlap))


def basket_rows(for_date: str, valued_at: str, lines, overlap: float) -> dict[str, list[tuple]]:
    """The state rows of one day's basket (:class:`backtest.ops.state.DayRows` tables)."""
    return {
        "substitute_basket_days": [(valued_at, for_date, None if np.isnan(overlap) else overlap)],
        "substitute_baskets": [(for_date, valued_at, i, k, float(w)) for i, k, w in lines],
    }


def stored_basket(conn, valued_at: str) -> tuple[str, list, float] | None:
    """(for_date, lines, overlap) of the basket stored for ``valued_at``, or None."""
    head = st.read_day(conn, "substitute_basket_days", valued_at)
    if not head:
        return None
    lines = [(i, k, w) for _, _, i, k, w in st.read_day(conn, "substitute_baskets", valued_at)]
    overlap = head[0][2]
    return head[0][1], lines, float("nan") if overlap is None else overlap


def repair_basket_files(conn, out: Path, existing: set[str] | None = None) -> int:
    """Re-write, from the database, the basket files that are missing; returns how many days
    (none for a transparent fund or a state from before schema version 4). ``existing``: the
    names in ``out`` when the caller has them."""
    if "substitute_basket_days" not in st.present_day_tables(conn):
        return 0
    existing = listing(out) if existing is None else existing
    count = 0
    query = "SELECT valued_at, for_date FROM substitute_basket_days"
    for valued_at, for_date in conn.execute(query).fetchall():
        if existing.issuperset(basket_file_names(for_date).values()):
            continue  # the day's lines are read only when its files are missing
        for_date, lines, overlap = stored_basket(conn, valued_at)
        write_basket_files(out, for_date, valued_at, lines, overlap)
        count += 1
    return count


def basket_iiv_per_share(
    portfolio: DisclosedPortfolio,
    weights: pd.Series,
    intraday_prices: pd.DataFrame,
    intraday_fx: pd.DataFrame | None = None,
) -> pd.Series:
    """IIV per share of the substitute basket at each tick (module docstring), USD.

    Parameters
    ----------
    portfolio : DisclosedPortfolio
        The day's full portfolio (its net assets, shares, and each holding's last prices).
    weights : Series by instrument
        The basket (notional, fraction of ``portfolio.net_assets_usd``); every instrument must
        be a holding of ``portfolio`` (a basket names only holdings).
    intraday_prices, intraday_fx : as :func:`backtest.ops.iiv.iiv_per_share`.

    Returns
    -------
    Series of shape (n_ticks,) named ``basket_iiv_per_share``.
    """
    h = portfolio.holdings.set_index("instrument")
    b = weights[weights != 0.0]
    missing = [i for i in b.index if i not in h.index]
    if missing:
        raise ValueError(f"basket instruments not held by the portfolio: {missing[:10]}")
    h = h.loc[list(b.index)]
    ticks = intraday_prices.index
    n = len(ticks)
    fwd = (h["kind"] == InstrumentKind.CURRENCY_FORWARD.value).to_numpy()
    price0 = h["price"].to_numpy(dtype="float64")
    under0 = h["underlying_price"].to_numpy(dtype="float64")
    fx0 = h["fx"].to_numpy(dtype="float64")
    prices = _tick_matrix(intraday_prices, list(h.index), price0, n)
    ccy = h["currency"].to_numpy(dtype=str)
    fx = _tick_matrix(intraday_fx, list(ccy), np.where(ccy == "USD", 1.0, fx0), n)
    fx[:, ccy == "USD"] = 1.0
    ret = (prices * fx - price0 * fx0) / (under0 * fx0)
    fut = np.isin(h["kind"].to_numpy(), [k.value for k in FUTURE_KINDS])
    ret[:, fut] = ((prices - price0) * fx / (under0 * fx0))[:, fut]  # variation margin at fx_k
    if fwd.any():
        spots = _tick_matrix(intraday_fx, list(h["underlying"][fwd]), under0[fwd], n)
        ret[:, fwd] = spots / under0[fwd] - 1.0
    na = portfolio.net_assets_usd
    values = na + na * (ret @ b.to_numpy(dtype="float64"))
    return pd.Series(values / portfolio.shares_outstanding, index=ticks,
                     name="basket_iiv_per_share")  # fmt: skip
