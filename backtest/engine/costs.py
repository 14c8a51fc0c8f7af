"""The simulator's cost model as a vectorised estimate for a book of exposures.

The fund simulator charges each trade its commission, the half spread of its asset class and
linear impact (:class:`~backtest.engine.config.CostModel`, :mod:`backtest.engine.execution`),
and each futures roll both legs. A strategy's standalone return stream — what the allocator
weighs — should pay the same, or the allocator favours strategies whose costs it cannot see.

Per unit of notional traded (fraction of capital), on row ``t``:

- ``half_spread_bps[asset class] · 1e-4`` (options: of the underlying's notional, as the kernel);
- ``commission / notional of one unit`` (a futures or option contract, a share; currency
  forwards pay none, as in the kernel), the unit's notional at ``t``;
- impact ``impact_bps_per_pct_nav · 1e-4 · 100 · |Δexposure|`` (the strategy's capital taken as
  the fund's: an upper bound, 0 by default).

A futures position held over a roll pays ``2 · |exposure| · (spread + commission rate)`` on the
row after the roll (the kernel books roll costs then), with the roll dates of the simulator
(:func:`backtest.engine.simulator.futures_roll_flags`). Pure functions; row ``t`` reads rows up
to ``t`` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from backtest.engine.config import FundConfig
from backtest.engine.dense import row_sums
from backtest.engine.simulator import futures_roll_flags
from backtest.market.arrays import readonly_c
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind
from backtest.market.market_data import MarketData

__all__ = ["cost_rates", "exposure_costs", "exposure_costs_py"]


def cost_rates(market: MarketData, ids: list[str], config: FundConfig):
    """(cost per unit of notional traded, roll flags), each of shape (n_dates, n_ids).

    The rate is a decimal (0.0005 = 5 bp); the roll flag is True on the row whose opening
    position was rolled at the previous close (the kernel's ``rolled``). Each instrument's
    columns are computed once per market and cost model, the missing ones together.
    """
    n_dates = len(market.calendar)
    rate = np.zeros((n_dates, len(ids)))
    rolled = np.zeros((n_dates, len(ids)), dtype=bool)
    rates, flags = _cost_columns(market, ids, config)
    if rates:  # one strided copy each, in C
        np.stack(rates, axis=1, out=rate)
        np.stack(flags, axis=1, out=rolled)
    return rate, rolled


def _cost_rates(ids: list[str], market: MarketData, costs, roll_days: int) -> list:
    """(cost per unit of notional traded, roll flags) of each id, arrays (n_dates,)."""
    table = market.instruments
    listed = [i for i in ids if i in table.index]
    # one frame operation for every listed id (per id, this look-up was most of the cost)
    notional = market.notional_per_unit_usd(listed).to_numpy(dtype="float64")
    kinds = [InstrumentKind(k) for k in table.loc[listed, "kind"]]
    spread = [costs.half_spread_bps.get(str(a), 0.0) for a in table.loc[listed, "asset_class"]]
    commission = [
        costs.commission_per_contract_usd
        if kind in FUTURE_KINDS
        else 0.0
        if kind is InstrumentKind.CURRENCY_FORWARD
        else costs.commission_per_share_usd
        for kind in kinds
    ]
    # every listed id's rate in one array operation, one contiguous row each
    rows = _rate(np.array(spread)[:, None], np.array(commission, dtype="float64")[:, None],
                 np.ascontiguousarray(notional.T))  # fmt: skip
    rows.flags.writeable = False
    listed_at = {i: j for j, i in enumerate(listed)}
    out = []
    not_rolled = np.zeros(len(market.calendar), dtype=bool)
    not_rolled.flags.writeable = False  # shared by every column that never rolls
    options = {}  # (root, multiplier, asset class) → its columns: one per option of that kind
    for iid in ids:
        rolled = not_rolled
        if iid not in listed_at:  # an on-demand index option
            opt = IndexOption.from_id(iid)
            key = (opt.root, opt.multiplier, opt.asset_class)
            if key not in options:
                spread_bps = costs.half_spread_bps.get(opt.asset_class.value, 0.0)
                unit = opt.multiplier * market.index[opt.root].to_numpy()
                rate = _rate(spread_bps, costs.commission_per_contract_usd, unit)
                rate.flags.writeable = False
                options[key] = rate, rolled
            out.append(options[key])
            continue
        j = listed_at[iid]
        if kinds[j] in FUTURE_KINDS:
            rolled = futures_roll_flags(market, iid, roll_days)
        out.append((rows[j], rolled))
    return out


def _rate(spread_bps, commission, unit: np.ndarray) -> np.ndarray:
    """Cost per unit of notional traded (decimal), the shape of ``unit``: the half spread plus
    the commission over one unit's notional ``unit`` (USD; 0 where it is 0 or not finite).
    ``spread_bps`` and ``commission`` are numbers, or columns (k, 1) for rows of ``unit``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(np.abs(unit) > 0, commission / np.abs(unit), 0.0)
    return spread_bps * 1e-4 + np.nan_to_num(per_unit, nan=0.0, posinf=0.0)


def exposure_costs(
    exposures: pd.DataFrame, market: MarketData, config: FundConfig, lag_days: int = 1
) -> pd.Series:
    """Daily cost (decimal of capital) of trading and rolling a book of exposures.

    Exposures decided at ``t`` trade at ``t + lag_days`` (as
    :func:`backtest.market.returns.exposure_returns`): that row pays ``Σ_i |Δexposure_i| ·
    rate_i`` plus impact; a futures exposure held over a roll pays both legs the next row.
    Returns a Series on the market calendar.

    Each (row, instrument) cost is one numba pass (:func:`_cost_terms`) over the exposures and
    each id's cached rate and roll flags, the arithmetic of :func:`exposure_costs_py` term by
    term, and each row's terms are added in column order, one after the other. Every term is
    ``>= +0.0``, so a column that costs nothing on a row leaves that row's sum as it is, to the
    bit: the cost of a day does not depend on which instruments the book holds on other days
    (a strategy that lists a new option each month, cut at a date, has fewer columns than the
    same strategy on a longer market; numpy's pairwise row sums grouped the same terms
    differently by column count, and the past cost changed in its last bit).
    """
    if lag_days < 0:
        raise ValueError(f"exposure_costs: lag_days must be >= 0, got {lag_days}")
    ids = [str(c) for c in exposures.columns]
    rates, flags = _cost_columns(market, ids, config)
    x = exposures.reindex(market.calendar).fillna(0.0).to_numpy(dtype="float64")
    if not ids:
        return pd.Series(np.zeros(len(x)), index=market.calendar, name="cost")
    rate = readonly_c(np.stack(rates))  # (ids × dates): one contiguous copy per id
    rolled = readonly_c(np.stack(flags))
    rolls = readonly_c(rolled.any(axis=1))  # futures columns that roll at least once
    impact = config.costs.impact_bps_per_pct_nav
    coef = float(impact * 1e-4 * 100.0) if impact else 0.0
    # (ids × dates) read-only C arguments (a frame's values transposed: a view): one signature
    cost = _cost_terms(readonly_c(x.T), rate, rolled, rolls, int(lag_days), coef, bool(impact))
    return pd.Series(cost, index=market.calendar, name="cost")


def _cost_columns(market: MarketData, ids: list[str], config: FundConfig):
    """Each id's (rate, roll flags) arrays (n_dates,), computed once per market and model."""
    model = repr(config.costs)  # once, not once per id
    roll_days = config.roll_days_before_expiry
    keys = [("cost_rate", iid, model, roll_days) for iid in ids]
    columns = market.cached_batch(
        keys, lambda missing: _cost_rates([k[1] for k in missing], market, config.costs, roll_days)
    )
    return [r for r, _ in columns], [f for _, f in columns]


@njit(cache=True)
def _cost_terms(xt, rate, rolled, rolls, lag, coef, has_impact):
    """Kernel of :func:`exposure_costs`: each row's cost, its terms added in column order
    (n_dates,). xt (n_ids, n_dates) exposures; rate, rolled (n_ids, n_dates); rolls
    (n_ids,) the columns that roll at least once. Term ``(t, j)``: ``|traded[t] − traded[t−1]|
    · rate`` (``traded`` = x lagged by ``lag`` rows, 0 before), plus ``coef · turnover²`` with
    impact, plus ``2 · |traded[t−1]| · rate · rolled`` on a rolling column, in numpy's order
    of :func:`exposure_costs_py`."""
    k, n = xt.shape
    cost = np.zeros(n)
    for j in range(k):
        for t in range(n):
            now = xt[j, t - lag] if t >= lag else 0.0  # traded[t]
            if t == 0:
                turnover = abs(now - 0.0)
                held = 0.0
            else:
                held = xt[j, t - 1 - lag] if t - 1 >= lag else 0.0  # traded[t − 1]
                turnover = abs(now - held)
            c = turnover * rate[j, t]
            if has_impact:
                c = c + coef * (turnover * turnover)
            if rolls[j]:
                c = c + 2.0 * abs(held) * rate[j, t] * (1.0 if rolled[j, t] else 0.0)
            cost[t] = cost[t] + c  # the row's terms added in column order
    return cost


def exposure_costs_py(
    exposures: pd.DataFrame, market: MarketData, config: FundConfig, lag_days: int = 1
) -> pd.Series:
    """Plain twin of :func:`exposure_costs` (whole-array numpy steps), for the tests."""
    ids = [str(c) for c in exposures.columns]
    rate, rolled = cost_rates(market, ids, config)
    x = exposures.reindex(market.calendar).fillna(0.0).to_numpy(dtype="float64")
    traded = np.zeros_like(x)
    if lag_days < len(x):
        traded[lag_days:] = x[: len(x) - lag_days]
    # |Δ traded| (np.diff with a zero row prepended), row-major as the sum below reads it
    turnover = np.empty(traded.shape)
    turnover[:1] = traded[:1] - 0.0
    np.subtract(traded[1:], traded[:-1], out=turnover[1:])
    np.abs(turnover, out=turnover)
    impact = config.costs.impact_bps_per_pct_nav
    impact = impact * 1e-4 * 100.0 * turnover**2 if impact else None
    cost = np.multiply(turnover, rate, out=turnover)  # every term >= +0.0: a zero term is a no-op
    if impact is not None:
        cost += impact
    rolls = np.flatnonzero(rolled.any(axis=0))  # futures columns that roll at least once
    if len(rolls):
        held = np.zeros((len(x), len(rolls)))
        held[1:] = traded[:-1, rolls]  # the position at the previous close, the one rolled
        cost[:, rolls] += 2.0 * np.abs(held) * rate[:, rolls] * rolled[:, rolls]
    # in column order, as the kernel: every term >= +0.0, so the kernel's start from 0.0 and
    # row_sums' start from the first term give the same bits
    return pd.Series(row_sums(cost), index=market.calendar, name="cost")
