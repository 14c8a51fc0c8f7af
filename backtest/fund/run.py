"""The end-to-end fund: strategies → allocator → limits → simulator → compliance and metrics.

A :class:`FundSpec` (loadable from TOML, e.g. ``examples/lalt.toml``) names the market, the
strategies (registry names and parameters), the allocation rules, the limits and the fund
configuration. :func:`run_fund` runs it and returns a :class:`FundRun` with every intermediate
result, so notebooks, the CLI and the nightly job all use one code path.

Data flow (``docs/ARCHITECTURE.md``): each strategy's exposures (fraction of its capital) → its
standalone
return stream (lagged by the engine's convention) → allocator weights (from returns up to the
previous day) → fund targets = Σ weight × exposures → limits (scale down to comply; the
whole-book scale of each day is kept, :attr:`FundRun.limit_scale`) → the
simulator (trade at the next close, book the day after) → post-trade compliance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator import AllocationContext
from allocator.compliance import breaches, check_limits
from allocator.limits import apply_limits
from allocator.risk import RecentSolves
from backtest.analytics import performance as an
from backtest.analytics.benchmarks import benchmark_series
from backtest.analytics.tearsheet import cash_returns, sharpe_ratio_over_cash
from backtest.engine.costs import exposure_costs
from backtest.engine.simulator import simulate
from backtest.fund.spec import FundSpec, build_allocator
from backtest.market.market_data import MarketData
from backtest.market.returns import exposure_returns, instrument_returns
from backtest.progress import progress_bar
from backtest.synthetic.build import synthetic_market
from strategies import StrategyInputError, cached_positions, registry, strategy_key

#: Flat cost on turnover of research streams (bps; :mod:`backtest.fund.research`). The fund's
#: standalone streams charge the simulator's cost model instead (:func:`strategy_stream`).
STRATEGY_COST_BPS = 2.0
#: Key of the allocator's solves memo in a market's cache (:meth:`MarketData.cached`).
SOLVES_KEY = "allocator_solves"


@dataclass(frozen=True)
class FundRun:
    """Everything a run produced.

    ``market`` and every dated table are the fund's days, from inception; ``history`` is the
    whole market the strategies and the allocator read (the look-back window before inception
    included) and ``history_returns`` the standalone streams over it (NaN before a strategy's
    first trade: it did not exist yet).
    """

    spec: FundSpec
    market: MarketData
    positions: dict[str, pd.DataFrame]
    strategy_returns: pd.DataFrame
    weights: pd.DataFrame
    targets: pd.DataFrame
    limit_actions: pd.DataFrame
    result: object  # backtest.engine.simulator.SimulationResult
    #: post-trade checks (:func:`~allocator.compliance.check_limits`): every fund day, or only
    #: the days of :attr:`compliance_rows` when that is set (the nightly job)
    compliance: pd.DataFrame
    skipped: dict[str, str]
    history: MarketData | None = None
    history_returns: pd.DataFrame | None = None
    #: the pre-trade limits' whole-book scale on each decision date (fund days; 1 where no
    #: limit scaled the book): every sleeve was held at ``limit_scale`` × its weight
    #: (:class:`allocator.limits.LimitedTargets`)
    limit_scale: pd.Series | None = None
    #: the row numbers (fund days, ascending) ``compliance`` holds; None: every fund day.
    #: Given to :func:`run_fund` (``compliance_rows``) by the nightly job, which books a few days
    #: of a long run: ``compliance`` is then :func:`~allocator.compliance.check_limits`' table of
    #: all days restricted to those days, bit for bit. :func:`with_compliance` widens it.
    compliance_rows: np.ndarray | None = None

    @property
    def nav(self) -> pd.DataFrame:
        return self.result.nav


def combine(positions: dict[str, pd.DataFrame], weights: pd.DataFrame) -> pd.DataFrame:
    """Fund targets = Σ_s weight_s[t] × exposure_s[t] (fraction of fund net assets).

    ``positions``: strategy → exposures (dates × instruments, on the weights' dates);
    ``weights``: dates × strategies. Returns dates × the union of instruments (sorted), summed
    in the order of ``positions`` (an instrument a strategy does not trade counts as 0).
    """
    columns = sorted(set().union(*(p.columns for p in positions.values())))
    where = {c: j for j, c in enumerate(columns)}
    total = None
    for name, pos in positions.items():  # (instruments × dates): pandas' block layout
        part = np.zeros((len(columns), len(pos.index)))
        part[[where[c] for c in pos.columns]] = pos.to_numpy(dtype="float64").T
        part *= weights[name].to_numpy(dtype="float64")[None, :]
        if total is None:
            total = part
        else:
            total += part
    first = next(iter(positions.values()))
    return pd.DataFrame(total.T, index=first.index, columns=columns, copy=False)


def live_stream(stream: pd.Series, exposures: pd.DataFrame, lag_days: int = 1) -> pd.Series:
    """``stream`` with NaN before the strategy's first trade (row ``t`` trades ``t−lag_days``'s
    exposures): a strategy that has held nothing yet did not exist, and its zeros must not
    count as a quiet track record in the allocator's volatility estimates."""
    x = exposures.to_numpy(dtype="float64")
    held = ((x != 0.0) & ~np.isnan(x)).any(axis=1)  # a row with a position (NaN: none)
    live = np.zeros(len(x), dtype=bool)
    live[lag_days:] = held[: max(len(x) - lag_days, 0)]  # traded lag_days rows later
    return stream.where(np.logical_or.accumulate(live))


