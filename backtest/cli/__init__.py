"""The ``multistrat`` command line: one module per command, one place that maps exceptions to
exit codes (:func:`backtest.cli.app.exit_code_for`)."""

from backtest.cli.app import main

__all__ = ["main"]
