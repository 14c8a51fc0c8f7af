"""Quantitative strategies: time-series trend, cross-sectional momentum, equity market-neutral."""
