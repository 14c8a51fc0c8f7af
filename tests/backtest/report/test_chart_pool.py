"""Charts drawn by a worker process are the charts drawn here, byte for byte."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.report import chart_pool, charts
from backtest.report.charts import Section, drawing
from backtest.workers import available_cores


@pytest.fixture(scope="module")
def sections() -> list[Section]:
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2015-01-01", periods=800)
    levels = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (800, 3)), axis=0)),
                          index=dates, columns=["Fund", "Equity index (TR)", "b"])  # fmt: skip
    weights = pd.DataFrame(rng.uniform(0, 0.5, (800, 2)), index=dates, columns=["carry", "trend"])
    return [
        Section("cumulative", "Cumulative", charts=[(drawing(charts.cumulative, levels), None)]),
        Section("empty", "No chart"),
        Section(
            "two",
            "Two charts",
            charts=[
                (drawing(charts.strategy_weights, weights), None),
                (drawing(charts.drawdowns, levels.pct_change().dropna()), 3.0),
            ],
        ),  # fmt: skip
        Section("last", "Last", charts=[(drawing(charts.cumulative, levels.iloc[:300]), 5.0)]),
    ]


@pytest.fixture(scope="module")
def alone(sections) -> list[list[bytes]]:
    return chart_pool.section_pngs(sections)[1]


def _recorded(monkeypatch, pool) -> tuple[list, list]:
    """``(futures, pending)`` of every call handed to ``pool`` from now on: its future, and how
    many of the earlier ones were still pending when it was handed over."""
    futures, pending = [], []
    real_submit = pool.submit

    def record(*a):
        pending.append(sum(not f.done() for f in futures))
        futures.append(real_submit(*a))
        return futures[-1]

    monkeypatch.setattr(pool, "submit", record)
    return futures, pending


def test_drawn_with_a_worker_equals_drawn_alone(sections, alone):
    calls = []
    with chart_pool.chart_workers() as pool:
        got = chart_pool.section_pngs(iter(sections), pool, meanwhile=lambda: calls.append(1))[1]
    assert got == alone
    assert [len(p) for p in got] == [1, 0, 2, 1]
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for ps in got for p in ps)
    assert calls == [1]


def test_the_worker_draws_while_this_process_is_busy(sections, alone, monkeypatch):
    """With time to spare (``meanwhile`` waits), the worker draws every chart: none here."""
    if available_cores() < 2:
        pytest.skip("one core: no worker")

    def not_here(*args):
        raise AssertionError("drawn in this process")

    with chart_pool.chart_workers() as pool:
        monkeypatch.setattr(chart_pool, "chart_png", not_here)
        futures, _ = _recorded(monkeypatch, pool)

        n_charts = sum(len(s.charts) for s in sections)

        def wait() -> None:  # until the worker has drawn every chart (handed one at a time)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not (
                len(futures) == n_charts and all(f.done() for f in futures)
            ):
                time.sleep(0.05)

        got = chart_pool.section_pngs(sections, pool, meanwhile=wait)[1]
    assert got == alone


def test_a_dead_pool_falls_back_to_drawing_here(sections, alone):
    calls = []
    with chart_pool.chart_workers() as pool:
        if pool is None:
            pytest.skip("one core: no worker")
        pool.shutdown()
        got = chart_pool.section_pngs(iter(sections), pool, meanwhile=lambda: calls.append(1))[1]
    assert got == alone
    assert calls == [1]


def test_without_a_pool_meanwhile_runs_first(sections):
    order = []
    one = [Section("a", "A", charts=[(drawing(_record, order), 1.0)])]
    chart_pool.section_pngs(one, None, meanwhile=lambda: order.append("meanwhile"))
    assert order == ["meanwhile", "drawn"]


def _record(fig, order: list) -> None:
    order.append("drawn")
    fig.subplots()


def test_a_sections_charts_are_drawn_while_the_next_sections_are_built(tmp_path):
    """The worker draws the first section's chart before the generator yields the second one
    (a chart that marks a file when drawn; the generator waits for the mark)."""
    if available_cores() < 2:
        pytest.skip("one core: no worker")
    mark = tmp_path / "drawn"

    def built_slowly():
        yield Section("first", "First", charts=[(drawing(_touch, str(mark)), 1.0)])
        deadline = time.monotonic() + 120
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield Section("second", "Second", charts=[(drawing(_record, []), 1.0)])

    with chart_pool.chart_workers() as pool:
        built, pngs = chart_pool.section_pngs(built_slowly(), pool)
    assert mark.exists()
    assert [s.anchor for s in built] == ["first", "second"] and [len(p) for p in pngs] == [1, 1]


def _touch(fig, path: str) -> None:
    Path(path).touch()
    fig.subplots()


def test_the_worker_is_handed_one_chart_at_a_time(sections, alone, monkeypatch):
    """Never a second chart queued behind the one the worker draws: a queued call passes to the
    process ahead of time and can no longer be taken back by this process at the end."""
    if available_cores() < 2:
        pytest.skip("one core: no worker")
    with chart_pool.chart_workers() as pool:
        _, pending_at_submit = _recorded(monkeypatch, pool)
        got = chart_pool.section_pngs(iter(sections), pool)[1]
    assert got == alone
    assert pending_at_submit and set(pending_at_submit) == {0}


def test_an_error_here_stops_handing_charts_to_the_worker(sections, monkeypatch):
    if available_cores() < 2:
        pytest.skip("one core: no worker")
    many = [Section(f"s{k}", "S", charts=list(sections[0].charts) * 3) for k in range(4)]

    def broken(*args):
        raise ZeroDivisionError("drawn here")

    with chart_pool.chart_workers() as pool:
        monkeypatch.setattr(chart_pool, "chart_png", broken)
        handed, _ = _recorded(monkeypatch, pool)
        with pytest.raises(ZeroDivisionError):
            chart_pool.section_pngs(iter(many), pool)
        feeders = [t for t in threading.enumerate() if t.name == "chart-feeder"]
        for t in feeders:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in feeders)
    assert len(handed) < 12  # the worker got some, not the whole report
