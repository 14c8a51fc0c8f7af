"""Drawing the report's charts on two cores: this process and one worker process.

Drawing is the report's cost (matplotlib: layout, ticks, text, rasterising and PNG encoding,
~0.15 s a chart, 20 charts for the default run) and it is pure Python under the GIL, so threads
would not help. :func:`chart_workers` starts one worker process (:mod:`backtest.workers`); it
imports the report's modules, then (:func:`warm_up`) matplotlib and its fonts, while the fund
runs (the CLI also has it compute the benchmarks meanwhile). :func:`section_pngs` then hands it
the charts one at a time, first to last, as sections are built, while this process does other
work (``meanwhile``: the run folder's tables), then draws charts from the last one back. The two
meet in the middle; each chart is drawn once, by one process, with the same code, so the PNG
bytes do not depend on who drew them (a test checks it).

Without a pool (a one-core machine, or a caller that passes none) the charts are drawn here, one
after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager

from backtest.report import charts
from backtest.report.charts import Section, chart_png, drawing
from backtest.workers import helper_process, result, submit

__all__ = ["chart_workers", "section_pngs", "warm_up"]


@contextmanager
def chart_workers() -> Iterator[ProcessPoolExecutor | None]:
    """``with chart_workers() as pool``: one worker process for :func:`section_pngs`
    (:func:`backtest.workers.helper_process`), started at once (it imports the report's
    modules), ended with the block; None on a one-core machine. Submit :func:`warm_up` when it
    has nothing else to do before the charts."""
    with helper_process(warm=__name__) as pool:
        yield pool


def warm_up() -> None:
    """Import matplotlib and load the fonts (to run in the worker before its first chart)."""
    chart_png(drawing(_blank), 1.0)


def _blank(fig) -> None:
    fig.subplots().set_title("warm-up")


def section_pngs(
    sections: Iterable[Section], pool: ProcessPoolExecutor | None = None, meanwhile=None
) -> tuple[list[Section], list[list[bytes]]]:
    """``(sections, pngs)``: the sections (a list of those ``sections`` yields) and the PNG bytes
    of each one's charts (:func:`chart_png`), in order.

    ``pool``: from :func:`chart_workers` (None: drawn in this process); each section's charts
    are handed to it as the section comes, so that a generator of sections
    (:func:`~backtest.report.sections.iter_sections`) has the worker drawing while the next
    sections are built. ``meanwhile``: a function called with no argument once every section
    is built and before this process draws any chart (with no pool: first).
    """
    built: list[Section] = []
    if pool is None:
        built = list(sections)
        if meanwhile is not None:
            meanwhile()
        pngs = [chart_png(draw, height) for section in built for draw, height in section.charts]
    else:
        shared = _Shared(pool)
        try:
            for section in sections:
                built.append(section)
                shared.add(section.charts)
            shared.close()
            if meanwhile is not None:
                meanwhile()
            pngs = shared.draw_the_rest()
        except BaseException:
            shared.stop()
            raise
    out, k = [], 0
    for section in built:
        out.append(pngs[k : k + len(section.charts)])
        k += len(section.charts)
    return built, out


class _Shared:
    """The charts of a report shared between the worker and this process.

    A feeder thread hands the worker one chart at a time, from the first on, as they are added;
    once every section is built (:meth:`close`) and this process is free
    (:meth:`draw_the_rest`), it draws from the last chart back. The two meet in the middle,
    each chart drawn once. One at a time, not all at once: the executor passes queued calls on
    to its process ahead of time, where they can no longer be cancelled, and this process would
    wait at the end for the worker's queued charts while it had nothing left to draw.
    """

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.jobs: list[tuple] = []
        self.futures: dict[int, object] = {}
        self.front = 0  # the next chart for the worker
        self.back: int | None = None  # the next chart for this process, once it draws
        self.closed = False
        self.cond = threading.Condition()
        self.feeder = threading.Thread(target=self._feed, name="chart-feeder", daemon=True)
        self.feeder.start()

    def add(self, jobs) -> None:
        with self.cond:
            self.jobs.extend(jobs)
            self.cond.notify()

    def close(self) -> None:
        """No more charts."""
        with self.cond:
            self.closed = True
            self.cond.notify()

    def stop(self) -> None:
        """After an error: hand the worker nothing more."""
        with self.cond:
            self.closed, self.back = True, -1
            self.cond.notify()

    def _next_for_worker(self) -> int | None:
        with self.cond:
            while True:
                limit = len(self.jobs) if self.back is None else self.back + 1
                if self.front < limit:
                    self.front += 1
                    return self.front - 1
                if self.closed:  # and every chart taken, by the worker or by this process
                    return None
                self.cond.wait()

    def _feed(self) -> None:
        while (k := self._next_for_worker()) is not None:
            future = submit(self.pool, charts.chart_png, *self.jobs[k])
            self.futures[k] = future
            if future is not None:
                wait([future])

    def draw_the_rest(self) -> list[bytes]:
        """Draw here from the last chart back, every one the worker has not taken; then the
        worker's (drawn here too if it could not: :func:`backtest.workers.result`). Each chart
        is taken once, under the lock, by the worker (``k < front``) or here (``k > back``),
        until the two meet: every one is drawn."""
        pngs: list[bytes] = [b""] * len(self.jobs)
        with self.cond:
            self.back = len(self.jobs) - 1
        while True:
            with self.cond:
                if self.back < self.front:
                    break
                k = self.back
                self.back -= 1
            pngs[k] = chart_png(*self.jobs[k])
        self.feeder.join()  # closed: it waits no more, it ends after the worker's last chart
        for k, future in self.futures.items():
            pngs[k] = result(future, chart_png, *self.jobs[k])
        return pngs
