"""Cross-sectional z-scores within groups (industries), one numba pass over every group.

:func:`industry_zscore` is what the equity market-neutral book scores stocks with. The pandas
loop over industries it replaced (:func:`industry_zscore_py`, kept as the plain-Python twin the
tests compare it with) cost ~10 frame operations per industry and signal (~0.09 s of a 20-year,
120-stock run); the kernel does the same arithmetic in one pass and gives the same bits:

- pandas' row mean and standard deviation of a frame held in one block (``mean(axis=1)``,
  ``std(axis=1)``, no bottleneck; any frame built from one array, as these signals are) fill
  missing values with 0 and add the columns one after another, in column order, starting
  from the first (numpy's reduction of the ``(columns, rows)`` block along its first axis);
  the kernel adds them in the same order. (On a frame of several blocks pandas sums block by
  block and then adds the blocks' sums, so the last bits depend on how the frame was built;
  the kernel's order is column order whatever the frame.)
- the variance is ``Σ (mean − x)² / (n − 1)`` over the known values (two passes, as
  ``pandas.core.nanops.nanvar``), NaN with fewer than 2 values, and the z-score
  ``(x − mean) / std`` clipped to ``±clip``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from backtest.market.arrays import readonly_c

__all__ = ["group_columns", "industry_zscore", "industry_zscore_py"]


def group_columns(labels) -> tuple[np.ndarray, np.ndarray]:
    """Columns grouped by label, as the kernel reads them: ``(columns, starts)``.

    ``columns`` int64 lists the positions of the labelled columns group after group (groups in
    sorted label order, as ``Series.groupby``; columns in their original order within a group;
    columns with a missing label left out, as ``groupby`` drops them); group ``g`` is
    ``columns[starts[g] : starts[g + 1]]``, ``starts`` of shape (n_groups + 1,).
    """
    codes, uniques = pd.factorize(pd.Series(labels), sort=True)
    labelled = np.flatnonzero(codes >= 0)
    columns = labelled[np.argsort(codes[labelled], kind="stable")].astype(np.int64)
    counts = np.bincount(codes[labelled], minlength=len(uniques))
    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return columns, starts


@njit(cache=True)
def _group_zscore(
    values: np.ndarray,
    columns: np.ndarray,
    starts: np.ndarray,
    min_names: int,
    clip: float,
) -> np.ndarray:
    """Kernel of :func:`industry_zscore`. values (n_dates, n_names) float64 (NaN = missing);
    columns, starts from :func:`group_columns`. Returns (n_dates, n_names) z-scores, NaN where
    the value is missing or its group has fewer than ``min_names`` values or no dispersion."""
    n_dates, n_names = values.shape
    out = np.full((n_dates, n_names), np.nan)
    for t in range(n_dates):
        row = values[t]
        for g in range(starts.shape[0] - 1):
            lo, hi = starts[g], starts[g + 1]
            count = 0
            total = 0.0
            for k in range(lo, hi):  # the first column starts the sum, as numpy's reduction
                x = row[columns[k]]
                if np.isnan(x):
                    x = 0.0
                else:
                    count += 1
                total = x if k == lo else total + x
            if count < min_names or count < 2:
                continue
            mean = total / count
            squares = 0.0
            for k in range(lo, hi):
                x = row[columns[k]]
                d = 0.0 if np.isnan(x) else (mean - x) * (mean - x)
                squares = d if k == lo else squares + d
            sd = np.sqrt(squares / (count - 1))
            if not sd > 0.0:
                continue
            for k in range(lo, hi):
                j = columns[k]
                x = row[j]
                if not np.isnan(x):
                    out[t, j] = min(max((x - mean) / sd, -clip), clip)
    return out


def industry_zscore(
    values: pd.DataFrame, industries: pd.Series, min_names: int = 3, clip: float = 3.0
) -> pd.DataFrame:
    """Cross-sectional z-score within each industry, per row: ``(x - mean_ind) / std_ind``.

    ``industries`` maps each column to its industry. Industries with fewer than ``min_names``
    valid values on a row, or zero dispersion, give NaN; z-scores are clipped to ``±clip``
    (``std`` with divisor ``n − 1``). Shapes (n_dates, n_names); equal to the last bit to
    :func:`industry_zscore_py`.
    """
    columns, starts = group_columns(industries.reindex(values.columns).to_numpy())
    z = _group_zscore(
        readonly_c(values.to_numpy(dtype=np.float64)), columns, starts, int(min_names), clip
    )
    return pd.DataFrame(z, index=values.index, columns=values.columns)


def industry_zscore_py(
    values: pd.DataFrame, industries: pd.Series, min_names: int = 3, clip: float = 3.0
) -> pd.DataFrame:
    """Plain pandas twin of :func:`industry_zscore` (one industry at a time), for the tests."""
    out = pd.DataFrame(np.nan, index=values.index, columns=values.columns)
    for _, cols in industries.groupby(industries).groups.items():
        block = values[list(cols)]
        n = block.notna().sum(axis=1)
        mu, sd = block.mean(axis=1), block.std(axis=1)
        ok = (n >= min_names) & (sd > 0)
        z = block.sub(mu, axis=0).div(sd.where(ok), axis=0)
        out[list(cols)] = z.clip(-clip, clip)
    return out
