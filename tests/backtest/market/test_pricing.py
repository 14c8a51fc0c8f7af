"""Tests for backtest.market.pricing: textbook values, identities, finite differences, hand
examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.market.pricing import (
    Greeks,
    ImpliedVolResult,
    black76_greeks,
    black76_price,
    bs_greeks,
    bs_price,
    implied_vol,
    surface_vol,
    surface_vol_rows,
)

spots = st.floats(1.0, 1000.0)
moneyness = st.floats(0.3, 3.0)
taus = st.floats(1.0 / 365.0, 5.0)
rates = st.floats(-0.02, 0.15)
yields = st.floats(0.0, 0.10)
vols = st.floats(0.02, 1.5)


def _ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# --------------------------------------------------------------------------- textbook values


def test_hull_bsm_call_and_put():
    # Hull, Options Futures and Other Derivatives, Example 15.6
    assert bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True) == pytest.approx(4.76, abs=0.005)
    assert bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, False) == pytest.approx(0.81, abs=0.005)


def test_hull_example_d1_d2_by_hand():
    # d1 = 0.7693, d2 = 0.6278 in Hull; delta of the call is N(d1) = 0.7791
    d1 = (math.log(42 / 40) + (0.10 + 0.02) * 0.5) / (0.2 * math.sqrt(0.5))
    d2 = d1 - 0.2 * math.sqrt(0.5)
    assert d1 == pytest.approx(0.7693, abs=1e-4) and d2 == pytest.approx(0.6278, abs=1e-4)
    hand = 42 * _ncdf(d1) - 40 * math.exp(-0.05) * _ncdf(d2)
    assert bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True) == pytest.approx(hand, rel=1e-12)
    assert bs_greeks(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True).delta == pytest.approx(
        0.7791, abs=1e-4
    )


def test_hull_greeks_example():
    # Hull's Greek-letters chapter: S=49, K=50, r=5%, sigma=20%, T=20 weeks
    args = (49.0, 50.0, 20 / 52, 0.05, 0.0, 0.20, True)
    assert bs_price(*args) == pytest.approx(2.40, abs=0.005)
    g = bs_greeks(*args)
    assert g.delta == pytest.approx(0.522, abs=5e-4)
    assert g.gamma == pytest.approx(0.066, abs=5e-4)
    assert g.vega == pytest.approx(12.1, abs=0.05)  # per 1.00 vol
    assert g.theta == pytest.approx(-4.31, abs=0.005)  # per year
    assert g.rho == pytest.approx(8.91, abs=0.005)  # per 1.00 rate


def test_hull_black76_futures_put():
    # Hull: European put on crude oil futures, F=K=20, r=9%, T=4 months, sigma=25% -> 1.12
    assert black76_price(20.0, 20.0, 4 / 12, 0.09, 0.25, False) == pytest.approx(1.12, abs=0.005)
    # at the money forward the Black-76 call equals the put
    call = black76_price(20.0, 20.0, 4 / 12, 0.09, 0.25, True)
    assert call == pytest.approx(black76_price(20.0, 20.0, 4 / 12, 0.09, 0.25, False), abs=1e-13)


def test_degenerate_tau_and_vol():
    # expiry: plain payoff
    assert bs_price(42.0, 40.0, 0.0, 0.1, 0.0, 0.2, True) == pytest.approx(2.0, abs=1e-14)
    assert bs_price(42.0, 40.0, -1.0, 0.1, 0.0, 0.2, False) == 0.0
    assert bs_price(38.0, 40.0, 0.0, 0.1, 0.0, 0.2, False) == pytest.approx(2.0, abs=1e-14)
    # zero vol: forward-discounted intrinsic
    fwd_intr = 42.0 * math.exp(-0.02 * 0.5) - 40.0 * math.exp(-0.1 * 0.5)
    assert bs_price(42.0, 40.0, 0.5, 0.1, 0.02, 0.0, True) == pytest.approx(fwd_intr, rel=1e-14)
    assert bs_price(42.0, 40.0, 0.5, 0.1, 0.02, 0.0, False) == 0.0
    g = bs_greeks(42.0, 40.0, 0.5, 0.1, 0.02, 0.0, True)
    assert (g.gamma, g.vega) == (0.0, 0.0)
    assert g.delta == pytest.approx(math.exp(-0.01), rel=1e-14)
    assert g.rho == pytest.approx(0.5 * 40.0 * math.exp(-0.05), rel=1e-14)


def test_vectorised_shapes_and_scalars():
    strikes = np.array([[80.0], [100.0], [120.0]])
    taus_ = np.array([0.25, 1.0])
    out = bs_price(100.0, strikes, taus_, 0.03, 0.0, 0.2, np.array([True, False]))
    assert out.shape == (3, 2) and out.dtype == np.float64
    assert out[0, 0] == pytest.approx(bs_price(100.0, 80.0, 0.25, 0.03, 0.0, 0.2, True))
    assert out[2, 1] == pytest.approx(bs_price(100.0, 120.0, 1.0, 0.03, 0.0, 0.2, False))
    assert isinstance(bs_price(100.0, 100.0, 1.0, 0.0, 0.0, 0.2, True), float)
    g = bs_greeks(100.0, strikes, taus_, 0.03, 0.0, 0.2, True)
    assert isinstance(g, Greeks)
    assert all(np.shape(x) == (3, 2) for x in (g.delta, g.gamma, g.vega, g.theta, g.rho))


# --------------------------------------------------------------------------- identities


@settings(max_examples=200, deadline=None)
@given(spots, moneyness, taus, rates, yields, vols)
def test_put_call_parity(spot, m, tau, r, q, vol):
    strike = spot * m
    call = bs_price(spot, strike, tau, r, q, vol, True)
    put = bs_price(spot, strike, tau, r, q, vol, False)
    parity = spot * math.exp(-q * tau) - strike * math.exp(-r * tau)
    assert call - put == pytest.approx(parity, abs=1e-8 * max(spot, strike))


@settings(max_examples=100, deadline=None)
@given(spots, moneyness, taus, rates, vols, st.booleans())
def test_black76_equals_bsm_with_q_equal_r(fwd, m, tau, r, vol, is_call):
    strike = fwd * m
    b76 = black76_price(fwd, strike, tau, r, vol, is_call)
    assert b76 == pytest.approx(
        bs_price(fwd, strike, tau, r, r, vol, is_call), rel=1e-12, abs=1e-12
    )
    # also against the Black-76 formula written out by hand
    d1 = (math.log(fwd / strike) + 0.5 * vol * vol * tau) / (vol * math.sqrt(tau))
    d2 = d1 - vol * math.sqrt(tau)
    sign = 1.0 if is_call else -1.0
    hand = math.exp(-r * tau) * sign * (fwd * _ncdf(sign * d1) - strike * _ncdf(sign * d2))
    assert b76 == pytest.approx(hand, rel=1e-9, abs=1e-12 * fwd)
    gb, g76 = (
        bs_greeks(fwd, strike, tau, r, r, vol, is_call),
        black76_greeks(fwd, strike, tau, r, vol, is_call),
    )
    for name in ("delta", "gamma", "vega", "theta"):
        assert getattr(g76, name) == pytest.approx(getattr(gb, name), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- greeks vs FD

BS_CASES = [
    (100.0, 90.0, 0.5, 0.05, 0.02, 0.25),
    (100.0, 100.0, 1.0, 0.03, 0.0, 0.20),
    (100.0, 115.0, 0.25, 0.01, 0.03, 0.35),
    (42.0, 40.0, 2.0, -0.01, 0.01, 0.15),
]


def _fd_greeks(price_fn, under, tau, rate, vol):
    """Central differences: delta, gamma in the underlying, vega, theta = -d/dtau, rho."""
    h = 1e-3 * under
    p0 = price_fn(under, tau, rate, vol)
    up, dn = price_fn(under + h, tau, rate, vol), price_fn(under - h, tau, rate, vol)
    ht, hr, hv = 1e-5, 1e-5, 1e-5
    return {
        "delta": (up - dn) / (2 * h),
        "gamma": (up - 2 * p0 + dn) / (h * h),
        "vega": (price_fn(under, tau, rate, vol + hv) - price_fn(under, tau, rate, vol - hv))
        / (2 * hv),
        "theta": -(price_fn(under, tau + ht, rate, vol) - price_fn(under, tau - ht, rate, vol))
        / (2 * ht),
        "rho": (price_fn(under, tau, rate + hr, vol) - price_fn(under, tau, rate - hr, vol))
        / (2 * hr),
    }


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("case", BS_CASES)
def test_bs_greeks_match_finite_differences(case, is_call):
    spot, strike, tau, r, q, vol = case

    def fn(s, t, rr, v):
        return bs_price(s, strike, t, rr, q, v, is_call)

    fd = _fd_greeks(fn, spot, tau, r, vol)
    g = bs_greeks(spot, strike, tau, r, q, vol, is_call)
    for name, value in fd.items():
        assert getattr(g, name) == pytest.approx(value, rel=1e-5, abs=1e-7), name


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("case", BS_CASES)
def test_black76_greeks_match_finite_differences(case, is_call):
    fwd, strike, tau, r, _, vol = case

    def fn(f, t, rr, v):
        return black76_price(f, strike, t, rr, v, is_call)

    fd = _fd_greeks(fn, fwd, tau, r, vol)
    g = black76_greeks(fwd, strike, tau, r, vol, is_call)
    for name, value in fd.items():
        assert getattr(g, name) == pytest.approx(value, rel=1e-5, abs=1e-7), name
    # rho with the forward held fixed is -tau * price
    assert g.rho == pytest.approx(-tau * fn(fwd, tau, r, vol), rel=1e-12)


def test_greeks_vectorised_match_scalar():
    s, k, t, r, q, v = (np.array(c) for c in zip(*BS_CASES, strict=True))
    g = bs_greeks(s, k, t, r, q, v, np.array([True, False, True, False]))
    for i, case in enumerate(BS_CASES):
        gi = bs_greeks(*case, i % 2 == 0)
        assert g.theta[i] == pytest.approx(gi.theta, rel=1e-14)
        assert g.delta[i] == pytest.approx(gi.delta, rel=1e-14)


# --------------------------------------------------------------------------- implied vol


@pytest.mark.parametrize("is_call", [True, False])
def test_implied_vol_inverts_grid(is_call):
    spot, r, q, true_vol = 100.0, 0.03, 0.01, 0.25
    strikes = np.linspace(0.5, 1.5, 11)[:, None] * spot
    tenors = np.array([7 / 365, 1 / 12, 0.25, 0.5, 1.0, 2.0])
    price = bs_price(spot, strikes, tenors, r, q, true_vol, is_call)
    res = implied_vol(price, spot, strikes, tenors, r, q, is_call)
    assert isinstance(res, ImpliedVolResult)
    assert res.vol.shape == (11, 6) and res.reason.shape == (11, 6)
    fwd = spot * np.exp((r - q) * tenors)
    otm = (strikes >= fwd) if is_call else (strikes <= fwd)
    # out of the money: recovered everywhere, even at prices of 1e-90
    np.testing.assert_allclose(res.vol[otm], true_vol, atol=1e-6)
    # in the money: recovered wherever the time value is informative
    sign = 1.0 if is_call else -1.0
    intrinsic = np.maximum(sign * (spot * np.exp(-q * tenors) - strikes * np.exp(-r * tenors)), 0)
    informative = price - intrinsic > 1e-6 * spot
    np.testing.assert_allclose(res.vol[informative], true_vol, atol=1e-6)
    assert (res.reason[informative | otm] == "").all()
    # deep in the money with no time value left: NaN with a reason, never a wrong number
    lost = np.isnan(res.vol)
    assert (res.reason[lost] == "vol below solver range").all()
    assert ((price - intrinsic)[lost] < 1e-9).all()
    assert lost.sum() >= 2


def test_implied_vol_scalar():
    price = bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True)
    res = implied_vol(price, 42.0, 40.0, 0.5, 0.10, 0.0, True)
    assert isinstance(res.vol, float) and res.reason == ""
    assert res.vol == pytest.approx(0.20, abs=1e-10)


def test_implied_vol_reasons_in_mixed_vector():
    spot, tau, r = 100.0, 0.5, 0.05
    good = bs_price(spot, 110.0, tau, r, 0.0, 0.3, True)
    deep_put_intrinsic = 300.0 * math.exp(-r * tau) - spot  # put at exactly its intrinsic
    price = np.array([good, 19.0, 101.0, 5.0, np.nan, 5.0, deep_put_intrinsic, 5.0])
    strike = np.array([110.0, 80.0, 100.0, 100.0, 100.0, 100.0, 300.0, 100.0])
    tau_ = np.array([tau, tau, tau, 0.0, tau, -0.1, tau, tau])
    spot_ = np.array([spot] * 7 + [-1.0])
    is_call = np.array([True, True, True, True, True, True, False, True])
    res = implied_vol(price, spot_, strike, tau_, r, 0.0, is_call)
    assert res.vol[0] == pytest.approx(0.3, abs=1e-10)
    assert np.isnan(res.vol[1:]).all()
    assert list(res.reason) == [
        "",
        "price below intrinsic",
        "price above upper bound",
        "non-positive time to expiry",
        "non-finite input",
        "non-positive time to expiry",
        "vol below solver range",
        "non-positive spot or strike",
    ]


def test_implied_vol_put_bounds():
    # a put is worth at most K e^{-rT}; below its forward intrinsic is impossible
    res = implied_vol(np.array([96.0, 9.0]), 100.0, np.array([100.0, 120.0]), 1.0, 0.05, 0.0, False)
    assert list(res.reason) == ["price above upper bound", "price below intrinsic"]


@settings(max_examples=300, deadline=None)
@given(spots, moneyness, taus, rates, yields, st.floats(0.0, 1.0), st.booleans())
def test_implied_vol_reprices_or_explains(spot, m, tau, r, q, frac, is_call):
    """Any price between the no-arbitrage bounds either reprices to 1e-10 or gets a reason."""
    strike = spot * m
    lo = bs_price(spot, strike, tau, r, q, 0.0, is_call)
    hi = spot * math.exp(-q * tau) if is_call else strike * math.exp(-r * tau)
    price = lo + frac * (hi - lo)
    res = implied_vol(price, spot, strike, tau, r, q, is_call)
    if res.reason == "":
        model = bs_price(spot, strike, tau, r, q, res.vol, is_call)
        assert model == pytest.approx(price, abs=1e-10 * max(spot, strike))
        assert 1e-6 <= res.vol <= 10.0
    else:
        assert math.isnan(res.vol)
        assert res.reason in {"vol below solver range", "vol above solver range"}


@settings(max_examples=100, deadline=None)
@given(spots, st.floats(0.7, 1.4), st.floats(0.05, 3.0), rates, yields, st.floats(0.05, 1.0))
def test_implied_vol_recovers_vol(spot, m, tau, r, q, vol):
    strike = spot * m
    fwd = spot * math.exp((r - q) * tau)
    is_call = strike >= fwd  # quote the out-of-the-money side
    price = bs_price(spot, strike, tau, r, q, vol, is_call)
    assert implied_vol(price, spot, strike, tau, r, q, is_call).vol == pytest.approx(vol, abs=1e-8)


# --------------------------------------------------------------------------- vol surface

TENORS = np.array([0.25, 0.5, 1.0])
ATM = np.array([0.20, 0.18, 0.16])


def test_surface_atm_total_variance_interpolation():
    # tau = 0.75: w = (0.18^2 * 0.5 + 0.16^2 * 1.0) / 2 = 0.0209; vol = sqrt(0.0209 / 0.75)
    v = surface_vol(ATM, TENORS, -0.1, 0.05, 100.0, 100.0, 0.75)
    assert v == pytest.approx(math.sqrt(0.0209 / 0.75), abs=1e-12)
    assert v == pytest.approx(0.166933, abs=1e-6)
    # at a pillar and flat outside the pillars
    assert surface_vol(ATM, TENORS, 0.0, 0.0, 100.0, 100.0, 0.5) == pytest.approx(0.18, abs=1e-14)
    assert surface_vol(ATM, TENORS, 0.0, 0.0, 100.0, 100.0, 0.05) == pytest.approx(0.20, abs=1e-14)
    assert surface_vol(ATM, TENORS, 0.0, 0.0, 100.0, 100.0, 3.0) == pytest.approx(0.16, abs=1e-14)


def test_surface_skew_curvature_and_floor():
    # m = ln(0.9) / sqrt(0.25) = -0.2107210; vol = 0.2 * (1 + 0.1 * 0.2107210 + 0.5 * m^2)
    m = math.log(0.9) / 0.5
    hand = 0.2 * (1 - 0.1 * m + 0.5 * m * m)
    assert surface_vol(ATM, TENORS, -0.1, 0.5, 100.0, 90.0, 0.25) == pytest.approx(hand, rel=1e-12)
    put_side = surface_vol(ATM, TENORS, -0.1, 0.0, 100.0, 90.0, 0.25)
    call_side = surface_vol(ATM, TENORS, -0.1, 0.0, 100.0, 110.0, 0.25)
    assert put_side > 0.20 > call_side
    assert surface_vol(ATM, TENORS, -10.0, 0.0, 100.0, 150.0, 0.25) == 0.01
    # tau floored at 1/365 inside the moneyness
    tiny = surface_vol(ATM, TENORS, -0.1, 0.0, 100.0, 99.0, 0.0)
    assert tiny == pytest.approx(0.2 * (1 - 0.1 * math.log(0.99) * math.sqrt(365)), rel=1e-12)


def test_surface_vectorised_per_date():
    rng = np.random.default_rng(0)
    n_dates = 4
    atm = 0.15 + 0.1 * rng.random((n_dates, 5))
    tenors = np.array([1 / 12, 0.25, 0.5, 1.0, 2.0])
    skew, curv = -0.2 * rng.random(n_dates), 0.1 * rng.random(n_dates)
    fwd = 100 + 10 * rng.random(n_dates)
    strike = fwd * (0.8 + 0.4 * rng.random(n_dates))
    tau = np.array([0.02, 0.3, 0.9, 3.0])
    out = surface_vol(atm, tenors, skew, curv, fwd, strike, tau)
    assert out.shape == (n_dates,)
    for i in range(n_dates):
        one = surface_vol(atm[i], tenors, skew[i], curv[i], fwd[i], strike[i], tau[i])
        assert out[i] == pytest.approx(one, rel=1e-14)
    grid = surface_vol(
        atm[:, None, :],
        tenors,
        skew[:, None],
        curv[:, None],
        fwd[:, None],
        fwd[:, None] * np.linspace(0.8, 1.2, 7),
        tau[:, None],
    )
    assert grid.shape == (n_dates, 7)
    assert (np.diff(grid[:, :4], axis=1) < 0).all()  # negative skew: vol falls toward the money


@pytest.mark.parametrize("is_call", [True, False])
def test_one_type_prices_equal_the_general_path_to_the_bit(is_call):
    """bs_price with one option type (a batch of marks) computes only that type's terms: the
    same bits as with a per-element type, degenerate cases (tau <= 0, vol 0) included."""
    rng = np.random.default_rng(1)
    n = 5000
    s, k = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    tau, vol = rng.uniform(-0.1, 3, n), rng.uniform(0, 0.8, n)
    tau[::17], vol[::13] = 0.0, 0.0
    r, q = rng.uniform(-0.01, 0.06, n), rng.uniform(0, 0.04, n)
    one = bs_price(s, k, tau, r, q, vol, is_call)
    general = bs_price(s, k, tau, r, q, vol, np.full(n, is_call))
    assert np.array_equal(one.view(np.int64), general.view(np.int64))
    assert (one > 0).sum() > n // 4
    assert bs_price(100.0, 100.0, 1.0, 0.02, 0.0, 0.2, is_call) == pytest.approx(
        float(bs_price(np.array([100.0]), 100.0, 1.0, 0.02, 0.0, 0.2, np.array([is_call]))[0]),
        rel=0,
        abs=0,
    )


def test_surface_vol_rows_equals_surface_vol_on_the_gathered_rows():
    """Each element reading its own row of the ATM table: the bits of ``surface_vol`` on the
    gathered rows, taus below, between and beyond the tenors included."""
    rng = np.random.default_rng(3)
    tenors = np.array([1 / 12, 0.25, 0.5, 1.0, 2.0])
    table = rng.uniform(0.1, 0.5, (40, 5))
    n = 3000
    rows = rng.integers(0, 40, n)
    tau = rng.uniform(0.0, 3.0, n)
    tau[::11] = 0.5  # exactly on a tenor
    skew, curv = rng.uniform(-0.3, 0.0, n), rng.uniform(0.0, 0.2, n)
    fwd, strike = rng.uniform(80, 120, n), rng.uniform(60, 140, n)
    got = surface_vol_rows(table, rows, tenors, skew, curv, fwd, strike, tau)
    want = surface_vol(table[rows], tenors, skew, curv, fwd, strike, tau)
    assert np.array_equal(got.view(np.int64), np.asarray(want).view(np.int64))
    assert (tau < tenors[0]).any() and (tau > tenors[-1]).any()
    with pytest.raises(ValueError, match="tenors"):
        surface_vol_rows(table, rows, tenors[:4], skew, curv, fwd, strike, tau)
