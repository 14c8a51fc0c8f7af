"""Rendering of the benchmark comparison report: one self-contained HTML document, or a PDF of
one landscape A4 page per section.

:func:`render_html`: PNG charts (:func:`~backtest.report.charts.chart_png`, 2× resolution) inlined
as base64, inline CSS, no script; every text passes through ``html.escape``. :func:`render_pdf`:
one page per :class:`~backtest.report.charts.Section` (:func:`page_figure`): notes, charts, then
the tables inside the page margins (:data:`MARGIN_IN`), their font the largest that fits (up to
:data:`MAX_TABLE_FONT` so that a page of tables is not half empty), headers wrapped at word and
underscore boundaries only, a gap above each caption.
"""

from __future__ import annotations

import base64
import html
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.report.chart_pool import section_pngs
from backtest.report.charts import (
    CHART_SIZE_IN,
    HTML_DPI,
    PAGE_SIZE_IN,
    PAGE_STYLE,
    Section,
    label,
    pyplot,
)

#: Row height and average character width of a PDF table, in points per point of font size.
ROW_HEIGHT_EM, CHAR_WIDTH_EM = 1.75, 0.62
#: Headers wider than this (characters) and than their column's cells wrap onto more lines.
HEADER_WRAP_CHARS = 12
#: Left and right page margins of the PDF, space above a table's caption, bottom margin, inches.
MARGIN_IN, CAPTION_GAP_IN, BOTTOM_IN = 0.45, 0.22, 0.3
#: Table font sizes tried, points: the largest that fits is used (pages of tables only may use
#: up to :data:`MAX_TABLE_FONT`, pages with charts up to :data:`MAX_TABLE_FONT_WITH_CHARTS`).
MAX_TABLE_FONT, MAX_TABLE_FONT_WITH_CHARTS, MIN_TABLE_FONT = 12.0, 8.0, 5.5


