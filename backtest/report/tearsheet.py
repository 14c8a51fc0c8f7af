"""The report's tear-sheet sections: the fund relative to its benchmark, rolling Sharpe ratio
and volatility against the volatility target, the return distribution, the strategies
(correlations, realised and target risk shares, turnover, standalone Sharpe ratios) and the
exposure by asset class with the gross leverage. Statistics from
:mod:`backtest.analytics.metrics`, :mod:`backtest.analytics.tearsheet` and
:mod:`backtest.analytics.portfolio`; charts from :mod:`backtest.report.risk_charts`.
"""

from __future__ import annotations

import pandas as pd

from backtest.analytics import metrics as M
from backtest.analytics import portfolio as P
from backtest.analytics import tearsheet as T
from backtest.report import risk_charts as rk
from backtest.report.charts import Section, drawing, fmt_num, fmt_pct, formatted
from backtest.report.report_data import (
    DISPLAY_NAMES,
    ReportData,
    display,
    flag_windows,
    section,
)
from backtest.report.run_folder import FUND_TURNOVER
from backtest.report.tables import STRATEGY_WEIGHT_LAG_DAYS

#: Trailing window of the rolling Sharpe ratio, tracking error and information ratio, days.
ROLLING_DAYS = 252
#: Windows of the rolling volatility chart, days.
VOLATILITY_WINDOWS_DAYS = (63, 252)

NOTES = {
    "relative": "The fund against each benchmark, on the dates both have (252 days a year): "
    "active return = mean(fund − benchmark) × 252; tracking error = std(fund − benchmark) × "
    "√252; information ratio = their quotient; alpha = mean(r − c − β(b − c)) × 252 with c the "
    "daily cash return (Jensen); beta = cov/var of daily returns; up/down capture = geometric "
    "mean fund return over that of the benchmark in the months it rose/fell (Morningstar); hit "
    "rate = share of calendar months the fund beat it. Charts: trailing {0}-day tracking error "
    "and information ratio against {1}.",
    "no-benchmark": "No benchmark is available for this run, so there is no relative view.",
    "rolling-risk": "Top: Sharpe ratio over cash of the fund's daily returns in trailing {0}-day "
    "windows. Bottom: annualised volatility (std × √252) over trailing {1}- and {2}-day windows "
    "against the allocator's volatility target.",
    "distribution": "Daily returns. Skewness and excess kurtosis: sample estimators (as Excel's "
    "SKEW and KURT). VaR: 5% quantile; CVaR: mean of the returns at or below it. Calmar: annual "
    "return / |max drawdown|. Omega: sum of gains over sum of losses (threshold 0). Tail ratio: "
    "|95% quantile| / |5% quantile|. Stability: R² of log cumulative return on time.",
    "strategies": "Standalone return streams of the strategies (exposure returns, 2 bp a trade, "
    "no cash interest: their Sharpe ratio is already one over cash). Realised risk share: "
    "cov(c_s, Σc) / var(Σc) of the daily contributions c_s = weight[t−2] × return[t]; ex ante: "
    "w_s(Σw)_s / w'Σw with Σ the covariance of the previous 252 days, averaged over days; "
    "target: the allocator's rule ({0}). Turnover: mean daily Σ|Δ weight × exposure| × 252, "
    "% of net assets a year; the fund's own turnover nets the sleeves and follows the limits.",
    "exposure": "Notional exposure by asset class over net assets (futures and forwards at "
    "notional, options at delta-adjusted notional, stocks at market value); T-bills and "
    "money-market holdings (asset class cash) are left out. Gross leverage: the gross_leverage "
    "figure of the limit checks.",
    "missing": "Not available: the run folder has no {0} (see backtest.report.extra_run_files).",
}  # fmt: skip


def _excess(x: pd.Series, cash: pd.Series | None) -> pd.Series:
    return x if cash is None else x - cash.reindex(x.index)


