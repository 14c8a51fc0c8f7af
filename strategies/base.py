"""The Strategy protocol, the registry of strategies, and the checks the engine runs before a run.

A strategy is a frozen dataclass of its parameters, holds no state, and has one job::

    positions = MyStrategy(...).target_positions(market)   # dates × instruments

``positions`` is notional exposure as a fraction of the capital given to the strategy
(+0.5 = long notional worth 50% of capital), row ``t`` using only data at or before ``t``'s
close. The engine applies the execution lag; a strategy never shifts its own output.

Third-party strategies plug in through the ``multistrat.strategies`` entry-point group::

    [project.entry-points."multistrat.strategies"]
    my_carry = "my_package.module:MyCarry"

The README's "Write a strategy" section walks through one (``examples/es_ma200``).
:func:`run_strategy` checks the output against the contract rules :data:`CONTRACT_RULES` and
names the rule a strategy broke.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from backtest.market.instruments import is_option_id
from backtest.market.market_data import FIELD_NAMES, MarketData

ENTRY_POINT_GROUP = "multistrat.strategies"

#: How to make a strategy known, said by every "unknown strategy" message.
REGISTER_HINT = (
    f"to add one, name its class in the {ENTRY_POINT_GROUP!r} entry-point group of an installed "
    "package, or call strategies.register(name) on it in a notebook (README 'Write a "
    "strategy', examples/es_ma200)"
)

#: The rules :func:`run_strategy` checks, in order (the README's "Write a strategy" lists them).
CONTRACT_RULES = (
    "required_fields are MarketData fields",
    "returns a DataFrame",
    "index is the market calendar",
    "columns are unique instrument or option ids of the market",
    "values are finite numbers",
)


@runtime_checkable
class Strategy(Protocol):
    """What every strategy provides.

    Attributes
    ----------
    required_fields : names of MarketData fields the strategy reads (see ``FIELD_NAMES``).
    required_kinds : instrument kinds it trades; at least one instrument of one of these kinds
        must exist in the market.
    vol_target_annual : the annualised volatility the strategy sizes itself to.
    """

    required_fields: ClassVar[frozenset[str]]
    required_kinds: ClassVar[frozenset[str]]

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per instrument as a fraction of capital, shape (n_dates, n_instruments)."""
        ...


class StrategyInputError(ValueError):
    """The market lacks what a strategy needs, or the strategy broke a contract rule."""


def contract_error(strategy: Strategy, rule: str, detail: str) -> StrategyInputError:
    """The error for ``strategy`` breaking ``rule`` (one of :data:`CONTRACT_RULES`)."""
    assert rule in CONTRACT_RULES, rule
    return StrategyInputError(
        f"{type(strategy).__name__}: contract rule {rule!r} failed: {detail} (README 'Write a "
        "strategy')"
    )


def check_requirements(strategy: Strategy, market: MarketData) -> None:
    """Raise :class:`StrategyInputError` naming what ``market`` lacks for ``strategy``."""
    name = type(strategy).__name__
    unknown = set(strategy.required_fields) - FIELD_NAMES
    if unknown:
        detail = f"unknown fields {sorted(unknown)}; known: {sorted(FIELD_NAMES)}"
        raise contract_error(strategy, "required_fields are MarketData fields", detail)
    missing = set(strategy.required_fields) - market.available_fields()
    if missing:
        raise StrategyInputError(
            f"{name} needs market fields {sorted(missing)}, which {market.name!r} does not have"
        )
    kinds = {str(getattr(k, "value", k)) for k in strategy.required_kinds}
    if kinds and not market.ids(kinds):
        raise StrategyInputError(
            f"{name} trades instrument kinds {sorted(kinds)}, none of which are in {market.name!r}"
        )


def run_strategy(strategy: Strategy, market: MarketData) -> pd.DataFrame:
    """Check requirements, compute positions, and check the output against
    :data:`CONTRACT_RULES`; a :class:`StrategyInputError` names the rule that failed."""
    check_requirements(strategy, market)
    positions = strategy.target_positions(market)
    if not isinstance(positions, pd.DataFrame):
        raise contract_error(strategy, "returns a DataFrame", f"got {type(positions).__name__}")
    index, calendar = positions.index, market.calendar
    if not index.equals(calendar):
        got = f"{len(index)} rows" + (f" {index[0]!s}..{index[-1]!s}" if len(index) else "")
        raise contract_error(strategy, "index is the market calendar",
                             f"got {got}, the market has {len(calendar)} days "
                             f"{market.start:%Y-%m-%d}..{market.end:%Y-%m-%d}")  # fmt: skip
    columns = positions.columns
    known = market.instruments.index
    bad = [c for c in columns if not (c in known or (isinstance(c, str) and is_option_id(c)))]
    repeated = sorted({str(c) for c in columns[columns.duplicated()]})
    if bad or repeated:
        rule = "columns are unique instrument or option ids of the market"
        raise contract_error(
            strategy, rule, f"unknown {bad[:5]}" if bad else f"repeated {repeated[:5]}"
        )
    try:
        values = positions.to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        raise contract_error(strategy, "values are finite numbers", str(exc)) from None
    finite = np.isfinite(values)
    if not finite.all():
        row, col = (int(i[0]) for i in np.nonzero(~finite))
        detail = f"{values[row, col]} at {index[row]:%Y-%m-%d}, column {columns[col]!r}"
        raise contract_error(strategy, "values are finite numbers", detail)
    return positions


def cached_positions(strategy: Strategy, market: MarketData) -> pd.DataFrame:
    """:func:`run_strategy`, computed once per strategy (type and every parameter) and market.

    A strategy is a pure function of its parameters and the market, so a fund sweep over
    allocator settings, and the proxy benchmark index running the same sleeves, reuse the
    positions instead of recomputing them. The caller gets its own frame (copy-on-write).
    """
    key = ("positions", *strategy_key(strategy))
    return market.cached(key, lambda: run_strategy(strategy, market)).copy(deep=False)


def strategy_key(strategy: Strategy) -> tuple[str, str, str]:
    """What identifies a strategy's output on a given market: its type and every parameter."""
    kind = type(strategy)
    return kind.__module__, kind.__qualname__, repr(strategy)


class _Registry(Mapping[str, type]):
    """Name → strategy class: the built-ins plus entry points, loaded on first use."""

    def __init__(self) -> None:
        self._builtin: dict[str, type] = {}
        self._loaded: dict[str, type] | None = None

    def register(self, name: str, cls: type) -> type:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"strategy {name!r} must be a dataclass")
        self._builtin[name] = cls
        self._loaded = None
        return cls

    def _all(self) -> dict[str, type]:
        if self._loaded is None:
            found = dict(self._builtin)
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name not in found:
                    found[ep.name] = ep.load()
            self._loaded = found
        return self._loaded

    def __getitem__(self, name: str) -> type:
        found = self._all()
        if name not in found:
            raise KeyError(f"unknown strategy {name!r}; known: {sorted(found)}; {REGISTER_HINT}")
        return found[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


#: The registry of strategies (module-level constant table, filled at import of each module).
registry = _Registry()


def register(name: str):
    """Class decorator adding a built-in strategy to :data:`registry`."""

    def deco(cls: type) -> type:
        return registry.register(name, cls)

    return deco
