"""No look-ahead in the strategies' standalone streams, to the bit: the streams of a market cut
at a date equal the whole market's up to that date (the allocator reads them; the nightly run,
cut at its day, must see what the backtest saw)."""

import pandas as pd

from backtest.cli.backtest_cmd import DEFAULT_CONFIG, _load_spec
from backtest.fund.run import strategy_streams


def test_streams_of_a_cut_market_are_the_whole_markets_to_the_bit(synthetic_5y):
    spec = _load_spec(DEFAULT_CONFIG)
    _, whole, _ = strategy_streams(spec, synthetic_5y)
    # a cut a few days after an option roll: the whole market lists later puts that the cut
    # one does not, and the past days' costs must not move with them
    for row in (457, 800, 947):
        day = synthetic_5y.calendar[row]
        _, cut, _ = strategy_streams(spec, synthetic_5y.until(day))
        expected = whole.loc[:day]
        pd.testing.assert_index_equal(cut.index, expected.index)
        assert list(cut.columns) == list(expected.columns)
        assert cut.to_numpy().tobytes() == expected.to_numpy().tobytes(), day
