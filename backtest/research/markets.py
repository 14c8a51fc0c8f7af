"""Where an experiment's markets come from: seeded synthetic markets, a data folder, and
stationary block-bootstrap paths of a dataset's returns.

A :class:`MarketSource` is a small frozen, hashable description; :meth:`build` makes the
:class:`~backtest.market.market_data.MarketData` and :attr:`key` names it in result tables and
content hashes. Workers build a market once per source and reuse it
(:mod:`backtest.research.runner`); nothing here holds state.

Stationary bootstrap (Politis & Romano, 1994, "The Stationary Bootstrap", *JASA* 89(428),
1303–1313): row ``t`` of the new path is row ``t − 1``'s successor with probability
``1 − 1/mean_block_days``, else a uniformly drawn row; blocks have geometric lengths with mean
``mean_block_days``, and the path is stationary. The same row indices are used for every field,
so cross-asset dependence within a day is kept. How each field is rebuilt (units unchanged):

- price-like (``prices``, ``fx``, ``benchmarks``, ``index`` levels): daily simple returns
  resampled, levels compounded from the first day's, NaN where the original is NaN (listing);
- futures roots (columns of ``adjusted``): the return of holding and rolling,
  ``Δadjusted_t / price_{t−1}``, resampled; the held price compounded from it (no roll gaps),
  ``adjusted`` the running sum of ``price_{t−1} × r_t``; curve ``carry``/``forward`` prices keep
  the resampled day's ratio to the held price; contract ids and expiries stay on the calendar
  (the roll schedule is a calendar fact);
- level-like (``rates``, ``vol_surface``, ``dividends``, index columns ``VIX`` and ``*_DY``):
  the resampled day's value.

The calendar is the original one (a bootstrap path is a new history on the same days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.folder import load_market
from backtest.market.market_data import MarketData
from backtest.synthetic.build import synthetic_market

#: Index columns that are levels of a rate or volatility, resampled as values (not returns).
LEVEL_INDEX_COLUMNS = frozenset({"VIX"})


@dataclass(frozen=True)
class SyntheticSource:
    """The seeded synthetic market (:func:`backtest.synthetic.synthetic_market`)."""

    seed: int
    start: str = "2005-01-03"
    end: str = "2024-12-31"

    @property
    def key(self) -> str:
        return f"synthetic:{self.seed}:{self.start}:{self.end}"

    def build(self) -> MarketData:
        return synthetic_market(seed=self.seed, start=self.start, end=self.end)


@dataclass(frozen=True)
class FolderSource:
    """A market data folder (our layout or pysystemtrade's), :func:`load_market`.

    Its key holds the folder's path and a fingerprint of its files (names, sizes, modification
    times), so cached results are not reused after the data changes.
    """

    path: str

    @cached_property
    def key(self) -> str:
        folder = Path(self.path).resolve()
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        stamp = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                 for p in files]  # fmt: skip
        digest = hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]
        return f"folder:{folder}:{digest}"

    def build(self) -> MarketData:
        return load_market(self.path)


@dataclass(frozen=True)
class BootstrapSource:
    """Stationary block-bootstrap path ``seed`` of the returns of ``base`` (module docstring).

    ``mean_block_days``: mean block length, trading days (> 1).
    """

    base: SyntheticSource | FolderSource
    seed: int
    mean_block_days: float = 20.0

    def __post_init__(self) -> None:
        if not self.mean_block_days >= 1:
            raise ValueError(f"mean_block_days must be >= 1, got {self.mean_block_days}")

    @property
    def key(self) -> str:
        return f"bootstrap:{self.base.key}:{self.seed}:{self.mean_block_days:g}"

    def build(self) -> MarketData:
        return bootstrap_market(self.base.build(), self.seed, self.mean_block_days)


MarketSource = SyntheticSource | FolderSource | BootstrapSource


def synthetic_seeds(
    seeds: Iterable[int], start: str = "2005-01-03", end: str = "2024-12-31"
) -> tuple[SyntheticSource, ...]:
    """One synthetic market per seed, on the same window."""
    return tuple(SyntheticSource(int(s), start, end) for s in seeds)


def bootstrap_paths(
    base: SyntheticSource | FolderSource, n_paths: int, mean_block_days: float = 20.0
) -> tuple[BootstrapSource, ...]:
    """``n_paths`` stationary-bootstrap paths of ``base`` (seeds ``0 .. n_paths − 1``)."""
    return tuple(BootstrapSource(base, k, mean_block_days) for k in range(n_paths))


def stationary_bootstrap_indices(n: int, mean_block_days: float, seed: int) -> np.ndarray:
    """Row indices, shape (n,), of a Politis–Romano stationary bootstrap of ``n`` rows.

    Row 0 is drawn uniformly; row ``t`` continues the block (``idx[t−1] + 1``, wrapping round
    to 0) with probability ``1 − 1/mean_block_days``, else starts a new block at a uniform row.
    """
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=n)
    new_block = rng.random(n) < 1.0 / mean_block_days
    idx = np.empty(n, dtype=np.int64)
    idx[0] = starts[0]
    for t in range(1, n):
        idx[t] = starts[t] if new_block[t] else (idx[t - 1] + 1) % n
    return idx


def _resample_levels(levels: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """Price levels rebuilt from resampled simple returns (first day's level kept)."""
    values = levels.to_numpy(dtype="float64")
    r = np.zeros_like(values)
    r[1:] = values[1:] / values[:-1] - 1.0
    r = np.nan_to_num(r[idx], nan=0.0, posinf=0.0, neginf=0.0)
    r[0] = 0.0
    first = levels.bfill().iloc[0].to_numpy(dtype="float64")
    out = first * np.cumprod(1.0 + r, axis=0)
    out[np.isnan(values)] = np.nan
    return pd.DataFrame(out, index=levels.index, columns=levels.columns)


def _resample_values(frame: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(frame.to_numpy()[idx], index=frame.index, columns=frame.columns)


def _resample_futures(market: MarketData, idx: np.ndarray):
    """(held prices, adjusted, curves) of every futures root, resampled (module docstring)."""
    prices, adjusted, curves = {}, {}, {}
    for root in market.adjusted.columns:
        held = market.prices[root] if root in market.prices else market.curves[root]["price"]
        p = held.to_numpy(dtype="float64")
        a = market.adjusted[root].to_numpy(dtype="float64")
        r = np.zeros_like(p)
        r[1:] = np.diff(a) / p[:-1]
        r = np.nan_to_num(r[idx], nan=0.0, posinf=0.0, neginf=0.0)
        r[0] = 0.0
        first = pd.Series(p).bfill().iloc[0]
        new_p = first * np.cumprod(1.0 + r)
        steps = np.concatenate(([0.0], np.cumsum(new_p[:-1] * r[1:])))
        new_a = np.nan_to_num(a[0], nan=0.0) + steps
        new_p[np.isnan(p)] = np.nan
        new_a[np.isnan(a)] = np.nan
        prices[root], adjusted[root] = new_p, new_a
        if root in market.curves:
            c = market.curves[root].copy()
            for col in ("carry", "forward"):
                ratio = (c[col] / c["price"]).to_numpy()[idx]
                c[col] = new_p * ratio
            c["price"] = new_p
            curves[root] = c
    return prices, adjusted, curves


def bootstrap_market(market: MarketData, seed: int, mean_block_days: float = 20.0) -> MarketData:
    """A stationary-bootstrap path of ``market`` on its own calendar (module docstring)."""
    idx = stationary_bootstrap_indices(len(market.calendar), mean_block_days, seed)
    fut_prices, fut_adjusted, curves = _resample_futures(market, idx)
    others = [c for c in market.prices.columns if c not in fut_prices]
    prices = market.prices.copy()
    prices[others] = _resample_levels(market.prices[others], idx)
    for root, p in fut_prices.items():
        if root in prices:
            prices[root] = p
    adjusted = pd.DataFrame(fut_adjusted, index=market.calendar).reindex(
        columns=market.adjusted.columns
    )
    level_cols = [c for c in market.index.columns if c in LEVEL_INDEX_COLUMNS or c.endswith("_DY")]
    price_cols = [c for c in market.index.columns if c not in level_cols]
    index = pd.concat(
        [
            _resample_levels(market.index[price_cols], idx),
            _resample_values(market.index[level_cols], idx),
        ],
        axis=1,
    )[list(market.index.columns)]
    return market.replace(
        prices=prices,
        adjusted=adjusted,
        curves={**market.curves, **curves},
        fx=_resample_levels(market.fx, idx),
        rates=_resample_values(market.rates, idx),
        index=index,
        vol_surface=_resample_values(market.vol_surface, idx),
        dividends=_resample_values(market.dividends, idx),
        benchmarks=_resample_levels(market.benchmarks, idx),
        name=f"bootstrap({market.name}, seed={seed}, block={mean_block_days:g})",
    )