def relative_table(d: ReportData) -> tuple[pd.DataFrame, list[str]]:
    """Rows: relative statistics of the fund; columns: each benchmark shown (own-window
    columns flagged). Values decimal."""
    fund, cash = d.fund, d.cash
    marks, notes = flag_windows(d.returns[d.shown])
    cols = {}
    for name in d.shown[1:]:
        b = d.returns[name]
        alpha = M.alpha(_excess(fund, cash), _excess(b, cash))
        r, b_ = M._align(fund, b)
        cols[marks.get(name, DISPLAY_NAMES.get(name, name))] = {
            "Active return (ann.)": M.active_return(fund, b),
            "Tracking error (ann.)": M.tracking_error(fund, b),
            "Information ratio": M.information_ratio(fund, b),
            "Alpha over cash (ann.)" if cash is not None else "Alpha, rf = 0 (ann.)": alpha,
            "Beta": M.beta(fund, b), "Correlation": M.correlation(fund, b),
            "Up capture": M.up_capture(fund, b), "Down capture": M.down_capture(fund, b),
            "Hit rate (months beating it)": M.hit_rate(fund, b),
            "Months compared": float(len(M.monthly_returns(r))),
        }  # fmt: skip
    return pd.DataFrame(cols), notes


def relative_section(d: ReportData) -> Section:
    if d.relative_to is None:
        return section("relative", NOTES["no-benchmark"])
    table, notes = relative_table(d)
    plain = {"Information ratio": fmt_num, "Beta": fmt_num, "Correlation": fmt_num,
             "Months compared": lambda x: fmt_num(x, 0)}  # fmt: skip
    name = DISPLAY_NAMES.get(d.relative_to, d.relative_to)
    b = d.returns[d.relative_to]
    te = T.rolling_tracking_error(d.fund, b, ROLLING_DAYS)
    ir = T.rolling_information_ratio(d.fund, b, ROLLING_DAYS)
    return section("relative", NOTES["relative"].format(ROLLING_DAYS, name), *notes,
                   charts=[(drawing(rk.rolling_relative, te, ir, name, ROLLING_DAYS), 5.5)],
                   tables=[("The fund relative to each benchmark",
                            formatted(table, rows=plain))])  # fmt: skip


def rolling_risk_section(d: ReportData) -> Section:
    target = (d.run.spec or {}).get("allocator", {}).get("vol_target_annual")
    sharpe = T.rolling_sharpe(d.fund, ROLLING_DAYS, cash=d.cash)
    vols = {w: T.rolling_volatility(d.fund, w) for w in VOLATILITY_WINDOWS_DAYS}
    long = vols[ROLLING_DAYS].dropna()
    rows = {
        "Volatility target": target if target is not None else float("nan"),
        "Realised volatility, since inception": M.annual_volatility(d.fund),
        f"{ROLLING_DAYS}-day volatility: average": long.mean(),
        f"{ROLLING_DAYS}-day volatility: lowest": long.min(),
        f"{ROLLING_DAYS}-day volatility: highest": long.max(),
        f"{ROLLING_DAYS}-day Sharpe ratio over cash: lowest": sharpe.min(),
        f"{ROLLING_DAYS}-day Sharpe ratio over cash: highest": sharpe.max(),
    }
    table = pd.DataFrame({"Fund": rows}).rename_axis("measure")
    plain = {k: fmt_num for k in rows if "Sharpe" in k}
    return section("rolling-risk", NOTES["rolling-risk"].format(ROLLING_DAYS,
                                                                *VOLATILITY_WINDOWS_DAYS),
                   charts=[(drawing(rk.rolling_risk, sharpe, vols, target, ROLLING_DAYS),
                            5.5)],
                   tables=[("Volatility against the target",
                            formatted(table, rows=plain))])  # fmt: skip


def distribution_table(returns: pd.DataFrame) -> pd.DataFrame:
    """Rows: distribution statistics; columns: the series, each over its own window."""
    cols = {}
    for c in returns.columns:
        r = T.own_window(returns[c]).dropna()
        cols[c] = {
            "Skewness": M.skewness(r), "Excess kurtosis": M.kurtosis(r),
            "Best day": T.best_day(r), "Worst day": T.worst_day(r),
            "Daily VaR 95%": M.value_at_risk(r), "Daily CVaR 95%": M.conditional_value_at_risk(r),
            "Calmar ratio": M.calmar_ratio(r), "Omega ratio": T.omega_ratio(r),
            "Tail ratio": T.tail_ratio(r), "Stability (R²)": T.stability(r),
        }  # fmt: skip
    return pd.DataFrame(cols)


def distribution_section(d: ReportData) -> Section:
    returns = d.returns[d.shown]
    marks, notes = flag_windows(returns)
    table = display(distribution_table(returns).rename(columns=marks))
    plain = {k: fmt_num for k in table.index if "day" not in k and "VaR" not in k}
    hist = display(returns[[c for c in ("fund", d.relative_to) if c]])
    var = M.value_at_risk(d.fund.dropna())
    return section("distribution", NOTES["distribution"], *notes,
                   charts=[(drawing(rk.return_histogram, hist, var), None)],
                   tables=[("Shape of the distribution",
                            formatted(table, rows=plain))])  # fmt: skip


