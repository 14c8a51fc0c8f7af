"""Each fund limit: a crafted breach, the check that catches it, the pre-trade fix."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from allocator.compliance import breaches, check_limits, summary
from allocator.limits import Limits, apply_limits, var_limit
from backtest.engine.config import FundConfig
from backtest.engine.simulator import simulate
from backtest.market.instruments import Equity, EquityIndexFuture, instruments_table
from backtest.market.market_data import MarketData


def crafted_market(n_days=320, seed=0) -> MarketData:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n_days)
    instruments = [
        Equity("TECH1", "Technology"), Equity("TECH2", "Technology"),
        Equity("BANK1", "Financials"), Equity("ILLQ", "Utilities", liquidity="illiquid"),
        Equity("BRIT", "Energy", country="GB"),
        EquityIndexFuture("FUT", multiplier=10.0), EquityIndexFuture("NONISG", multiplier=10.0,
                                                                     isg_member=False),
    ]  # fmt: skip
    table = instruments_table(instruments)
    vols = np.array([0.01, 0.01, 0.01, 0.01, 0.01, 0.002, 0.01])  # FUT: a quiet future
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1, (n_days, len(vols))) * vols, axis=0))
    prices = pd.DataFrame(px, index=dates, columns=table.index)
    bench = pd.DataFrame({"equity_index": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_days)))},
                         index=dates)  # fmt: skip
    base = MarketData.from_prices(prices, table)
    return dataclasses.replace(base, benchmarks=bench)


def one_shot(market, weights: dict, day=5, persist=False) -> pd.DataFrame:
    """Targets decided on ``day`` only (then drifting), or every day from it (``persist``)."""
    tg = pd.DataFrame(np.nan, index=market.calendar, columns=list(weights))
    if persist:
        tg.iloc[day:] = pd.DataFrame([weights] * (len(tg) - day), index=tg.index[day:])
    else:
        tg.iloc[day] = pd.Series(weights)
    return tg


def rule_breached(market, targets, rule, limits: Limits | None = None):
    result = simulate(market, targets, FundConfig.frictionless(1e7))
    comp = check_limits(result, market, limits)
    return (breaches(comp)["rule"] == rule).any(), comp


def test_industry_limit_caught_and_fixed():
    market = crafted_market()
    raw = one_shot(market, {"TECH1": 0.16, "TECH2": 0.16, "BANK1": 0.1})
    caught, comp = rule_breached(market, raw, "industry")
    assert caught
    fig = comp[comp["rule"] == "industry"]["figure"].max()
    assert 0.3 < fig < 0.34  # 32% in Technology at purchase, drifting with prices
    fixed, actions, _ = apply_limits(raw, market)
    row = fixed.iloc[5]
    assert row["TECH1"] + row["TECH2"] == pytest.approx(0.25 * 0.9)  # limit × headroom
    assert row["BANK1"] == pytest.approx(0.1)  # other industries untouched
    assert (actions["rule"] == "industry").any()
    result = simulate(market, fixed, FundConfig.frictionless(1e7))
    industry = check_limits(result, market).query("rule == 'industry'")["figure"]
    assert 0.22 < industry.iloc[7] <= 0.25  # booked: inside the limit


def test_illiquid_limit_caught_at_purchase_and_fixed():
    market = crafted_market()
    raw = one_shot(market, {"ILLQ": 0.2})
    caught, comp = rule_breached(market, raw, "illiquid")
    assert caught
    ill = comp[comp["rule"] == "illiquid"]
    assert ill["applies"].sum() == 1  # tested at the time of purchase only
    fixed, _, _ = apply_limits(raw, market)
    assert fixed.iloc[5]["ILLQ"] == pytest.approx(0.15 * 0.9)
    assert not rule_breached(market, fixed, "illiquid")[0]


def test_gross_leverage_caught_and_fixed():
    market = crafted_market()
    raw = one_shot(market, {"FUT": 8.0}, persist=True)  # rebalanced daily
    limits = Limits(gross_leverage_max=6.0, var_absolute_max=10.0, reference=None)
    caught, _ = rule_breached(market, raw, "gross_leverage", limits)
    assert caught
    fixed, actions, scale = apply_limits(raw, market, limits)
    assert fixed.iloc[5]["FUT"] == pytest.approx(6.0 * 0.9)
    # the whole book was scaled by 6 × 0.9 / 8 on every decision date (none before day 5)
    assert scale.iloc[5] == pytest.approx(5.4 / 8.0) and scale.iloc[:5].isna().all()
    np.testing.assert_allclose(fixed["FUT"], raw["FUT"] * scale, rtol=1e-15)
    assert not rule_breached(market, fixed, "gross_leverage", limits)[0]


def test_var_test_caught_and_fixed():
    market = crafted_market()
    raw = one_shot(market, {"FUT": 25.0}, day=300)
    limits = Limits(gross_leverage_max=100.0)
    caught, comp = rule_breached(market, raw, "var_18f4", limits)
    assert caught
    fixed, actions, book_scale = apply_limits(raw, market, limits)
    scale = fixed.iloc[300]["FUT"] / 25.0
    assert book_scale.iloc[300] == pytest.approx(scale, rel=1e-12)
    assert 0 < scale < 1 and (actions["rule"] == "var_18f4").any()
    # after scaling, the fund's VaR on the decision date equals 200% of the reference's
    row = actions[actions["rule"] == "var_18f4"].iloc[0]
    assert row["scale"] == pytest.approx(scale)


def test_banned_instruments_removed_and_caught():
    market = crafted_market()
    raw = one_shot(market, {"BRIT": 0.1, "NONISG": 0.5, "FUT": 0.2})
    assert rule_breached(market, raw, "non_us_equity")[0]
    assert rule_breached(market, raw, "isg")[0]
    fixed, actions, _ = apply_limits(raw, market)
    assert fixed.iloc[5]["BRIT"] == 0 and fixed.iloc[5]["NONISG"] == 0
    assert fixed.iloc[5]["FUT"] == pytest.approx(0.2)
    assert set(actions["rule"]) >= {"non_us_equity", "isg"}


def test_subsidiary_cap_and_negative_cash_checks_catch_crafted_books():
    market = crafted_market(n_days=70)
    result = simulate(market, one_shot(market, {"FUT": 1.0}), FundConfig.frictionless(1e7))
    nav = result.nav.copy()
    quarter_end = pd.Timestamp("2020-03-31")
    nav.loc[quarter_end, "subsidiary_pct_total_assets"] = 0.26
    nav.loc[pd.Timestamp("2020-02-14"), "subsidiary_pct_total_assets"] = 0.30  # not a quarter-end
    nav.loc[pd.Timestamp("2020-02-20"), "cash_fund"] = -5.0
    crafted = dataclasses.replace(result)
    object.__setattr__(crafted, "nav", nav)  # a frozen result with a doctored NAV table
    found = breaches(check_limits(crafted, market))
    sub = found[found["rule"] == "subsidiary_cap"]
    assert list(sub["date"]) == [quarter_end]
    assert list(found[found["rule"] == "cash_fund"]["date"]) == [pd.Timestamp("2020-02-20")]
    table = summary(check_limits(crafted, market))
    assert table.loc["subsidiary_cap", "breaches"] == 1


def test_clean_targets_have_no_breaches_and_no_actions():
    market = crafted_market()
    raw = one_shot(market, {"TECH1": 0.1, "BANK1": 0.1, "FUT": 0.5})
    fixed, actions, scale = apply_limits(raw, market)
    pd.testing.assert_frame_equal(fixed, raw)
    assert actions.empty
    assert scale.iloc[5] == 1.0 and scale.drop(scale.index[5]).isna().all()
    result = simulate(market, fixed, FundConfig.frictionless(1e7))
    assert breaches(check_limits(result, market)).empty


def test_var_test_needs_a_year_of_history_and_floors_gains_at_zero():
    market = crafted_market()
    raw = one_shot(market, {"FUT": 0.5}, day=5)
    result = simulate(market, raw, FundConfig.frictionless(1e7))
    var = check_limits(result, market).query("rule == 'var_18f4'")
    assert not var["applies"].iloc[:249].any() and var["applies"].iloc[249:].all()
    assert (var["figure"] >= 0).all() and (var["limit"] > 0).all()


def test_rolling_var_kernel_equals_its_plain_python_twin_and_a_hand_count():
    from allocator.var import _rolling_var, rolling_var_py

    rng = np.random.default_rng(4)
    n, m = 400, 12
    r = rng.normal(0.0, 0.01, (n, m))
    r[rng.random((n, m)) < 0.05] = np.nan  # missing returns count as zero
    w = np.where(rng.random((n, m)) < 0.4, rng.normal(0.0, 0.3, (n, m)), 0.0)
    rows = np.arange(n, dtype=np.int64)
    compiled = _rolling_var(r, w, rows, 250, 10, 0.99, 100)
    twin = rolling_var_py(r, w, rows, 250, 10, 0.99, 100)
    assert np.isnan(compiled[:99]).all() and np.isfinite(compiled[120:]).all()
    np.testing.assert_allclose(compiled, twin, rtol=1e-12, equal_nan=True)
    # one row by hand: 10-day sums of the day-t portfolio over its 250-day window, 1% quantile
    t = 333
    daily = np.nansum(r[t - 249 : t + 1] * w[t], axis=1)
    ten_day = np.array([daily[k : k + 10].sum() for k in range(241)])
    assert compiled[t] == pytest.approx(max(-np.quantile(ten_day, 0.01), 0.0), rel=1e-12)


def _row_by_row_var(returns, weights, rows, lookback, horizon, q, min_obs):
    """The previous arithmetic: one sum per day over the held instruments, missing returns
    skipped (compiled by numba in the test, as the kernel is)."""
    out = np.full(len(rows), np.nan)
    for k in range(len(rows)):
        t = rows[k]
        start = max(0, t - lookback + 1)
        if t - start + 1 < max(min_obs, 2 * horizon):
            continue
        held = np.flatnonzero(weights[t] != 0.0)
        daily = np.zeros(t - start + 1)
        for s in range(start, t + 1):
            acc = 0.0
            for i in held:
                r = returns[s, i]
                if np.isfinite(r):
                    acc += weights[t, i] * r
            daily[s - start] = acc
        cum = np.cumsum(daily)
        hor = cum[horizon - 1 :] - np.concatenate((np.zeros(1), cum[: cum.shape[0] - horizon]))
        out[k] = max(-np.quantile(hor, 1.0 - q), 0.0)
    return out


def test_rolling_var_by_instrument_equals_the_row_by_row_sum_to_the_last_bit():
    from numba import njit

    from allocator.var import _rolling_var

    rng = np.random.default_rng(5)
    r = rng.normal(0.0, 0.01, (300, 8))
    r[rng.random(r.shape) < 0.1] = np.nan
    r[rng.random(r.shape) < 0.1] = 0.0  # exact zeros with negative weights: signed zeros
    w = np.where(rng.random(r.shape) < 0.5, rng.normal(0.0, 0.3, r.shape), 0.0)
    rows = np.arange(300, dtype=np.int64)
    expected = njit(_row_by_row_var)(r, w, rows, 120, 5, 0.99, 40)
    np.testing.assert_array_equal(_rolling_var(r, w, rows, 120, 5, 0.99, 40), expected)


def test_rolling_var_of_consecutive_rows_holding_the_same_instruments_is_each_rows_own():
    """Two consecutive rows with the same held instruments are summed in one pass: each figure
    equals the row's own sum to the last bit (held sets fixed over runs of days, weights
    changing every day, rows all days, scattered and in pairs, windows shorter than the look-back
    at the start)."""
    from numba import njit

    from allocator.var import _rolling_var

    rng = np.random.default_rng(8)
    n, m = 360, 11
    r = rng.normal(0.0, 0.01, (n, m))
    r[rng.random(r.shape) < 0.08] = np.nan
    r[rng.random(r.shape) < 0.05] = -0.0
    held = np.zeros((n, m), dtype=bool)
    for lo in range(0, n, 17):  # a held set kept for 17 days, then another
        held[lo : lo + 17] = rng.random(m) < 0.6
    held[200:203] = False  # a few days holding nothing
    w = np.where(held, rng.normal(0.0, 0.3, (n, m)), 0.0)
    twin = njit(_row_by_row_var)
    scattered = np.sort(rng.choice(n, 150, replace=False)).astype(np.int64)
    pairs = np.unique(np.concatenate([scattered, scattered + 1]))
    pairs = pairs[pairs < n].astype(np.int64)
    for rows in (np.arange(n, dtype=np.int64), scattered, pairs):
        got = _rolling_var(r, w, rows, 120, 5, 0.99, 40)
        expected = twin(r, w, rows, 120, 5, 0.99, 40)
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        ok = ~np.isnan(expected)
        assert ok.sum() > 50 and np.array_equal(got[ok].view(np.int64), expected[ok].view(np.int64))


def _crash_rolls_out_market(n_days=700, crash_day=100):
    """A reference index with one −20% day on ``crash_day``, calm (±0.2%) elsewhere."""
    rng = np.random.default_rng(3)
    moves = rng.normal(0, 0.002, n_days)
    moves[crash_day] = -0.20
    market = crafted_market(n_days)
    bench = pd.DataFrame({"equity_index": 100 * np.cumprod(1 + moves)}, index=market.calendar)
    return dataclasses.replace(market, benchmarks=bench)


def test_the_pre_trade_var_limit_anticipates_a_crash_rolling_out_of_the_look_back():
    """The crash's 20-day returns leave the 500-day window on known days: the limit ``k`` days
    ahead, as known today, is the limit over the window without its ``k`` oldest days, and the
    anticipated limit is the lowest of today's and those (hand check against a shorter window)."""
    market = _crash_rolls_out_market()
    limits = Limits(var_lookback_days=500, var_horizon_days=20, var_ahead_days=3)
    rows = np.arange(len(market.calendar))
    now = var_limit(market, limits, rows)
    ahead = var_limit(market, limits, rows, ahead_days=3)
    # the crash's 20-day returns roll out of the window: the limit falls ten-fold within days
    low = 300 + int(np.flatnonzero(now.to_numpy()[300:] < 0.1 * now.iloc[300:].max())[0])
    assert now.iloc[low - 3] > 10 * now.iloc[low]
    assert ahead.iloc[low - 3] == pytest.approx(now.iloc[low], rel=0.05)  # seen 3 days ahead
    assert ahead.iloc[low - 3] < 0.1 * now.iloc[low - 3]
    shorter = [var_limit(market, dataclasses.replace(limits, var_lookback_days=500 - j), rows)
               for j in (1, 2, 3)]  # fmt: skip
    by_hand = np.minimum.reduce([now.to_numpy()] + [s.to_numpy() for s in shorter])
    np.testing.assert_array_equal(ahead.to_numpy(), by_hand)
    assert (ahead <= now).all()
    np.testing.assert_array_equal(var_limit(market, limits, rows, ahead_days=0), now)
    # no look-ahead: the anticipated limit of a day is the same on the market cut at that day
    for t in (low - 3, low - 1):
        cut = market.until(market.calendar[t])
        assert var_limit(cut, limits, np.array([t]), ahead_days=3).iloc[0] == ahead.iloc[t]


