"""A chart's PNG has the pixels matplotlib's own ``savefig`` gives for the same figure."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from backtest.report import charts, risk_charts
from backtest.report.charts import CHART_SIZE_IN, HTML_DPI, PNG_SCALE, STYLE, chart_png, drawing


def _by_savefig(draw, height_in=None) -> bytes:
    """The reference: a pyplot figure with constrained layout, saved by ``savefig`` (which lays
    it out in a draw of its own), x given as the DatetimeIndex itself."""
    plt = charts.pyplot()
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(CHART_SIZE_IN[0], height_in or CHART_SIZE_IN[1]),
                         dpi=PNG_SCALE * HTML_DPI, layout="constrained")  # fmt: skip
        try:
            draw(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        finally:
            plt.close(fig)
    return buf.getvalue()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _plain_index(fig, draw, frame: pd.DataFrame, *args) -> None:
    """``draw`` with :func:`charts.dates` turned off: matplotlib gets the DatetimeIndex."""
    original = charts.dates
    charts.dates = risk_charts.dates = lambda index: index
    try:
        draw(fig, frame, *args)
    finally:
        charts.dates = risk_charts.dates = original


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2016-01-01", periods=900)
    levels = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (900, 3)), axis=0)),
                          index=days, columns=["Fund", "Equity index (TR)", "b"])  # fmt: skip
    weights = pd.DataFrame(rng.uniform(0, 0.5, (900, 2)), index=days, columns=["carry", "trend"])
    return levels, weights


@pytest.mark.parametrize("which", ["cumulative", "weights", "drawdowns"])
def test_chart_png_has_the_pixels_of_savefig(data, which):
    levels, weights = data
    draw, frame = {
        "cumulative": (charts.cumulative, levels),
        "weights": (charts.strategy_weights, weights),
        "drawdowns": (charts.drawdowns, levels.pct_change().dropna()),
    }[which]
    ours = chart_png(drawing(draw, frame), 3.5)
    reference = _by_savefig(drawing(_plain_index, draw, frame), 3.5)
    assert ours != reference  # not the same encoding ...
    a, b = _pixels(ours), _pixels(reference)
    assert a.shape == b.shape == (700, 2000, 4)
    np.testing.assert_array_equal(a, b)  # ... but the same image
    image = Image.open(io.BytesIO(ours))
    assert image.mode == "RGB" and image.info["dpi"] == pytest.approx((200, 200), abs=1e-3)
    assert not {"Software", "Title"} & set(image.info)


def test_a_transparent_image_keeps_its_alpha():
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[1, 2, 3] = 17
    rgba[..., 3][rgba[..., 3] == 0] = 255
    rgba[0, 0, 3] = 0
    image = Image.open(io.BytesIO(charts.png_bytes(rgba, 100.0)))
    assert image.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(image), rgba)
    opaque = rgba.copy()
    opaque[..., 3] = 255
    image = Image.open(io.BytesIO(charts.png_bytes(opaque, 100.0)))
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image.convert("RGBA")), opaque)


def test_dates_gives_the_same_instants_and_leaves_other_indexes_alone():
    days = pd.bdate_range("2020-01-01", periods=5)
    got = charts.dates(days)
    assert isinstance(got, np.ndarray) and got.dtype.kind == "M"
    assert (pd.DatetimeIndex(got) == days).all()
    aware = days.tz_localize("UTC")
    assert charts.dates(aware) is aware
    numbers = pd.Index([1, 2, 3])
    assert charts.dates(numbers) is numbers
