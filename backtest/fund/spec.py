"""What a fund is made of: :class:`FundSpec` and its parts, loadable from TOML.

A spec names the market (for the built-in synthetic one), the strategies (registry names and
parameters), the allocation rules, the limits and the fund's own rules
(:class:`~backtest.engine.config.FundConfig`). Every part is a frozen dataclass; choices are
enums (:class:`AllocatorMethod`, :class:`allocator.base.Frequency`). ``examples/lalt.toml`` is
the reference file; ``docs/ARCHITECTURE.md`` describes how a spec is run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import allocator as al
from allocator.base import Frequency
from allocator.limits import Limits
from backtest.analytics.substitute_basket import DisclosurePolicy, SubstituteBasketSpec
from backtest.engine.config import FundConfig
from backtest.errors import ConfigError
from backtest.fund.checks import build, read_config, suggest, type_name
from backtest.market.calendar import iso_date
from strategies import registry
from strategies.base import REGISTER_HINT

#: Keys of a ``[[strategies]]`` table.
STRATEGY_KEYS = ("name", "label", "params")


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


#: The overlay's own defaults: one home for them (:class:`allocator.Defensive`).
_DEFENSIVE = {f.name: f.default for f in dataclasses.fields(al.Defensive) if f.name != "inner"}


@dataclass(frozen=True)
class DefensiveSpec:
    """Settings of the defensive overlay (:class:`allocator.Defensive`, whose defaults these
    are): VIX levels in points, drawdowns as positive fractions, ``defensive_weight`` a multiple
    of the normal weights."""

    vix_above: float = _DEFENSIVE["vix_above"]
    vix_below: float = _DEFENSIVE["vix_below"]
    max_drawdown: float = _DEFENSIVE["max_drawdown"]
    recover_drawdown: float = _DEFENSIVE["recover_drawdown"]
    defensive_weight: float = _DEFENSIVE["defensive_weight"]
    drawdown_lookback_days: int | None = _DEFENSIVE["drawdown_lookback_days"]


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
        if not 0 < self.max_weight <= 1:
            raise ValueError(f"max_weight must be in (0, 1], got {self.max_weight}")
        if not 0 <= self.min_weight <= self.max_weight:
            raise ValueError(f"min_weight must be in [0, max_weight], got {self.min_weight}")
        if self.vol_target_annual is not None and not 0 < self.vol_target_annual <= 2:
            raise ValueError(f"vol_target_annual must be in (0, 2] (or None: no volatility "
                             f"target), got {self.vol_target_annual}")  # fmt: skip
        if not 0 < self.max_leverage <= 10:
            raise ValueError(f"max_leverage must be in (0, 10], got {self.max_leverage}")


@dataclass(frozen=True)
class MarketSpec:
    """The built-in synthetic market: seed and window (ISO dates). ``start`` is the first day of
    history; the fund's books may start later (:attr:`FundSpec.inception`)."""

    seed: int = 7
    start: str = "2005-01-03"
    end: str = "2024-12-31"

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if iso_date(self.start, "start") >= iso_date(self.end, "end"):
            raise ValueError(f"start {self.start} must be before end {self.end}")


@dataclass(frozen=True)
class DisclosureSpec:
    """What the fund publishes before each open (``[disclosure]``): the Disclosed Portfolio
    (``policy = "transparent"``, the default) or a substitute basket with its overlap
    (``"substitute_basket"``, parameters in ``[disclosure.basket]``,
    :class:`~backtest.analytics.substitute_basket.SubstituteBasketSpec`)."""

    policy: DisclosurePolicy = DisclosurePolicy.TRANSPARENT
    basket: SubstituteBasketSpec = field(default_factory=SubstituteBasketSpec)

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", _enum(DisclosurePolicy, self.policy, "policy"))
        if isinstance(self.basket, dict):
            object.__setattr__(self, "basket", SubstituteBasketSpec(**self.basket))

    @property
    def semi_transparent(self) -> bool:
        return self.policy is DisclosurePolicy.SUBSTITUTE_BASKET