def test_pre_trade_scaling_meets_the_falling_limit_the_day_it_falls():
    """A book held at the VaR limit while a crash rolls out of the reference's look-back: with
    the limit anticipated three days ahead there is no post-trade breach; without, there is."""
    market = _crash_rolls_out_market()
    raw = one_shot(market, {"FUT": 60.0}, day=260, persist=True)
    rows = np.arange(len(market.calendar))
    now = var_limit(market, Limits(), rows)
    low = 300 + int(np.flatnonzero(now.to_numpy()[300:] < 0.1 * now.iloc[300:].max())[0])
    fall = market.calendar[low - 5 : low + 5]  # the days the limit falls ten-fold
    for ahead, breached in ((0, True), (3, False)):
        limits = Limits(gross_leverage_max=1000.0, var_ahead_days=ahead)
        fixed, _, _ = apply_limits(raw, market, limits)
        _, comp = rule_breached(market, fixed, "var_18f4", limits)
        days = breaches(comp).query("rule == 'var_18f4'")["date"]
        assert bool(pd.DatetimeIndex(days).isin(fall).any()) is breached, ahead


def test_var_ahead_days_is_range_checked():
    with pytest.raises(ValueError, match="var_ahead_days"):
        Limits(var_ahead_days=-1)
    with pytest.raises(ValueError, match="var_ahead_days"):
        Limits(var_ahead_days=21)


