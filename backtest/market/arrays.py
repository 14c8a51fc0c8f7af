"""Arrays handed to numba kernels, in one form so that each kernel compiles once.

numba compiles one specialisation per argument type, and an array's type includes whether it
is writable. Under pandas' copy-on-write, ``DataFrame.to_numpy()`` returns read-only views of
some frames and writable copies of others, so the same kernel was compiled twice in one run
(the VaR kernel, now ``allocator.var._rolling_var_kernel``, and
``strategies.sizing._ewma_portfolio_var``: ~4 s of a cold start). Kernels that only read
their inputs take them through :func:`readonly_c`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["readonly_c"]


def readonly_c(values, dtype=np.float64) -> np.ndarray:
    """``values`` as a C-contiguous array of ``dtype``, read-only (a view: no copy when it is
    one already; the caller's array stays writable)."""
    out = np.ascontiguousarray(values, dtype=dtype).view()
    out.flags.writeable = False
    return out
