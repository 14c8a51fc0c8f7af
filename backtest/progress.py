"""Progress bars on long work: a tqdm bar when asked for, else a bar that shows nothing.

tqdm (with ``tqdm.auto``'s notebook detection, which imports asyncio and ssl: ~12 ms, twice
that when the machine is slow) is imported only when a bar is shown, so that a command that
shows none (the nightly job, a Dask worker) does not pay for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


class _NoBar:
    """The part of tqdm's interface our loops use, doing nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(total: int, desc: str, unit: str = "it", show: bool = True) -> Any:
    """A ``tqdm.auto`` bar over ``total`` steps of ``unit`` named ``desc`` when ``show``, else
    a bar that shows nothing (``update``, ``set_postfix_str``, ``close``, ``with``)."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
