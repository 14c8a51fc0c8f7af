"""The contract every registered strategy keeps (constructed with its defaults).

On the 5-year synthetic market: no look-ahead (truncation at seeded random dates gives the same
rows), determinism, inputs not mutated, output on the market calendar with known instruments
or valid option ids, finite. On the 20-year market (slow): realised volatility of the
strategy's return stream near its volatility target. Plus: a clear error on a market lacking
what a strategy needs, and discovery of third-party strategies through entry points.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import strategies  # noqa: F401  (registers the built-ins)
from backtest.market.instruments import IndexOption, MoneyMarket, instruments_table, is_option_id
from backtest.market.market_data import DATED_FIELDS, MarketData
from backtest.market.returns import exposure_returns
from strategies import base
from strategies.base import (
    ENTRY_POINT_GROUP,
    StrategyInputError,
    check_requirements,
    registry,
    run_strategy,
)

NAMES = sorted(registry)
#: Seed of the truncation dates (fixed: the test is reproducible).
TRUNCATION_SEED = 20_240_607
#: Realised volatility must fall in this band around the target (20-year market, after warm-up).
VOL_BAND = (0.4, 1.6)


@pytest.fixture(scope="module")
def positions_5y(synthetic_5y):
    """Positions of each registered strategy on the 5-year market, computed once."""
    cache: dict[str, pd.DataFrame] = {}

    def get(name: str) -> pd.DataFrame:
        if name not in cache:
            cache[name] = registry[name]().target_positions(synthetic_5y)
        return cache[name]

    return get


def _cut_dates(calendar: pd.DatetimeIndex) -> list[pd.Timestamp]:
    rng = np.random.default_rng(TRUNCATION_SEED)
    n = len(calendar)
    rows = rng.choice(np.arange(n // 4, n - 1), size=3, replace=False)
    return [calendar[i] for i in sorted(rows)]


def _valid_column(market: MarketData, column: str) -> bool:
    if column in market.instruments.index:
        return True
    if not is_option_id(column):
        return False
    opt = IndexOption.from_id(column)
    return opt.root in market.index.columns and opt.expiry >= market.start


@pytest.mark.parametrize("name", NAMES)
def test_output_on_calendar_known_columns_finite(synthetic_5y, positions_5y, name):
    m = synthetic_5y
    pos = positions_5y(name)
    assert isinstance(pos, pd.DataFrame)
    assert pos.index.equals(m.calendar)
    assert not pos.columns.has_duplicates
    bad = [c for c in pos.columns if not _valid_column(m, c)]
    assert not bad, f"{name}: unknown columns {bad[:5]}"
    values = pos.to_numpy(dtype="float64")
    assert np.isfinite(values).all()
    assert np.abs(values).sum() > 0, f"{name} never takes a position on 5 years of data"
    run_strategy(registry[name](), m)  # the engine's own checks pass too


@pytest.mark.parametrize("name", NAMES)
def test_truncation_no_look_ahead(synthetic_5y, positions_5y, name):
    full = positions_5y(name)
    for cut in _cut_dates(synthetic_5y.calendar):
        part = registry[name]().target_positions(synthetic_5y.until(cut))
        assert part.index.equals(synthetic_5y.calendar[synthetic_5y.calendar <= cut])
        common = [c for c in part.columns if c in full.columns]
        pd.testing.assert_frame_equal(
            part[common],
            full.loc[:cut, common],
            check_exact=True,
            check_freq=False,
            obj=f"{name} cut at {cut.date()}",
        )
        extra = [c for c in part.columns if c not in full.columns]
        assert (part[extra] == 0).all().all(), f"{name}: columns only in the cut run {extra[:5]}"
        missing = [c for c in full.columns if c not in part.columns]
        assert (full.loc[:cut, missing] == 0).all().all(), f"{name}: lost columns {missing[:5]}"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(synthetic_5y, positions_5y, name):
    again = registry[name]().target_positions(synthetic_5y)
    pd.testing.assert_frame_equal(again, positions_5y(name), check_exact=True)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_not_mutated(synthetic_5y, name):
    m = synthetic_5y
    before = {f: getattr(m, f).copy(deep=True) for f in DATED_FIELDS}
    curves = {k: c.copy(deep=True) for k, c in m.curves.items()}
    table, calendar = m.instruments.copy(deep=True), m.calendar.copy()
    strategy = registry[name]()
    params = dataclasses.asdict(strategy)
    strategy.target_positions(m)
    for f in DATED_FIELDS:
        pd.testing.assert_frame_equal(getattr(m, f), before[f], check_exact=True, obj=f)
    assert set(m.curves) == set(curves)
    for k, c in curves.items():
        pd.testing.assert_frame_equal(m.curves[k], c, check_exact=True, obj=f"curves[{k}]")
    pd.testing.assert_frame_equal(m.instruments, table)
    assert m.calendar.equals(calendar)
    assert dataclasses.asdict(strategy) == params


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_realised_vol_near_target(synthetic_20y, name):
    m = synthetic_20y
    strategy = registry[name]()
    pos = strategy.target_positions(m)
    r = exposure_returns(pos, m).loc["2006":]  # after a year of warm-up
    vol = r.std() * np.sqrt(252)
    target = getattr(strategy, "vol_target_annual", None)
    if target is None:  # sized to collateral (put writing): no more notional than capital
        cap = strategy.notional_fraction
        assert pos.abs().sum(axis=1).max() <= cap + 1e-12
        assert 0.02 < vol < 0.4
        return
    lo, hi = VOL_BAND
    assert lo * target <= vol <= hi * target, f"{name}: realised vol {vol:.3f}, target {target}"


def _equities_only(n_days: int = 30) -> MarketData:
    idx = pd.bdate_range("2020-01-01", periods=n_days)
    rng = np.random.default_rng(0)
    prices = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_days, 3)), axis=0)),
        index=idx,
        columns=["AAA", "BBB", "CCC"],
    )
    return MarketData.from_prices(prices, name="three-equities")


def _cash_only(n_days: int = 30) -> MarketData:
    idx = pd.bdate_range("2020-01-01", periods=n_days)
    prices = pd.DataFrame({"MMF": 1.0}, index=idx)
    return MarketData.from_prices(prices, instruments_table([MoneyMarket()]), name="cash-only")


@pytest.mark.parametrize("name", NAMES)
def test_check_requirements_names_what_is_missing(name):
    strategy = registry[name]()
    assert strategy.required_fields or strategy.required_kinds
    cls = type(strategy).__name__
    market = _equities_only()
    try:
        check_requirements(strategy, market)
    except StrategyInputError as err:
        message = str(err)
    else:  # an equity strategy: needs its equities
        market = _cash_only()
        with pytest.raises(StrategyInputError) as info:
            check_requirements(strategy, market)
        message = str(info.value)
    assert cls in message and market.name in message
    missing = set(strategy.required_fields) - market.available_fields()
    if missing:
        assert all(f in message for f in missing)
    else:
        assert "kinds" in message
    with pytest.raises(StrategyInputError):
        run_strategy(strategy, market)


# --------------------------------------------------------------------------- entry points
@dataclasses.dataclass(frozen=True)
class _PluginStrategy:
    vol_target_annual: float = 0.1
    required_fields = frozenset({"prices"})
    required_kinds = frozenset()

    def target_positions(self, market):
        return pd.DataFrame(index=market.calendar)


@dataclasses.dataclass(frozen=True)
class _Builtin:
    pass


class _FakeEntryPoint:
    def __init__(self, name: str, obj: type) -> None:
        self.name, self.group, self._obj = name, ENTRY_POINT_GROUP, obj
        self.value = f"plugin_pkg.module:{obj.__name__}"
        self.loads = 0

    def load(self) -> type:
        self.loads += 1
        return self._obj


def test_entry_point_strategy_is_discovered(monkeypatch):
    plugin = _FakeEntryPoint("plugin_carry", _PluginStrategy)
    clash = _FakeEntryPoint("builtin_one", _PluginStrategy)
    groups: list[str | None] = []

    def fake_entry_points(group=None, **_):
        groups.append(group)
        return [plugin, clash] if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(base, "entry_points", fake_entry_points)
    reg = base._Registry()  # a fresh one: the module registry caches what it loaded
    reg.register("builtin_one", _Builtin)
    assert reg["plugin_carry"] is _PluginStrategy
    assert reg["builtin_one"] is _Builtin  # a built-in is not shadowed by a plugin
    assert set(reg) == {"plugin_carry", "builtin_one"} and len(reg) == 2
    assert groups == [ENTRY_POINT_GROUP] and plugin.loads == 1  # loaded once, then cached
    with pytest.raises(KeyError, match="plugin_carry"):
        reg["nope"]
    assert isinstance(reg["plugin_carry"](), base.Strategy)


# --------------------------------------------------------------------------- contract rules
@dataclasses.dataclass(frozen=True)
class _Returns:
    """A strategy returning whatever ``make(market)`` builds (to break one rule at a time)."""

    make: object = None
    fields: frozenset = frozenset({"prices"})

    @property
    def required_fields(self):
        return self.fields

    required_kinds = frozenset()

    def target_positions(self, market):
        return self.make(market)


def _zeros(market, columns=("AAA", "BBB")):
    return pd.DataFrame(0.0, index=market.calendar, columns=list(columns))


@pytest.mark.parametrize(
    ("make", "rule", "detail"),
    [(lambda m: _zeros(m).to_numpy(), "returns a DataFrame", "got ndarray"),
     (lambda m: _zeros(m).iloc[1:], "index is the market calendar", "got 29 rows"),
     (lambda m: _zeros(m, ("AAA", "ZZZ")),
      "columns are unique instrument or option ids of the market", "unknown ['ZZZ']"),
     (lambda m: _zeros(m, ("AAA", "AAA")),
      "columns are unique instrument or option ids of the market", "repeated ['AAA']"),
     (lambda m: _zeros(m).assign(BBB=[0.0] * 5 + [np.nan] * 25), "values are finite numbers",
      "nan at 2020-01-08, column 'BBB'"),
     (lambda m: _zeros(m).assign(AAA="x"), "values are finite numbers", "")],
)  # fmt: skip
def test_run_strategy_names_the_contract_rule_that_failed(make, rule, detail):
    with pytest.raises(StrategyInputError) as info:
        run_strategy(_Returns(make), _equities_only())
    message = str(info.value)
    assert f"_Returns: contract rule {rule!r} failed: {detail}" in message, message
    assert rule in base.CONTRACT_RULES and "README 'Write a strategy'" in message


def test_unknown_required_fields_break_a_contract_rule():
    with pytest.raises(StrategyInputError, match="contract rule 'required_fields are MarketData "
                       "fields' failed: unknown fields \\['closes'\\]"):  # fmt: skip
        run_strategy(_Returns(_zeros, frozenset({"closes"})), _equities_only())


def test_an_unknown_strategy_says_how_to_register_one():
    with pytest.raises(KeyError) as info:
        registry["es_ma200_not_installed"]
    assert ENTRY_POINT_GROUP in str(info.value) and "strategies.register" in str(info.value)
