"""Speed of the benchmark comparison report on the default 20-year run (target: under 15 s).

Runs the default fund (examples/lalt.toml: synthetic market, seed 7, 2005–2024) once, writes the
run folder, then times ``backtest.report.build_report``:

- HTML and PDF from a folder holding the report's extra files (``benchmarks.csv``,
  ``pnl_by_asset_class.csv``, ``pnl_by_book.csv``, ``spec.json``; written here with
  :func:`backtest.report.extra_run_files` / :func:`~backtest.report.run_spec` when ``write_run``
  does not write them yet);
- HTML from the bare folder, where the benchmarks are rebuilt from the seeded synthetic market.

Run: ``python benchmarks/report_speed.py [--keep DIR]``. Prints seconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<52} {seconds:6.2f} s")
    return out, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    args = parser.parse_args()

    from backtest.cli.backtest_cmd import _load_spec
    from backtest.fund.run import fund_metrics, run_fund
    from backtest.report.build import build_report
    from backtest.report.outputs import write_run
    from backtest.report.run_folder import extra_run_files, run_spec

    root = args.keep or Path(tempfile.mkdtemp(prefix="report_speed."))
    spec = _load_spec(None)
    run, _ = timed("run_fund (default 20-year run)", lambda: run_fund(spec))
    bare = write_run(run, root / "bare", fund_metrics(run))
    full = root / "full"
    shutil.copytree(bare, full, dirs_exist_ok=True)
    if not (full / "benchmarks.csv").exists():
        extras = extra_run_files(run)
        for name, frame in extras.items():
            frame.to_csv(full / name, float_format="%.10g", date_format="%Y-%m-%d")
        (full / "spec.json").write_text(json.dumps(run_spec(run), indent=2))
    n = len(run.nav)
    print(f"run: {n} trading days, {run.nav.index[0]:%Y-%m-%d} .. {run.nav.index[-1]:%Y-%m-%d}")
    _, html_s = timed("report, HTML (folder with extra files)", lambda: build_report(full))
    _, pdf_s = timed("report, PDF (folder with extra files)",
                     lambda: build_report(full, fmt="pdf"))  # fmt: skip
    _, bare_s = timed("report, HTML (bare folder: benchmarks rebuilt)",
                      lambda: build_report(bare))  # fmt: skip
    size = (full / "report.html").stat().st_size / 1e6
    print(f"HTML size {size:.1f} MB; target < 15 s: "
          f"{'met' if max(html_s, pdf_s, bare_s) < 15 else 'MISSED'}")  # fmt: skip
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root}/full/report.html, report.pdf and {root}/bare/report.html")


if __name__ == "__main__":
    main()
