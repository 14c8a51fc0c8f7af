"""Writing a fund run's outputs to a folder, atomically.

Files written (all in ``out_dir``):

=========================  ==================================================================
``nav.csv``                the daily fund table (``SimulationResult.nav``)
``weights.csv``            strategy weights in force each day (dates × strategies)
``strategy_returns.csv``   each strategy's standalone daily return stream
``holdings.parquet``       long table: date, instrument, book, quantity, price, market_value,
                           notional_usd
``trades.csv``             executions: date, instrument, book, quantity, price, cost, booked
``flows.csv``              creations and redemptions
``compliance.csv``         every limit on every day: date, rule, figure, limit, breach, applies
``limit_actions.csv``      pre-trade scaling done to comply
``metrics.json``           headline figures
``benchmarks.csv``         levels of the proxy multi-strategy index, equity, bond and 60/40
``pnl_by_asset_class.csv`` daily P&L (USD, net of costs) by asset class; ``pnl_by_book.csv`` by book
``spec.json``              the fund spec the run used
``nav_vs_equity.png``      NAV per share vs the benchmark indexes
``strategy_weights.png``   allocator weights over time
``subsidiary.png``         the Subsidiary's share of total assets with the 25% line
``report.html``            the benchmark comparison report (:mod:`backtest.report`)
=========================  ==================================================================

Everything is written into a temporary folder beside ``out_dir`` and renamed into place at the
end: a failure leaves ``out_dir`` as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

FLOAT_FORMAT = "%.10g"


def write_run(
    run, out_dir: str | Path, metrics: dict, overwrite: bool = True, report: bool = True
) -> Path:
    """Write every output of ``run`` (a :class:`backtest.fund.FundRun`) to ``out_dir``."""
    import matplotlib.pyplot as plt

    from backtest import charts
    from backtest.market import quarter_end_flags
    from backtest.report import build_report, extra_run_files, run_spec

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = run.result
        result.nav.to_csv(tmp / "nav.csv", float_format=FLOAT_FORMAT, date_format="%Y-%m-%d")
        run.weights.to_csv(tmp / "weights.csv", float_format=FLOAT_FORMAT,
                           date_format="%Y-%m-%d")  # fmt: skip
        run.strategy_returns.to_csv(tmp / "strategy_returns.csv", float_format=FLOAT_FORMAT,
                                    date_format="%Y-%m-%d")  # fmt: skip
        result.holdings.to_parquet(tmp / "holdings.parquet", index=False)
        result.trades.to_csv(tmp / "trades.csv", index=False, float_format=FLOAT_FORMAT,
                             date_format="%Y-%m-%d")  # fmt: skip
        result.flows.to_csv(tmp / "flows.csv", index=False, date_format="%Y-%m-%d")
        run.compliance.to_csv(tmp / "compliance.csv", index=False, float_format=FLOAT_FORMAT,
                              date_format="%Y-%m-%d")  # fmt: skip
        run.limit_actions.to_csv(tmp / "limit_actions.csv", index=False, date_format="%Y-%m-%d")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        for name, frame in extra_run_files(run).items():  # what the report reads
            frame.to_csv(tmp / name, float_format=FLOAT_FORMAT, date_format="%Y-%m-%d")
        (tmp / "spec.json").write_text(json.dumps(run_spec(run), indent=2, sort_keys=True) + "\n")
        fiscal_end = run.spec.fund.subsidiary.fiscal_year_end_month
        figs = {
            "nav_vs_equity.png": charts.nav_vs_benchmarks(
                result.nav["nav_per_share_5dp"], run.market.benchmarks, run.spec.name
            ),
            "strategy_weights.png": charts.strategy_weights(run.weights),
            "subsidiary.png": charts.subsidiary_share(
                result.nav["subsidiary_pct_total_assets"],
                run.spec.fund.subsidiary.cap_pct,
                result.nav.index[quarter_end_flags(result.nav.index, fiscal_end)],
            ),
        }
        for name, fig in figs.items():
            fig.savefig(tmp / name, metadata={"Software": None})
            plt.close(fig)
        if report:  # the benchmark comparison report, inside the same atomic write
            build_report(tmp, market=run.market, out=tmp / "report.html")
        if out.exists():
            backup = out.with_name(f".{out.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
