"""Write :class:`~backtest.market.MarketData` to a folder in our layout (format version 1: every
file, column, unit and type is documented in :mod:`backtest.data.folder`, which reads it back).

:func:`write_market` writes one file per table, Parquet (with pyarrow) or CSV (floats as their
shortest repr, so they read back bit for bit), plus ``manifest.json``, which records each file's
rows, columns and non-float64 dtypes. Writing is atomic: the files go to a temporary folder next
to the destination that is renamed into place at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from backtest.data.folder import (
    EXTENSIONS,
    FORMAT_VERSION,
    LAYOUT,
    MANIFEST,
    Format,
)
from backtest.data.validation import fmt_date
from backtest.market.market_data import DATED_FIELDS, MarketData
from backtest.progress import progress_bar


def write_market(
    market: MarketData,
    out_dir: str | os.PathLike,
    format: Format = "parquet",
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``market`` to ``out_dir`` in our layout (:mod:`backtest.data.folder`); return it.

    Atomic: files go to a temporary folder next to ``out_dir`` that is renamed into place at
    the end, so a failure leaves ``out_dir`` as it was. An existing non-empty ``out_dir`` is
    refused (``FileExistsError``) unless ``overwrite=True``, which replaces it.
    """
    if format not in EXTENSIONS:
        raise ValueError(f"format must be 'parquet' or 'csv', not {format!r}")
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not overwrite:
            raise FileExistsError(
                f"{out} exists and is not empty; pass overwrite=True to replace it"
            )
    tables = _tables_of(market)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / "curves").mkdir()
        entries = []
        bar = progress_bar(len(tables), "writing", unit="file", show=progress)
        for rel, field, root, frame in tables:
            path = tmp / f"{rel}{EXTENSIONS[format]}"
            _write_frame(frame, path, format)
            entry = {"path": path.relative_to(tmp).as_posix(), "field": field}
            if root is not None:
                entry["root"] = root
            entry |= {"rows": len(frame), "columns": frame.shape[1] - 1, "dtypes": _dtypes(frame)}
            entries.append(entry)
            bar.update()
        bar.close()
        cal = market.calendar
        manifest = {
            "format_version": FORMAT_VERSION,
            "layout": LAYOUT,
            "name": market.name,
            "format": format,
            "calendar": {
                "start": fmt_date(cal[0]) if len(cal) else None,
                "end": fmt_date(cal[-1]) if len(cal) else None,
                "length": len(cal),
            },
            "files": entries,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _tables_of(market: MarketData) -> list[tuple[str, str, str | None, pd.DataFrame]]:
    """(relative path without extension, field, root, frame with a leading column) per file."""
    cal = pd.DataFrame({"date": market.calendar})
    ins = market.instruments.copy()
    ins.index.name = "id"
    tables = [
        ("calendar", "calendar", None, cal),
        ("instruments", "instruments", None, ins.reset_index()),
    ]
    for field in DATED_FIELDS:
        tables.append((field, field, None, _dated_table(getattr(market, field), field)))
    for root, curve in sorted(market.curves.items()):
        if not root or root.startswith(".") or "/" in root or "\\" in root:
            raise ValueError(f"curve root {root!r} cannot be used as a file name")
        tables.append((f"curves/{root}", "curves", root, _dated_table(curve, f"curves[{root}]")))
    return tables


def _dated_table(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if "date" in frame.columns:
        raise ValueError(f"{what} has a column named 'date', which the layout reserves")
    table = frame.copy()
    table.index = pd.DatetimeIndex(table.index, name="date")
    return table.reset_index()


def _dtypes(table: pd.DataFrame) -> dict[str, str]:
    return {str(c): str(t) for c, t in table.dtypes.items() if c != "date" and str(t) != "float64"}


def _write_frame(frame: pd.DataFrame, path: Path, format: Format) -> None:
    if format == "parquet":
        _write_parquet(frame, path)
    else:
        _write_csv(frame, path)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)  # floats as shortest repr: they read back bit for bit


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and removed after."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex}"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
