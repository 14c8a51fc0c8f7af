"""IIV speed: a full regular session of 15-second ticks for a 200-holding Disclosed Portfolio.

The portfolio (synthetic, no simulation needed): 120 US equities, 40 futures quoted in USD,
EUR, GBP and JPY, 20 index options and 20 currency forwards on 9 currencies (200 holdings).
Intraday prices and FX are seeded Brownian bridges (``simulate_intraday``) between two sets of
closes. Timed (best of ``--repeat``):

* ``iiv_per_share`` over the 1,561 ticks × 200 holdings (target: well under a second);
* ``simulate_intraday`` for the 200 price paths and the FX paths;
* ``DisclosedPortfolio.from_result`` on a two-year synthetic run (``--with-run``).

Run: ``python benchmarks/iiv_speed.py [--holdings 200 --repeat 20 --with-run]``.
Prints the figures; asserts nothing (performance targets are read, not unit-tested).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from backtest.ops.iiv import HOLDINGS_COLUMNS, DisclosedPortfolio, iiv_per_share, session_ticks
from backtest.ops.iiv import simulate_intraday as bridge

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK"]
SPOTS = [1.0, 1.08, 1.27, 0.0067, 1.12, 0.66, 0.61, 0.74, 0.095, 0.094]


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def synthetic_portfolio(n_holdings: int, seed: int = 0) -> DisclosedPortfolio:
    """A Disclosed Portfolio with the kind mix of the module docstring, scaled to n_holdings."""
    rng = np.random.default_rng(seed)
    n_eq, n_fut, n_opt = int(0.6 * n_holdings), int(0.2 * n_holdings), int(0.1 * n_holdings)
    n_fwd = n_holdings - n_eq - n_fut - n_opt
    fx_of = dict(zip(CURRENCIES, SPOTS, strict=True))
    rows = []
    for i in range(n_eq):
        p = rng.uniform(10, 400)
        q = float(rng.integers(-2_000, 5_000) or 1)
        rows.append((f"EQ{i:03d}", "equity", q, 1.0, "USD", p, 1.0, q * p, "", p))
    for i in range(n_fut):
        ccy = CURRENCIES[i % 4]
        p, mult = rng.uniform(50, 5_000), float(rng.choice([10, 50, 1000]))
        q = float(rng.integers(-20, 20) or 1)
        rows.append((f"FUT{i:02d}", "equity_index_future", q, mult, ccy, p, fx_of[ccy], 0.0,
                     f"FUT{i:02d}", p))  # fmt: skip
    for i in range(n_opt):
        p, spx = rng.uniform(1, 80), 5_000.0
        q = float(rng.integers(-30, -1))
        rows.append((f"SPX-2024-04-19-P-{4500 + 10 * i}", "index_option", q, 100.0, "USD", p,
                     1.0, q * 100.0 * p, "SPX", spx))  # fmt: skip
    for i in range(n_fwd):
        ccy = CURRENCIES[1 + i % 9]
        q = float(rng.integers(-5, 5) or 1) * 1e6 / fx_of[ccy]
        rows.append((f"FWD-{ccy}-1M-{i}", "currency_forward", q, 1.0, "USD", fx_of[ccy] * 1.001,
                     1.0, rng.normal(0, 2_000), ccy, fx_of[ccy]))  # fmt: skip
    cols = ["instrument", "kind", "quantity", "multiplier", "currency", "price", "fx",
            "market_value", "underlying", "underlying_price"]  # fmt: skip
    h = pd.DataFrame(rows, columns=cols)
    h["name"], h["book"] = h["instrument"], "fund"
    h["notional_usd"] = h["quantity"] * h["multiplier"] * h["underlying_price"] * h["fx"]
    cash = 5e7
    net = cash + h["market_value"].sum()
    h["pct_net_assets"] = h["market_value"] / net
    return DisclosedPortfolio(
        date=pd.Timestamp("2024-03-05"),
        as_of=pd.Timestamp("2024-03-04"),
        holdings=h[HOLDINGS_COLUMNS],
        cash_usd=cash,
        other_assets_usd=1e4,
        liabilities_usd=2e4,
        shares_outstanding=2e6,
        net_assets_usd=net + 1e4 - 2e4,
    )


def run(args) -> None:
    port = synthetic_portfolio(args.holdings)
    ticks = session_ticks(port.date)
    h = port.holdings
    priced = h[h["kind"] != "currency_forward"]
    prev = pd.Series(priced["price"].to_numpy(), index=priced["instrument"])
    close = prev * np.exp(np.random.default_rng(1).normal(0, 0.015, len(prev)))
    fx_prev = pd.Series(SPOTS, index=CURRENCIES)
    fx_close = fx_prev * np.exp(np.random.default_rng(2).normal(0, 0.005, len(fx_prev)))
    fx_close["USD"] = 1.0

    t_bridge, prices = best_of(lambda: bridge(prev, close, ticks, 0.25, seed=3), args.repeat)
    t_fx, fx = best_of(lambda: bridge(fx_prev, fx_close, ticks, 0.08, seed=4), args.repeat)
    iiv_per_share(port, prices, fx)  # warm-up
    t_iiv, iiv = best_of(lambda: iiv_per_share(port, prices, fx), args.repeat)
    print(f"Session {port.date:%Y-%m-%d}: {len(ticks):,} ticks every 15 s; "
          f"{len(h)} holdings ({h['kind'].value_counts().to_dict()}), "
          f"{h['currency'].nunique()} quote currencies")  # fmt: skip
    print(
        f"  iiv_per_share            {t_iiv * 1e3:8.2f} ms  "
        f"({t_iiv / len(ticks) * 1e6:.2f} µs per tick; target well under 1,000 ms)"
    )
    print(f"  simulate_intraday prices {t_bridge * 1e3:8.2f} ms  ({len(prev)} paths)")
    print(f"  simulate_intraday fx     {t_fx * 1e3:8.2f} ms  ({len(fx_prev)} paths)")
    print(
        f"  IIV open {iiv.iloc[0]:.4f}  close {iiv.iloc[-1]:.4f}  "
        f"range {iiv.min():.4f}..{iiv.max():.4f} USD/share"
    )
    if args.with_run:
        run_from_result(args.repeat)


def run_from_result(repeat: int) -> None:
    from backtest.engine.config import FundConfig
    from backtest.engine.simulator import simulate
    from backtest.synthetic.build import synthetic_market

    market = synthetic_market(seed=7, start="2018-01-02", end="2019-12-31")
    cal = market.calendar
    ids = market.ids(["equity_index_future", "bond_future", "equity"])[:150]
    weekly = np.r_[True, cal.day_of_week[1:] < cal.day_of_week[:-1]]
    tg = pd.DataFrame(np.nan, index=cal, columns=ids)
    tg.loc[weekly] = np.random.default_rng(0).normal(0, 0.02, (weekly.sum(), len(ids)))
    result = simulate(market, tg, FundConfig())
    day = cal[300]
    t_port, port = best_of(lambda: DisclosedPortfolio.from_result(result, market, day), repeat)
    print(
        f"  from_result              {t_port * 1e3:8.2f} ms  ({len(port.holdings)} holdings, "
        f"{len(result.inputs.ids)} instruments in the run)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdings", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--with-run", action="store_true", help="also time from_result on a run")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
