"""``python -m backtest.cli ...``, the same as the ``multistrat`` console script."""

import sys

from backtest.cli.app import main

if __name__ == "__main__":  # not when a worker process started with "spawn" imports it
    sys.exit(main())