def strategy_stream(exposures: pd.DataFrame, market: MarketData, config) -> pd.Series:
    """A strategy's standalone daily return: its exposures' returns (engine lag) less the
    simulator's costs of its own trades and rolls (:func:`backtest.engine.costs.exposure_costs`
    with ``config``, a :class:`~backtest.engine.config.FundConfig`), NaN before its first trade
    (:func:`live_stream`)."""
    gross = exposure_returns(exposures, market)
    cost = exposure_costs(exposures, market, config)
    return live_stream((gross - cost).rename("return"), exposures)


def fund_start(inception: str | None, market: MarketData) -> pd.Timestamp:
    """The fund's first day: the first day of ``market`` at or after ``inception`` (the market's
    first day when None or earlier). ValueError when the market ends before it."""
    if inception is None:
        return market.start
    i = int(market.calendar.searchsorted(pd.Timestamp(inception), side="left"))
    if i >= len(market.calendar):
        raise ValueError(
            f"inception {inception} is after the last day of {market.name!r} "
            f"({market.end:%Y-%m-%d})"
        )
    return market.calendar[i]


def fund_days(market: MarketData, start: pd.Timestamp) -> MarketData:
    """The market of the fund's days, ``start`` (:func:`fund_start`) to the end: cut once per
    market and start (cached), the market itself when the fund starts on its first day."""
    if start <= market.start:
        return market
    return market.cached(("fund_days", start), lambda: market.between(start, market.end))


def fund_benchmarks(spec: FundSpec, market: MarketData) -> pd.DataFrame:
    """The benchmark levels of the fund's days (``benchmarks.csv`` of a run folder:
    :func:`backtest.analytics.benchmarks.benchmark_series` of ``FundRun.market``), from the
    spec and the market alone, so that it can be computed next to :func:`run_fund`."""
    return benchmark_series(fund_days(market, fund_start(spec.inception, market)))


