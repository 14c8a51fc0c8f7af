"""The contract every allocator keeps: no look-ahead (truncation, same-row blindness),
determinism, inputs untouched, same index and columns as the input."""

import numpy as np
import pandas as pd
import pytest

from allocator import (
    AllocationContext,
    Allocator,
    Capped,
    Defensive,
    EqualRiskContribution,
    EqualWeight,
    InverseVolatility,
    RampIn,
    Schedule,
    VolatilityTarget,
)

N_DAYS = 700


def make_returns(seed=11):
    """Five strategy return streams; one starts late (NaN before), one has a crash."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=N_DAYS, name="date")
    sd = np.array([0.004, 0.008, 0.012, 0.006, 0.01])
    corr = np.full((5, 5), 0.2) + 0.8 * np.eye(5)
    r = rng.multivariate_normal(np.full(5, 2e-4), corr * np.outer(sd, sd), size=N_DAYS)
    r[300:330, 1] -= 0.02  # a crash deep enough to trigger drawdown rules
    frame = pd.DataFrame(r, index=dates, columns=["carry", "vrp", "trend", "emn", "fx"])
    frame.iloc[:150, 4] = np.nan  # "fx" launched later
    return frame


def make_vix(index):
    level = np.full(len(index), 18.0)
    level[200:240] = np.linspace(35, 55, 40)  # spike above 40 ...
    level[240:260] = 34.0  # ... a dip that must not switch back ...
    level[260:] = 22.0  # ... then calm
    level[500:505] = 48.0
    return pd.Series(level, index=index, name="VIX")


RETURNS = make_returns()
CONTEXT = AllocationContext(vix=make_vix(RETURNS.index))

ALLOCATORS = {
    "equal_weight": EqualWeight(),
    "inverse_vol": InverseVolatility(),
    "inverse_vol_short": InverseVolatility(lookback_days=20, min_history_days=5),
    "erc_monthly": EqualRiskContribution(lookback_days=126, min_history_days=30),
    "erc_daily_fixed_shrink": EqualRiskContribution(
        lookback_days=60,
        min_history_days=20,
        shrinkage=0.2,
        shrinkage_target="diagonal",
        recompute="daily",
    ),
    "capped_iv": Capped(InverseVolatility(), max_weight=0.3, min_weight=0.1),
    "voltarget_ew": VolatilityTarget(EqualWeight(), target_annual=0.1),
    "voltarget_capped_erc": VolatilityTarget(
        Capped(EqualRiskContribution(lookback_days=252), max_weight=0.5, min_weight=0.05),
        target_annual=0.08,
    ),
    "ramp_voltarget_erc": RampIn(
        VolatilityTarget(Capped(EqualRiskContribution(126, 30), 0.5, 0.05), 0.08), ramp_days=21
    ),
    "schedule_monthly_iv": Schedule(InverseVolatility(), frequency="monthly"),
    "schedule_weekly_drift": Schedule(
        Capped(
            EqualRiskContribution(lookback_days=126, min_history_days=30, recompute="weekly"),
            max_weight=0.4,
        ),
        frequency="weekly",
        drift_threshold=0.02,
    ),
    "schedule_quarterly_vt": Schedule(VolatilityTarget(InverseVolatility()), "quarterly"),
    "defensive_vix": Defensive(VolatilityTarget(Capped(InverseVolatility(), 0.5))),
    "defensive_drawdown": Defensive(EqualWeight(), max_drawdown=0.03, recover_drawdown=0.01),
    "defensive_trailing_drawdown": Defensive(
        InverseVolatility(), max_drawdown=0.02, recover_drawdown=0.01, drawdown_lookback_days=60
    ),
    "fund_composition": Schedule(
        Defensive(VolatilityTarget(Capped(EqualRiskContribution(252), 0.5, 0.05), 0.08)),
        frequency="monthly",
        drift_threshold=0.05,
    ),
}

CUTS = sorted({1, 2, 151, *np.random.default_rng(5).integers(3, N_DAYS, size=5).tolist()})


@pytest.fixture(scope="module", params=sorted(ALLOCATORS))
def case(request):
    alloc = ALLOCATORS[request.param]
    return alloc, alloc.weights(RETURNS, context=CONTEXT)


def test_is_an_allocator(case):
    alloc, _ = case
    assert isinstance(alloc, Allocator)


def test_output_shape_and_labels(case):
    _, w = case
    assert w.index.equals(RETURNS.index)
    assert list(w.columns) == list(RETURNS.columns)
    assert np.isfinite(w.to_numpy()).all()
    assert (w.to_numpy() >= 0).all()
    assert w.iloc[-1].sum() > 0  # it does allocate


@pytest.mark.parametrize("k", CUTS)
def test_truncation(case, k):
    alloc, full = case
    cut = alloc.weights(RETURNS.iloc[:k], context=CONTEXT)
    pd.testing.assert_frame_equal(cut, full.iloc[:k], check_exact=True)


@pytest.mark.parametrize("k", CUTS)
def test_row_does_not_read_its_own_return(case, k):
    alloc, full = case
    shocked = RETURNS.copy()
    shocked.iloc[k - 1] = -0.25  # a wild return on the last visible row
    pd.testing.assert_frame_equal(
        alloc.weights(shocked, context=CONTEXT).iloc[:k], full.iloc[:k], check_exact=True
    )


def test_deterministic_and_inputs_untouched(case):
    alloc, full = case
    returns, vix = RETURNS.copy(), CONTEXT.vix.copy()
    again = alloc.weights(returns, context=CONTEXT)
    pd.testing.assert_frame_equal(again, full, check_exact=True)
    pd.testing.assert_frame_equal(returns, RETURNS, check_exact=True)
    pd.testing.assert_series_equal(CONTEXT.vix, vix, check_exact=True)


def test_the_composition_examples_are_live():
    """The compositions above must exercise what they claim (else truncation proves little)."""
    w = {name: ALLOCATORS[name].weights(RETURNS, context=CONTEXT) for name in ALLOCATORS}
    assert (w["equal_weight"].iloc[1:150, 4] == 0).all() and w["equal_weight"].iloc[152, 4] > 0
    assert w["voltarget_ew"].sum(axis=1).iloc[100:].std() > 0.01  # leverage moves
    vix_switches = ALLOCATORS["defensive_vix"].switches(RETURNS, context=CONTEXT)
    assert vix_switches["reason"].str.startswith("VIX").sum() >= 3
    assert len(ALLOCATORS["defensive_drawdown"].switches(RETURNS, context=CONTEXT)) >= 2
    weekly = ALLOCATORS["schedule_weekly_drift"]
    rebalances = weekly.rebalance_dates(RETURNS, context=CONTEXT)
    mondays_missing = rebalances[rebalances.dayofweek != 0]
    assert len(mondays_missing) > 0  # the drift threshold fired between scheduled dates


@pytest.mark.parametrize(
    "name", ["defensive_vix", "defensive_drawdown", "defensive_trailing_drawdown"]
)
@pytest.mark.parametrize("k", CUTS)
def test_switches_truncate(name, k):
    alloc = ALLOCATORS[name]
    full = alloc.switches(RETURNS, context=CONTEXT)
    cut = alloc.switches(RETURNS.iloc[:k], context=CONTEXT)
    expected = full[full["date"] < RETURNS.index[k]] if k < N_DAYS else full
    pd.testing.assert_frame_equal(cut, expected.reset_index(drop=True), check_exact=True)
