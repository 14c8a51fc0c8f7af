"""The research notebooks run end to end, show figures and the text they promise, and are
committed with their outputs stripped.

Each notebook is executed with nbclient in a ``python3`` kernel (ipykernel of this interpreter),
from the notebook's own folder, as Jupyter would run it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300
KERNEL_NAME = "python3"

#: Text each notebook must show somewhere in its outputs (lower case).
EXPECTED_TEXT = {
    "01_quickstart.ipynb": ("nav_per_share", "sharpe_ratio", "compliance_breaches"),
    "02_strategy_research.ipynb": ("sharpe", "slow_multiplier", "fast_span"),
    "03_allocation.ipynb": ("equal_risk_contribution", "vol_target_capped_erc", "sharpe_ratio"),
    "04_benchmark_report.ipynb": ("proxy_index", "sharpe ratio", "limit checks"),
    "05_robustness.ipynb": ("sharpe_excess", "train_metric", "deflated_sharpe_ratio", "pbo"),
}


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _kernel_manager():
    """A kernel manager for ``python3`` that runs this interpreter's ipykernel.

    With no kernel directories to search, ``jupyter_client`` uses ipykernel's native spec
    (``sys.executable -m ipykernel_launcher``), so the test needs no ``ipykernel install`` and
    never picks up a ``python3`` spec of another interpreter that lacks this project's packages.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = KernelSpecManager(kernel_dirs=[])
    assert specs.get_kernel_spec(KERNEL_NAME).argv[0] == sys.executable
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def _text_of(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(
        str(data[k]) for k in ("text/plain", "text/html", "text/markdown") if k in data
    )


def _has_image(output) -> bool:
    kinds = ("display_data", "execute_result")
    return output.get("output_type") in kinds and "image/png" in output.get("data", {})


def execute(path: Path):
    """Run a notebook in memory from its own folder; returns the executed notebook.

    nbclient raises ``CellExecutionError`` (with the cell's traceback) on any error.
    """
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        km=_kernel_manager(),
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert set(EXPECTED_TEXT) <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL_NAME
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs: strip them"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path):
    nb = execute(path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    assert any(_has_image(o) for o in outputs), f"{path.name} shows no figure (image/png)"
    text = "\n".join(_text_of(o) for o in outputs).lower()
    for expected in EXPECTED_TEXT.get(path.name, ()):
        assert expected in text, f"{path.name}: {expected!r} not in its outputs"
    for i, cell in enumerate(nb.cells):  # a chart is shown once, not by pyplot and as a value
        images = sum(_has_image(o) for o in cell.get("outputs", []))
        assert images <= 1, f"{path.name} cell {i} shows {images} images"
