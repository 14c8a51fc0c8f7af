"""Defensive overlay: crafted VIX and drawdown paths give exactly the expected switches."""

import numpy as np
import pandas as pd
import pytest

from allocator import AllocationContext, Defensive, EqualWeight, drawdown

DATES = pd.bdate_range("2020-03-02", periods=12)
#            0   1   2     3     4   5   6   7   8   9  10  11
VIX_PATH = [20, 25, 38, 45.2, 50, 35, 33, 35, 29, 25, 41, 20]
CALM = pd.DataFrame(0.001, index=DATES, columns=["carry", "trend"])


def test_vix_path_switches_with_hysteresis():
    alloc = Defensive(EqualWeight())
    ctx = AllocationContext(vix=pd.Series(VIX_PATH, index=DATES))
    switches = alloc.switches(CALM, context=ctx)
    expected = pd.DataFrame(
        {
            # the VIX close of row t decides row t+1's weights
            "date": DATES[[4, 9, 11]].to_numpy(),
            "state": ["defensive", "normal", "defensive"],
            "reason": [
                "VIX 45.2 above 40.0",
                "VIX 29.0 below 30.0, drawdown 0.0% below 5.0%",
                "VIX 41.0 above 40.0",
            ],
        }
    )
    pd.testing.assert_frame_equal(switches, expected)
    w = alloc.weights(CALM, context=ctx)
    normal = EqualWeight().weights(CALM)
    defensive_rows = [4, 5, 6, 7, 8, 11]  # the dip to 35 (rows 5, 7) does not switch back
    scale = np.ones(12)
    scale[defensive_rows] = 0.1
    np.testing.assert_allclose(w.to_numpy(), normal.to_numpy() * scale[:, None], rtol=1e-15)
    assert alloc.states(CALM, context=ctx).iloc[defensive_rows].eq("defensive").all()


def test_vix_on_other_dates_uses_last_known_value():
    # VIX stamped on a different calendar: 45 on a Saturday counts from the next row on
    vix = pd.Series(
        [20.0, 45.0, 20.0], index=pd.DatetimeIndex(["2020-03-02", "2020-03-07", "2020-03-12"])
    )
    switches = Defensive(EqualWeight()).switches(CALM, context=AllocationContext(vix=vix))
    # Mon 9 Mar sees Fri 6 Mar's value (20); Tue 10 Mar sees Mon 9 Mar's (45, carried forward)
    assert switches["date"].tolist() == [pd.Timestamp("2020-03-10"), pd.Timestamp("2020-03-13")]
    assert switches["reason"].iloc[0] == "VIX 45.0 above 40.0"


def test_drawdown_switches_without_vix():
    r = pd.DataFrame(0.0, index=pd.bdate_range("2021-01-04", periods=10), columns=["a", "b"])
    r.iloc[1:5] = -0.05  # four −5% days: drawdown 5%, 9.75%, 14.26%, 18.55%
    r.iloc[6:8] = 0.10  # recover: 10.40%, 1.44%
    alloc = Defensive(EqualWeight())
    switches = alloc.switches(r)
    assert switches["date"].tolist() == [r.index[5], r.index[8]]
    assert switches["state"].tolist() == ["defensive", "normal"]
    assert switches["reason"].tolist() == [
        "drawdown 18.5% above 15.0%",
        "drawdown 1.4% below 5.0%",
    ]
    w = alloc.weights(r)
    np.testing.assert_allclose(w.iloc[5:8].sum(axis=1), 0.1)
    np.testing.assert_allclose(w.iloc[8:].sum(axis=1), 1.0)


def test_fund_returns_in_context_drive_the_drawdown():
    fund = pd.Series(0.0, index=CALM.index)
    fund.iloc[2] = -0.2  # the fund lost 20% although the strategies did not
    ctx = AllocationContext(fund_returns=fund)
    switches = Defensive(EqualWeight()).switches(CALM, context=ctx)
    assert switches["date"].tolist() == [CALM.index[3]]
    assert switches["reason"].iloc[0] == "drawdown 20.0% above 15.0%"


def test_both_triggers_are_reported():
    r = CALM.copy()
    r.iloc[1] = -0.2
    ctx = AllocationContext(vix=pd.Series(VIX_PATH, index=DATES).where(DATES != DATES[1], 42.0))
    first = Defensive(EqualWeight()).switches(r, context=ctx).iloc[0]
    assert first["date"] == DATES[2]
    assert first["reason"] == "VIX 42.0 above 40.0; drawdown 20.0% above 15.0%"


def test_reasons_tell_close_values_apart():
    vix = pd.Series([40.04, 40.04, 20.0, 20.0], index=DATES[:4])
    out = Defensive(EqualWeight()).switches(CALM.iloc[:4], context=AllocationContext(vix=vix))
    assert out["reason"].iloc[0] == "VIX 40.04 above 40.00"


def test_no_switch_gives_empty_table_with_columns():
    out = Defensive(EqualWeight()).switches(CALM)
    assert list(out.columns) == ["date", "state", "reason"] and out.empty


def test_drawdown_helper():
    np.testing.assert_allclose(
        drawdown(np.array([-0.1, 0.05, np.nan, 0.2, -0.5])), [0.1, 0.055, 0.055, 0.0, 0.5]
    )


def test_trailing_drawdown_peak():
    r = np.array([0.1, -0.2, 0.0, 0.0, 0.05])
    # wealth 1, 1.1, 0.88, 0.88, 0.88, 0.924; a 2-row peak forgets 1.1 after two rows
    np.testing.assert_allclose(drawdown(r), [0.0, 0.2, 0.2, 0.2, 0.16])
    np.testing.assert_allclose(drawdown(r, lookback_days=2), [0.0, 0.2, 0.2, 0.0, 0.0])


def test_trailing_drawdown_lets_the_fund_back_in():
    r = pd.DataFrame(0.0, index=pd.bdate_range("2021-01-04", periods=30), columns=["a"])
    r.iloc[1:5] = -0.05  # an 18.5% loss that is never made good
    stuck = Defensive(EqualWeight()).switches(r)
    assert stuck["state"].tolist() == ["defensive"]
    back = Defensive(EqualWeight(), drawdown_lookback_days=10).switches(r)
    assert back["state"].tolist() == ["defensive", "normal"]
    # row 14 is the first whose window (wealth after rows 4..14) is flat: drawdown 0,
    # which row 15 acts on
    assert back["date"].iloc[1] == r.index[15]


def test_rejects_inverted_thresholds():
    with pytest.raises(ValueError):
        Defensive(EqualWeight(), vix_above=30.0, vix_below=40.0)
    with pytest.raises(ValueError):
        Defensive(EqualWeight(), max_drawdown=0.05, recover_drawdown=0.1)
