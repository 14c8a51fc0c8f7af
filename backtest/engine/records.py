"""The kernel's output arrays: allocated before a run (:func:`new_outputs`) and cut to the
records written after it (:func:`trimmed`). Shapes and units: :class:`KernelOutputs`
(:mod:`backtest.engine.layout`); the dense frames built from them: :mod:`backtest.engine.dense`.
"""

from __future__ import annotations

import numpy as np

from backtest.engine.layout import K_FORWARD, N_COLS, KernelOutputs

__all__ = ["new_outputs", "trimmed"]


def new_outputs(n_days: int, kind: np.ndarray) -> KernelOutputs:
    """Fresh outputs for :func:`~backtest.engine.kernel.run_kernel_into` (``kind``: the (N,)
    instrument codes): zeros, dense ``pnl`` (T, N), ``fund`` (T, N_COLS), ``fwd_mv`` (T, F
    forwards), and room for ``T × N`` holding-change, execution and roll records (the most
    there can be).

    Allocated by numpy rather than inside the compiled kernel: numpy asks the OS for huge pages
    on large arrays (``madvise``), numba's allocator does not. The record arrays are
    ``np.empty``: their memory is reserved, not touched; only the pages the records fill are
    ever faulted in (first-touch page faults on fresh memory were most of the run-to-run spread
    of ``simulate()``, ``benchmarks/simulator_speed.py``), as vectorbt preallocates its order
    records. :func:`~backtest.engine.kernel.run_kernel` returns views of the records written
    (:func:`trimmed`).
    """
    n = kind.shape[0]
    shape = (n_days, n)
    cap = n_days * n
    n_fwd = int(np.count_nonzero(kind == K_FORWARD))
    e = np.empty
    return KernelOutputs(
        pnl=np.zeros(shape), fund=np.zeros((n_days, N_COLS)),
        fwd_mv=np.zeros((n_days, n_fwd)),
        hold_day=e(cap, np.int64), hold_inst=e(cap, np.int64), hold_qty=e(cap),
        exec_day=e(cap, np.int64), exec_inst=e(cap, np.int64), exec_qty=e(cap),
        exec_price=e(cap), exec_cost=e(cap),
        roll_day=e(cap, np.int64), roll_inst=e(cap, np.int64), roll_cost=e(cap),
    )  # fmt: skip


def trimmed(out: KernelOutputs, n_hold: int, n_exec: int, n_roll: int) -> KernelOutputs:
    """``out`` with its record arrays cut to the ``n_hold`` holding changes, ``n_exec``
    executions and ``n_roll`` rolls written: views, not copies (a copy would be fresh memory
    again); the room never written stays reserved, not resident, while they live."""
    n = {"hold": n_hold, "exec": n_exec, "roll": n_roll}
    cut = {k: v[: n[k.split("_")[0]]] for k, v in out._asdict().items() if k[:4] in n}
    return out._replace(**cut)