def test_the_kernels_quantile_is_numbas_np_quantile_to_the_last_bit():
    """``_quantile`` replaces numba's generic ``np.quantile`` (seconds of compile on a cold
    start): the same value, bit for bit, on random windows with ties, constant windows, one
    value, and the quantiles 0, 1 and in between; NaN in, NaN out; numpy agrees to rounding."""
    from numba import njit

    from allocator.var import _quantile

    numba_quantile = njit(lambda a, q: np.quantile(a, q))
    rng = np.random.default_rng(11)
    for trial in range(3000):
        n = int(rng.integers(1, 600))
        a = rng.normal(0.0, 0.02, n)
        if trial % 3 == 0:
            a = np.round(a, 3)  # ties
        if trial % 7 == 0:
            a[:] = a[0]
        q = float(rng.choice([1.0 - 0.99, 0.05, 0.5, 0.0, 1.0, rng.random()]))
        got = _quantile(a.copy(), q)
        assert got == numba_quantile(a, q), (trial, n, q)
        assert got == pytest.approx(np.quantile(a, q), rel=1e-12, abs=1e-15)
    assert np.isnan(_quantile(np.array([0.1, np.nan, 0.3]), 0.5))


def test_the_two_smallest_pass_equals_a_sort_on_edges():
    """The small-rank path of ``_quantile``: the k-th and (k+1)-th smallest, as a sort gives
    them, with ties, k = 0, exactly k + 2 values, the smallest last, and the window untouched."""
    from allocator.var import _SMALL_RANK, _two_smallest_from

    rng = np.random.default_rng(12)
    cases = [np.array([3.0, 1.0]), np.array([2.0, 2.0, 2.0]), np.arange(40.0)[::-1],
             np.round(rng.normal(0.0, 1.0, 500), 1), rng.normal(0.0, 0.02, 481)]  # fmt: skip
    for a in cases:
        for k in range(min(_SMALL_RANK - 1, len(a) - 1)):
            before = a.copy()
            lower, upper = _two_smallest_from(a, k)
            ordered = np.sort(a)
            assert (lower, upper) == (ordered[k], ordered[k + 1]), (len(a), k)
            assert np.array_equal(a, before)


