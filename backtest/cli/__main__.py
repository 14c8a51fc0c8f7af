"""``python -m backtest.cli ...``, the same as the ``multistrat`` console script."""

from backtest.cli.app import run

if __name__ == "__main__":  # not when a worker process started with "spawn" imports it
    run()
