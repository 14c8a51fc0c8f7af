"""``python -m backtest.cli ...``, the same as the ``multistrat`` console script."""

import sys

from backtest.cli.app import main

sys.exit(main())