def test_compliance_var_over_the_held_instruments_equals_the_var_over_every_column():
    """check_limits sums the VaR over the instruments held at some point only; a column never
    held (with missing returns, here) changes nothing, to the last bit."""
    from allocator.limits import portfolio_var
    from backtest.market.returns import instrument_returns

    market = crafted_market(n_days=400)
    prices = market.prices.copy()
    prices.iloc[::7, prices.columns.get_loc("BANK1")] = np.nan  # gaps in a never-held column
    market = market.replace(prices=prices)
    targets = one_shot(market, {"TECH1": 0.3, "FUT": 2.0, "BANK1": 0.0, "ILLQ": 0.05}, day=3,
                       persist=True)  # fmt: skip
    result = simulate(market, targets, FundConfig.frictionless(1e7))
    weights = result.notionals.div(result.nav["net_assets"], axis=0)
    assert (weights["BANK1"] == 0).all() and (weights["TECH1"] != 0).any()
    rows = np.arange(len(weights))
    dense = portfolio_var(weights, instrument_returns(market, list(weights.columns)), Limits(),
                          rows).to_numpy()  # fmt: skip
    figure = check_limits(result, market).query("rule == 'var_18f4'")["figure"].to_numpy()
    assert np.isfinite(dense[260:]).all() and (dense[260:] > 0).all()
    assert np.array_equal(figure, np.nan_to_num(dense))
    # the gross leverage, summed on the frame's array, is pandas' figure to the last bit
    gross = check_limits(result, market).query("rule == 'gross_leverage'")["figure"].to_numpy()
    want = (result.notionals.abs().sum(axis=1) / result.nav["net_assets"]).to_numpy()
    assert np.array_equal(gross, want) and (gross > 2.0).any()


