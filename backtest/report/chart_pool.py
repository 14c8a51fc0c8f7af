"""Drawing the report's charts on two cores: this process and one worker process.

Drawing is the report's cost (matplotlib: layout, ticks, text, rasterising and PNG encoding,
~0.15 s a chart, 20 charts for the default run) and it is pure Python under the GIL, so threads
would not help. :func:`chart_workers` starts one worker process with the standard library's
``ProcessPoolExecutor`` (``spawn``, so nothing of this process's state is shared); it imports
the report's modules, then (:func:`warm_up`) matplotlib and its fonts, while the fund runs (the
CLI also has it compute the benchmarks meanwhile). :func:`section_pngs` then hands it every
chart, first to last, while this process does other work (``meanwhile``: the run folder's tables)
and draws charts from the last one back, taking only those the worker has not started
(``Future.cancel``). The two meet in the middle; each chart is drawn once, by one process, with
the same code, so the PNG bytes do not depend on who drew them (a test checks it).

Dask is the engine for research at scale; for 20 charts of one report its start-up (~2 s) would
cost more than it saves. Without a pool (a one-core machine, or a caller that passes none) the
charts are drawn here, one after the other.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from backtest.report import charts
from backtest.report.charts import Section, chart_png, drawing

__all__ = ["chart_workers", "section_pngs", "warm_up"]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def chart_workers() -> Iterator[ProcessPoolExecutor | None]:
    """``with chart_workers() as pool``: one worker process for :func:`section_pngs`, started
    at once (it imports the report's modules), ended with the block; None on a one-core
    machine. Submit :func:`warm_up` when it has nothing else to do before the charts.

    As with any ``spawn`` pool, a script that calls it must do so under ``if __name__ ==
    "__main__":`` (the worker imports the script); a worker that cannot start (e.g. a script
    read from standard input) leaves every chart to this process, with the same result."""
    if available_cores() < 2:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(1, mp_context=context, initializer=_ignore_interrupts)
    try:
        _start(pool)
        yield pool
    finally:  # after an error too: charts not started are dropped, the worker ends
        pool.shutdown(wait=True, cancel_futures=True)


def _start(pool: ProcessPoolExecutor) -> None:
    """Start the worker (its warm-up), ignoring Ctrl-C from its first instruction: a process
    inherits an ignored signal, and Python keeps it ignored (else a Ctrl-C during its start-up
    would print a second traceback; the main process handles it and ends the worker)."""
    imports = (importlib.import_module, __name__)  # this module, and the report's modules
    if threading.current_thread() is not threading.main_thread():
        pool.submit(*imports)  # signal handlers are the main thread's: the initializer does it
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool.submit(*imports)  # the executor starts its process here
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_interrupts() -> None:
    """In the worker: Ctrl-C is for the main process, which ends the worker (no second
    traceback from it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def warm_up() -> None:
    """Import matplotlib and load the fonts (to run in the worker before its first chart)."""
    chart_png(drawing(_blank), 1.0)


def _blank(fig) -> None:
    fig.subplots().set_title("warm-up")


def section_pngs(
    sections: list[Section], pool: ProcessPoolExecutor | None = None, meanwhile=None
) -> list[list[bytes]]:
    """The PNG bytes of every chart of every section (:func:`chart_png`), in order.

    ``pool``: from :func:`chart_workers` (None: drawn in this process). ``meanwhile``: a
    function called with no argument after the charts are handed to the worker and before this
    process draws any (with no pool: first).
    """
    jobs = [(draw, height) for s in sections for draw, height in s.charts]
    if pool is None or len(jobs) < 2:
        if meanwhile is not None:
            meanwhile()
        pngs = [chart_png(draw, height) for draw, height in jobs]
    else:
        pngs = _shared(jobs, pool, meanwhile)
    out, k = [], 0
    for s in sections:
        out.append(pngs[k : k + len(s.charts)])
        k += len(s.charts)
    return out


def _shared(jobs: list, pool: ProcessPoolExecutor, meanwhile) -> list[bytes]:
    """The worker draws from the first chart on, this process from the last back."""
    pngs: list[bytes | None] = [None] * len(jobs)
    try:
        futures = [pool.submit(charts.chart_png, draw, height) for draw, height in jobs]
    except (BrokenProcessPool, RuntimeError):  # a dead or shut-down pool: draw them here
        futures = []
    if meanwhile is not None:
        meanwhile()
    if not futures:
        return [chart_png(draw, height) for draw, height in jobs]
    for k in range(len(jobs) - 1, -1, -1):
        if not futures[k].cancel():  # the worker has it (or had it): the two have met
            break
        pngs[k] = chart_png(*jobs[k])
    for k, future in enumerate(futures):
        if pngs[k] is None:
            try:
                pngs[k] = future.result()
            except BrokenProcessPool:  # the worker died (killed, out of memory): draw it here
                pngs[k] = chart_png(*jobs[k])
    return pngs
