"""One helper process next to the main one, for the work of a single command that can run on a
second core (``multistrat backtest``: the benchmarks while the fund runs, then half the report's
charts; :mod:`backtest.report.chart_pool`).

The standard library's ``ProcessPoolExecutor`` with one ``spawn`` worker (nothing of this
process's state is shared). Research at scale runs on Dask (:mod:`backtest.research`); for one
backtest its start-up (~2 s) would cost more than the helper saves. This module imports the
standard library only, so that a command starts the helper before its own heavy imports and the
two processes import in parallel.

The helper ignores Ctrl-C (the main process handles it and ends the helper: one message, no
second traceback) and exits without the interpreter's tear-down once its results are sent. After
an error in the main process it is stopped at once instead of being waited for.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import importlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

__all__ = ["available_cores", "heap_frozen", "helper_process", "one_blas_thread", "result",
           "reuse_freed_memory", "small_pages", "submit"]  # fmt: skip

#: numpy's switch for transparent huge pages, read once when numpy is imported
#: (https://numpy.org/devdocs/reference/global_state.html)
HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def helper_process(warm: str | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """``with helper_process("pkg.module") as pool``: one worker process, started at once and
    importing ``warm`` (a module name) first; ended with the block (at once after an error).
    None on a one-core machine: the caller does everything itself.

    As with any ``spawn`` pool, a script that uses it must do so under ``if __name__ ==
    "__main__":`` (the worker imports the script).
    """
    if available_cores() < 2:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker)
    try:
        _start(pool, warm)
        yield pool
    except BaseException:
        _stop_now(pool)
        raise
    pool.shutdown(wait=True, cancel_futures=True)


def submit(pool: ProcessPoolExecutor | None, fn, *args) -> Future | None:
    """``fn(*args)`` handed to the worker (``fn`` and ``args`` picklable); None without a
    worker, or when it is dead or shut down (:func:`result` then computes it here)."""
    if pool is None:
        return None
    try:
        return pool.submit(fn, *args)
    except (BrokenProcessPool, RuntimeError):
        return None


def result(future: Future | None, fn, *args):
    """The worker's result of ``fn(*args)`` (``future`` from :func:`submit`); computed here
    when there was no worker or it failed: an error of ``fn`` itself is then raised here, as
    without a worker, and a dead worker (killed, out of memory) costs time, not the run."""
    if future is not None:
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - recomputed here: the same result or the same error
            pass
    return fn(*args)


@contextmanager
def heap_frozen() -> Iterator[Callable[[], None]]:
    """``with heap_frozen() as imported:`` for a command's run. The garbage collector is off
    from the block's start until ``imported()`` is called, after the command's imports; the
    objects alive then (modules, classes, functions, kept for the whole run) are left out of
    its passes (``gc.freeze``) and it is turned back on. The block's end unfreezes them and
    leaves the collector as it found it, so that a caller that goes on (tests, notebooks)
    collects as before, also after an error.

    The imports make ~120,000 such objects. Collecting while they are made finds nothing to
    free and took ~0.1 s of the nightly job's start-up (three full passes); collecting them
    afterwards, unfrozen, took ~0.4 s of a backtest's main process."""
    was_on = gc.isenabled()
    gc.disable()
    frozen = False

    def imported() -> None:
        nonlocal frozen
        if not frozen:
            gc.freeze()  # before the collector is on again: not one pass over them
            frozen = True
        if was_on:
            gc.enable()

    try:
        yield imported
    finally:
        if frozen:
            gc.unfreeze()
        if was_on:
            gc.enable()


def small_pages() -> bool:
    """In a command's process, before numpy is imported: numpy's large arrays on ordinary
    pages (``NUMPY_MADVISE_HUGEPAGE=0``), unless the user has set that variable. Inherited by
    the helper process (and any process the command starts). True when it applies.

    numpy asks Linux for transparent huge pages (``madvise``) for every array of 4 MB and more.
    That pays where the same memory is used again and again (a sweep of runs in one process:
    ``run_fund`` on the same market again 0.36 s with them, 0.41 s without), but a command runs
    once and touches most of its memory once, and under the common ``defrag = madvise`` setting
    each first touch of such an array may wait for the kernel to compact and zero 2 MB. On the
    2-core benchmark machine: ``multistrat backtest`` 4.8-5.3 s -> 4.4 s, ``multistrat
    nightly`` one more day 3.2-3.3 s -> 2.8-3.1 s, the kernel's time 1.0 s -> 0.6 s. Not done
    for notebooks and tests (numpy is imported already) nor for the experiment command (its
    Dask workers run many funds each)."""
    return _default_env(HUGEPAGE_ENV, "0")


