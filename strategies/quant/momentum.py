"""Cross-sectional momentum: long recent winners, short recent losers, across futures and FX.

Economics: assets that outperformed their peers over the past year tend to keep outperforming
over the next month (slow diffusion of information, herding), except over the most recent month,
which tends to reverse; so rank on the 12-month return that skips the last month ("12-1").

Steps (causal): total-return 12-1 momentum per instrument (:func:`strategies.signals.momentum`, from
:func:`backtest.market.returns.instrument_returns`, so roll yield and forward points count), ranks
demeaned to ``[-1, 1]`` (:func:`strategies.signals.demeaned_ranks`), weights rank / vol with longs
summing to +1 and shorts to -1 (dollar-neutral), vol-targeted; the book is rebalanced on the first
trading day of each month and held unchanged in between (the first close known to be in a new month:
a truncated calendar cannot know that a day is a month's last).

Pandas and numpy only: the computation is a cumulative sum, a row-wise rank and a forward fill,
each a single vectorised call; vectorbt adds nothing here but its import time.

Reference: Asness, Moskowitz & Pedersen (2013), "Value and Momentum Everywhere", *Journal of
Finance* 68(3); Jegadeesh & Titman (1993), *Journal of Finance* 48(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from backtest.market.instruments import FUTURE_KINDS, InstrumentKind
from backtest.market.market_data import MarketData
from backtest.market.returns import instrument_returns
from strategies.base import register
from strategies.quant.trend import trend_prices
from strategies.signals import (
    demeaned_ranks,
    hold_between,
    live_mask,
    long_short_weights,
    momentum,
    month_start_mask,
    return_vol,
)
from strategies.sizing import vol_target

#: Futures (without VIX futures, whose roll-down makes them permanent losers) and FX forwards.
MOMENTUM_KINDS = frozenset(
    {k.value for k in FUTURE_KINDS if k is not InstrumentKind.VIX_FUTURE}
    | {InstrumentKind.CURRENCY_FORWARD.value}
)


@register("xs_momentum")
@dataclass(frozen=True)
class CrossSectionalMomentum:
    """12-1 month cross-sectional momentum, dollar-neutral, inverse-vol, rebalanced monthly.

    Parameters
    ----------
    lookback_days : length of the momentum window, trading days (252 = 12 months).
    skip_days : most recent days left out of the window (21 = 1 month).
    vol_span_days : EWMA span of the return vol used for inverse-vol weights, trading days.
    vol_target_annual : annualised volatility the book is sized to on each rebalance day.
    instrument_kinds : instrument kinds ranked (default: futures except VIX, and FX forwards).

    Inputs: ``prices`` (and what :func:`backtest.market.returns.instrument_returns` reads per kind).
    Output: exposure per instrument as a fraction of capital (dates × instruments); each row sums
    to 0; rows change only on the first trading day of a month; 0 before a year of history.
    """

    lookback_days: int = 252
    skip_days: int = 21
    vol_span_days: int = 63
    vol_target_annual: float = 0.10
    instrument_kinds: frozenset[str] = MOMENTUM_KINDS

    required_fields: ClassVar[frozenset[str]] = frozenset({"instruments", "prices"})
    required_kinds: ClassVar[frozenset[str]] = MOMENTUM_KINDS

    def instrument_ids(self, market: MarketData) -> list[str]:
        """Instruments of ``instrument_kinds`` with a price column, in table order."""
        return [i for i in market.ids(self.instrument_kinds) if i in market.prices]

    def target_positions(self, market: MarketData) -> pd.DataFrame:
        """Exposure per instrument as a fraction of capital (dates × ids)."""
        ids = self.instrument_ids(market)
        if not ids:
            return pd.DataFrame(index=market.calendar, dtype="float64")
        returns = instrument_returns(market, ids)
        live = live_mask(trend_prices(market, ids))
        score = momentum(returns, self.lookback_days, self.skip_days).where(live)
        vol = return_vol(returns, self.vol_span_days).where(live)
        raw = long_short_weights(demeaned_ranks(score), vol)
        sized = vol_target(raw, market, self.vol_target_annual, returns=returns)
        return hold_between(sized, month_start_mask(market.calendar))
