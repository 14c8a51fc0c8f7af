"""Long the equity index future while its 200-day moving average rises, flat otherwise.

An example of a multistrat strategy in its own package (README "Write a strategy"):

* a frozen dataclass of its parameters, with ``required_fields`` and ``required_kinds``;
* ``target_positions(market)``: dates × instruments, exposure as a fraction of the capital the
  strategy is given, row ``t`` using data up to ``t``'s close (the engine lags the trades);
* registered through the ``multistrat.strategies`` entry point in ``pyproject.toml``.

Signal: the 200-day simple moving average of ``market.adjusted["ES"]`` (the back-adjusted
continuous price: its differences are the P&L of holding and rolling the future, so its trend is
the future's trend across rolls; ``market.prices`` jumps at each roll). Long when today's
average is above yesterday's, flat otherwise (and flat until 200 days of prices). The long is
sized by :func:`strategies.sizing.vol_target` to ``vol_target_annual``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from backtest.market.instruments import InstrumentKind
from backtest.market.market_data import MarketData
from strategies import StrategyInputError
from strategies.sizing import vol_target


@dataclass(frozen=True)
class EsMa200:
    """Long ``instrument`` while its ``window_days`` moving average rises, sized to a vol target.

    Parameters
    ----------
    instrument : id of the equity index future: ``"ES"`` (the S&P 500 E-mini) in the synthetic
        market; pass your data's id otherwise (e.g. ``SP500`` in pysystemtrade data).
    window_days : length of the simple moving average, trading days.
    vol_target_annual : annualised volatility of the position (annual decimal, 0.10 = 10%).
    """

    instrument: str = "ES"
    window_days: int = 200
    vol_target_annual: float = 0.10

    required_fields: ClassVar[frozenset[str]] = frozenset({"adjusted", "prices"})
    required_kinds: ClassVar[frozenset[str]] = frozenset({InstrumentKind.EQUITY_INDEX_FUTURE.value})

    def __post_init__(self) -> None:
        if self.window_days < 2:
            raise ValueError(f"window_days must be at least 2, got {self.window_days}")
        if not 0 < self.vol_target_annual <= 2:
            raise ValueError(f"vol_target_annual must be in (0, 2], got {self.vol_target_annual}")

    def signal(self, market: MarketData) -> pd.Series:
        """1.0 on the days the moving average of ``adjusted`` rose, else 0.0 (on the calendar)."""
        if self.instrument not in market.adjusted or market.adjusted[self.instrument].isna().all():
            raise StrategyInputError(
                f"EsMa200 needs adjusted prices of {self.instrument!r}, which {market.name!r} "
                "does not have"
            )
        price = market.adjusted[self.instrument]
        average = price.rolling(self.window_days, min_periods=self.window_days).mean()
        rising = average.diff() > 0  # NaN (warm-up, missing days) compares False: flat
        return rising.astype("float64").rename(self.instrument)

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        raw = self.signal(market).to_frame()
        return vol_target(raw, market, self.vol_target_annual)
