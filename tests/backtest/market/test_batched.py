"""Columns computed together (instrument returns, cost rates, option times to expiry) equal the
one-at-a-time arithmetic they replace, to the last bit, and the batch cache computes each key
once."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine.config import FundConfig
from backtest.engine.costs import cost_rates
from backtest.engine.simulator import futures_roll_flags
from backtest.market.instruments import FUTURE_KINDS, IndexOption, InstrumentKind
from backtest.market.market_data import _tau_years
from backtest.market.returns import _option_returns, _return_of, instrument_returns
from tests.conftest import monthly_puts


def test_returns_computed_together_equal_each_alone(synthetic_5y):
    m = synthetic_5y.replace()  # a fresh market, an empty cache (a cut carries returns over)
    together = instrument_returns(m)
    kinds = set(m.instruments["kind"])
    assert {"equity", "etf", "bond_future", "currency_forward"} <= kinds
    for iid in m.instruments.index:
        alone = _return_of(m, iid).replace([np.inf, -np.inf], np.nan).to_numpy()
        assert np.array_equal(together[iid].to_numpy(), alone, equal_nan=True), iid
    spx = m.index["SPX"]
    options = [
        IndexOption("SPX", m.calendar[k], round(spx.iloc[k - 30] * f), call).id
        for k, f, call in ((200, 0.9, True), (400, 1.0, False), (900, 0.95, True))
    ]
    together = instrument_returns(m, [*m.instruments.index, *options])
    for oid in options:  # option marks over the underlying's previous level
        alone = _return_of(m, oid).replace([np.inf, -np.inf], np.nan).to_numpy()
        assert np.isfinite(alone).sum() > 30
        assert np.array_equal(together[oid].to_numpy(), alone, equal_nan=True), oid
    again = instrument_returns(m, list(m.instruments.index[::-1]))  # from the cache, any order
    assert again.equals(together[list(m.instruments.index[::-1])])


def test_cost_rates_computed_together_equal_the_per_unit_formula(synthetic_5y):
    m = synthetic_5y.replace()  # a fresh market, an empty cache
    config = FundConfig()
    ids = list(m.instruments.index)
    assert (m.instruments["currency"] != "USD").any()  # the FX conversion is exercised
    rate, rolled = cost_rates(m, ids, config)
    costs = config.costs
    for j, iid in enumerate(ids):
        row = m.instruments.loc[iid]
        kind = InstrumentKind(row["kind"])
        unit = m.notional_per_unit_usd([iid])[iid].to_numpy()
        commission = (costs.commission_per_contract_usd if kind in FUTURE_KINDS
                      else 0.0 if kind is InstrumentKind.CURRENCY_FORWARD
                      else costs.commission_per_share_usd)  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            per_unit = np.where(np.abs(unit) > 0, commission / np.abs(unit), 0.0)
        spread = costs.half_spread_bps.get(str(row["asset_class"]), 0.0) * 1e-4
        expected = spread + np.nan_to_num(per_unit, nan=0.0, posinf=0.0)
        assert np.array_equal(rate[:, j], expected), iid
        flags = (futures_roll_flags(m, iid, config.roll_days_before_expiry)
                 if kind in FUTURE_KINDS else np.zeros(len(m.calendar), dtype=bool))  # fmt: skip
        assert np.array_equal(rolled[:, j], flags), iid


@pytest.mark.parametrize(
    "expiry", ["2010-03-19", "1999-12-31", "2031-06-20", "2015-06-19 16:30", "2012-02-29"]
)
def test_time_to_expiry_counts_whole_days_as_pandas_does(expiry):
    dates = pd.bdate_range("2005-01-03", "2025-12-31")
    e = pd.Timestamp(expiry)
    expected = (e - dates).days.to_numpy().astype("float64") / 365.0
    assert np.array_equal(_tau_years(dates, e), expected)
    seconds = pd.DatetimeIndex(dates.to_numpy().astype("datetime64[s]"))  # another unit
    assert np.array_equal(_tau_years(seconds, e), expected)


def test_the_batch_cache_computes_each_missing_key_once(synthetic_5y):
    m = synthetic_5y.replace()  # a fresh market, an empty cache
    calls = []

    def compute(missing):
        calls.append(list(missing))
        return [k[1] * 10 for k in missing]

    assert m.cached_batch([("t", 1), ("t", 2)], compute) == [10, 20]
    assert m.cached_batch([("t", 3), ("t", 1), ("t", 3)], compute) == [30, 10, 30]
    assert calls == [[("t", 1), ("t", 2)], [("t", 3)]]
    with pytest.raises(ValueError, match="1 values for 2 keys"):
        m.cached_batch([("u", 1), ("u", 2)], lambda missing: [0])


def test_the_returns_frame_is_laid_out_as_a_frame_built_from_one_array(synthetic_5y):
    """instrument_returns hands pandas its (ids × dates) block without a copy: the frame, and
    pandas' row and column sums over it (whose last bits depend on the block's memory layout),
    are those of the frame built the usual way from a (dates × ids) array."""
    m = synthetic_5y.replace()
    got = instrument_returns(m)
    usual = pd.DataFrame(got.to_numpy().copy(), index=got.index, columns=got.columns)
    assert got.equals(usual) and np.isinf(got.to_numpy()).sum() == 0
    for axis in (0, 1):
        a, b = got.sum(axis=axis).to_numpy(), usual.sum(axis=axis).to_numpy()
        assert np.array_equal(a.view(np.int64), b.view(np.int64))


def test_option_returns_equal_the_column_stacked_formula(synthetic_5y):
    """The puts of a monthly book over the previous underlying level, broadcast for the one
    root: the bits of the former formula (marks minus lagged marks over stacked levels)."""
    m = synthetic_5y
    ids = list(monthly_puts(m).columns)
    got = _option_returns(m, ids)
    marks = m.option_prices(ids).to_numpy()
    lagged = np.full(marks.shape, np.nan)
    lagged[1:] = marks[:-1]
    level = np.r_[np.nan, m.index["SPX"].to_numpy(dtype="float64")[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        want = (marks - lagged) / np.column_stack([level] * len(ids))
    assert len(ids) > 50 and np.isfinite(got).sum() > 1000
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