def _allocator_target(spec: dict | None, names: list[str]) -> tuple[pd.Series, str]:
    method = (spec or {}).get("allocator", {}).get("method", "")
    if method == "equal_risk_contribution":
        return pd.Series(1.0 / len(names), index=names), "equal risk contributions, before caps"
    return pd.Series(float("nan"), index=names), f"{method or 'unknown'}: no risk target"


def strategy_table(d: ReportData) -> pd.DataFrame:
    """Per strategy: standalone statistics, average weight, turnover, risk shares (decimal)."""
    run = d.run
    sr = run.strategy_returns.reindex(run.nav.index).iloc[1:]
    w = run.weights.reindex(run.nav.index).fillna(0.0)
    contrib = (w.shift(STRATEGY_WEIGHT_LAG_DAYS) * sr).iloc[STRATEGY_WEIGHT_LAG_DAYS:]
    ex_ante = P.ex_ante_risk_shares(w, sr).dropna().mean()
    target, _ = _allocator_target(run.spec, list(w.columns))
    table = pd.DataFrame({
        "Standalone Sharpe": M.sharpe_ratio(sr), "Annual return": M.annual_return(sr),
        "Annual volatility": M.annual_volatility(sr), "Max drawdown": M.max_drawdown(sr),
        "Average weight": w.mean(), "Realised risk share": P.risk_contributions(contrib),
        "Ex-ante risk share": ex_ante, "Allocator target": target,
    })  # fmt: skip
    if run.turnover is not None:
        table["Turnover a year"] = P.annual_turnover(run.turnover).reindex(table.index)
        fund = P.annual_turnover(run.turnover[FUND_TURNOVER])
        table.loc[FUND_TURNOVER] = float("nan")
        table.loc[FUND_TURNOVER, "Turnover a year"] = fund
    return table.rename_axis("strategy")


def strategies_section(d: ReportData) -> Section:
    table = strategy_table(d)
    _, rule = _allocator_target(d.run.spec, list(d.run.weights.columns))
    corr = d.run.strategy_returns.corr()
    shares = table[["Realised risk share", "Ex-ante risk share", "Allocator target"]]
    shares = shares.drop(index=[FUND_TURNOVER], errors="ignore")
    plain = {"Standalone Sharpe": fmt_num}
    shown = pd.DataFrame({c: [(plain.get(c, fmt_pct))(float(v)) for v in table[c]]
                          for c in table.columns}, index=table.index)  # fmt: skip
    return section("strategies", NOTES["strategies"].format(rule),
                   charts=[(drawing(rk.strategy_risk, corr, shares), 3.6)],
                   tables=[("Strategies: standalone, risk and turnover", shown),
                           ("Correlation of daily returns",
                            formatted(corr.rename_axis("strategy"), fmt_num))])  # fmt: skip


def exposure_section(d: ReportData) -> Section:
    e = d.run.exposure
    if e is None:
        return section("exposure", NOTES["missing"].format("exposure_by_asset_class.csv"))
    gross = e[[c for c in e if c.startswith("gross:") and c != "gross:cash"]]
    net = e[[c for c in e if c.startswith("net:") and c != "net:cash"]]
    gross.columns = [c.removeprefix("gross:") for c in gross]
    net.columns = [c.removeprefix("net:") for c in net]
    comp = d.run.compliance
    lev = comp[comp["rule"] == "gross_leverage"].set_index("date")["figure"]
    leverage = lev if len(lev) else None
    stats = pd.DataFrame({
        "Gross: average": gross.mean(), "Gross: highest": gross.max(),
        "Gross: last": gross.iloc[-1], "Net: average": net.mean(), "Net: lowest": net.min(),
        "Net: highest": net.max(), "Net: last": net.iloc[-1],
    }).rename_axis("asset class")  # fmt: skip
    tables = [("Exposure by asset class (% of net assets)", formatted(stats))]
    if leverage is not None:
        lv = pd.DataFrame({"Gross leverage": {"average": lev.mean(), "highest": lev.max(),
                                              "last": lev.iloc[-1]}}).T  # fmt: skip
        tables.append(("Gross leverage (times net assets)", formatted(lv, fmt_num)))
    return section("exposure", NOTES["exposure"],
                   charts=[(drawing(rk.exposure, gross, net, leverage), 5.0)],
                   tables=tables)  # fmt: skip