def strategy_streams(spec: FundSpec, market: MarketData, steps=None):
    """(positions, standalone streams, skipped) of the spec's strategies on the whole market."""
    positions, streams, skipped = {}, {}, {}
    for s in spec.strategies:
        if steps is not None:
            steps.set_postfix_str(s.column)
        strategy = registry[s.name](**s.params)
        try:
            positions[s.column] = cached_positions(strategy, market)
        except StrategyInputError as exc:
            skipped[s.column] = str(exc)
        else:  # the standalone stream the allocator sees, also computed once per market
            config = spec.fund  # the simulator's cost model and roll rule: part of the key
            key = ("strategy_return", *strategy_key(strategy), repr(config.costs),
                   config.roll_days_before_expiry)  # fmt: skip
            pos = positions[s.column]
            streams[s.column] = market.cached(
                key, lambda p=pos, c=config: strategy_stream(p, market, c)
            )
        if steps is not None:
            steps.update()
    if not positions:
        raise ValueError(f"no strategy can run on {market.name!r}: {skipped}")
    return positions, pd.DataFrame(streams), skipped


def run_fund(
    spec: FundSpec,
    market: MarketData | None = None,
    progress: bool = False,
    compliance_rows: Sequence[int] | np.ndarray | None = None,
    solves: MutableMapping[str, np.ndarray] | None = None,
) -> FundRun:
    """Run the whole fund on ``market`` (the spec's synthetic market when None).

    ``compliance_rows``: ascending row numbers of the fund's days (0 = inception) whose
    post-trade checks :attr:`FundRun.compliance` holds (all days when None); everything else
    is the same. ``solves``: the allocator's earlier optimisation answers, read and extended
    (:class:`allocator.AllocationContext`; the nightly job's stored ones); the same run with
    or without them. When None, the runs on ``market`` share one bounded memo
    (:class:`allocator.risk.RecentSolves`, kept with the market's other computed results), so
    a sweep over allocator settings solves each risk budget once.

    Strategies, standalone streams, allocator and pre-trade limits run on the whole market;
    the fund's books start at :attr:`FundSpec.inception` (see :func:`fund_start`), so the days
    before it are the look-back window a live fund would have at launch.
    """
    steps = progress_bar(len(spec.strategies) + 5, "fund", unit="step", show=progress)
    if market is None:
        steps.set_postfix_str("market")
        m = spec.market
        market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    start = fund_start(spec.inception, market)
    positions, history_returns, skipped = strategy_streams(spec, market, steps)
    steps.set_postfix_str("allocation")
    columns = sorted(set().union(*(p.columns for p in positions.values())))
    inst_returns = instrument_returns(market, columns)
    alloc = build_allocator(spec.allocator)
    vix = market.index["VIX"] if "VIX" in market.index else None  # for a Defensive overlay
    if solves is None:  # the same weights bit for bit, each problem solved once per market
        solves = market.cached((SOLVES_KEY,), RecentSolves)
    context = AllocationContext(vix=vix, solves=solves)
    weights = alloc.weights(history_returns, context=context).fillna(0.0)
    steps.update()
    steps.set_postfix_str("limits")
    raw = combine(positions, weights)
    limits = spec.limits
    targets, actions, limit_scale = apply_limits(raw, market, limits, returns=inst_returns)
    steps.update()
    steps.set_postfix_str("simulation")
    fund_market = fund_days(market, start)
    if start > market.start:
        positions = {k: p.loc[start:] for k, p in positions.items()}
        targets = targets.loc[start:]
        limit_scale = limit_scale.loc[start:]
        if len(actions):
            actions = actions[pd.DatetimeIndex(actions["date"]) >= start].reset_index(drop=True)
    result = simulate(fund_market, targets, spec.fund)
    steps.update()
    steps.set_postfix_str("compliance")
    if compliance_rows is not None:
        compliance_rows = np.asarray(compliance_rows, dtype=np.int64)
    compliance = check_limits(result, fund_market, limits, rows=compliance_rows)
    steps.update(2)
    steps.close()
    return FundRun(
        spec,
        fund_market,
        positions,
        history_returns.loc[start:],
        weights.loc[start:],
        targets,
        actions,
        result,
        compliance,
        skipped,
        history=market,
        history_returns=history_returns,
        limit_scale=limit_scale.fillna(1.0),
        compliance_rows=compliance_rows,
    )


