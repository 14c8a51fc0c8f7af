"""Dotted paths into a :class:`~backtest.fund.spec.FundSpec`: read a field, return a new spec
with it changed, and check a whole spec before anything runs.

A path names dataclass fields from the spec down, joined by dots::

    allocator.vol_target_annual          AllocatorSpec.vol_target_annual (annual decimal)
    allocator.method                     an AllocatorMethod value ("inverse_volatility")
    allocator.defensive.vix_above        a field of the DefensiveSpec (it must be set)
    fund.expense_ratio                   FundConfig.expense_ratio (annual decimal)
    fund.subsidiary.target_pct           nested parts of FundConfig
    limits.gross_leverage_max            allocator.limits.Limits
    market.seed                          MarketSpec (the built-in synthetic market)
    strategies.trend.params.speeds       the parameter ``speeds`` of the strategy labelled
                                         (or, without label, named) ``trend``

Values are normalised so that a TOML list and a Python tuple are the same value: lists become
tuples, recursively (``[[8, 32]]`` → ``((8, 32),)``). Every change goes through
``dataclasses.replace``, so each part's own ``__post_init__`` checks it; :func:`check_spec`
then builds what a run builds (the allocator, every strategy) so that a bad value is refused
before an experiment starts, with the path in the message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from backtest.fund.spec import FundSpec, StrategySpec, build_allocator
from strategies import registry


def normalise(value: Any) -> Any:
    """A TOML/JSON value as an immutable Python value: lists and tuples → tuples, recursively."""
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    return value


def _strategy_index(spec: FundSpec, label: str, path: str) -> int:
    for k, s in enumerate(spec.strategies):
        if s.column == label:
            return k
    known = [s.column for s in spec.strategies]
    raise ValueError(f"{path}: no strategy labelled {label!r}; strategies: {known}")


def get_path(spec: FundSpec, path: str) -> Any:
    """The value at ``path`` (see the module docstring); ``ValueError`` naming the path."""
    parts = path.split(".")
    if parts[0] == "strategies":
        if len(parts) < 3:
            raise ValueError(f"{path}: expected strategies.LABEL.params.NAME or .FIELD")
        s = spec.strategies[_strategy_index(spec, parts[1], path)]
        if parts[2] == "params":
            if len(parts) != 4:
                raise ValueError(f"{path}: expected strategies.LABEL.params.NAME")
            return s.params.get(parts[3])
        return _get_fields(s, parts[2:], path)
    return _get_fields(spec, parts, path)


def _get_fields(obj: Any, parts: list[str], path: str) -> Any:
    for name in parts:
        if not dataclasses.is_dataclass(obj) or name not in _field_names(obj):
            raise ValueError(f"{path}: unknown field {name!r}")
        obj = getattr(obj, name)
    return obj


def _field_names(obj: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(obj)}


def _set_fields(obj: Any, parts: list[str], value: Any, path: str) -> Any:
    name = parts[0]
    if not dataclasses.is_dataclass(obj) or name not in _field_names(obj):
        raise ValueError(f"{path}: unknown field {name!r}")
    if len(parts) > 1:
        child = getattr(obj, name)
        if child is None:
            raise ValueError(f"{path}: {name!r} is not set in the base spec")
        value = _set_fields(child, parts[1:], value, path)
    try:
        return dataclasses.replace(obj, **{name: value})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} = {value!r}: {exc}") from None


def set_path(spec: FundSpec, path: str, value: Any) -> FundSpec:
    """A new spec with ``path`` set to ``normalise(value)``; the original is unchanged.

    Raises ``ValueError`` naming the path for an unknown path or a value the part refuses.
    """
    value = normalise(value)
    parts = path.split(".")
    if parts[0] != "strategies":
        return _set_fields(spec, parts, value, path)
    if len(parts) < 3:
        raise ValueError(f"{path}: expected strategies.LABEL.params.NAME or .FIELD")
    k = _strategy_index(spec, parts[1], path)
    s = spec.strategies[k]
    if parts[2] == "params":
        if len(parts) != 4:
            raise ValueError(f"{path}: expected strategies.LABEL.params.NAME")
        new: StrategySpec = dataclasses.replace(s, params={**s.params, parts[3]: value})
    else:
        new = _set_fields(s, parts[2:], value, path)
    strategies = spec.strategies[:k] + (new,) + spec.strategies[k + 1 :]
    return dataclasses.replace(spec, strategies=strategies)


def apply(spec: FundSpec, changes: Mapping[str, Any]) -> FundSpec:
    """``spec`` with every ``path: value`` of ``changes`` set, then checked (:func:`check_spec`)."""
    for path, value in changes.items():
        spec = set_path(spec, path, value)
    where = ", ".join(f"{p}={normalise(v)!r}" for p, v in changes.items()) or "base spec"
    check_spec(spec, source=where)
    return spec


def check_spec(spec: FundSpec, source: str = "spec") -> None:
    """Build what a run builds from ``spec`` (strategies, allocator); ``ValueError`` if refused."""
    spec.validate(source)
    build_allocator(spec.allocator, source)
    for s in spec.strategies:
        try:
            registry[s.name](**s.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: strategy {s.column!r}: {exc}") from None
