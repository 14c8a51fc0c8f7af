"""Kernel arguments in one form (read-only, C-contiguous), so each numba kernel compiles once."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from backtest.market.arrays import readonly_c


def test_readonly_c_is_a_read_only_c_view_and_leaves_the_callers_array_alone():
    a = np.arange(12.0).reshape(3, 4)
    v = readonly_c(a)
    assert np.shares_memory(a, v) and v.flags.c_contiguous and not v.flags.writeable
    assert a.flags.writeable  # the caller's array is not changed
    f = readonly_c(np.asfortranarray(a))  # another layout: a C copy
    assert f.flags.c_contiguous and np.array_equal(f, a) and not f.flags.writeable
    frame = pd.DataFrame(a)  # whatever pandas hands out (a read-only view under copy-on-write)
    assert readonly_c(frame.to_numpy()).flags.writeable is False
    assert readonly_c([1, 2], np.int64).dtype == np.int64


def test_a_fund_run_compiles_each_kernel_once():
    """Every numba dispatcher of ours has a single signature after a whole fund run (a second,
    e.g. for writable instead of read-only arrays, is a second compile on a cold start)."""
    code = textwrap.dedent(
        """
        import gc
        from numba.core.registry import CPUDispatcher
        from backtest.cli.backtest_cmd import DEFAULT_CONFIG
        from backtest.fund.run import run_fund
        from backtest.fund.spec import FundSpec
        from backtest.synthetic import synthetic_market
        spec = FundSpec.from_toml(DEFAULT_CONFIG)
        run_fund(spec, synthetic_market(seed=7, start="2015-01-02", end="2019-12-31"))
        many = sorted(f"{d.py_func.__module__}.{d.py_func.__name__}: {len(d.signatures)}"
                      for d in gc.get_objects()
                      if isinstance(d, CPUDispatcher) and len(d.signatures) > 1)
        print("|".join(many))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
