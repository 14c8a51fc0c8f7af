"""Drawing the report's charts on two cores: this process and one worker process.

Drawing is the report's cost (matplotlib: layout, ticks, text, rasterising and PNG encoding,
~0.15 s a chart, 20 charts for the default run) and it is pure Python under the GIL, so threads
would not help. :func:`chart_workers` starts one worker process (:mod:`backtest.workers`); it
imports the report's modules, then (:func:`warm_up`) matplotlib and its fonts, while the fund
runs (the CLI also has it compute the benchmarks meanwhile). :func:`section_pngs` then hands it
every chart, first to last, while this process does other work (``meanwhile``: the run folder's
tables) and draws charts from the last one back, taking only those the worker has not started
(``Future.cancel``). The two meet in the middle; each chart is drawn once, by one process, with
the same code, so the PNG bytes do not depend on who drew them (a test checks it).

Without a pool (a one-core machine, or a caller that passes none) the charts are drawn here, one
after the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
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
    jobs: list[tuple] = []
    futures: list = []
    for section in sections:
        built.append(section)
        for draw, height in section.charts:
            jobs.append((draw, height))
            if pool is not None:
                futures.append(submit(pool, charts.chart_png, draw, height))
    if meanwhile is not None:
        meanwhile()
    pngs = _shared(jobs, futures) if pool is not None else [chart_png(*job) for job in jobs]
    out, k = [], 0
    for section in built:
        out.append(pngs[k : k + len(section.charts)])
        k += len(section.charts)
    return built, out


def _shared(jobs: list, futures: list) -> list[bytes]:
    """This process draws from the last chart back, every one the worker has not started
    (it draws from the first on); then takes the worker's."""
    pngs: list[bytes | None] = [None] * len(jobs)
    for k in range(len(jobs) - 1, -1, -1):
        if futures[k] is not None and not futures[k].cancel():
            break  # the worker has it (or had it): the two have met
        pngs[k] = chart_png(*jobs[k])
    for k, future in enumerate(futures):
        if pngs[k] is None:  # the worker's, or drawn here if it could not (workers.result)
            pngs[k] = result(future, chart_png, *jobs[k])
    return pngs
