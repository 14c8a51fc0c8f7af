"""Presentation of the benchmark comparison report: charts, tables, the HTML page, PDF pages.

Every chart function draws into a matplotlib ``Figure`` *or* ``SubFigure`` it is given
(``fig.subplots(...)``), so one function makes both a stand-alone PNG for the HTML report and a
panel of a PDF page. Inputs are plain pandas objects with decimal returns; axes say their units
(percent, basis points, fractions of net assets). Figures use constrained layout on the Agg
backend.

A report is a list of :class:`Section`: heading, notes, charts and tables (DataFrames of
strings). :func:`render_html` turns it into one self-contained HTML document (PNG charts inlined
as base64, inline CSS, no script; every text passes through ``html.escape``);
:func:`render_pdf` into a PDF with exactly one landscape A4 page per section.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.analytics import metrics as M

#: Landscape A4 in inches.
PAGE_SIZE_IN = (11.69, 8.27)
#: Size of a stand-alone chart of the HTML report, inches (rendered at :data:`HTML_DPI`).
CHART_SIZE_IN = (10.0, 4.6)
HTML_DPI = 100
FUND_COLOR = "black"
STYLE = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.grid": True, "grid.alpha": 0.3,
}  # fmt: skip
PAGE_STYLE = {
    **STYLE, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 7,
    "xtick.labelsize": 8, "ytick.labelsize": 8,
}  # fmt: skip


@dataclass
class Section:
    """One section of the report.

    ``charts``: ``(draw, height_in)`` pairs, ``draw(fig)`` drawing into a figure (``height_in``
    None: :data:`CHART_SIZE_IN`); ``tables``: ``(caption, DataFrame of strings)``.
    """

    anchor: str
    title: str
    notes: list[str] = field(default_factory=list)
    charts: list = field(default_factory=list)
    tables: list = field(default_factory=list)


# ---------------------------------------------------------------------------------- formats
def fmt_pct(x, digits: int = 2) -> str:
    """Decimal → ``"6.18%"``; an en dash for a missing value."""
    return "–" if x is None or not np.isfinite(x) else f"{100.0 * x:.{digits}f}%"


def fmt_num(x, digits: int = 2) -> str:
    """Number with thousands separators → ``"1,234.56"``; an en dash for a missing value."""
    return "–" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}"


def formatted(table: pd.DataFrame, fmt=fmt_pct, rows: dict | None = None) -> pd.DataFrame:
    """A table of strings: numbers through ``fmt``, or ``rows[label]`` for the rows it names."""
    rows = rows or {}
    out = pd.DataFrame(index=table.index, columns=table.columns, dtype=object)
    for i in table.index:
        f = rows.get(i, fmt)
        out.loc[i] = [f(float(v)) if isinstance(v, int | float | np.number) else str(v)
                      for v in table.loc[i]]  # fmt: skip
    return out


def pyplot():
    """matplotlib.pyplot on the Agg backend (no screen needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def label(name: object) -> str:
    """A name made safe for matplotlib text (``$`` would start mathtext)."""
    return str(name).replace("$", r"\$")


# ----------------------------------------------------------------------------------- charts
def _style(k: int) -> dict:
    return {"color": FUND_COLOR, "linewidth": 2.0, "zorder": 3} if k == 0 else {"alpha": 0.85}


def _axes(ax, ylabel: str, title: str, xlabel: str = "Date") -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def cumulative(fig, levels: pd.DataFrame, title: str = "Cumulative total return") -> None:
    """Growth of $100 from the first date; the first column is the fund (black)."""
    ax = fig.subplots()
    for k, name in enumerate(levels.columns):
        s = levels[name].dropna()
        if len(s):
            ax.plot(s.index, 100.0 * s / s.iloc[0], label=label(name), **_style(k))
    _axes(ax, "Growth of $100 (USD)", title)
    ax.legend(loc="upper left")


def drawdowns(fig, returns: pd.DataFrame) -> None:
    """Drawdown from the running peak (%); the first column is the fund."""
    ax = fig.subplots()
    dd = M.drawdown_series(returns)
    for k, name in enumerate(dd.columns):
        ax.plot(dd.index, 100.0 * dd[name], label=label(name), **_style(k))
    _axes(ax, "Drawdown (%)", "Drawdown from the previous peak")
    ax.legend(loc="lower left")


def _rolling(fig, fund: pd.Series, others: dict, windows, stat, ylabel: str, title: str):
    axes = np.atleast_1d(fig.subplots(len(others), 1, sharex=True))
    for ax, (name, bench) in zip(axes, others.items(), strict=True):
        for w, width in zip(windows, (1.0, 2.0), strict=False):
            values = stat(fund, bench, w)
            ax.plot(values.index, values, linewidth=width, label=f"{w}-day window")
        ax.axhline(0.0, color="grey", linewidth=0.8)
        _axes(ax, ylabel, f"{title} to {label(name)}", xlabel="")
        ax.legend(loc="upper left")
    axes[-1].set_xlabel("Date")


def rolling_correlation(fig, fund: pd.Series, others: dict, windows=(63, 252)) -> None:
    """Rolling correlation of daily returns to each of ``others`` (name → returns), a panel each."""
    _rolling(fig, fund, others, windows, M.rolling_correlation, "Correlation",
             "Rolling correlation of daily returns")  # fmt: skip


def rolling_beta(fig, fund: pd.Series, others: dict, windows=(63, 252)) -> None:
    """Rolling beta of daily returns to each of ``others`` (name → returns), a panel each."""
    _rolling(fig, fund, others, windows, M.rolling_beta, "Beta", "Rolling beta")


def monthly_heatmap(fig, table: pd.DataFrame) -> None:
    """Calendar of returns: ``table`` is years × 13 (Jan..Dec, Year), decimal; cells in %."""
    ax = fig.subplots()
    values = 100.0 * table.to_numpy(dtype="float64")
    finite = np.abs(values[np.isfinite(values)])
    vmax = max(float(np.percentile(finite, 95)) if finite.size else 1.0, 0.5)
    image = ax.imshow(values, cmap="RdYlGn", vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    size = 8 if table.shape[0] <= 12 else 7
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=size)
    ax.grid(False)
    _axes(ax, "Year", "Fund monthly returns (%)", xlabel="Month")
    fig.colorbar(image, ax=ax, label="Return (%)", shrink=0.8)


def strategy_weights(fig, weights: pd.DataFrame, title: str = "Strategy weights in force") -> None:
    """Allocator weights (fraction of net assets) stacked, with their total."""
    ax = fig.subplots()
    pos = weights.clip(lower=0.0)
    ax.stackplot(pos.index, pos.T.to_numpy(), labels=[label(c) for c in pos.columns], alpha=0.8)
    ax.plot(weights.index, weights.sum(axis=1), color=FUND_COLOR, linewidth=1.2, label="Total")
    _axes(ax, "Weight (fraction of net assets)", title)
    ax.legend(loc="upper left", ncols=2)


def attribution(fig, cumulative_contrib: pd.DataFrame, what: str) -> None:
    """Cumulative linked contributions (%) of each item, and their total."""
    ax = fig.subplots()
    for name in cumulative_contrib.columns:
        ax.plot(cumulative_contrib.index, 100.0 * cumulative_contrib[name], label=label(name))
    total = 100.0 * cumulative_contrib.sum(axis=1)
    ax.plot(total.index, total, color=FUND_COLOR, linewidth=2.0, label="Total")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    _axes(ax, "Cumulative contribution (%)", f"Contribution to the fund's return by {what}")
    ax.legend(loc="upper left", ncols=2)


def cost_drag(fig, annual_bp: pd.DataFrame) -> None:
    """Stacked yearly bars (bp a year): rows are the years, columns the drag items."""
    ax = fig.subplots()
    x = np.arange(len(annual_bp))
    bottom = np.zeros(len(annual_bp))
    for name in annual_bp.columns:
        v = annual_bp[name].to_numpy(dtype="float64")
        ax.bar(x, v, bottom=bottom, label=label(name))
        bottom = bottom + v
    ax.set_xticks(x, [str(i) for i in annual_bp.index], rotation=45 if len(x) > 10 else 0)
    _axes(ax, "Drag (bp of net assets a year)", "Trading costs and fund expenses", "Year")
    ax.legend(loc="upper left")


def subsidiary_share(fig, pct: pd.Series, cap: float, quarter_ends: pd.DatetimeIndex) -> None:
    """The Subsidiary's share of total assets (%) with the cap and fiscal quarter-ends."""
    ax = fig.subplots()
    ax.plot(pct.index, 100.0 * pct, linewidth=1.0, label="Subsidiary / total assets")
    q = pct.reindex(quarter_ends).dropna()
    ax.scatter(q.index, 100.0 * q, s=12, color="tab:red", zorder=3,
               label="fiscal quarter-ends (cap tested)")  # fmt: skip
    ax.axhline(100.0 * cap, color="tab:red", linestyle="--", label=f"{cap:.0%} cap")
    _axes(ax, "% of the fund's total assets", "Subsidiary share of total assets")
    ax.legend(loc="upper left")


def premium_discount(fig, series: pd.Series, edges_bp=(25.0, 50.0)) -> None:
    """Daily premium (+, green) / discount (−, red) of the closing midpoint to NAV, bp."""
    ax = fig.subplots()
    bp = 1e4 * series.dropna()
    ax.bar(bp.index, bp.to_numpy(), width=1.0,
           color=np.where(bp.to_numpy() >= 0, "tab:green", "tab:red"))  # fmt: skip
    for e in edges_bp:
        for sign in (1, -1):
            ax.axhline(sign * e, color="grey", linestyle=":", linewidth=0.8)
    _axes(ax, "Premium / discount (bp of NAV)", "Closing bid/ask midpoint vs NAV per share")


def parameter_heatmap(fig, grid: pd.DataFrame, title: str, unit: str = "Sharpe ratio") -> None:
    """A metric over two parameters: ``grid`` is values of the first (rows) × the second
    (columns), e.g. the mean Sharpe ratio across markets; each cell labelled."""
    ax = fig.subplots()
    values = grid.to_numpy(dtype="float64")
    finite = np.abs(values[np.isfinite(values)])
    vmax = max(float(finite.max()) if finite.size else 1.0, 1e-9)
    image = ax.imshow(values, cmap="RdYlGn", vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [label(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [label(i) for i in grid.index])
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9)
    ax.grid(False)
    _axes(ax, label(grid.index.name or ""), title, xlabel=label(grid.columns.name or ""))
    fig.colorbar(image, ax=ax, label=unit, shrink=0.8)


def distribution(fig, values: pd.Series, title: str, xlabel: str = "Sharpe ratio") -> None:
    """Histogram of ``values`` (e.g. one Sharpe ratio per point × market) with its median."""
    ax = fig.subplots()
    v = values.dropna().to_numpy(dtype="float64")
    ax.hist(v, bins=max(5, min(40, len(v) // 2 or 1)), color="tab:blue", alpha=0.8)
    if len(v):
        ax.axvline(float(np.median(v)), color=FUND_COLOR, linestyle="--",
                   label=f"median {np.median(v):.2f}")  # fmt: skip
        ax.legend(loc="upper left")
    _axes(ax, "Count", title, xlabel=xlabel)


#: Row height and average character width of a PDF table, in points per point of font size.
ROW_HEIGHT_EM, CHAR_WIDTH_EM = 1.75, 0.62
#: Headers wider than this (characters) and than their column's cells wrap onto more lines.
HEADER_WRAP_CHARS = 12


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
            text = textwrap.fill(h, max(HEADER_WRAP_CHARS, body)) if h else ""
            header.append(text)
            chars.append(max([body] + [len(x) for x in text.split("\n")]) + 2)
        return cls(header, cells, chars, max(h.count("\n") + 1 for h in header))

    def height_in(self, font: float) -> float:
        """Caption plus header and body rows, inches."""
        rows = len(self.cells) + self.header_lines
        return (font + 2.0) * 2.0 / 72.0 + rows * font * ROW_HEIGHT_EM / 72.0

    def width_in(self, font: float) -> float:
        return sum(self.chars) * font * CHAR_WIDTH_EM / 72.0


def draw_table(fig, table: pd.DataFrame, caption: str, font_size: float, width_in: float) -> None:
    """A table of strings (the index as the first column) drawn into ``fig`` (``width_in`` wide),
    as wide as its text needs; long headers wrap. Its axes are placed by hand, outside the
    layout engine."""
    text = _TableText.of(table)
    caption_frac = (font_size + 2.0) * 2.0 / 72.0 / text.height_in(font_size)
    fig.text(0.0, 1.0, label(caption), va="top", ha="left", fontsize=font_size + 1.5,
             weight="bold")  # fmt: skip
    ax = fig.add_axes((0.0, 0.0, min(1.0, text.width_in(font_size) / width_in), 1 - caption_frac))
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
            cell.PAD = 0.02


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


def figure(draw, height_in: float | None = None):
    """A stand-alone matplotlib ``Figure`` drawn by ``draw(fig)``, for notebooks.

    It is not registered with pyplot, so a notebook shows it once, as the cell's value.
    """
    from matplotlib.figure import Figure

    with pyplot().rc_context(STYLE):
        fig = Figure(figsize=(CHART_SIZE_IN[0], height_in or CHART_SIZE_IN[1]), dpi=HTML_DPI,
                     layout="constrained")  # fmt: skip
        draw(fig)
    return fig


def chart_png(draw, height_in: float | None = None) -> bytes:
    """PNG bytes of a stand-alone chart drawn by ``draw(fig)``."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(CHART_SIZE_IN[0], height_in or CHART_SIZE_IN[1]),
                         dpi=HTML_DPI, layout="constrained")  # fmt: skip
        try:
            draw(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", metadata={"Software": None})
        finally:
            plt.close(fig)
    return buf.getvalue()


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


def render_html(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole report as one self-contained HTML document."""
    e = html.escape
    toc = "".join(f'<li><a href="#{e(s.anchor)}">{e(s.title)}</a></li>' for s in sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">',
             f"<title>{e(title)}</title>", f"<style>{CSS}</style></head>", "<body>",
             f"<header><h1>{e(title)}</h1><p>{e(subtitle)}</p></header>",
             f"<nav><ol>{toc}</ol></nav>"]  # fmt: skip
    for s in sections:
        parts.append(f'<section id="{e(s.anchor)}"><h2>{e(s.title)}</h2>')
        parts += [f'<p class="note">{e(n)}</p>' for n in s.notes if n]
        for draw, height in s.charts:
            data = base64.b64encode(chart_png(draw, height)).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" '
                         f'alt="{e(s.title)}: chart"></figure>')  # fmt: skip
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


def _fit_tables(tables: list, height_in: float, width_in: float):
    """(columns, font, height needed): the largest font (8 to 5.5 pt) at which the tables fit
    in one column, else in two; the smallest font in two columns when nothing fits."""
    texts = {id(t): _TableText.of(t) for _, t in tables}
    for two in (False, True):
        columns = _columns(tables, two)
        col_width = width_in / len(columns)
        for font in np.arange(8.0, 5.49, -0.25):
            need = max(sum(texts[id(t)].height_in(font) + 0.1 for _, t in col) for col in columns)
            wide = max(texts[id(t)].width_in(font) for _, t in tables)
            if need <= height_in and wide <= col_width:
                return columns, float(font), need
    return columns, 5.5, need


def _page(pdf, title: str, notes: list[str], charts: list, tables: list) -> None:
    """One section on one page: notes, charts (each at least 2.6 in high), then tables, whose
    font shrinks and which go to two columns as needed to fit (:func:`_fit_tables`)."""
    plt = pyplot()
    width, height = PAGE_SIZE_IN
    wrapped = "\n".join(textwrap.fill(label(n), 165) for n in notes)
    notes_in = 0.15 * (wrapped.count("\n") + 1) + 0.1 if notes else 0.0
    free = height - 0.65 - notes_in
    columns, font, tables_in = (_fit_tables(tables, free - 2.6 * len(charts), 0.97 * width)
                                if tables else ([], 8.0, 0.0))  # fmt: skip
    charts_in = max(2.6, (free - tables_in) / max(1, len(charts)))
    with plt.rc_context(PAGE_STYLE):
        page = plt.figure(figsize=PAGE_SIZE_IN, layout="constrained")
        page.suptitle(label(title), fontsize=15, weight="bold", x=0.02, ha="left")
        parts = ([notes_in] if notes else []) + [charts_in] * len(charts)
        parts += [tables_in] if tables else []
        parts += [free - sum(parts)] if sum(parts) < free - 0.05 else []  # blank at the bottom
        subs = list(np.atleast_1d(page.subfigures(len(parts), 1, height_ratios=parts)))
        if notes:
            subs.pop(0).text(0.005, 0.98, wrapped, va="top", ha="left", fontsize=8)
        for draw in charts:
            draw(subs.pop(0))
        if tables:
            cols = np.atleast_1d(subs.pop(0).subfigures(1, len(columns)))
            for sub, col in zip(cols, columns, strict=True):
                hs = [_TableText.of(t).height_in(font) + 0.1 for _, t in col]
                hs.append(max(0.01, tables_in - sum(hs)))
                cells = np.atleast_1d(sub.subfigures(len(hs), 1, height_ratios=hs))
                for cell, (caption, t) in zip(cells, col, strict=False):
                    draw_table(cell, t, caption, font, 0.97 * width / len(columns))
        pdf.savefig(page)
        plt.close(page)


def render_pdf(path: Path, title: str, subtitle: str, sections: list[Section]) -> None:
    """The report as a PDF: one landscape A4 page per section (``len(sections)`` pages)."""
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path, metadata={"Title": title, "Creator": "multistrat"}) as pdf:
        for k, s in enumerate(sections):
            notes = ([subtitle] if k == 0 else []) + [n for n in s.notes if n]
            heading = f"{title}: {s.title}" if k == 0 else s.title
            _page(pdf, heading, notes, [draw for draw, _ in s.charts], s.tables)