@pytest.mark.parametrize(
    ("n", "lookback", "windows", "horizon", "min_obs", "q"),
    [(700, 500, 4, 20, 250, 0.99), (300, 120, 3, 5, 40, 0.95), (90, 200, 4, 10, 30, 0.99),
     (400, 60, 2, 7, 20, 0.5), (260, 100, 5, 3, 10, 0.999)],
)  # fmt: skip
def test_reference_var_over_several_lookbacks_equals_one_at_a_time(
    n, lookback, windows, horizon, min_obs, q
):
    """The windows that start on one day are prefixes of the longest: one pass gives, to the
    bit, the reference VaR of each look-back L − j computed on its own (missing returns, signed
    zeros, ties, windows longer than the data, a quantile taking the quickselect)."""
    from allocator.var import _rolling_var, reference_var_windows

    rng = np.random.default_rng(n + lookback)
    r = np.round(rng.normal(0.0, 0.01, n), 4)
    r[rng.random(n) < 0.05] = np.nan
    r[rng.random(n) < 0.03] = -0.0
    got = reference_var_windows(r, lookback, windows, horizon, q, min_obs)
    rows = np.arange(n, dtype=np.int64)
    for j in range(windows):
        alone = _rolling_var(r[:, None], np.ones((n, 1)), rows, lookback - j, horizon, q, min_obs)
        assert np.array_equal(np.isnan(got[j]), np.isnan(alone)), j
        ok = ~np.isnan(alone)
        assert np.array_equal(got[j][ok].view(np.int64), alone[ok].view(np.int64)), j
        assert ok.sum() > 0 or n < max(min_obs, 2 * horizon)


