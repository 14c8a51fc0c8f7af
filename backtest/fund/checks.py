"""Checking a fund config as it loads: read the file, then type- and range-check every key.

Every problem raises :class:`backtest.errors.ConfigError` naming the file, the section (TOML
table) and the key, with a "did you mean" suggestion for a near-miss key, section, strategy or
choice. A config is bad input (exit 2) and nothing is written.

What is checked (``build`` applies it to any frozen dataclass: the spec's parts, the fund rules
and each strategy's parameters, whose fields and type hints are the schema):

- the file: a readable file (not a folder), UTF-8 text, valid TOML, not empty;
- every key is a field of its table (else "unknown key", with the nearest names);
- every value has its field's type: ``int`` a TOML integer (``1000000.5`` and ``1e6`` are
  refused), ``float`` a finite number (not a string, not a bool), ``bool``
  true/false, ``str`` text, a ``Literal`` or enum one of its values, ``tuple``/``frozenset`` an
  array of such values, ``dict[str, float]`` a table, a nested dataclass a table, a date an ISO
  ``YYYY-MM-DD`` date; a field that may be ``None`` is switched off with ``false`` (TOML has
  no null);
- ranges named by unit (:func:`unit_rule`): ``*_days`` in [0, 5000] (lookbacks, windows, spans
  and half-lives at least 1); ``*vol_target*`` in (0, 2] (annual decimal; 0 is refused, write
  ``false`` to switch a volatility target off);
- then the class's own ``__post_init__`` checks (their message is kept, located by section).
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import tomllib
import types
import typing
from pathlib import Path

import pandas as pd

from backtest.errors import ConfigError
from backtest.market.calendar import iso_date

#: Upper bound of any ``*_days`` setting: about 20 years of business days.
MAX_DAYS = 5000
#: Upper bound of any volatility target (annual decimal).
MAX_VOL_TARGET = 2.0
_AT_LEAST_ONE_DAY = ("lookback", "window", "span", "halflife", "horizon", "history")


def suggest(word: str, known) -> str:
    """``" (did you mean 'x'?)"`` for the nearest of ``known``, or ``""``."""
    near = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def read_config(path: str | Path) -> dict:
    """The TOML document of ``path``; ConfigError for a folder, a missing or unreadable file,
    bytes that are not UTF-8, invalid TOML or an empty file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, "is a folder, not a config file (give the .toml file)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "config file not found") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read the config ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                          f"{exc.start}); a config is a TOML text file") from None  # fmt: skip
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None
    if not doc:
        raise ConfigError(path, "the config is empty: a fund needs at least one [[strategies]] "
                          "table (see examples/lalt.toml)")  # fmt: skip
    return doc


def type_name(value) -> str:
    return {bool: "a bool", str: "text", int: "a whole number", float: "a number",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


def unit_rule(key: str, value) -> str | None:
    """The range a value must be in, judged by the unit its name carries; None when fine."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if key.endswith("_days"):
        low = 1 if any(w in key for w in _AT_LEAST_ONE_DAY) else 0
        if not low <= value <= MAX_DAYS:
            return f"must be in [{low}, {MAX_DAYS}] days, got {value!r}"
    if "vol_target" in key and not 0 < value <= MAX_VOL_TARGET:
        hint = " (write false to switch the volatility target off)" if value == 0 else ""
        return f"must be an annual decimal in (0, {MAX_VOL_TARGET}], got {value!r}{hint}"
    return None


def build(cls: type, table, file: str, section: str):
    """An instance of the dataclass ``cls`` from a TOML table, every key checked."""
    if isinstance(table, cls):
        return table
    if not isinstance(table, dict):
        raise ConfigError(file, f"must be a table, got {type_name(table)} {table!r}",
                          section=section)  # fmt: skip
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(file, f"unknown key{suggest(key, fields)}; known: {fields}",
                              section=section, key=key)  # fmt: skip
        values[key] = convert(value, hints[key], file, section, key)
        problem = unit_rule(key, values[key])
        if problem:
            raise ConfigError(file, problem, section=section, key=key)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(file, str(exc), section=section) from None


def convert(value, hint, file: str, section: str, key: str):
    """``value`` (as TOML gives it) as the type ``hint``; ConfigError when it is not one."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(file, problem, section=section, key=key)

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if type(None) in args and value is False and bool not in inner:
            return None
        for i, option in enumerate(inner):
            try:
                return convert(value, option, file, section, key)
            except ConfigError:
                if i == len(inner) - 1:
                    raise
    if hint is typing.Any or hint is object:
        return value
    if origin is typing.Literal:
        if value not in args:
            raise bad(f"must be one of {list(args)}, got {value!r}{suggest(value, args)}")
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        known = [m.value for m in hint]
        if value not in known:
            raise bad(f"must be one of {known}, got {value!r}{suggest(value, known)}")
        return hint(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad(f"must be true or false, got {type_name(value)} {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"must be a whole number, got {type_name(value)} {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"must be a number, got {type_name(value)} {value!r}")
        if not math.isfinite(value):
            raise bad(f"must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad(f"must be text, got {type_name(value)} {value!r}")
        return value
    if hint is pd.Timestamp:
        return parse_iso_date(value, bad)
    if origin in (tuple, frozenset, set, list):
        if not isinstance(value, list | tuple | set | frozenset):
            raise bad(f"must be an array, got {type_name(value)} {value!r}")
        items = list(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise bad(f"must be an array of {len(args)} values, got {items!r}")
            kinds = list(args)
        else:
            kinds = [args[0] if args else typing.Any] * len(items)
        done = [convert_item(x, k, file, f"{section}.{key}", i)
                for i, (x, k) in enumerate(zip(items, kinds, strict=True))]  # fmt: skip
        return origin(done) if origin is not list else done
    if origin is dict:
        if not isinstance(value, dict):
            raise bad(f"must be a table, got {type_name(value)} {value!r}")
        kind = args[1] if len(args) == 2 else typing.Any
        return {k: convert(v, kind, file, f"{section}.{key}", str(k)) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, file, f"{section}.{key}" if section else key)
    return value  # a type we do not know how to check: the class's own checks apply


def convert_item(value, hint, file: str, where: str, i: int):
    """Item ``i`` (0-based) of an array: named ``entry i+1`` in messages."""
    if dataclasses.is_dataclass(hint):
        return build(hint, value, file, f"{where}, entry {i + 1}")
    return convert(value, hint, file, where, f"entry {i + 1}")


def parse_iso_date(value, bad) -> pd.Timestamp:
    """A TOML date or ``YYYY-MM-DD`` text as a Timestamp; ``bad(problem)`` makes the error."""
    try:
        return iso_date(value)
    except ValueError:
        raise bad(f"must be a date YYYY-MM-DD, got {value!r}") from None
