"""What a fund is made of: :class:`FundSpec` and its parts, loadable from TOML.

A spec names the market (for the built-in synthetic one), the strategies (registry names and
parameters), the allocation rules, the limits and the fund's own rules
(:class:`~backtest.engine.config.FundConfig`). Every part is a frozen dataclass; choices are
enums (:class:`AllocatorMethod`, :class:`allocator.base.Frequency`). ``examples/lalt.toml`` is
the reference file; ``docs/ARCHITECTURE.md`` describes how a spec is run.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import allocator as al
from allocator.base import Frequency
from allocator.limits import Limits
from backtest.engine.config import FundConfig
from strategies import registry


class AllocatorMethod(StrEnum):
    """The base rule that weights the strategies before caps, volatility target and schedule."""

    EQUAL_WEIGHT = "equal_weight"
    INVERSE_VOLATILITY = "inverse_volatility"
    EQUAL_RISK_CONTRIBUTION = "equal_risk_contribution"


def _enum(kind: type[StrEnum], value, what: str):
    try:
        return kind(value)
    except ValueError:
        known = [m.value for m in kind]
        raise ValueError(f"unknown {what} {value!r}; known: {known}") from None


@dataclass(frozen=True)
class StrategySpec:
    """One sleeve: a registry name, its column label (default: the name) and its parameters."""

    name: str  # registry name
    label: str = ""  # column name in weights; defaults to the registry name
    params: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class DefensiveSpec:
    """Settings of the defensive overlay (:class:`allocator.Defensive`): VIX levels in points,
    drawdowns as positive fractions, ``defensive_weight`` a multiple of the normal weights."""

    vix_above: float = 40.0
    vix_below: float = 30.0
    max_drawdown: float = 0.15
    recover_drawdown: float = 0.05
    defensive_weight: float = 0.1
    drawdown_lookback_days: int | None = None


@dataclass(frozen=True)
class AllocatorSpec:
    """Rules composed as ``Defensive(Schedule(RampIn(VolatilityTarget(Capped(base)))))``; the
    defensive overlay only when ``defensive`` is set, the volatility target only when
    ``vol_target_annual`` is (annual decimal), the ramp only when ``ramp_days`` > 0 (a sleeve
    entering the allocation reaches its weight over that many trading days). Weights are
    fractions of net assets; with the volatility target they may sum above 1 (leverage, up to
    ``max_leverage``)."""

    method: AllocatorMethod = AllocatorMethod.EQUAL_RISK_CONTRIBUTION
    lookback_days: int = 252
    max_weight: float = 0.5
    min_weight: float = 0.05
    vol_target_annual: float | None = 0.08
    max_leverage: float = 3.0
    rebalance: Frequency = Frequency.MONTHLY
    drift_threshold: float | None = None
    defensive: DefensiveSpec | None = None
    ramp_days: int = 0

    def __post_init__(self) -> None:  # plain strings and dicts are accepted and typed here
        object.__setattr__(self, "method", _enum(AllocatorMethod, self.method, "allocator method"))
        object.__setattr__(self, "rebalance", _enum(Frequency, self.rebalance, "rebalance"))
        if isinstance(self.defensive, dict):
            object.__setattr__(self, "defensive", DefensiveSpec(**self.defensive))


@dataclass(frozen=True)
class MarketSpec:
    """The built-in synthetic market: seed and window (ISO dates). ``start`` is the first day of
    history; the fund's books may start later (:attr:`FundSpec.inception`)."""

    seed: int = 7
    start: str = "2005-01-03"
    end: str = "2024-12-31"


@dataclass(frozen=True)
class FundSpec:
    """The whole fund: name, market, strategies, allocator, limits and fund rules.

    ``inception`` (ISO date) is the fund's first day: the market's history before it is the
    look-back window the strategies and the allocator read (as a live fund would have), the
    books start there in cash. None: the market's first day (no look-back history).
    """

    name: str = "LALT-like multi-strategy alternative fund"
    market: MarketSpec = field(default_factory=MarketSpec)
    strategies: tuple[StrategySpec, ...] = (
        StrategySpec("carry"),
        StrategySpec("vol_premium"),
        StrategySpec("trend"),
        StrategySpec("equity_market_neutral"),
    )
    allocator: AllocatorSpec = field(default_factory=AllocatorSpec)
    limits: Limits = field(default_factory=Limits)
    fund: FundConfig = field(default_factory=FundConfig)
    inception: str | None = None

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
        known = {"name", "inception", "market", "strategies", "allocator", "limits", "fund"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"{source}: unknown sections {sorted(unknown)}")
        try:
            strategies = tuple(StrategySpec(**s) for s in doc.get("strategies", []))
            kwargs = dict(
                market=MarketSpec(**doc.get("market", {})),
                allocator=AllocatorSpec(**doc.get("allocator", {})),
                limits=build_limits(dict(doc.get("limits", {})), source),
                fund=FundConfig.from_dict(doc.get("fund", {}), source=source),
            )
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise ValueError(
                message if message.startswith(source) else f"{source}: {message}"
            ) from None
        if strategies:
            kwargs["strategies"] = strategies
        if "name" in doc:
            kwargs["name"] = str(doc["name"])
        if "inception" in doc:
            kwargs["inception"] = str(doc["inception"])
        spec = cls(**kwargs)
        spec.validate(source)
        return spec

    def validate(self, source: str = "config") -> None:
        for s in self.strategies:
            if s.name not in registry:
                raise ValueError(
                    f"{source}: unknown strategy {s.name!r}; known: {sorted(registry)}"
                )
        labels = [s.column for s in self.strategies]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{source}: strategy labels must be unique, got {labels}")
        build_allocator(self.allocator, source)


def build_allocator(spec: AllocatorSpec, source: str = "config") -> al.Allocator:
    """The composed allocator of a spec (see :class:`AllocatorSpec`)."""
    match spec.method:
        case AllocatorMethod.EQUAL_WEIGHT:
            base = al.EqualWeight()
        case AllocatorMethod.INVERSE_VOLATILITY:
            base = al.InverseVolatility(lookback_days=spec.lookback_days)
        case _:  # AllocatorMethod.EQUAL_RISK_CONTRIBUTION
            base = al.EqualRiskContribution(lookback_days=spec.lookback_days)
    try:
        rule = al.Capped(base, max_weight=spec.max_weight, min_weight=spec.min_weight)
        if spec.vol_target_annual:
            rule = al.VolatilityTarget(
                rule, target_annual=spec.vol_target_annual, max_leverage=spec.max_leverage
            )
        if spec.ramp_days:
            rule = al.RampIn(rule, ramp_days=spec.ramp_days)
        rule = al.Schedule(rule, frequency=spec.rebalance, drift_threshold=spec.drift_threshold)
        if spec.defensive:  # outermost: a switch to cash takes effect at once, not at a rebalance
            rule = al.Defensive(rule, **dataclasses.asdict(spec.defensive))
    except ValueError as exc:
        raise ValueError(f"{source}: allocator: {exc}") from None
    return rule


def build_limits(values: dict | Limits, source: str = "config") -> Limits:
    """:class:`allocator.limits.Limits` from a ``[limits]`` table (or as given)."""
    if isinstance(values, Limits):
        return values
    try:
        return Limits(**values)
    except TypeError as exc:
        raise ValueError(f"{source}: limits: {exc}") from None


def replace(spec: FundSpec, **changes) -> FundSpec:
    """``dataclasses.replace`` for specs (sweeps: ``replace(spec, allocator=...)``)."""
    return dataclasses.replace(spec, **changes)