def with_compliance(run: FundRun, rows: Sequence[int] | np.ndarray | None = None) -> FundRun:
    """``run`` with :attr:`FundRun.compliance` of ``rows`` (ascending fund-day row numbers;
    every day when None), recomputed from its simulation; ``run`` itself when it holds them."""
    rows = None if rows is None else np.asarray(rows, dtype=np.int64)
    have = run.compliance_rows
    if have is None or (rows is not None and np.array_equal(have, rows)):
        return run
    table = check_limits(run.result, run.market, run.spec.limits, rows=rows)
    return dataclasses.replace(run, compliance=table, compliance_rows=rows)


def fund_cash_returns(market: MarketData, dates: pd.DatetimeIndex) -> pd.Series:
    """Daily return of the fund's cash on ``dates`` (from the second): the USD short rate
    ``market.rates["USD"]`` accrued ACT/360 on the previous close's rate, as the simulator
    accrues interest on cash (:func:`backtest.analytics.tearsheet.cash_returns`); zero when the
    market has no USD rate."""
    rates = market.rates["USD"] if "USD" in market.rates else pd.Series(0.0, index=dates)
    return cash_returns(rates.reindex(dates.union(rates.index)).ffill().reindex(dates))


def strategy_notes(spec: FundSpec, market: MarketData, run: FundRun) -> dict[str, str]:
    """``"column.leg" -> text`` for the strategies of ``run`` that report dropped or
    approximated legs on ``market`` (a ``notes(market)`` method, e.g. the volatility premium's
    put writing priced on derived inputs); empty when none does."""
    out = {}
    for s in spec.strategies:
        if s.column not in run.positions:
            continue
        strategy = registry[s.name](**s.params)
        for leg, text in getattr(strategy, "notes", lambda m: {})(market).items():
            out[f"{s.column}.{leg}"] = text
    return out


def fund_metrics(run: FundRun) -> dict:
    """Headline figures of a run (annualised with 252 trading days).

    ``sharpe_ratio`` is the headline: in excess of the fund's cash rate (:func:`fund_cash_returns`,
    whose annual return is ``cash_rate_annual``); ``sharpe_ratio_rf0`` the same with rf = 0.
    ``correlation_<name>`` / ``beta_<name>`` for each column of ``market.benchmarks``;
    ``strategy_notes`` (:func:`strategy_notes`) and ``data_approximations``
    (``MarketData.approximations``) only when there are any.
    """
    nav = run.nav
    r = nav["nav_per_share_5dp"].pct_change().iloc[1:]
    # per-share total return: adjust nothing (no distributions are modelled)
    bench = run.market.benchmarks.pct_change().reindex(r.index)
    cash = fund_cash_returns(run.market, nav.index)
    out = {
        "start": f"{nav.index[0]:%Y-%m-%d}",
        "end": f"{nav.index[-1]:%Y-%m-%d}",
        "final_nav_per_share": float(nav["nav_per_share"].iloc[-1]),
        "annual_return": float(an.annual_return(r)),
        "annual_volatility": float(an.annual_volatility(r)),
        "sharpe_ratio": float(sharpe_ratio_over_cash(r, cash)),
        "sharpe_ratio_rf0": float(an.sharpe_ratio(r)),
        "cash_rate_annual": float(an.annual_return(cash.reindex(r.index))),
        "max_drawdown": float(an.max_drawdown(r)),
        "worst_month": float(an.worst_month(r)),
    }
    for name in bench.columns:
        b = bench[name]
        out[f"correlation_{name}"] = float(an.correlation(r, b))
        out[f"beta_{name}"] = float(an.beta(r, b))
    br = breaches(run.compliance)
    out["compliance_breaches"] = int(len(br))
    out["skipped_strategies"] = dict(run.skipped)
    if notes := strategy_notes(run.spec, run.market, run):
        out["strategy_notes"] = notes
    if run.market.approximations:
        out["data_approximations"] = dict(run.market.approximations)
    return {k: (round(v, 10) if isinstance(v, float) and np.isfinite(v) else v)
            for k, v in out.items()}  # fmt: skip
