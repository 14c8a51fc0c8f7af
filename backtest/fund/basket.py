"""A run's substitute baskets and what they cost: the fund-level view of
:mod:`backtest.analytics.substitute_basket`, used by the run folder, the report and the nightly
job (one code path).

:func:`fund_baskets` builds, for every business day ``t`` of a run, the basket published before
the next open from the holdings the Disclosed Portfolio lists (``held_after_booking``) and a
covariance of returns up to ``t`` from the whole market the fund read (the look-back before
inception included), then measures it: realised tracking difference and error, the guardrail,
the overlap, and the reverse-engineering score per calendar year against the transparent
Disclosed Portfolio (which publishes the actual weights: score 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from backtest.analytics import substitute_basket as sb
from backtest.analytics.premium_discount import simulate_secondary_market
from backtest.fund.run import FundRun
from backtest.market.calendar import TRADING_DAYS_PER_YEAR, next_session
from backtest.market.instruments import InstrumentKind, is_option_id
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns

#: Columns of the daily summary (``substitute_basket_summary.csv``).
SUMMARY_COLUMNS = ("overlap", "ex_ante_te", "n_basket", "n_holdings", "tracking_difference",
                   "rolling_te", "guardrail_hit")  # fmt: skip


class FundBaskets(NamedTuple):
    """Baskets of a run and their measures.

    ``series``: :class:`~backtest.analytics.substitute_basket.BasketSeries` (row ``t``: the
    basket for the open after ``t``); ``returns``: dates × held instruments, per unit of
    notional, the whole history; ``summary``: DataFrame indexed by date with
    :data:`SUMMARY_COLUMNS`; ``scores``: one row per calendar year (indexed by its last date):
    ``year``, ``r2_basket``, ``r2_transparent``, ``weight_error_basket``,
    ``weight_error_transparent``; ``headline``: dict of the figures for the note and report.
    """

    series: sb.BasketSeries
    returns: pd.DataFrame
    summary: pd.DataFrame
    scores: pd.DataFrame
    headline: dict


def instrument_kinds(ids, market: MarketData) -> pd.Series:
    """:class:`InstrumentKind` value of each id (options priced on demand: ``index_option``)."""
    table = market.instruments
    kinds = [str(table.at[i, "kind"]) if i in table.index
             else InstrumentKind.INDEX_OPTION.value if is_option_id(i) else ""
             for i in ids]  # fmt: skip
    return pd.Series(kinds, index=list(ids), dtype=object)


def yearly_scores(series: sb.BasketSeries) -> pd.DataFrame:
    """Reverse-engineering scores per calendar year (see :class:`FundBaskets`)."""
    rows, ends = [], []
    w, b = series.actual, series.weights
    for year, days in w.groupby(w.index.year).groups.items():
        rows.append((int(year), sb.reverse_engineering_r2(b.loc[days], w.loc[days]),
                     sb.reverse_engineering_r2(w.loc[days], w.loc[days]),
                     sb.weight_error(b.loc[days], w.loc[days]),
                     sb.weight_error(w.loc[days], w.loc[days])))  # fmt: skip
        ends.append(pd.DatetimeIndex(days).max())
    cols = ["year", "r2_basket", "r2_transparent", "weight_error_basket",
            "weight_error_transparent"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols, index=pd.DatetimeIndex(ends, name="date"))


def basket_series(run: FundRun, spec: sb.SubstituteBasketSpec | None = None,
                  rows=None) -> tuple[sb.BasketSeries, pd.DataFrame]:  # fmt: skip
    """(baskets, returns) of ``run``: the baskets of the business days at ``rows`` (row numbers
    of the run; all when None) and the returns per unit of notional of the held instruments
    over the whole history. ``spec`` defaults to the run's ``FundSpec.disclosure.basket``."""
    spec = run.spec.disclosure.basket if spec is None else spec
    actual = sb.opening_weights(run.result, rows)
    held = list(actual.columns[(actual != 0.0).any(axis=0).to_numpy()])
    actual = actual[held]
    market = run.history if run.history is not None else run.market
    returns = instrument_returns(market, held)
    kinds = instrument_kinds(held, market)
    return sb.substitute_baskets(actual, returns, kinds, spec), returns


def fund_baskets(run: FundRun, spec: sb.SubstituteBasketSpec | None = None) -> FundBaskets:
    """Every day's basket of ``run`` and its measures (module docstring); ``spec`` defaults to
    the run's ``FundSpec.disclosure.basket``."""
    spec = run.spec.disclosure.basket if spec is None else spec
    series, returns = basket_series(run, spec)
    actual = series.actual
    td = sb.tracking_difference(series.weights, actual, returns)
    rolling = sb.rolling_tracking_error(td, spec.guardrail_window_days)
    hits = sb.guardrail_hits(td, spec)
    summary = series.summary.assign(tracking_difference=td, rolling_te=rolling,
                                    guardrail_hit=hits)  # fmt: skip
    summary.index.name = "date"
    scores = yearly_scores(series)
    return FundBaskets(series, returns, summary, scores, headline(summary, scores))