#: OpenBLAS's thread count, read once when numpy (or scipy) loads its OpenBLAS
OPENBLAS_ENV = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> bool:
    """In a command's process, before numpy is imported: numpy's and scipy's OpenBLAS on one
    thread (``OPENBLAS_NUM_THREADS=1``), unless the user has set that variable. Inherited by
    the helper process. True when it applies.

    OpenBLAS starts a thread per core that spins for a while after each call, waiting for the
    next. The nightly job's BLAS calls are small (4 × 4 covariances, one regression per date),
    so the second thread never shares work; it only takes a core's time from the helper
    process (``perf``: ~7 % of the run's CPU samples in ``blas_thread_server``). One more
    nightly day 1.415 -> 1.38 s (median of 8 interleaved runs); the 20-year catch-up's hash
    chain and the default backtest's outputs are the same bit for bit with one thread."""
    return _default_env(OPENBLAS_ENV, "1")


def _default_env(name: str, value: str) -> bool:
    """``name=value`` in this process's environment (inherited by the processes it starts)
    unless the user has set ``name`` or numpy is imported already (it has read its variables
    then: a notebook or a test run is left as it is). True when set."""
    if name in os.environ or "numpy" in sys.modules:
        return False
    os.environ[name] = value
    return True


#: glibc's ``mallopt`` parameters (``<malloc.h>``) and the largest mmap threshold it takes
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX = -1, -3, 32 * 1024 * 1024


def reuse_freed_memory() -> bool:
    """glibc's allocator keeps the memory a process frees for its next arrays instead of giving
    it back to the system, so that each new array does not fault in fresh pages again: blocks
    up to 32 MB come from the heap (``M_MMAP_THRESHOLD``) and the heap is never trimmed
    (``M_TRIM_THRESHOLD``). For a command that runs once and whose peak memory is not tight
    (the nightly job's one more day: minor page faults 240k -> 137k, its kernel time 0.70 ->
    0.54 s on the benchmark machine); the backtest does not use it (+40-70 MB of peak memory,
    against its 1.5 GB budget). Only in a command's own process, before numpy is imported: a
    notebook or a test run that calls the command goes on afterwards and keeps glibc's
    defaults. True when applied; False there, or off glibc (no ``mallopt``)."""
    if "numpy" in sys.modules:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
        mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
    )


def _start(pool: ProcessPoolExecutor, warm: str | None) -> None:
    """Start the worker, ignoring Ctrl-C from its first instruction: a process inherits an
    ignored signal, and Python keeps it ignored (else a Ctrl-C during its start-up would print
    a second traceback)."""
    task = (importlib.import_module, warm) if warm else (int, 0)  # int: just start it
    if threading.current_thread() is not threading.main_thread():
        pool.submit(*task)  # signal handlers are the main thread's: _init_worker does it
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool.submit(*task)  # the executor starts its process here
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """End the worker without waiting for what it is doing (Python 3.14's
    ``terminate_workers``; before it, its processes are terminated one by one)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _init_worker() -> None:
    """In the worker: ignore Ctrl-C; exit without the interpreter's tear-down (a spawned
    process exits through ``sys.exit``, whose collection of matplotlib's and pandas' objects
    took ~0.3 s that the main process waited for; results are sent before then); and exit as
    soon as the main process is gone (:func:`_exit_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(_exit_now)
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()


def _exit_with_parent() -> None:
    """Wait for the main process to end, then end this one. A main process killed outright
    (``kill -9``, out of memory) cannot stop its worker, and the worker holds both ends of its
    task queue, so it would wait for a next task for ever; the parent's sentinel tells."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    parent.join()
    os._exit(1)


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
