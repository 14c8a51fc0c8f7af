"""The end-to-end fund: strategies → allocator → limits → simulator → compliance and metrics.

A :class:`FundSpec` (loadable from TOML, e.g. ``examples/lalt.toml``) names the market, the
strategies (registry names and parameters), the allocation rules, the limits and the fund
configuration. :func:`run_fund` runs it and returns a :class:`FundRun` with every intermediate
result, so notebooks, the CLI and the nightly job all use one code path.

Data flow (DESIGN.md): each strategy's exposures (fraction of its capital) → its standalone
return stream (lagged by the engine's convention) → allocator weights (from returns up to the
previous day) → fund targets = Σ weight × exposures → limits (scale down to comply) → the
simulator (trade at the next close, book the day after) → post-trade compliance.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.config import FundConfig
from backtest.market import MarketData

#: Cost charged on strategy turnover in the standalone return streams the allocator sees (bps).
STRATEGY_COST_BPS = 2.0


@dataclass(frozen=True)
class StrategySpec:
    name: str  # registry name
    label: str = ""  # column name in weights; defaults to the registry name
    params: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class AllocatorSpec:
    """Rules composed as Defensive(Schedule(VolatilityTarget(Capped(base)))), the defensive
    overlay only when ``defensive`` holds its settings (vix_above, vix_below, max_drawdown, ...)."""

    method: str = "equal_risk_contribution"  # equal_weight | inverse_volatility | ...
    lookback_days: int = 252
    max_weight: float = 0.5
    min_weight: float = 0.05
    vol_target_annual: float | None = 0.08
    max_leverage: float = 3.0
    rebalance: str = "monthly"
    drift_threshold: float | None = None
    defensive: dict | None = None


@dataclass(frozen=True)
class MarketSpec:
    seed: int = 7
    start: str = "2005-01-03"
    end: str = "2024-12-31"


@dataclass(frozen=True)
class FundSpec:
    name: str = "LALT-like multi-strategy alternative fund"
    market: MarketSpec = field(default_factory=MarketSpec)
    strategies: tuple[StrategySpec, ...] = (
        StrategySpec("carry"),
        StrategySpec("vol_premium"),
        StrategySpec("trend"),
        StrategySpec("equity_market_neutral"),
    )
    allocator: AllocatorSpec = field(default_factory=AllocatorSpec)
    limits: dict = field(default_factory=dict)
    fund: FundConfig = field(default_factory=FundConfig)

    @classmethod
    def from_toml(cls, path: str | Path) -> FundSpec:
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(doc, source=str(path))

    @classmethod
    def from_dict(cls, doc: dict, source: str = "config") -> FundSpec:
        known = {"name", "market", "strategies", "allocator", "limits", "fund"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"{source}: unknown sections {sorted(unknown)}")
        try:
            strategies = tuple(StrategySpec(**s) for s in doc.get("strategies", []))
            kwargs = dict(
                market=MarketSpec(**doc.get("market", {})),
                allocator=AllocatorSpec(**doc.get("allocator", {})),
                limits=dict(doc.get("limits", {})),
                fund=FundConfig.from_dict(doc.get("fund", {}), source=source),
            )
        except TypeError as exc:
            raise ValueError(f"{source}: {exc}") from None
        if strategies:
            kwargs["strategies"] = strategies
        if "name" in doc:
            kwargs["name"] = str(doc["name"])
        spec = cls(**kwargs)
        spec.validate(source)
        return spec

    def validate(self, source: str = "config") -> None:
        from strategies import registry

        for s in self.strategies:
            if s.name not in registry:
                raise ValueError(
                    f"{source}: unknown strategy {s.name!r}; known: {sorted(registry)}"
                )
        labels = [s.column for s in self.strategies]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{source}: strategy labels must be unique, got {labels}")
        build_allocator(self.allocator, source)
        build_limits(self.limits, source)


def build_allocator(spec: AllocatorSpec, source: str = "config"):
    """The composed allocator for a spec."""
    import allocator as al

    base = {
        "equal_weight": lambda: al.EqualWeight(),
        "inverse_volatility": lambda: al.InverseVolatility(lookback_days=spec.lookback_days),
        "equal_risk_contribution": lambda: al.EqualRiskContribution(
            lookback_days=spec.lookback_days
        ),
    }
    if spec.method not in base:
        raise ValueError(
            f"{source}: unknown allocator method {spec.method!r}; known: {sorted(base)}"
        )
    rule = al.Capped(base[spec.method](), max_weight=spec.max_weight, min_weight=spec.min_weight)
    if spec.vol_target_annual:
        rule = al.VolatilityTarget(
            rule, target_annual=spec.vol_target_annual, max_leverage=spec.max_leverage
        )
    rule = al.Schedule(rule, frequency=spec.rebalance, drift_threshold=spec.drift_threshold)
    if spec.defensive:  # outermost, so a switch to cash takes effect at once, not at a rebalance
        rule = al.Defensive(rule, **spec.defensive)
    return rule


def build_limits(values: dict, source: str = "config"):
    from allocator.limits import Limits

    try:
        return Limits(**values)
    except TypeError as exc:
        raise ValueError(f"{source}: limits: {exc}") from None


@dataclass(frozen=True)
class FundRun:
    """Everything a run produced."""

    spec: FundSpec
    market: MarketData
    positions: dict[str, pd.DataFrame]
    strategy_returns: pd.DataFrame
    weights: pd.DataFrame
    targets: pd.DataFrame
    limit_actions: pd.DataFrame
    result: object  # backtest.simulator.SimulationResult
    compliance: pd.DataFrame
    skipped: dict[str, str]

    @property
    def nav(self) -> pd.DataFrame:
        return self.result.nav


def combine(positions: dict[str, pd.DataFrame], weights: pd.DataFrame) -> pd.DataFrame:
    """Fund targets = Σ_s weight_s[t] × exposure_s[t] (fraction of fund net assets)."""
    columns = sorted(set().union(*(p.columns for p in positions.values())))
    total = None
    for name, pos in positions.items():
        part = pos.reindex(columns=columns, fill_value=0.0).mul(weights[name], axis=0)
        total = part if total is None else total + part
    return total


def run_fund(spec: FundSpec, market: MarketData | None = None, progress: bool = False) -> FundRun:
    """Run the whole fund on ``market`` (the spec's synthetic market when None)."""
    from tqdm.auto import tqdm

    from allocator import AllocationContext
    from allocator.compliance import check_limits
    from allocator.limits import apply_limits
    from backtest.returns import exposure_returns, instrument_returns
    from backtest.simulator import simulate
    from strategies import StrategyInputError, registry, run_strategy

    steps = tqdm(total=len(spec.strategies) + 5, desc="fund", disable=not progress, unit="step")
    if market is None:
        from backtest.synthetic import synthetic_market

        steps.set_postfix_str("market")
        m = spec.market
        market = synthetic_market(seed=m.seed, start=m.start, end=m.end)
    positions, skipped = {}, {}
    for s in spec.strategies:
        steps.set_postfix_str(s.column)
        strategy = registry[s.name](**s.params)
        try:
            positions[s.column] = run_strategy(strategy, market)
        except StrategyInputError as exc:
            skipped[s.column] = str(exc)
        steps.update()
    if not positions:
        raise ValueError(f"no strategy can run on {market.name!r}: {skipped}")
    steps.set_postfix_str("allocation")
    columns = sorted(set().union(*(p.columns for p in positions.values())))
    inst_returns = instrument_returns(market, columns)
    strategy_returns = pd.DataFrame(
        {
            k: exposure_returns(p, market, cost_bps=STRATEGY_COST_BPS, returns=inst_returns)
            for k, p in positions.items()
        }  # fmt: skip
    )
    alloc = build_allocator(spec.allocator)
    vix = market.index["VIX"] if "VIX" in market.index else None  # for a Defensive overlay
    weights = alloc.weights(strategy_returns, context=AllocationContext(vix=vix)).fillna(0.0)
    steps.update()
    steps.set_postfix_str("limits")
    raw = combine(positions, weights)
    limits = build_limits(spec.limits)
    targets, actions = apply_limits(raw, market, limits, returns=inst_returns)
    steps.update()
    steps.set_postfix_str("simulation")
    result = simulate(market, targets, spec.fund)
    steps.update()
    steps.set_postfix_str("compliance")
    compliance = check_limits(result, market, limits)
    steps.update(2)
    steps.close()
    return FundRun(
        spec,
        market,
        positions,
        strategy_returns,
        weights,
        targets,
        actions,
        result,
        compliance,
        skipped,
    )


def replace(spec: FundSpec, **changes) -> FundSpec:
    return dataclasses.replace(spec, **changes)


def fund_metrics(run: FundRun) -> dict:
    """Headline figures of a run (annualised with 252 trading days)."""
    from backtest import analytics as an

    nav = run.nav
    r = nav["nav_per_share_5dp"].pct_change().iloc[1:]
    # per-share total return: adjust nothing (no distributions are modelled)
    bench = run.market.benchmarks.pct_change().reindex(r.index)
    out = {
        "start": f"{nav.index[0]:%Y-%m-%d}",
        "end": f"{nav.index[-1]:%Y-%m-%d}",
        "final_nav_per_share": float(nav["nav_per_share"].iloc[-1]),
        "annual_return": float(an.annual_return(r)),
        "annual_volatility": float(an.annual_volatility(r)),
        "sharpe_ratio": float(an.sharpe_ratio(r)),
        "max_drawdown": float(an.max_drawdown(r)),
        "worst_month": float(an.worst_month(r)),
    }
    for name in bench.columns:
        b = bench[name]
        out[f"correlation_{name}"] = float(an.correlation(r, b))
        out[f"beta_{name}"] = float(an.beta(r, b))
    from allocator.compliance import breaches

    br = breaches(run.compliance)
    out["compliance_breaches"] = int(len(br))
    out["skipped_strategies"] = dict(run.skipped)
    return {k: (round(v, 10) if isinstance(v, float) and np.isfinite(v) else v)
            for k, v in out.items()}  # fmt: skip
