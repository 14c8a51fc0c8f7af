"""Simulator speed against vectorbt and bt on the same equity-only problem, plus the full fund.

Problem A (equity-only, frictionless): 5,000 days × 500 stocks, monthly rebalance to given
weights. Ours: ``simulate`` (kernel timed alone and end to end); vectorbt:
``Portfolio.from_orders(size_type="targetpercent", cash_sharing=True, call_seq="auto")``;
bt: ``bt.algos.RunMonthly → WeighTarget → Rebalance``. Final values must agree.

Problem B: 20 years × ~60 instruments of the synthetic market with daily targets (futures,
forwards, equities; Subsidiary book; costs, flows), kernel time after warm-up.

Timing of problem A: ``--rounds`` (5) interleaved rounds of kernel, ``simulate()`` and
vectorbt, so that a slow moment of the shared machine hits every contender alike; each line
gives the median wall time, the spread ``(max - min) / median`` over the rounds, and the median
CPU time of the process with its spread (a wall-time spread much wider than the CPU-time spread
is other processes taking the cores, not the code), and the median number of minor page faults
of a call (first touches of fresh memory). Ratios are of medians.

What varies on our VM (Firecracker, nested KVM, free page reporting on): the first touch of
fresh memory. Numpy backs large arrays with huge pages, which cost ~0.1 ms per 2 MB when the
guest has recently freed memory at hand and 2–5 ms (system time) when it must take memory
already handed back to the host, e.g. right after vectorbt's run. The CPU column shows it:
system time is CPU time. ``simulate()`` used to write 8 dense T × N float64 outputs (160 MB
here; run-to-run spread ~52%); the kernel now writes only the P&L dense (T × N × 8 bytes, 20 MB)
and keeps holdings, executions and roll costs as records (~7 MB here: holdings change and
trades happen on ~1/21 of the days), the dense frames being built on access
(``backtest/engine/dense.py``). With the input prices (another 20 MB) that is ~47 MB of fresh
memory per call instead of ~180 MB. ``.nav`` builds none of the dense frames (its cost column
is summed from the booked rows).

Run: ``python benchmarks/simulator_speed.py [--days 5000 --stocks 500] [--skip-bt]``.
Prints the figures; asserts nothing (performance targets are read, not unit-tested).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from backtest.engine import kernel as sim_kernel
from backtest.engine.config import FundConfig
from backtest.engine.simulator import prepare_inputs, simulate
from backtest.market.market_data import MarketData


def best_of(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def equity_problem(n_days: int, n_stocks: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2000-01-03", periods=n_days)
    prices = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (n_days, n_stocks)), axis=0))
    cols = [f"S{i:03d}" for i in range(n_stocks)]
    prices = pd.DataFrame(prices, index=dates, columns=cols)
    month_start = np.r_[False, dates.month[1:] != dates.month[:-1]]  # day 0: nothing decided yet
    w = rng.uniform(0, 1, (month_start.sum(), n_stocks))
    w = 0.98 * w / w.sum(axis=1, keepdims=True)
    weights = pd.DataFrame(np.nan, index=dates, columns=cols)
    weights.loc[month_start] = w
    return prices, weights


def run_equity(args) -> None:
    prices, weights = equity_problem(args.days, args.stocks)
    market = MarketData.from_prices(prices)
    cfg = FundConfig.frictionless(1e9).replace(size_at="execution")
    # our engine decides at t and trades at t+1's close: shift the weights so every engine
    # trades on the same day at the same close.
    decided = weights.shift(-1)
    inputs = prepare_inputs(market, decided, cfg)
    sim_kernel.run_kernel(**inputs.arrays)  # JIT warm-up
    simulate(market, decided, cfg)

    import vectorbt as vbt

    def vbt_run():
        return vbt.Portfolio.from_orders(
            prices, size=weights, size_type="targetpercent", init_cash=1e9, cash_sharing=True,
            group_by=True, call_seq="auto", freq="1D",
        )  # fmt: skip

    vbt_run()
    # interleaved rounds, so a slow moment of the machine hits every contender alike
    times = {"kernel": [], "simulate": [], "vectorbt": []}
    cpu = {k: [] for k in times}
    faults = {k: [] for k in times}  # minor page faults (first touches of fresh memory)
    fund_table = sim_kernel.KernelOutputs._fields.index("fund")
    for _ in range(args.rounds):
        # each call returns only a small result (the kernel's fund table, our NAV table,
        # vectorbt's value series) and frees the rest inside its timing, so that no contender
        # runs while another's big arrays are still held
        for name, fn in (("kernel", lambda: sim_kernel.run_kernel(**inputs.arrays)[fund_table]),
                         ("simulate", lambda: simulate(market, decided, cfg).nav),
                         ("vectorbt", lambda: vbt_run().value())):  # fmt: skip
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0, t0 = time.process_time(), time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            if name == "simulate":
                result_nav = out
            elif name == "vectorbt":
                pf_value = out
    med = {k: float(np.median(v)) for k, v in times.items()}
    spread = {k: (max(v) - min(v)) / med[k] for k, v in times.items()}
    cpu_med = {k: float(np.median(v)) for k, v in cpu.items()}
    cpu_spread = {k: (max(v) - min(v)) / cpu_med[k] for k, v in cpu.items()}
    k_time, e_time, v_time = med["kernel"], med["simulate"], med["vectorbt"]
    ours_final = result_nav["net_assets"].iloc[-1]
    cells = args.days * args.stocks
    print(f"equity problem: {args.days} days × {args.stocks} stocks, monthly rebalance "
          f"(median of {args.rounds} interleaved rounds; spread = (max - min) / median; "
          "both sides include their value series: our .nav, vectorbt's .value())")  # fmt: skip

    def timing(name: str) -> str:
        return (f"{med[name] * 1e3:9.1f} ms  (min {min(times[name]) * 1e3:.1f}, max "
                f"{max(times[name]) * 1e3:.1f}), spread {spread[name]:4.0%};  CPU "
                f"{cpu_med[name] * 1e3:.1f} ms, spread {cpu_spread[name]:.0%};  "
                f"{np.median(faults[name]):.0f} page faults")  # fmt: skip

    print(f"  multistrat kernel      {timing('kernel')}  [{k_time / cells * 1e9:.1f} ns per "
          "instrument-day]")  # fmt: skip
    print(f"  multistrat simulate()  {timing('simulate')}  [incl. pandas edges]")
    print(f"  vectorbt from_orders   {timing('vectorbt')}")
    print(f"  ratio vectorbt / ours: {v_time / k_time:.1f}× (kernel), {v_time / e_time:.1f}× "
          f"(simulate, end to end)")  # fmt: skip
    vbt_final = float(pf_value.iloc[-1])
    print(
        f"  final value: ours {ours_final:,.2f}  vectorbt {vbt_final:,.2f}  "
        f"rel diff {abs(ours_final / vbt_final - 1):.2e} (whole shares vs fractional)"
    )
    if args.skip_bt:
        return
    import bt

    def bt_run():
        algos = [
            bt.algos.RunMonthly(run_on_first_date=True),
            bt.algos.WeighTarget(weights.ffill()),
            bt.algos.Rebalance(),
        ]
        strat = bt.Strategy("w", algos)
        test = bt.Backtest(
            strat, prices, initial_capital=1e9, integer_positions=False, progress_bar=False
        )
        return bt.run(test)

    b_time, res = best_of(bt_run, repeat=1)
    bt_final = float(res.prices.iloc[-1, 0]) / 100 * 1e9
    print(
        f"  bt                     {b_time * 1e3:9.1f} ms  → ratio {b_time / k_time:6.1f}× "
        f"(kernel), {b_time / e_time:5.1f}× (simulate)"
    )
    print(
        f"  final value: bt {bt_final:,.2f}  rel diff to ours {abs(ours_final / bt_final - 1):.2e}"
    )


def run_fund(args) -> None:
    from backtest.synthetic.build import synthetic_market

    market = synthetic_market(seed=7)
    ids = [i for i in market.ids() if not i.startswith("EQ")][:40] + market.ids(["equity"])[:20]
    rng = np.random.default_rng(1)
    targets = pd.DataFrame(
        rng.normal(0, 0.05, (len(market.calendar), len(ids))), index=market.calendar, columns=ids
    )
    targets[market.ids(["equity"])[:20]] = targets[market.ids(["equity"])[:20]].abs() / 10
    cfg = FundConfig()
    inputs = prepare_inputs(market, targets, cfg)
    sim_kernel.run_kernel(**inputs.arrays)
    k_time, _ = best_of(lambda: sim_kernel.run_kernel(**inputs.arrays))
    e_time, _ = best_of(lambda: simulate(market, targets, cfg), repeat=1)
    cells = len(market.calendar) * len(ids)
    print(f"fund problem: {len(market.calendar)} days × {len(ids)} instruments, daily targets")
    print(
        f"  kernel {k_time * 1e3:.1f} ms ({k_time / cells * 1e9:.1f} ns per instrument-day); "
        f"simulate() incl. input preparation {e_time:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5000)
    parser.add_argument("--stocks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--skip-bt", action="store_true")
    parser.add_argument("--skip-fund", action="store_true")
    args = parser.parse_args()
    run_equity(args)
    if not args.skip_fund:
        run_fund(args)


if __name__ == "__main__":
    main()