@pytest.mark.parametrize("q", [0.01, 0.05, 0.003, 0.5, 0.0, 1.0])
def test_prefix_figures_in_one_pass_equal_one_quantile_per_prefix(q):
    """The reference VaR's figures of consecutive prefixes of one window, read from a single
    insertion pass, equal :func:`allocator.var._quantile_of_prefix` prefix by prefix to the bit
    (ties, signed zeros, a NaN cutting the later prefixes, ranks above the small-rank buffer)."""
    from allocator.var import _prefix_figures, _quantile_of_prefix

    rng = np.random.default_rng(int(q * 1000) + 1)
    for trial in range(40):
        n = int(rng.integers(2, 700))
        hor = np.round(rng.normal(0.0, 0.02, n), 3)  # ties
        hor[rng.random(n) < 0.05] = -0.0
        hor[rng.random(n) < 0.05] = 0.0
        if trial % 4 == 0:
            hor[rng.integers(0, n)] = np.nan
        shortest = int(rng.integers(1, n + 1))
        longest = int(rng.integers(shortest, n + 1))
        scratch, figures = np.full(n, np.nan), np.full(n, -1.0)  # no stale value read
        _prefix_figures(hor, shortest, longest, q, scratch, figures)
        twin = np.full(n, -1.0)  # the plain-Python twin (the same code, not compiled)
        _prefix_figures.py_func(hor, shortest, longest, q, np.full(n, np.nan), twin)
        assert np.array_equal(twin.view(np.int64), figures.view(np.int64))
        before = hor.copy()
        for length in range(shortest, longest + 1):
            want = max(-_quantile_of_prefix(hor[:length], q, np.empty(n)), 0.0)
            got = figures[length - shortest]
            assert np.isnan(got) == np.isnan(want), (trial, length)
            if not np.isnan(want):
                assert np.float64(got).view(np.int64) == np.float64(want).view(np.int64)
        assert np.array_equal(hor, before, equal_nan=True)  # hor is read, not reordered


def test_the_compliance_table_built_once_equals_one_frame_per_rule_concatenated():
    """:func:`allocator.compliance._table` against the frames it replaced (one DataFrame per
    rule, then ``pd.concat``): same values, dtypes and index, to the bit."""
    from allocator.compliance import COLUMNS, _rule, _table

    rng = np.random.default_rng(6)
    naive = pd.bdate_range("2021-01-04", periods=9)
    for dates in (naive, naive.tz_localize("America/New_York").rename("day")):
        rules = [
            _rule(dates, "cash_fund", rng.normal(size=9), 0.0),
            _rule(dates, "var_18f4", rng.random(9), rng.random(9), applies=rng.random(9) < 0.5),
            _rule(dates, "isg", np.zeros(9, dtype=np.int64), 0.0),
        ]
        columns = ("figure", "limit", "breach", "applies")
        frames = [
            pd.DataFrame({"date": dates, "rule": r.name, **{c: getattr(r, c) for c in columns}})
            for r in rules
        ]
        want = pd.concat(frames, ignore_index=True)[COLUMNS]
        pd.testing.assert_frame_equal(_table(dates, rules), want, check_exact=True)
        assert rules[0].breach.any() and not rules[2].breach.any()


def test_var_limit_of_a_few_rows_is_every_dates_limit_at_those_rows():
    """A few rows (the nightly's checks) are computed on their own windows: the same figures,
    to the bit, as the every-date series at those rows (before enough history, through the
    crash rolling out of the window, the last day; no reference: the absolute limit)."""
    from allocator.limits import FEW_ROWS

    market = _crash_rolls_out_market()
    n = len(market.calendar)
    for limits in (Limits(), Limits(var_lookback_days=300, var_horizon_days=10),
                   Limits(reference=None)):  # fmt: skip
        every = var_limit(dataclasses.replace(market), limits, np.arange(n))
        for rows in ([0, 5, 248, 249, 250], [n - 1], list(range(590, 615)), []):
            rows = np.asarray(rows, dtype=np.int64)
            assert len(rows) <= FEW_ROWS
            got = var_limit(dataclasses.replace(market), limits, rows)
            assert got.index.equals(market.calendar[rows])
            assert np.array_equal(got.to_numpy().view(np.int64),
                                  every.to_numpy()[rows].view(np.int64))  # fmt: skip
    assert every.nunique() == 1  # no reference: the absolute limit everywhere