def headline(summary: pd.DataFrame, scores: pd.DataFrame) -> dict:
    """The figures of the note and the report from a daily summary and yearly scores (the
    frames of :class:`FundBaskets`, or read back from a run folder): realised tracking error
    (annual decimal), mean ex-ante tracking error, mean absolute daily tracking difference (bp),
    overlap mean/min/max, guardrail hit rate, and the medians over full calendar years (the
    first and last years dropped when there are more than two) of the reverse-engineering R²
    for the basket and for the transparent Disclosed Portfolio, and of the basket's weight
    error."""
    td = summary["tracking_difference"]
    full_years = scores.iloc[1:-1] if len(scores) > 2 else scores
    return {
        "tracking_error_annual": float(td.std() * math.sqrt(TRADING_DAYS_PER_YEAR)),
        "ex_ante_te_mean": float(summary["ex_ante_te"].mean()),
        "mean_abs_tracking_difference_bp": float(1e4 * td.abs().mean()),
        "overlap_mean": float(summary["overlap"].mean()),
        "overlap_min": float(summary["overlap"].min()),
        "overlap_max": float(summary["overlap"].max()),
        "guardrail_hit_rate": sb.guardrail_hit_rate(summary["guardrail_hit"]),
        "r2_basket_median_year": float(full_years["r2_basket"].median()),
        "r2_transparent_median_year": float(full_years["r2_transparent"].median()),
        "weight_error_median_year": float(full_years["weight_error_basket"].median()),
    }


def published_baskets(baskets: FundBaskets, kinds: pd.Series | None = None) -> pd.DataFrame:
    """The baskets as published: one row per (day, instrument in the basket), indexed by
    ``for_date`` (the next business day after ``valued_at``), with ``valued_at``,
    ``instrument``, ``kind``, ``weight`` (notional, fraction of net assets) and the day's
    ``overlap``. ``for_date`` of the last row is the session after the run (XNYS or the next
    weekday, as :func:`backtest.market.calendar.next_session`)."""
    dates = baskets.series.weights.index
    for_dates = dates[1:].append(pd.DatetimeIndex([next_session(dates)]))
    return basket_rows(baskets.series.weights, baskets.summary["overlap"], kinds, for_dates)


def basket_rows(weights: pd.DataFrame, overlap: pd.Series, kinds, for_dates) -> pd.DataFrame:
    """Long table of non-zero basket weights (see :func:`published_baskets`); ``for_dates``
    (n_days,) the date each row of ``weights`` is published for."""
    w = weights.to_numpy(dtype="float64")
    t, j = np.nonzero(w)
    ids = np.asarray(weights.columns, dtype=object)
    kind = (kinds.reindex(ids).to_numpy(dtype=object) if kinds is not None
            else np.full(len(ids), "", dtype=object))  # fmt: skip
    frame = pd.DataFrame(
        {
            "valued_at": weights.index[t],
            "instrument": ids[j],
            "kind": kind[j],
            "weight": w[t, j],
            "overlap": overlap.to_numpy(dtype="float64")[t],
        },
        index=pd.DatetimeIndex(np.asarray(for_dates)[t], name="for_date"),
    )
    return frame


def premium_effect(nav_per_share: pd.Series, te_annual: float, seed: int,
                   noise_bps: float = 10.0) -> pd.DataFrame:  # fmt: skip
    """The premium/discount model with and without the basket's hedge error.

    Runs :func:`~backtest.analytics.premium_discount.simulate_secondary_market` twice with the
    same seed: ``noise_bps`` (transparent) and
    :func:`~backtest.analytics.substitute_basket.widened_premium_noise_bps` of it and the daily
    tracking error ``te_annual / sqrt(252)`` (substitute basket). Returns one row per mode
    (``transparent``, ``substitute_basket``): ``noise_bps``, ``premium_std_bp`` (of the model
    premium), ``days_beyond_25bp_pct`` and ``days_beyond_50bp_pct`` (of the midpoint's premium
    to the published NAV, % of days).
    """
    te_daily = te_annual / math.sqrt(TRADING_DAYS_PER_YEAR)
    rows = {}
    wide = sb.widened_premium_noise_bps(noise_bps, te_daily)
    for mode, noise in (("transparent", noise_bps), ("substitute_basket", wide)):
        q = simulate_secondary_market(nav_per_share, seed=seed, noise_bps=noise)
        prem = (q["midpoint"] - nav_per_share) / nav_per_share
        rows[mode] = {
            "noise_bps": noise,
            "premium_std_bp": float(1e4 * q["model_premium"].std()),
            "days_beyond_25bp_pct": float(100 * (prem.abs() >= 0.0025).mean()),
            "days_beyond_50bp_pct": float(100 * (prem.abs() >= 0.005).mean()),
        }
    return pd.DataFrame(rows).T