def wrap_header(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken only after a blank, an
    underscore, a slash or a hyphen (never inside a word: ``equity_market_neutral`` becomes
    ``equity_market_`` / ``neutral``); a word longer than ``width`` keeps its own line."""
    tokens = [t for t in re.findall(r"[^ _/-]*[ _/-]?", text) if t]
    lines = [""]
    for tok in tokens:
        if lines[-1] and len((lines[-1] + tok).rstrip()) > width:
            lines.append("")
        lines[-1] += tok
    return "\n".join(line.rstrip() for line in lines)


@dataclass(frozen=True)
class _TableText:
    header: list[str]  # possibly multi-line
    cells: list[list[str]]
    chars: list[int]  # width of each column in characters, padding included
    header_lines: int

    @classmethod
    def of(cls, table: pd.DataFrame) -> _TableText:
        cells = [[label(i)] + [label(v) for v in row]
                 for i, row in zip(table.index, table.to_numpy(), strict=True)]  # fmt: skip
        header, chars = [], []
        for j, h in enumerate([label(table.index.name or "")] + [label(c) for c in table.columns]):
            body = max((len(r[j]) for r in cells), default=0)
            text = wrap_header(h, max(HEADER_WRAP_CHARS, body)) if h else ""
            header.append(text)
            # bold header characters are ~10% wider than the body's
            chars.append(max([body] + [int(1.1 * len(x)) + 1 for x in text.split("\n")]) + 2)
        return cls(header, cells, chars, max(h.count("\n") + 1 for h in header))

    def height_in(self, font: float) -> float:
        """Gap, caption, header and body rows, inches."""
        rows = len(self.cells) + self.header_lines
        return CAPTION_GAP_IN + (font + 2.0) * 2.0 / 72.0 + rows * font * ROW_HEIGHT_EM / 72.0

    def width_in(self, font: float) -> float:
        return sum(self.chars) * font * CHAR_WIDTH_EM / 72.0


def draw_table(fig, table: pd.DataFrame, caption: str, font_size: float, width_in: float) -> None:
    """A table of strings (the index as the first column) drawn into ``fig`` (``width_in`` wide),
    as wide as its text needs, under a gap and its caption; long headers wrap
    (:func:`wrap_header`). Its axes are placed by hand, outside the layout engine."""
    text = _TableText.of(table)
    total = text.height_in(font_size)
    gap_frac = CAPTION_GAP_IN / total
    caption_frac = (font_size + 2.0) * 2.0 / 72.0 / total
    fig.text(0.0, 1.0 - gap_frac, label(caption), va="top", ha="left",
             fontsize=font_size + 1.5, weight="bold")  # fmt: skip
    frame = (0.0, 0.0, min(1.0, text.width_in(font_size) / width_in), 1 - gap_frac - caption_frac)
    ax = fig.add_axes(frame)
    ax.axis("off")
    widths = [n / sum(text.chars) for n in text.chars]
    t = ax.table(cellText=text.cells or [[""] * len(text.header)], colLabels=text.header,
                 cellLoc="right", colWidths=widths, bbox=(0.0, 0.0, 1.0, 1.0))  # fmt: skip
    t.auto_set_font_size(False)
    t.set_fontsize(font_size)
    for (r, c), cell in t.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_height(cell.get_height() * text.header_lines)
            cell.set_text_props(weight="bold", ha="center")
            cell.set_facecolor("#e8e8e8")
        elif c == 0:
            cell.get_text().set_horizontalalignment("left")
            cell.PAD = 0.04


# ------------------------------------------------------------------------------ documents
CSS = """
body { font-family: Helvetica, Arial, sans-serif; font-size: 15px; color: #222;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 26px; margin-bottom: 0.2em; }
h2 { font-size: 20px; margin-top: 2em; border-bottom: 2px solid #444; padding-bottom: 0.2em; }
nav ol { columns: 2; } p.note { color: #444; } figure { margin: 1em 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
thead th { background: #eee; } tbody th { text-align: left; font-weight: normal; }
img { max-width: 100%; height: auto; }
"""


def html_table(caption: str, table: pd.DataFrame) -> str:
    """A DataFrame of strings as an HTML table; every text escaped."""
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in [table.index.name or "", *table.columns])
    body = "".join(
        f'<tr><th scope="row">{e(str(i))}</th>' + "".join(f"<td>{e(str(v))}</td>" for v in row)
        + "</tr>" for i, row in zip(table.index, table.to_numpy(), strict=True)
    )  # fmt: skip
    return (f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")  # fmt: skip


def render_html(
    title: str, subtitle: str, sections: list[Section], pngs: list[list[bytes]] | None = None
) -> str:
    """The whole report as one self-contained HTML document; ``pngs`` the charts already drawn
    (:func:`~backtest.report.chart_pool.section_pngs`), else they are drawn here."""
    e = html.escape
    pngs = section_pngs(sections)[1] if pngs is None else pngs
    toc = "".join(f'<li><a href="#{e(s.anchor)}">{e(s.title)}</a></li>' for s in sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">',
             f"<title>{e(title)}</title>", f"<style>{CSS}</style></head>", "<body>",
             f"<header><h1>{e(title)}</h1><p>{e(subtitle)}</p></header>",
             f"<nav><ol>{toc}</ol></nav>"]  # fmt: skip
    for s, section_png in zip(sections, pngs, strict=True):
        parts.append(f'<section id="{e(s.anchor)}"><h2>{e(s.title)}</h2>')
        parts += [f'<p class="note">{e(n)}</p>' for n in s.notes if n]
        for (_, height), png in zip(s.charts, section_png, strict=True):
            data = base64.b64encode(png).decode("ascii")
            w, h = CHART_SIZE_IN[0] * HTML_DPI, (height or CHART_SIZE_IN[1]) * HTML_DPI
            parts.append(f'<figure><img src="data:image/png;base64,{data}" width="{w:.0f}" '
                         f'height="{h:.0f}" alt="{e(s.title)}: chart"></figure>')  # fmt: skip
        parts += [html_table(caption, table) for caption, table in s.tables]
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _columns(tables: list, two: bool) -> list[list]:
    """Tables in one column, or two: the longest on the right, the others on the left."""
    if not two or len(tables) < 2:
        return [tables]
    longest = max(range(len(tables)), key=lambda k: len(tables[k][1]))
    return [[t for k, t in enumerate(tables) if k != longest], [tables[longest]]]


def _fit_tables(tables: list, height_in: float, width_in: float, max_font: float):
    """(columns, font, height needed): in one column or two, whichever allows the larger font
    (``max_font`` down to :data:`MIN_TABLE_FONT`; one column on a tie), so that a page of tables
    is filled; the smallest font in one column when nothing fits."""
    texts = {id(t): _TableText.of(t) for _, t in tables}
    best = None
    for two in (False, True):
        columns = _columns(tables, two)
        col_width = width_in / len(columns) - (0.2 if two else 0.0)
        for font in np.arange(max_font, MIN_TABLE_FONT - 0.01, -0.25):
            need = max(sum(texts[id(t)].height_in(font) for _, t in col) for col in columns)
            wide = max(texts[id(t)].width_in(font) for _, t in tables)
            if need <= height_in and wide <= col_width:
                if best is None or font > best[1]:
                    best = (columns, float(font), need)
                break
    if best is None:
        need = sum(texts[id(t)].height_in(MIN_TABLE_FONT) for _, t in tables)
        return [tables], MIN_TABLE_FONT, need
    return best


def page_figure(title: str, notes: list[str], charts: list, tables: list):
    """One section as one PDF page (a pyplot figure; the caller closes it): notes, charts (each
    at least 2.6 in high), then tables inside the margins, whose font is the largest that fits
    (:func:`_fit_tables`), in one column or two."""
    plt = pyplot()
    width, height = PAGE_SIZE_IN
    usable = width - 2.0 * MARGIN_IN
    wrapped = "\n".join(textwrap.fill(label(n), 160) for n in notes)
    notes_in = 0.15 * (wrapped.count("\n") + 1) + 0.1 if notes else 0.0
    free = height - 0.65 - notes_in - BOTTOM_IN
    max_font = MAX_TABLE_FONT_WITH_CHARTS if charts else MAX_TABLE_FONT
    columns, font, tables_in = (
        _fit_tables(tables, free - 2.6 * len(charts), usable, max_font) if tables else ([], 8, 0)
    )
    charts_in = max(2.6, (free - tables_in) / max(1, len(charts)))
    with plt.rc_context(PAGE_STYLE):
        page = plt.figure(figsize=PAGE_SIZE_IN, layout="constrained")
        page.suptitle(label(title), fontsize=15, weight="bold", x=MARGIN_IN / width, ha="left")
        parts = ([notes_in] if notes else []) + [charts_in] * len(charts)
        parts += [tables_in] if tables else []
        parts += [free - sum(parts) + BOTTOM_IN]  # the bottom margin, and any space left
        subs = list(np.atleast_1d(page.subfigures(len(parts), 1, height_ratios=parts)))
        if notes:
            subs.pop(0).text(MARGIN_IN / width, 0.98, wrapped, va="top", ha="left", fontsize=8)
        for draw in charts:
            draw(subs.pop(0))
        if tables:
            n = len(columns)
            ratios = [MARGIN_IN] + [usable / n] * n + [MARGIN_IN]
            cols = np.atleast_1d(subs.pop(0).subfigures(1, n + 2, width_ratios=ratios))[1:-1]
            for sub, col in zip(cols, columns, strict=True):
                hs = [_TableText.of(t).height_in(font) for _, t in col]
                hs.append(max(0.01, tables_in - sum(hs)))
                cells = np.atleast_1d(sub.subfigures(len(hs), 1, height_ratios=hs))
                for cell, (caption, t) in zip(cells, col, strict=False):
                    draw_table(cell, t, caption, font, usable / n - (0.2 if n > 1 else 0.0))
    return page


def render_pdf(path: Path, title: str, subtitle: str, sections: list[Section]) -> None:
    """The report as a PDF: one landscape A4 page per section (``len(sections)`` pages)."""
    from matplotlib.backends.backend_pdf import PdfPages

    plt = pyplot()
    with PdfPages(path, metadata={"Title": title, "Creator": "multistrat"}) as pdf:
        for k, s in enumerate(sections):
            notes = ([subtitle] if k == 0 else []) + [n for n in s.notes if n]
            heading = f"{title}: {s.title}" if k == 0 else s.title
            page = page_figure(heading, notes, [draw for draw, _ in s.charts], s.tables)
            pdf.savefig(page)
            plt.close(page)