@dataclass(frozen=True)
class FundSpec:
    """The whole fund: name, market, strategies, allocator, limits, fund rules and disclosure.

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
    disclosure: DisclosureSpec = field(default_factory=DisclosureSpec)

    @classmethod
    def from_toml(cls, path: str | Path) -> FundSpec:
        """Read and check a fund config (:mod:`backtest.fund.checks`); ConfigError naming the
        file, section and key on any problem."""
        return cls.from_dict(read_config(path), source=str(path))

    @classmethod
    def from_dict(cls, doc: dict, source: str = "config") -> FundSpec:
        """A spec from a parsed TOML document, every section, key and strategy parameter
        checked. A fund needs at least one strategy: there is no default list from a file."""
        sections = ("name", "inception", "market", "strategies", "allocator", "limits", "fund",
                    "disclosure")  # fmt: skip
        for key in doc:
            if key not in sections:
                raise ConfigError(source, f"unknown section {key!r}{suggest(key, sections)}; "
                                  f"known: {list(sections)}")  # fmt: skip
        kwargs = {}
        if "name" in doc:
            name = doc["name"]
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(source, f"must be non-empty text, got {name!r}", key="name")
            kwargs["name"] = name
        if "inception" in doc:
            try:
                kwargs["inception"] = f"{iso_date(doc['inception'], 'inception'):%Y-%m-%d}"
            except ValueError as exc:
                raise ConfigError(source, str(exc), key="inception") from None
        parts = {"market": MarketSpec, "allocator": AllocatorSpec, "limits": Limits,
                 "fund": FundConfig, "disclosure": DisclosureSpec}  # fmt: skip
        for section, kind in parts.items():
            if section in doc:
                kwargs[section] = build(kind, doc[section], source, section)
        kwargs["strategies"] = _strategies(doc.get("strategies"), source)
        spec = cls(**kwargs)
        spec.validate(source)
        return spec

    def validate(self, source: str = "config") -> None:
        """Checks across sections: known and unique strategies, feasible weights, the allocator
        builds."""
        if not self.strategies:
            raise ConfigError(source, "no strategies: a fund needs at least one [[strategies]]")
        for i, s in enumerate(self.strategies, start=1):
            if s.name not in registry:
                raise ConfigError(source, f"unknown strategy {s.name!r}"
                                  f"{suggest(s.name, registry)}; known: {sorted(registry)}; "
                                  f"{REGISTER_HINT}",
                                  section=f"strategies, entry {i}", key="name")  # fmt: skip
        labels = [s.column for s in self.strategies]
        if len(set(labels)) != len(labels):
            raise ConfigError(source, f"strategy labels must be unique, got {labels}",
                              section="strategies")  # fmt: skip
        n, low = len(self.strategies), self.allocator.min_weight
        if n * low > 1 + 1e-12:
            raise ConfigError(source, f"{n} strategies x min_weight {low} = {n * low:g} > 1: the "
                              "minimum weights cannot be met", section="allocator",
                              key="min_weight")  # fmt: skip
        build_allocator(self.allocator, source)


def _strategies(entries, source: str) -> tuple[StrategySpec, ...]:
    """The ``[[strategies]]`` array, each name a registered strategy and each parameter a
    checked field of its class (the class is built once here, so its own checks run)."""
    if entries is None or entries == []:
        raise ConfigError(source, "no strategies: a fund needs at least one [[strategies]] table "
                          "with a name (see examples/lalt.toml)")  # fmt: skip
    if not isinstance(entries, list):
        raise ConfigError(source, f"must be an array of tables ([[strategies]]), got "
                          f"{type_name(entries)}", section="strategies")  # fmt: skip
    out = []
    for i, entry in enumerate(entries, start=1):
        where = f"strategies, entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(source, f"must be a table, got {entry!r}", section=where)
        for key in entry:
            if key not in STRATEGY_KEYS:
                raise ConfigError(source, f"unknown key{suggest(key, STRATEGY_KEYS)}; known: "
                                  f"{list(STRATEGY_KEYS)}", section=where, key=key)  # fmt: skip
        name = entry.get("name")
        if not isinstance(name, str):
            raise ConfigError(source, f"a strategy needs a name (text), got {name!r}",
                              section=where, key="name")  # fmt: skip
        if name not in registry:
            raise ConfigError(source, f"unknown strategy {name!r}{suggest(name, registry)}; "
                              f"known: {sorted(registry)}; {REGISTER_HINT}", section=where,
                              key="name")  # fmt: skip
        label = entry.get("label", "")
        if not isinstance(label, str):
            raise ConfigError(source, f"must be text, got {label!r}", section=where, key="label")
        params = entry.get("params", {})
        build(registry[name], params, source, f"{where} ({name}).params")
        out.append(StrategySpec(name, label, dict(params)))
    return tuple(out)


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
        if spec.vol_target_annual is not None:
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
    return build(Limits, values, source, "limits")


def replace(spec: FundSpec, **changes) -> FundSpec:
    """``dataclasses.replace`` for specs (sweeps: ``replace(spec, allocator=...)``)."""
    return dataclasses.replace(spec, **changes)
