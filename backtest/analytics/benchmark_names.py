"""The names of the built-in benchmarks, in a module of their own: the command line lists them
in its help without importing the strategies the proxy index runs
(:mod:`backtest.analytics.benchmarks`)."""

#: Names :func:`backtest.analytics.benchmarks.benchmark_series` returns, in order.
BENCHMARK_NAMES = ("proxy_index", "equity_index", "bond_index", "sixty_forty")
