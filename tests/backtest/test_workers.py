"""The helper process: used, ended with its block, stopped at once after an error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backtest.workers import (
    HUGEPAGE_ENV,
    OPENBLAS_ENV,
    available_cores,
    helper_process,
    one_blas_thread,
    reuse_freed_memory,
    small_pages,
)

two_cores = pytest.mark.skipif(available_cores() < 2, reason="one core: no helper process")


@two_cores
def test_the_helper_runs_tasks_and_ends_with_its_block():
    with helper_process(warm="json") as pool:
        assert pool.submit(sum, [1, 2, 3]).result(timeout=60) == 6
        processes = list(pool._processes.values())
    assert processes and not any(p.is_alive() for p in processes)


@two_cores
def test_after_an_error_the_busy_helper_is_stopped_not_waited_for():
    start = time.monotonic()
    with pytest.raises(ValueError, match="bad input"):
        with helper_process() as pool:
            pool.submit(time.sleep, 60)  # busy for a minute
            processes = list(pool._processes.values())
            raise ValueError("bad input")
    assert time.monotonic() - start < 30
    assert not any(p.is_alive() for p in processes)


def test_one_core_means_no_helper(monkeypatch):
    import backtest.workers as w

    monkeypatch.setattr(w, "available_cores", lambda: 1)
    with w.helper_process() as pool:
        assert pool is None


def test_without_a_worker_or_with_a_dead_one_the_result_is_computed_here():
    from backtest.workers import result, submit

    assert submit(None, sum, [1, 2]) is None and result(None, sum, [1, 2]) == 3
    with helper_process() as pool:
        if pool is not None:
            pool.shutdown()
            assert submit(pool, sum, [1, 2]) is None
    calls = []

    def fails(x):
        calls.append(x)
        raise KeyError(x)

    with helper_process() as pool:  # an error of fn itself: raised here, as without a worker
        with pytest.raises(KeyError):
            result(submit(pool, _raises, "k"), fails, "k")
    assert calls == ["k"]


def _raises(key):
    raise KeyError(key)


def test_heap_frozen_pauses_the_collector_until_imported_then_freezes_for_the_block_only():
    import gc

    import pytest

    from backtest.workers import heap_frozen

    before = gc.get_freeze_count()
    assert gc.isenabled()
    with heap_frozen() as imported:
        assert not gc.isenabled()  # the imports: no passes over what they make
        kept = [[] for _ in range(1000)]  # objects alive when the imports are done
        assert gc.get_freeze_count() == before
        imported()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
        imported()  # a second call changes nothing
        assert gc.isenabled()
    assert gc.get_freeze_count() == before and gc.isenabled()
    with pytest.raises(ZeroDivisionError), heap_frozen() as imported:
        imported()
        1 / 0  # noqa: B018
    assert gc.get_freeze_count() == before and gc.isenabled()
    with pytest.raises(ZeroDivisionError), heap_frozen():  # an error before imported()
        1 / 0  # noqa: B018
    assert gc.get_freeze_count() == before and gc.isenabled()


def test_heap_frozen_leaves_a_collector_the_caller_turned_off_off():
    import gc

    from backtest.workers import heap_frozen

    gc.disable()
    try:
        with heap_frozen() as imported:
            imported()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


#: a command run in a fresh process, then numpy's huge-page switch as that process has it
PROBE = textwrap.dedent("""
    import sys
    from backtest.cli import app
    code = app.main(sys.argv[1:])
    import numpy
    core = getattr(numpy, "_core", None) or numpy.core
    print(code, core.multiarray._get_madvise_hugepage())
""")


def run_probe(probe: str, folder, command: str, variable: str, given: str | None):
    """``probe`` run in a fresh process in ``folder`` on ``command`` with a missing config (bad
    input: exit 2, nothing written), ``variable`` set to ``given`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != variable}
    if given is not None:
        env[variable] = given
    args = {"backtest": ["--out", "run"], "nightly": ["--asof", "2024-01-02"]}[command]
    return subprocess.run([sys.executable, "-c", probe, command, "--config", "missing.toml",
                           *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize("command", ["backtest", "nightly"])
@pytest.mark.parametrize(("given", "expected"), [(None, "False"), ("1", "True")])
def test_a_command_puts_numpy_arrays_on_small_pages_unless_the_user_says(
    tmp_path, command, given, expected
):
    done = run_probe(PROBE, tmp_path, command, HUGEPAGE_ENV, given)
    assert done.stdout.split() == ["2", expected], done.stderr  # bad input: exit 2, as before
    assert "missing.toml" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


#: a command run in a fresh process, then OpenBLAS's thread count as that process has it
BLAS_PROBE = textwrap.dedent("""
    import os, sys
    from backtest.cli import app
    code = app.main(sys.argv[1:])
    print(code, os.environ.get("OPENBLAS_NUM_THREADS"))
""")


@pytest.mark.parametrize(
    ("command", "given", "expected"),
    [("nightly", None, "1"), ("nightly", "2", "2"), ("backtest", None, "None")],
)
def test_the_nightly_job_runs_openblas_on_one_thread_unless_the_user_says(
    tmp_path, command, given, expected
):
    done = run_probe(BLAS_PROBE, tmp_path, command, OPENBLAS_ENV, given)
    assert done.stdout.split() == ["2", expected], done.stderr  # bad input: exit 2, as before


def test_a_process_with_numpy_imported_is_left_alone(monkeypatch):
    import numpy  # noqa: F401 - imported, as in a notebook or this test run

    monkeypatch.delenv(HUGEPAGE_ENV, raising=False)
    monkeypatch.delenv(OPENBLAS_ENV, raising=False)
    assert small_pages() is False
    assert one_blas_thread() is False
    assert HUGEPAGE_ENV not in os.environ and OPENBLAS_ENV not in os.environ
    assert reuse_freed_memory() is False  # glibc's defaults kept for a process that goes on


#: minor page faults of touching a 20 MB array after an array of that size was freed
FAULTS = textwrap.dedent("""
    import resource, sys
    from backtest.workers import reuse_freed_memory
    applied = reuse_freed_memory() if sys.argv[1] == "on" else False
    import numpy as np
    a = np.ones(2_500_000)
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    b = np.ones(2_500_000)
    print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def test_reuse_freed_memory_serves_a_new_array_from_what_was_freed():
    env = os.environ | {HUGEPAGE_ENV: "0"}  # count ordinary 4 kB pages

    def faults(mode: str) -> tuple[str, int]:
        done = subprocess.run([sys.executable, "-c", FAULTS, mode], env=env, capture_output=True,
                              text=True, timeout=60, check=True)  # fmt: skip
        applied, count = done.stdout.split()
        return applied, int(count)

    applied, reused = faults("on")
    if applied != "True":
        pytest.skip("not glibc: no mallopt")
    _, fresh = faults("off")
    assert reused < 500 < 4000 < fresh, (reused, fresh)  # 20 MB is ~4,900 pages of 4 kB


ORPHAN = textwrap.dedent("""
    import os, time
    from backtest.workers import helper_process, submit
    if __name__ == "__main__":
        with helper_process() as pool:
            print(submit(pool, os.getpid).result(), flush=True)
            time.sleep(120)
""")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended


@two_cores
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_helper_ends_when_the_main_process_is_killed(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(ORPHAN)
    main = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(main.stdout.readline())
        assert _running(worker)
        main.kill()  # SIGKILL: no clean-up runs in the main process
        main.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(worker)
    finally:
        main.kill()
