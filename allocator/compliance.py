"""Post-trade compliance: every limit of :mod:`allocator.limits` checked on every simulated day.

``check_limits(result, market, limits)`` returns a long table with one row per (date, rule):
``figure`` (the measured value), ``limit``, ``breach`` (bool) and ``applies`` (False where the
rule is only informative that day, e.g. the Subsidiary cap outside fiscal quarter-ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from allocator.limits import (
    DERIVATIVE_KINDS,
    EQUITY_KINDS,
    Limits,
    instrument_attributes,
    portfolio_var,
    var_limit,
)
from backtest.market.calendar import quarter_end_flags
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns

COLUMNS = ["date", "rule", "figure", "limit", "breach", "applies"]
#: rules whose figure must stay at or above its limit (every other rule: at or below)
LOWER_BOUND_RULES = frozenset({"cash_fund", "cash_subsidiary"})


class _Rule(NamedTuple):
    """One rule's rows of the table: its name and (R,) arrays figure, limit, breach, applies."""

    name: str
    figure: np.ndarray
    limit: np.ndarray
    breach: np.ndarray
    applies: np.ndarray


def _rule(dates, name, figure, limit, applies=True) -> _Rule:
    figure = np.asarray(figure, dtype="float64")
    limit_arr = np.broadcast_to(np.asarray(limit, dtype="float64"), figure.shape)
    applies = np.broadcast_to(np.asarray(applies, dtype=bool), figure.shape)
    tol = 1e-9
    bad = figure < limit_arr - tol if name in LOWER_BOUND_RULES else figure > limit_arr + tol
    return _Rule(name, figure, limit_arr, bad & applies, applies)


def _table(dates: pd.DatetimeIndex, rules: list[_Rule]) -> pd.DataFrame:
    """The long table of :data:`COLUMNS`: each rule's rows on ``dates``, rule after rule (the
    frame one DataFrame per rule concatenated would give, built once)."""
    return pd.DataFrame(
        {
            "date": dates.take(np.tile(np.arange(len(dates)), len(rules))),
            "rule": np.repeat(np.array([r.name for r in rules], dtype=object), len(dates)),
            "figure": np.concatenate([r.figure for r in rules]),
            "limit": np.concatenate([r.limit for r in rules]),
            "breach": np.concatenate([r.breach for r in rules]),
            "applies": np.concatenate([r.applies for r in rules]),
        }  # fmt: skip
    )[COLUMNS]


