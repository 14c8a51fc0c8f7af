"""The standalone streams' cost estimate (backtest.engine.costs) against a hand computation
and against what the simulator charges for the same book."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import FundConfig
from backtest.engine.costs import _cost_rates, cost_rates, exposure_costs, exposure_costs_py
from backtest.engine.simulator import futures_roll_flags, simulate
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind
from strategies import registry, run_strategy


def test_a_futures_trade_and_a_roll_by_hand(synthetic_5y):
    m = synthetic_5y
    config = FundConfig()
    rolled = futures_roll_flags(m, "ES", config.roll_days_before_expiry)
    r = int(np.flatnonzero(rolled)[2])  # the opening position of row r was rolled
    x = pd.DataFrame({"ES": 0.0}, index=m.calendar)
    x.iloc[r - 10 :, 0] = 0.5  # decided at r-10, traded at r-9 (lag 1), held over the roll
    cost = exposure_costs(x, m, config)
    unit = m.notional_per_unit_usd(["ES"])["ES"]
    rate = config.costs.half_spread_bps["equity"] * 1e-4 + 1.5 / unit
    assert cost.iloc[r - 9] == pytest.approx(0.5 * rate.iloc[r - 9], rel=1e-12)
    assert cost.iloc[r] == pytest.approx(2 * 0.5 * rate.iloc[r], rel=1e-12)
    before = cost.iloc[: r + 1].drop(cost.index[[r - 9, r]])  # later rolls cost too
    assert before.abs().sum() == 0.0
    rates, flags = cost_rates(m, ["ES"], config)
    np.testing.assert_allclose(rates[:, 0], rate.to_numpy(), rtol=1e-12)
    assert (flags[:, 0] == rolled).all()


def test_the_estimate_is_close_to_what_the_simulator_charges(synthetic_5y):
    """Trend alone at full weight, no buffers, no flows: the simulator's costs over net assets
    and the stream's estimate agree to within a fifth over five years."""
    m = synthetic_5y
    x = run_strategy(registry["trend"](), m)
    config = FundConfig(no_trade_buffer_pct_nav=0.0, no_trade_buffer_pct_position=0.0)
    result = simulate(m, x, config)
    nav = result.nav
    charged = (result.costs.sum(axis=1) / nav["net_assets"].shift(1)).iloc[1:].sum()
    estimate = exposure_costs(x, m, config).sum()
    assert charged > 0.005  # a real cost to compare
    assert estimate == pytest.approx(charged, rel=0.2)


def _dense_costs(exposures, market, config, lag_days=1):
    """Every term on every column, as the estimate was first written: the twin that
    ``exposure_costs`` (zero terms skipped) must equal to the bit."""
    rate, rolled = cost_rates(market, [str(c) for c in exposures.columns], config)
    x = exposures.reindex(market.calendar).fillna(0.0).to_numpy(dtype="float64")
    traded = np.zeros_like(x)
    traded[lag_days:] = x[: len(x) - lag_days]
    turnover = np.abs(np.diff(traded, axis=0, prepend=0.0))
    impact = config.costs.impact_bps_per_pct_nav * 1e-4 * 100.0 * turnover**2
    held = np.zeros_like(x)
    held[1:] = traded[:-1]
    roll = 2.0 * np.abs(held) * rate * rolled
    # each row's terms added left to right (a running sum's last value), as exposure_costs does
    return np.cumsum(turnover * rate + impact + roll, axis=1)[:, -1]


@pytest.mark.parametrize("impact", [0.0, 3.0])
def test_costs_equal_the_dense_formula_to_the_bit(synthetic_5y, impact):
    """Futures (rolls), equities and on-demand options (rates shared by the options of one
    root) in one book, with and without impact."""
    m = synthetic_5y
    config = FundConfig()
    config = dataclasses.replace(
        config, costs=dataclasses.replace(config.costs, impact_bps_per_pct_nav=impact)
    )
    book = pd.concat(
        [run_strategy(registry[name](), m) for name in ("trend", "vol_premium")], axis=1
    )
    book = book.loc[:, ~book.columns.duplicated()]
    assert any("-P-" in c for c in book.columns) and "ES" in book.columns
    got = exposure_costs(book, m, config).to_numpy()
    np.testing.assert_array_equal(got, _dense_costs(book, m, config))
    assert got.sum() > 0
    rates, _ = cost_rates(m, list(book.columns), config)
    opts = [j for j, c in enumerate(book.columns) if "-P-" in c]
    np.testing.assert_array_equal(rates[:, opts[0]], rates[:, opts[-1]])  # same root, same rate


