"""The report's substitute-basket section (a semi-transparent fund only): the basket's realised
tracking difference and error, its overlap over time, the guardrail hit rate, the
reverse-engineering score against the transparent Disclosed Portfolio and the premium/discount
model with the basket's hedge error (:mod:`backtest.fund.basket`)."""

from __future__ import annotations

import pandas as pd

from backtest.fund.basket import headline, premium_effect
from backtest.report import charts as rc
from backtest.report.charts import Section, fmt_num, fmt_pct
from backtest.report.report_data import ReportData, section

NOTE = ("Instead of its holdings, the fund publishes before each open a substitute basket "
        "covering {lo:.0%} to {hi:.0%} of its holdings by weight, with its overlap "
        "(Σ min(|basket|, |actual|) over same-sign lines / Σ|actual|; "
        "backtest.analytics.substitute_basket). Tracking difference of a day: the basket "
        "published the evening before against the holdings it stands for, per unit of net "
        "assets. Guardrail: trailing {window}-day realised tracking error above {te:.1%} a year. "
        "Reverse engineering: R² of a pooled regression of the actual weights on the published "
        "ones over each calendar year (1 for the transparent Disclosed Portfolio).")  # fmt: skip
PREMIUM_NOTE = ("Premium/discount model (seed {seed}): market makers hedging with the basket "
                "carry its daily tracking error as extra noise in the premium, "
                "sqrt(noise² + TE_daily²).")  # fmt: skip


#: Readable headers of the yearly scores and of the premium/discount table.
SCORE_LABELS = {"r2_basket": "R² basket", "r2_transparent": "R² transparent",
                "weight_error_basket": "weight error basket",
                "weight_error_transparent": "weight error transparent"}  # fmt: skip
EFFECT_LABELS = {"noise_bps": "noise (bp)", "premium_std_bp": "premium std (bp)",
                 "days_beyond_25bp_pct": "days beyond ±25 bp (%)",
                 "days_beyond_50bp_pct": "days beyond ±50 bp (%)"}  # fmt: skip


def basket_section(d: ReportData, seed: int, spec_doc: dict | None) -> Section | None:
    """The section, or None when the run has no basket summary."""
    run = d.run
    if run.basket is None or run.basket_scores is None:
        return None
    basket = (spec_doc or {}).get("disclosure", {}).get("basket", {})
    lo, hi = basket.get("overlap_min", float("nan")), basket.get("overlap_max", float("nan"))
    te_limit = float(basket.get("guardrail_te_annual", float("nan")))
    window = basket.get("guardrail_window_days", "?")
    h = headline(run.basket, run.basket_scores)
    figures = pd.DataFrame(
        {"value": [fmt_pct(h["tracking_error_annual"]), fmt_pct(h["ex_ante_te_mean"]),
                   fmt_num(h["mean_abs_tracking_difference_bp"], 2),
                   fmt_pct(h["overlap_mean"]), fmt_pct(h["overlap_min"]),
                   fmt_pct(h["overlap_max"]), fmt_pct(h["guardrail_hit_rate"]),
                   fmt_num(h["r2_basket_median_year"], 4),
                   fmt_num(h["r2_transparent_median_year"], 4),
                   fmt_pct(h["weight_error_median_year"])]},
        index=["Realised tracking error (a year)", "Ex-ante tracking error, mean (a year)",
               "Mean |daily tracking difference| (bp)", "Overlap, mean", "Overlap, min",
               "Overlap, max", "Guardrail hit rate (days with a full window)",
               "Reverse-engineering R², basket (median year)",
               "Reverse-engineering R², transparent (median year)",
               "Weight error of the basket, Σ|b−w|/Σ|w| (median year)"],
    )  # fmt: skip
    scores = run.basket_scores.set_index("year")
    shown_scores = pd.DataFrame({SCORE_LABELS.get(c, c): [fmt_num(float(v), 4) for v in scores[c]]
                                 for c in scores.columns}, index=scores.index)  # fmt: skip
    effect = premium_effect(run.nav["nav_per_share"], h["tracking_error_annual"], seed)
    shown_effect = effect.map(lambda v: fmt_num(float(v), 2)).rename(columns=EFFECT_LABELS)
    return section(
        "substitute-basket",
        NOTE.format(lo=lo, hi=hi, window=window, te=te_limit),
        PREMIUM_NOTE.format(seed=seed),
        charts=[(rc.drawing(rc.basket_tracking, run.basket, te_limit, (lo, hi)), None)],
        tables=[("Substitute basket: figures", figures),
                ("Reverse-engineering score by year", shown_scores),
                ("Premium/discount model: transparent vs substitute basket", shown_effect)],
    )  # fmt: skip
