"""CSV files of a run folder, written several times faster than ``DataFrame.to_csv``, same bytes.

``DataFrame.to_csv(path, float_format=..., date_format=...)`` formats every value through
Python-level pandas formatters (a ``notna`` test and a lambda per float): ~1.5 s for the default
run's 215,000 rows. :func:`write_csv` formats each column once with plain Python (``format %
value`` for floats, numpy's ISO dates for ``%Y-%m-%d``) and hands the rows to the standard
library's C ``csv.writer`` — the writer pandas uses, with the same dialect — so the file is byte
for byte what ``to_csv`` writes (a test compares them on frames with NaN, ±inf, −0.0, NaT,
booleans, integers, quotes and commas). Frames it has no fast path for (a MultiIndex, column
labels that are not strings, other dtypes) are handed to ``to_csv`` itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_csv"]

#: The date format with a vectorised fast path (numpy's ISO dates at day resolution).
ISO_DAY = "%Y-%m-%d"


def write_csv(
    frame: pd.DataFrame,
    path: str | Path,
    float_format: str | None = None,
    date_format: str | None = None,
    index: bool = True,
) -> None:
    """Write ``frame`` to ``path`` exactly as ``frame.to_csv(path, float_format=float_format,
    date_format=date_format, index=index)`` does (empty strings for missing values)."""
    columns = _columns_as_text(frame, float_format, date_format, index)
    if columns is None:  # no fast path: pandas itself
        frame.to_csv(path, float_format=float_format, date_format=date_format, index=index)
        return
    header = [str(c) for c in frame.columns]
    if index:
        header.insert(0, "" if frame.index.name is None else str(frame.index.name))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))


def _columns_as_text(frame: pd.DataFrame, float_format, date_format, index: bool):
    """Each column (the index first when written) as a list of what ``csv.writer`` writes, or
    None when a column or label has no fast path."""
    if isinstance(frame.index, pd.MultiIndex) or isinstance(frame.columns, pd.MultiIndex):
        return None
    if not all(isinstance(c, str) for c in frame.columns):
        return None
    if frame.columns.has_duplicates:
        return None
    series = [frame[c] for c in frame.columns]
    if index:
        if frame.index.name is not None and not isinstance(frame.index.name, str):
            return None
        series.insert(0, frame.index.to_series())
    out = []
    for s in series:
        text = _as_text(s, float_format, date_format)
        if text is None:
            return None
        out.append(text)
    return out


def _as_text(s: pd.Series, float_format: str | None, date_format: str | None) -> list | None:
    dtype = s.dtype
    if dtype == np.float64 and float_format is not None:
        values = s.to_numpy()
        return [float_format % v if v == v else "" for v in values.tolist()]
    if isinstance(dtype, np.dtype) and dtype.kind == "M" and date_format == ISO_DAY:
        values = s.to_numpy()
        text = np.datetime_as_string(values, unit="D").astype(object)
        text[np.isnat(values)] = ""
        return text.tolist()
    if dtype == np.bool_ or dtype == np.int64:
        return s.to_numpy().tolist()
    if isinstance(dtype, pd.StringDtype):  # strings or missing values only
        return s.to_numpy(dtype=object, na_value="").tolist()
    if dtype == np.dtype(object):
        values = s.to_numpy(dtype=object, na_value=None).tolist()
        if not all(v is None or isinstance(v, str) for v in values):
            return None
        return ["" if v is None else v for v in values]
    return None
