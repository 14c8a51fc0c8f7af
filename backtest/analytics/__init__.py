"""Measuring a fund: metrics (:mod:`~backtest.analytics.metrics`, textbook formulas, 252-day
conventions), performance tables and attribution (:mod:`~backtest.analytics.performance`), the
benchmark indexes (:mod:`~backtest.analytics.benchmarks`) and the premium/discount disclosure
(:mod:`~backtest.analytics.premium_discount`). Sits above the strategies (the proxy index runs
them) and below the fund.
"""
