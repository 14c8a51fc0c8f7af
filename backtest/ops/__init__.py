"""Running the fund day by day: the nightly job (:mod:`~backtest.ops.nightly`), its SQLite
state (:mod:`~backtest.ops.state`), the day's disclosures (:mod:`~backtest.ops.disclosure`) and
the Intraday Indicative Value (:mod:`~backtest.ops.iiv`). Sits on :mod:`backtest.fund`; the
command line is in :mod:`backtest.cli.nightly_cmd`.
"""
