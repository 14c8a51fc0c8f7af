"""The architecture of docs/ARCHITECTURE.md holds: imports point down the layers (the
import-linter contracts in pyproject.toml), no module imports itself round a circle, and our
own modules are imported inside a function only where that is documented for start-up time."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backtest", "strategies", "allocator")
#: The marker a deferred import of our own modules carries (the CLI defers its commands' layers
#: so that ``multistrat --help`` starts at once).
DEFERRED = "at run time"


def test_import_linter_contracts_are_kept():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def test_no_import_circles():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert {"backtest.fund.run", "backtest.market.calendar", "strategies.carry"} <= graph.modules
    assert _cycles(graph) == []
    # the check can fail: an upward import from the ground floor closes a circle
    graph.add_import(importer="backtest.market.calendar", imported="backtest.fund.run")
    assert any("backtest.fund.run" in c and "backtest.market.calendar" in c for c in _cycles(graph))


def test_in_function_imports_of_our_modules_are_documented():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(source))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.ImportFrom)
                        and (inner.module or "").split(".")[0] in PACKAGES
                        and DEFERRED not in source[inner.lineno - 1]
                        and not _block_marked(source, inner.lineno)
                    ):
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert found == []


def _block_marked(source: list[str], lineno: int) -> bool:
    """True when the import is in a run of imports whose first line carries the marker."""
    k = lineno - 1
    while k > 0 and source[k - 1].strip().startswith(("from ", "import ")):
        k -= 1
    return DEFERRED in source[k]
