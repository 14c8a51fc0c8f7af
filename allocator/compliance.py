"""Post-trade compliance: every limit of :mod:`allocator.limits` checked on every simulated day.

``check_limits(result, market, limits)`` returns a long table with one row per (date, rule):
``figure`` (the measured value), ``limit``, ``breach`` (bool) and ``applies`` (False where the
rule is only informative that day, e.g. the Subsidiary cap outside fiscal quarter-ends).
"""

from __future__ import annotations

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


def _rule(dates, name, figure, limit, applies=True) -> pd.DataFrame:
    figure = np.asarray(figure, dtype="float64")
    limit_arr = np.broadcast_to(np.asarray(limit, dtype="float64"), figure.shape)
    applies = np.broadcast_to(np.asarray(applies, dtype=bool), figure.shape)
    tol = 1e-9
    bad = figure < limit_arr - tol if name in LOWER_BOUND_RULES else figure > limit_arr + tol
    return pd.DataFrame(
        {
            "date": dates,
            "rule": name,
            "figure": figure,
            "limit": limit_arr,
            "breach": bad & applies,
            "applies": applies,
        }  # fmt: skip
    )


def check_limits(
    result,
    market: MarketData,
    limits: Limits | None = None,
    quarter_ends: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Evaluate every rule on every day of a :class:`backtest.engine.simulator.SimulationResult`."""
    limits = limits or Limits()
    nav = result.nav
    dates = nav.index
    na = nav["net_assets"].to_numpy()
    table = instrument_attributes(market, result.inputs.ids)
    mv = result.market_values
    notional = result.notionals
    qty = result.quantities
    # (dates × ids) views of the frames' blocks: reductions over ids in pandas' memory order
    notional_values = notional.to_numpy()
    if quarter_ends is None:
        quarter_end = quarter_end_flags(dates, result.config.subsidiary.fiscal_year_end_month)
    else:
        quarter_end = dates.isin(quarter_ends)
    frames = [
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
        _rule(
            dates,
            "gross_leverage",
            np.abs(notional_values).sum(axis=1) / na,
            limits.gross_leverage_max,
        ),  # fmt: skip
    ]
    kinds = table["kind"].astype(str)
    eq_cols = list(table.index[kinds.isin(EQUITY_KINDS).to_numpy()])
    if eq_cols:
        longs = mv[eq_cols].clip(lower=0.0)
        by_industry = longs.T.groupby(table.loc[eq_cols, "industry"].to_numpy()).sum().T
        frames.append(_rule(dates, "industry", by_industry.max(axis=1) / na, limits.industry_max))
    else:
        frames.append(_rule(dates, "industry", np.zeros(len(dates)), limits.industry_max))
    ill_cols = list(table.index[(table["liquidity"] == "illiquid").to_numpy()])
    ill = mv[ill_cols].clip(lower=0.0).sum(axis=1) / na if ill_cols else pd.Series(0.0, dates)
    if ill_cols:
        bought = (qty[ill_cols].diff().fillna(qty[ill_cols]) > 0).any(axis=1).to_numpy()
    else:
        bought = np.zeros(len(dates), dtype=bool)
    frames.append(_rule(dates, "illiquid", ill, limits.illiquid_max, applies=bought))
    banned_eq = kinds.isin(EQUITY_KINDS) & (table["country"] != "US")
    banned_dv = kinds.isin(DERIVATIVE_KINDS) & ~table["isg_member"].astype(bool)
    for name, mask in (("non_us_equity", banned_eq), ("isg", banned_dv)):
        cols = list(table.index[mask.to_numpy()])
        count = (qty[cols] != 0).sum(axis=1) if cols else pd.Series(0, dates)
        frames.append(_rule(dates, name, count, 0.0))
    # exposure weights (notional.div(na, axis=0): the same quotients) of the held instruments
    # only: the returns of the others (e.g. options that expired before the fund's first day)
    # are neither needed nor computed. Instrument-major, as pandas stores a frame's block.
    weights_t = notional_values.T / na
    held_mask = ((weights_t != 0.0) & ~np.isnan(weights_t)).any(axis=1)
    held = notional.columns[held_mask]
    weights_t = weights_t[held_mask]
    weights_t[np.isnan(weights_t)] = 0.0
    weights = pd.DataFrame(weights_t.T, index=dates, columns=held, copy=False)
    returns = instrument_returns(market, list(held))
    rows = np.arange(len(dates))
    fund_var = portfolio_var(weights, returns, limits, rows).to_numpy()
    allowed = var_limit(market, limits, rows).to_numpy()
    measured = np.isfinite(fund_var)  # the test applies once there is enough history
    frames.append(_rule(dates, "var_18f4", np.nan_to_num(fund_var), allowed, applies=measured))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


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