def check_limits(
    result,
    market: MarketData,
    limits: Limits | None = None,
    quarter_ends: pd.DatetimeIndex | None = None,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Evaluate every rule on every day of a :class:`backtest.engine.simulator.SimulationResult`.

    ``rows``: ascending row numbers into ``result.inputs.dates`` (all days when None): the
    table of all days restricted to those dates, every value bit for bit (same columns, same
    row order), computed from the simulator's rows at those dates only (and the day before each,
    for the illiquid purchases; the VaR's look-back window of returns).
    """
    limits = limits or Limits()
    nav = result.nav
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (np.diff(rows) <= 0).any():
            raise ValueError("check_limits: rows must be ascending row numbers without repeats")
        if len(rows) == len(nav) and (not len(rows) or rows[0] == 0):
            rows = None  # every day: the frames of all days
    if rows is None:
        book = _all_days(result)
    else:
        book = _some_days(result, rows)
        nav = nav.iloc[book.rows]
    dates = nav.index
    na = nav["net_assets"].to_numpy()
    table = instrument_attributes(market, result.inputs.ids)
    mv, qty = book.mv, book.qty
    if quarter_ends is None:
        all_dates = result.nav.index
        flags = quarter_end_flags(all_dates, result.config.subsidiary.fiscal_year_end_month)
        quarter_end = np.asarray(flags)[book.rows] if rows is not None else flags
    else:
        quarter_end = dates.isin(quarter_ends)
    rules = [
        _rule(
            dates,
            "subsidiary_cap",
            nav["subsidiary_pct_total_assets"],
            limits.subsidiary_cap,
            applies=quarter_end,
        ),
        _rule(
            dates,
            "subsidiary_band",
            nav["subsidiary_pct_total_assets"],
            result.config.subsidiary.band_high,
            applies=False,
        ),
        _rule(dates, "cash_fund", nav["cash_fund"] / na, 0.0),
        _rule(dates, "cash_subsidiary", nav["cash_subsidiary"] / na, 0.0),
        _rule(dates, "gross_leverage", book.gross / na, limits.gross_leverage_max),
    ]
    kinds = table["kind"].astype(str)
    eq_cols = list(table.index[kinds.isin(EQUITY_KINDS).to_numpy()])
    if eq_cols:
        longs = mv[eq_cols].clip(lower=0.0)
        by_industry = longs.T.groupby(table.loc[eq_cols, "industry"].to_numpy()).sum().T
        rules.append(_rule(dates, "industry", by_industry.max(axis=1) / na, limits.industry_max))
    else:
        rules.append(_rule(dates, "industry", np.zeros(len(dates)), limits.industry_max))
    ill_cols = list(table.index[(table["liquidity"] == "illiquid").to_numpy()])
    ill = mv[ill_cols].clip(lower=0.0).sum(axis=1) / na if ill_cols else pd.Series(0.0, dates)
    if ill_cols:
        bought = book.bought(qty, ill_cols)
    else:
        bought = np.zeros(len(dates), dtype=bool)
    rules.append(_rule(dates, "illiquid", ill, limits.illiquid_max, applies=bought))
    banned_eq = kinds.isin(EQUITY_KINDS) & (table["country"] != "US")
    banned_dv = kinds.isin(DERIVATIVE_KINDS) & ~table["isg_member"].astype(bool)
    for name, mask in (("non_us_equity", banned_eq), ("isg", banned_dv)):
        cols = list(table.index[mask.to_numpy()])
        count = (qty[cols] != 0).sum(axis=1) if cols else pd.Series(0, dates)
        rules.append(_rule(dates, name, count, 0.0))
    fund_var = _var(book, result, market, limits)
    allowed = var_limit(market, limits, book.rows).to_numpy()
    measured = np.isfinite(fund_var)  # the test applies once there is enough history
    rules.append(_rule(dates, "var_18f4", np.nan_to_num(fund_var), allowed, applies=measured))
    return _table(dates, rules)


@dataclass(frozen=True)
class _Book:
    """The simulator's figures the rules read, at the checked rows ((R,) ascending ``rows``):
    ``mv`` and ``qty`` (dates × instruments frames, USD and units), ``gross`` ((R,) Σ |notional|
    over the instruments, USD, in the all-days order), ``notional`` ((R, N) USD) and
    ``previous_qty`` (the holdings of each row's previous row, for :meth:`bought`)."""

    rows: np.ndarray
    mv: pd.DataFrame
    qty: pd.DataFrame
    gross: np.ndarray
    notional: np.ndarray
    previous_qty: pd.DataFrame | None  # qty at each row's previous row (rows > 0); None: all days

    def bought(self, qty: pd.DataFrame, cols: list) -> np.ndarray:
        """(R,) bool: a position in ``cols`` grew at the row's close (any position on row 0)."""
        if self.previous_qty is None:  # all days: the frame's own diff
            return (qty[cols].diff().fillna(qty[cols]) > 0).any(axis=1).to_numpy()
        now = qty[cols].to_numpy()
        change = now - self.previous_qty[cols].to_numpy()
        change = np.where(np.isnan(change), now, change)  # diff().fillna(qty)
        if len(self.rows) and self.rows[0] == 0:  # no previous row: diff() is NaN
            change[0] = now[0]
        return (change > 0).any(axis=1)


def _all_days(result) -> _Book:
    mv, notional = result.market_values, result.notionals
    # (dates × ids) views of the frames' blocks: reductions over ids in pandas' memory order
    notional_values = notional.to_numpy()
    gross = np.abs(notional_values).sum(axis=1)
    rows = np.arange(len(result.inputs.dates))
    return _Book(rows, mv, result.quantities, gross, notional_values, None)


def _some_days(result, rows: np.ndarray) -> _Book:
    """:func:`_all_days`' figures at ``rows`` only, from :meth:`DenseOutputs.at_rows`."""
    at = result.outputs.at_rows(rows)
    dates, ids = result.inputs.dates[rows], result.inputs.ids

    def frame(values):
        return pd.DataFrame(values, index=dates, columns=ids)

    previous = rows[rows > 0] - 1
    before = result.outputs.at_rows(previous).qty
    prev = np.zeros((len(rows), len(ids)))
    prev[len(rows) - len(previous) :] = before
    notional = at.notional
    # the all-days sum runs over a column-major block: one instrument after the other, added
    # left to right to each day's running sum (not numpy's pairwise sum along a row)
    absolute = np.abs(notional)
    gross = np.cumsum(absolute, axis=1)[:, -1] if absolute.shape[1] else np.zeros(len(rows))
    return _Book(rows, frame(at.mv), frame(at.qty), gross, notional, frame(prev))


def _var(book: _Book, result, market: MarketData, limits: Limits) -> np.ndarray:
    """(R,) the 18f-4 VaR of the exposure weights (notional / net assets) at ``book.rows``."""
    na_all = result.nav["net_assets"].to_numpy()
    # exposure weights (notional.div(na, axis=0): the same quotients) of the held instruments
    # only: the returns of the others (e.g. options that expired before the fund's first day)
    # are neither needed nor computed. Instrument-major, as pandas stores a frame's block.
    T = len(na_all)
    rows = book.rows
    weights_t = book.notional.T / na_all[rows]
    held_mask = ((weights_t != 0.0) & ~np.isnan(weights_t)).any(axis=1)
    weights_t = weights_t[held_mask]
    weights_t[np.isnan(weights_t)] = 0.0
    held = list(pd.Index(result.inputs.ids)[held_mask])
    if len(rows) == T:
        window, at = np.arange(T), rows
        values = weights_t
    else:  # only the look-back window before the first row is read (portfolio_var: up to t)
        lo = max(0, int(rows[0]) - limits.var_lookback_days + 1) if len(rows) else 0
        window = np.arange(lo, int(rows[-1]) + 1) if len(rows) else np.arange(0)
        at = rows - lo
        values = np.zeros((len(held), len(window)))
        values[:, at] = weights_t
    dates = result.nav.index[window]
    weights = pd.DataFrame(values.T, index=dates, columns=held, copy=False)
    returns = instrument_returns(market, held)
    return portfolio_var(weights, returns, limits, at).to_numpy()


def breaches(compliance: pd.DataFrame) -> pd.DataFrame:
    """Only the rows that breached a rule that applies."""
    return compliance[compliance["breach"]].reset_index(drop=True)


def headroom(compliance: pd.DataFrame) -> pd.Series:
    """Room left to each row's limit: ``limit − figure`` for upper limits, ``figure − limit`` for
    the lower-bound rules (:data:`LOWER_BOUND_RULES`); negative on a breach."""
    lower = compliance["rule"].isin(LOWER_BOUND_RULES).to_numpy()
    room = compliance["limit"] - compliance["figure"]
    return room.where(~lower, -room)


def summary(compliance: pd.DataFrame) -> pd.DataFrame:
    """Per rule: days checked, days applicable, breaches, and the day of least headroom.

    ``worst_date``, ``worst`` (the figure) and ``limit`` are those of one day: the day with the
    smallest :func:`headroom` among the days the rule applies (limits may vary by day, e.g. the
    VaR test). A rule that never applied has no worst day (NaT, NaN).
    """
    rows = {}
    room = headroom(compliance)
    for rule, g in compliance.groupby("rule", sort=False):
        applies = g["applies"].astype(bool)
        row = {"days": len(g), "applicable": int(applies.sum()),
               "breaches": int(g["breach"].astype(bool).sum()),
               "worst_date": pd.NaT, "worst": np.nan, "limit": np.nan}  # fmt: skip
        if applies.any():
            worst = g.loc[room[g.index][applies.to_numpy()].idxmin()]
            row.update(worst_date=pd.Timestamp(worst["date"]), worst=float(worst["figure"]),
                       limit=float(worst["limit"]))  # fmt: skip
        rows[rule] = row
    columns = ["days", "applicable", "breaches", "worst_date", "worst", "limit"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("rule")