def _cost_rates_py(ids, market, costs, roll_days):
    """The per-id formulation the array one replaced (twin): one look-up and one rate each."""
    table = market.instruments
    out = []
    for iid in ids:
        rolled = np.zeros(len(market.calendar), dtype=bool)
        if iid not in table.index:
            opt = IndexOption.from_id(iid)
            unit = opt.multiplier * market.index[opt.root].to_numpy()
            spread = costs.half_spread_bps.get(opt.asset_class.value, 0.0)
            commission = costs.commission_per_contract_usd
        else:
            kind = InstrumentKind(table.at[iid, "kind"])
            spread = costs.half_spread_bps.get(str(table.at[iid, "asset_class"]), 0.0)
            unit = market.notional_per_unit_usd([iid])[iid].to_numpy(dtype="float64")
            if kind in FUTURE_KINDS:
                commission = costs.commission_per_contract_usd
                rolled = futures_roll_flags(market, iid, roll_days)
            elif kind is InstrumentKind.CURRENCY_FORWARD:
                commission = 0.0
            else:
                commission = costs.commission_per_share_usd
        with np.errstate(divide="ignore", invalid="ignore"):
            per_unit = np.where(np.abs(unit) > 0, commission / np.abs(unit), 0.0)
        out.append((spread * 1e-4 + np.nan_to_num(per_unit, nan=0.0, posinf=0.0), rolled))
    return out


def test_cost_rates_equal_the_per_id_formulation(synthetic_5y):
    """Every id of the default strategies (futures, forwards, equities, ETFs, options), the
    listed ones priced in one array operation: each id's rate and roll flags, to the bit."""
    m = synthetic_5y
    config = FundConfig()
    ids = list(dict.fromkeys(
        str(c) for name in ("carry", "vol_premium", "trend", "equity_market_neutral")
        for c in run_strategy(registry[name](), m).columns
    ))  # fmt: skip
    ids += [i for i in m.instruments.index if i not in ids]  # every kind of the table
    got = _cost_rates(ids, m, config.costs, config.roll_days_before_expiry)
    want = _cost_rates_py(ids, m, config.costs, config.roll_days_before_expiry)
    assert len(got) == len(want) == len(ids)
    for iid, (rate, rolled), (rate_py, rolled_py) in zip(ids, got, want, strict=True):
        assert np.array_equal(rate.view(np.int64), rate_py.view(np.int64)), iid
        assert np.array_equal(rolled, rolled_py), iid
        assert not rate.flags.writeable


@pytest.mark.parametrize("impact", [0.0, 3.0])
def test_exposure_costs_equal_the_array_formulation(synthetic_5y, impact):
    """The default books (futures with rolls, forwards, equities, options) and a random one
    with missing rows and values, at three lags: the bits of the whole-array twin."""
    m = synthetic_5y
    base = FundConfig()
    config = dataclasses.replace(
        base, costs=dataclasses.replace(base.costs, impact_bps_per_pct_nav=impact)
    )
    books = [
        run_strategy(registry[name](), m)
        for name in ("carry", "vol_premium", "trend", "equity_market_neutral")
    ]
    rng = np.random.default_rng(4)
    ids = list(m.instruments.index[:12])
    odd = pd.DataFrame(rng.normal(size=(len(m.calendar), 12)), m.calendar, ids)
    odd[odd.abs() < 0.5] = 0.0
    odd.iloc[rng.random(odd.shape) < 0.05] = np.nan
    books.append(odd.iloc[::2])  # rows missing: reindexed to the calendar
    for book in books:
        for lag in (0, 1, 3):
            got = exposure_costs(book, m, config, lag)
            want = exposure_costs_py(book, m, config, lag)
            assert got.index.equals(want.index) and got.name == want.name
            assert np.array_equal(got.to_numpy().view(np.int64), want.to_numpy().view(np.int64))
    assert (exposure_costs(books[0].iloc[:, :0], m, config) == 0).all()
    with pytest.raises(ValueError, match="lag_days"):
        exposure_costs(books[0], m, config, -1)


def test_a_day_costs_the_same_whatever_the_book_holds_on_other_days(synthetic_5y):
    """A column that costs nothing on a row leaves the row's cost as it is, to the bit: the
    put-writing book, cut at a date, lists fewer options than on the whole market, and its
    past costs must not move when later options join (numpy's pairwise row sums, used
    before, grouped the same terms differently by column count: a past cost changed in its
    last bit, and with it the allocator's inputs)."""
    m = synthetic_5y
    config = FundConfig()
    book = run_strategy(registry["vol_premium"](), m)
    got = exposure_costs(book, m, config).to_numpy()
    rng = np.random.default_rng(5)
    for _ in range(5):  # idle columns inserted anywhere, in any number
        wider = book.copy()
        for k in rng.integers(0, book.shape[1], size=int(rng.integers(1, 40))):
            wider.insert(int(k), f"SPX-2030-01-18-P-{int(rng.integers(10**6))}", 0.0,
                         allow_duplicates=True)  # fmt: skip
        assert wider.shape[1] > book.shape[1]
        wide = exposure_costs(wider, m, config).to_numpy()
        assert wide.tobytes() == got.tobytes()
    for day in m.calendar[[300, 555, 800, 1000]]:  # the book cut at a date, as a nightly run has it
        cut = m.until(day)
        early = exposure_costs(run_strategy(registry["vol_premium"](), cut), cut, config)
        assert early.to_numpy().tobytes() == got[: len(cut.calendar)].tobytes()
