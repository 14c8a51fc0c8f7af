"""The benchmark comparison report: a self-contained, well-formed HTML file whose numbers are
backtest.analytics.metrics on nav.csv, escaped names, valid embedded PNGs, a PDF of one page per
section, the run-folder extras, and the ``report`` command."""

import base64
import dataclasses
import io
import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import backtest.report as R
from backtest.analytics import metrics as M
from backtest.cli import main
from backtest.fund.run import fund_metrics, run_fund
from backtest.fund.spec import FundSpec, MarketSpec
from backtest.report.outputs import write_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input"}
EVIL = "<script>alert('x')</script>"


class StrictHTML(HTMLParser):
    """Collects tags, checks nesting, and reads every table into lists of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.h2, self.imgs, self.tables = [], [], [], [], []
        self._text, self._row = None, None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        if tag == "table":
            self.tables.append([])
        if tag == "tr":
            self._row = []
        if tag in ("h2", "th", "td", "caption"):
            self._text = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag in ("h2", "th", "td", "caption"):
            text = "".join(self._text)
            if tag == "h2":
                self.h2.append(text)
            elif tag == "caption":
                self.tables[-1].append(["caption", text])
            else:
                self._row.append(text)
            self._text = None
        if tag == "tr":
            self.tables[-1].append(self._row)

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def parse(text: str) -> StrictHTML:
    p = StrictHTML()
    p.feed(text)
    p.close()
    assert not p.problems and p.stack == [], (p.problems, p.stack)
    return p


def table(parsed: StrictHTML, caption: str) -> pd.DataFrame:
    rows = next(t for t in parsed.tables if t and t[0] == ["caption", caption])[1:]
    return pd.DataFrame([r[1:] for r in rows[1:]], index=[r[0] for r in rows[1:]],
                        columns=rows[0][1:])  # fmt: skip


@pytest.fixture(scope="module")
def short_run():
    """A short run (2015–2019) in memory."""
    return run_fund(FundSpec(market=MarketSpec(start="2015-01-02", end="2019-12-31")))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, short_run):
    """The short run written with the report's extra files and spec.json."""
    run = short_run
    out = write_run(run, tmp_path_factory.mktemp("runs") / "short", fund_metrics(run))
    for name, frame in R.extra_run_files(run).items():
        frame.to_csv(out / name, float_format="%.10g", date_format="%Y-%m-%d")
    (out / "spec.json").write_text(json.dumps(R.run_spec(run)))
    return out


@pytest.fixture(scope="module")
def html_report(run_dir):
    path = R.build_report(run_dir)
    return path, path.read_text(encoding="utf-8")


def test_html_is_well_formed_and_self_contained(html_report):
    path, text = html_report
    assert path.name == "report.html"
    parsed = parse(text)
    assert parsed.h2 == [title for _, title in R.SECTIONS]
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert not re.search(r"""(src|href)=["'](https?:|//)""", text)  # nothing external


def test_every_image_is_an_embedded_valid_png(html_report):
    from PIL import Image

    parsed = parse(html_report[1])
    assert len(parsed.imgs) >= 12
    for src in parsed.imgs:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        data = base64.b64decode(src[len(prefix) :], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            assert im.size[0] >= 800 and im.size[1] >= 300


def test_headline_numbers_are_metrics_on_nav_csv(html_report, run_dir):
    nav = pd.read_csv(run_dir / "nav.csv", index_col=0, parse_dates=True)["nav_per_share_5dp"]
    r = M.returns_from_levels(nav)
    expected = {
        "Since inception (ann.)": M.annual_return(r),
        "YTD": M.total_return(r[r.index.year == 2019]),
        "1 year": M.total_return(r[r.index > "2018-12-31"]),
        "3 years (ann.)": M.annual_return(r[r.index > "2016-12-30"]),  # last session of 2016
    }
    levels = pd.read_csv(run_dir / "benchmarks.csv", index_col=0, parse_dates=True)
    head = R.headline_table(pd.concat([nav.rename("fund"), levels], axis=1))
    for col, value in expected.items():
        assert head.loc["fund", col] == pytest.approx(value, rel=1e-12)
    assert np.isnan(head.loc["fund", "5 years (ann.)"])  # the run is shy of five years
    shown = table(parse(html_report[1]), "Returns by period")
    for col, value in expected.items():
        assert shown.loc["Fund", col] == f"{100 * value:.2f}%"
    assert shown.loc["Fund", "5 years (ann.)"] == "–"
    eq = M.returns_from_levels(levels["equity_index"])
    assert shown.loc["Equity index (TR)", "YTD"] == f"{100 * M.total_return(eq.loc['2019']):.2f}%"
    risk = table(parse(html_report[1]), "Since inception: risk, and relation to broad markets")
    assert risk.loc["Sharpe ratio (rf = 0)", "Fund"] == f"{M.sharpe_ratio(r):.2f}"
    assert risk.loc["Max drawdown", "Fund"] == f"{100 * M.max_drawdown(r):.2f}%"
    years = table(parse(html_report[1]), "Calendar-year returns")
    assert years.loc["2017", "Fund"] == f"{100 * M.total_return(r.loc['2017']):.2f}%"


def test_attributions_add_up_to_the_fund_return(run_dir):
    run = R.read_run(run_dir)
    nav = run.nav
    grow = (nav["net_assets"].diff() - nav["flow_value"]) / nav["net_assets"].shift(1)
    total = float((1 + grow.iloc[1:]).prod() - 1)
    per_share = float(nav["nav_per_share_5dp"].iloc[-1] / nav["nav_per_share_5dp"].iloc[0] - 1)
    for pnl in (R.strategy_pnl(run), R.group_pnl(run, run.pnl_by_asset_class),
                R.group_pnl(run, run.pnl_by_book)):  # fmt: skip
        cumulative, by_year = R.attribution_tables(pnl, nav["net_assets"])
        assert by_year.loc["Since inception", "Total"] == pytest.approx(total, abs=1e-9)
        assert by_year.loc["Since inception", "Total"] == pytest.approx(per_share, abs=1e-4)
        assert cumulative.iloc[-1].sum() == pytest.approx(total, abs=1e-9)
    assert set(run.pnl_by_book.columns) == {"fund", "subsidiary"}
    # the strategy items are weight[t-2] × limit scale[t-2] × strategy return[t] × net
    # assets[t-1], the scale read back from limit_scale.csv
    pnl = R.strategy_pnl(run)
    t = nav.index[400]
    k = nav.index.get_loc(t)
    scale = run.limit_scale["limit_scale"].iloc[k - 2]
    expected = (
        run.weights.iloc[k - 2] * scale * run.strategy_returns.iloc[k]
        * nav["net_assets"].iloc[k - 1]
    )  # fmt: skip
    np.testing.assert_allclose(pnl.loc[t, run.weights.columns], expected, rtol=1e-12)


def test_strategies_are_credited_with_the_weights_held_after_the_limits(tmp_path):
    """Hand-worked: weights A 1.0, B 0.5; the limits scaled the whole book to 0.5 on the first
    day. Day 2 earns the day-0 decision: A 0.5 × 10% × 100 = 5, B 0.25 × 4% × 100 = 1 USD; net
    assets rose 7, so 1 USD is unexplained. Day 3 earns the unscaled day-1 weight: A 1.0 × 2% ×
    107 = 2.14 USD, all of the change."""
    dates = pd.bdate_range("2024-01-01", periods=5)
    zero = [0.0] * 5
    nav = pd.DataFrame({"net_assets": [100.0, 100.0, 107.0, 109.14, 109.14], "flow_value": zero,
                        "interest": zero, "expenses": zero, "fees": zero}, index=dates)  # fmt: skip
    weights = pd.DataFrame({"A": 1.0, "B": 0.5}, index=dates)
    returns = pd.DataFrame({"A": [0, 0, 0.10, 0.02, 0], "B": [0, 0, 0.04, 0, 0]}, index=dates)
    scale = pd.DataFrame({"limit_scale": [0.5, 1.0, 1.0, 1.0, 1.0]}, index=dates)
    run = R.RunFolder(tmp_path, nav, weights, returns, pd.DataFrame(), limit_scale=scale)
    pnl = R.strategy_pnl(run)
    assert pnl.loc[dates[2], ["A", "B"]].tolist() == pytest.approx([5.0, 1.0], abs=1e-12)
    assert pnl.loc[dates[3], ["A", "B"]].tolist() == pytest.approx([2.14, 0.0], abs=1e-12)
    residual = pnl["implementation (residual)"]
    assert residual.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 0.0], abs=1e-9)
    pd.testing.assert_frame_equal(R.held_weights(run).iloc[:1],
                                  pd.DataFrame({"A": 0.5, "B": 0.25}, index=dates[:1]))  # fmt: skip
    # credited with the allocator's weights, day 2 would claim 10 + 2 and leave −5 unexplained
    unscaled = R.strategy_pnl(dataclasses.replace(run, limit_scale=None))
    assert unscaled["implementation (residual)"].iloc[2] == pytest.approx(-5.0, abs=1e-9)


def test_limits_table_counts_breaches_and_finds_least_headroom():
    comp = pd.DataFrame({
        "date": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-02", "2020-01-03"]),
        "rule": ["var_18f4", "var_18f4", "cash_fund", "cash_fund"],
        "figure": [0.10, 0.08, 0.5, 0.2], "limit": [0.20, 0.07, 0.0, 0.0],
        "breach": [False, True, False, False], "applies": [True, True, True, True],
    })  # fmt: skip
    t = R.limits_table(comp)
    assert t.loc["var_18f4", "breaches"] == 1 and t.loc["var_18f4", "worst day"] == "2020-01-03"
    assert t.loc["cash_fund", "figure"] == 0.2 and t.loc["cash_fund", "bound"] == "minimum"


def test_names_are_escaped(run_dir, tmp_path):
    evil_dir = tmp_path / "evil"
    shutil.copytree(run_dir, evil_dir)
    for name in ("weights.csv", "strategy_returns.csv"):
        frame = pd.read_csv(evil_dir / name, index_col=0)
        frame.rename(columns={"carry": EVIL, "trend": "<b>x</b>"}).to_csv(evil_dir / name)
    text = R.build_report(evil_dir, ["equity_index"]).read_text()
    parse(text)
    assert EVIL not in text and "<b>x</b>" not in text
    assert html_escaped(EVIL) in text and "&lt;b&gt;x&lt;/b&gt;" in text


def html_escaped(s: str) -> str:
    import html

    return html.escape(s)


def test_pdf_has_one_page_per_section(run_dir, tmp_path):
    path = R.build_report(run_dir, fmt="pdf", out=tmp_path / "r.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    try:
        from pypdf import PdfReader

        pages = len(PdfReader(path).pages)
    except ImportError:
        pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    assert pages == len(R.SECTIONS) == 19


def test_without_extra_files_the_report_never_regenerates_a_market(run_dir, tmp_path, monkeypatch):
    import backtest.synthetic.build

    def forbidden(*args, **kwargs):
        raise AssertionError("the report must not build a market")

    monkeypatch.setattr(backtest.synthetic.build, "synthetic_market", forbidden)
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare)
    for name in ("benchmarks.csv", "pnl_by_asset_class.csv", "pnl_by_book.csv"):
        (bare / name).unlink()
    run = R.read_run(bare)
    with pytest.raises(ValueError, match="benchmark 'equity_index' is not available"):
        R.resolve_benchmarks(run, ["equity_index"])
    levels, shown, notes = R.resolve_benchmarks(run)
    assert shown == [] and levels.empty and "no benchmarks.csv" in notes[0]
    sections = R.report_sections(run)
    by_anchor = {s.anchor: s for s in sections}
    assert "pnl_by_book.csv" in " ".join(by_anchor["attribution-book"].notes)
    assert not by_anchor["attribution-book"].charts
    assert R.build_report(bare).exists()


def test_the_report_of_an_in_memory_run_equals_the_one_read_back(run_dir, short_run):
    """What ``multistrat backtest`` shows (built from memory) and what ``multistrat report``
    shows (read from the folder) are the same tables, to the precision the CSV files keep."""
    run = R.read_run(run_dir)
    memory = R.from_run(short_run, fund_metrics(short_run), run_dir)
    for name in ("nav", "weights", "strategy_returns", "benchmarks", "pnl_by_book"):
        a, b = getattr(memory, name), getattr(run, name)
        assert list(a.columns) == list(b.columns) and a.index.equals(b.index), name
        np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, err_msg=name)
    assert memory.name == run.name and memory.metrics == run.metrics


def test_report_command_with_a_user_benchmark_and_market_prices(run_dir, tmp_path, capsys):
    dates = pd.read_csv(run_dir / "nav.csv", usecols=["date"])["date"]
    bench = tmp_path / "peer.csv"
    pd.DataFrame({"date": dates, "return": 0.0001}).to_csv(bench, index=False)
    nav = pd.read_csv(run_dir / "nav.csv", usecols=["date", "nav_per_share"])
    prices = tmp_path / "px.csv"
    quotes = nav.assign(midpoint=nav["nav_per_share"] + 0.01)[["date", "midpoint"]]
    quotes.to_csv(prices, index=False)
    out = tmp_path / "cli.html"
    code = main(["report", str(run_dir), "--benchmark", "sixty_forty", "--benchmark",
                   str(bench), "--market-price", str(prices), "--out", str(out)])  # fmt: skip
    assert code == 0 and out.exists() and "wrote" in capsys.readouterr().out
    parsed = parse(out.read_text())
    head = table(parsed, "Returns by period")
    assert list(head.index) == ["Fund", "60/40 equity/bond", "peer"]
    assert head.loc["peer", "1 year"] == f"{100 * (1.0001**252 - 1):.2f}%"
    dist = table(parsed, "Frequency distribution (days, % of days)")
    assert dist.loc["0.00% to 0.25%", "2019: days"] == "252"  # a 1-cent premium on ~$30-40


def test_report_command_bad_input_exits_2(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,level\n2019-01-02,100\n2019-01-03,abc\n")
    assert main(["report", str(run_dir), "--benchmark", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 2" in err and "'level'" in err
    assert main(["report", str(run_dir), "--benchmark", "nonsense"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_run_spec_is_json_and_names_the_market(run_dir):
    spec = json.loads((run_dir / "spec.json").read_text())
    assert spec["market"]["seed"] == 7 and spec["market_name"] == "synthetic(seed=7)"
    assert R.read_run(run_dir).name == spec["name"]


def test_market_without_broad_indexes_degrades_to_notes(run_dir, tmp_path):
    """A real-data run (e.g. pysystemtrade futures) has no equity or bond index levels."""
    only_proxy = tmp_path / "futures_only"
    shutil.copytree(run_dir, only_proxy)
    bench = pd.read_csv(only_proxy / "benchmarks.csv", index_col=0)
    bench[["proxy_index"]].to_csv(only_proxy / "benchmarks.csv")
    sections = {s.anchor: s for s in R.report_sections(R.read_run(only_proxy))}
    assert "no broad equity or bond index" in sections["correlation"].notes[0]
    assert not sections["correlation"].charts and not sections["beta"].charts
    caption, head = sections["summary"].tables[0]
    assert list(head.index) == ["Fund", "Proxy multi-strategy index"]
    assert any("Equity index (TR) is not available" in n for n in sections["summary"].notes)
    with pytest.raises(ValueError, match="'equity_index' is not available"):
        R.report_sections(R.read_run(only_proxy), ["equity_index"])


def test_header_names_the_real_run_folder_of_a_backtest(short_run, tmp_path):
    """Regression: the report of `multistrat backtest` is built inside the atomic write; its
    header must name the final folder, not the temporary one (``.latest.df82cwfo``)."""
    out = write_run(short_run, tmp_path / "my_run", fund_metrics(short_run))
    text = (out / "report.html").read_text()
    assert "run folder my_run." in text
    assert not re.search(r"run folder \.my_run\.", text)


def test_a_csv_benchmark_adds_to_the_built_in_ones(run_dir, tmp_path):
    dates = pd.read_csv(run_dir / "nav.csv", usecols=["date"])["date"]
    bench = tmp_path / "peer.csv"
    pd.DataFrame({"Date": dates, "Return": 0.0001}).to_csv(bench, index=False)
    _, shown, _ = R.resolve_benchmarks(R.read_run(run_dir), [str(bench)])
    assert shown == ["proxy_index", "equity_index", "bond_index", "sixty_forty", "peer"]
    _, shown, _ = R.resolve_benchmarks(R.read_run(run_dir), ["sixty_forty", str(bench)])
    assert shown == ["sixty_forty", "peer"]


def test_a_shorter_benchmark_is_measured_over_its_own_window_and_flagged(run_dir, tmp_path):
    """Regression: a benchmark that ends under water counted the fund's later days as under
    water in "Longest drawdown (days)"."""
    nav = pd.read_csv(run_dir / "nav.csv", usecols=["date"], parse_dates=["date"])["date"]
    part = nav.iloc[100:400]
    r = np.where(np.arange(len(part)) < 250, 0.001, -0.002)  # ends under water: 50 days
    bench = tmp_path / "short.csv"
    pd.DataFrame({"date": part.dt.strftime("%Y-%m-%d"), "return": r}).to_csv(bench, index=False)
    path = R.build_report(run_dir, ["proxy_index", str(bench)], out=tmp_path / "r.html")
    parsed = parse(path.read_text())
    risk = table(parsed, "Since inception: risk, and relation to broad markets")
    assert "short †" in risk.columns
    level = pd.Series(100.0 * np.cumprod(1 + r), index=part.to_numpy())
    own = M.returns_from_levels(level)
    assert risk.loc["Longest drawdown (days)", "short †"] == f"{M.max_drawdown_duration(own):,}"
    assert M.max_drawdown_duration(own) == 50
    assert "short: statistics over its own dates" in path.read_text()


def test_relative_and_sharpe_numbers_are_their_formulas(html_report, run_dir):
    from backtest.analytics import tearsheet as T

    parsed = parse(html_report[1])
    nav = pd.read_csv(run_dir / "nav.csv", index_col=0, parse_dates=True)
    fund = nav["nav_per_share_5dp"].pct_change().iloc[1:]
    bench = pd.read_csv(run_dir / "benchmarks.csv", index_col=0, parse_dates=True)
    proxy = bench["proxy_index"].reindex(nav.index).pct_change().iloc[1:]
    rate = pd.read_csv(run_dir / "cash_rate.csv", index_col=0, parse_dates=True)["USD"]
    cash = T.cash_returns(rate)
    rel = table(parsed, "The fund relative to each benchmark")
    col = rel["Proxy multi-strategy index"]
    assert col["Tracking error (ann.)"] == f"{100 * M.tracking_error(fund, proxy):.2f}%"
    assert col["Information ratio"] == f"{M.information_ratio(fund, proxy):.2f}"
    alpha = M.alpha(fund - cash.reindex(fund.index), proxy - cash.reindex(proxy.index))
    assert col["Alpha over cash (ann.)"] == f"{100 * alpha:.2f}%"
    assert col["Up capture"] == f"{100 * M.up_capture(fund, proxy):.2f}%"
    assert col["Hit rate (months beating it)"] == f"{100 * M.hit_rate(fund, proxy):.2f}%"
    risk = table(parsed, "Since inception: risk, and relation to broad markets")
    assert (
        risk.loc["Sharpe ratio (over cash)", "Fund"]
        == f"{T.sharpe_ratio_over_cash(fund, cash):.2f}"
    )
    assert risk.loc["Sharpe ratio (rf = 0)", "Fund"] == f"{M.sharpe_ratio(fund):.2f}"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["sharpe_ratio"] == pytest.approx(T.sharpe_ratio_over_cash(fund, cash), abs=1e-9)
    dist = table(parsed, "Shape of the distribution")
    assert dist.loc["Omega ratio", "Fund"] == f"{T.omega_ratio(fund):.2f}"
    assert dist.loc["Stability (R²)", "Fund"] == f"{T.stability(fund):.2f}"
    worst = table(parsed, "Five worst drawdowns of the fund")
    assert worst.iloc[0]["Depth"] == f"{100 * M.max_drawdown(fund):.2f}%"


def test_every_pdf_table_fits_inside_the_page_margins(run_dir):
    from matplotlib.table import Table

    from backtest.report import render

    plt = render.pyplot()
    run = R.read_run(run_dir)
    for s in R.report_sections(run):
        page = render.page_figure(s.title, s.notes, [d for d, _ in s.charts], s.tables)
        try:
            page.canvas.draw()
            renderer = page.canvas.get_renderer()
            width_px = page.get_figwidth() * page.dpi
            left, right = (
                0.9 * render.MARGIN_IN * page.dpi,
                width_px - 0.9 * render.MARGIN_IN * page.dpi,
            )
            tables = [a for a in page.findobj(Table)]
            assert len(tables) == len(s.tables), s.anchor
            for t in tables:
                box = t.get_window_extent(renderer)
                assert left <= box.x0 and box.x1 <= right, (s.anchor, box)
                for cell in t.get_celld().values():  # no text overflows its cell
                    text = cell.get_text().get_window_extent(renderer)
                    c = cell.get_window_extent(renderer)
                    assert text.width <= c.width + 1.0, (s.anchor, cell.get_text().get_text())
        finally:
            plt.close(page)


def test_relative_view_against_a_chosen_benchmark(run_dir, tmp_path, capsys):
    out = tmp_path / "rel.html"
    assert main(["report", str(run_dir), "--relative-to", "equity_index", "--out", str(out)]) == 0
    text = out.read_text()
    assert "information ratio against Equity index (TR)." in text
    assert main(["report", str(run_dir), "--relative-to", "nonsense"]) == 2
    assert "relative_to 'nonsense'" in capsys.readouterr().err


def test_comparators_table_by_hand():
    from backtest.report.tables import comparators_table

    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=300)
    fund = pd.Series(rng.normal(0.0003, 0.005, 300), index=idx)
    comp = pd.DataFrame({"a": rng.normal(0.0004, 0.01, 300), "b": rng.normal(0, 0.004, 300)},
                        index=idx)  # fmt: skip
    comp.iloc[:100, 1] = np.nan  # "b" starts later: its own window
    t = comparators_table(fund, comp)
    for name in ("a", "b"):
        c = comp[name].dropna()
        f = fund.loc[c.index]
        assert t.at[name, "Correlation"] == pytest.approx(np.corrcoef(f, c)[0, 1], abs=1e-12)
        assert t.at[name, "Beta"] == pytest.approx(np.cov(f, c)[0, 1] / c.var(), abs=1e-12)
        years = len(c) / 252
        assert t.at[name, "Annual return"] == pytest.approx((1 + c).prod() ** (1 / years) - 1)
        assert t.at[name, "Annual volatility"] == pytest.approx(c.std() * np.sqrt(252))
        level = (1 + c).cumprod()
        dd = (level / np.maximum.accumulate(np.r_[1.0, level.to_numpy()])[1:] - 1).min()
        assert t.at[name, "Max drawdown"] == pytest.approx(min(dd, 0.0))


def test_strategy_notes_data_notes_and_comparators_reach_the_report(run_dir, tmp_path):
    """A run whose metrics name approximated legs and derived data, and whose benchmarks hold
    a further comparator (as on the futures sample), shows all three."""
    folder = tmp_path / "noted"
    shutil.copytree(run_dir, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["strategy_notes"] = {"vol_premium.put_write": "approximated: options priced on X"}
    metrics["data_approximations"] = {"index.SPX": "from a future"}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    bench = pd.read_csv(folder / "benchmarks.csv", index_col=0)
    bench["future_NQ"] = bench["equity_index"] * 1.0
    bench.to_csv(folder / "benchmarks.csv")
    sections = {s.anchor: s for s in R.report_sections(R.read_run(folder))}
    notes = sections["summary"].notes
    assert "Strategy leg vol_premium.put_write: approximated: options priced on X." in notes
    assert any(n.startswith("Data derived, not read") and "index.SPX: from a future" in n
               for n in notes)  # fmt: skip
    caption, table = sections["correlation"].tables[1]
    assert caption.startswith("Fund vs every comparator")
    assert list(table.index) == ["Equity index (TR)", "Bond index (TR)", "future_NQ"]
    assert table.loc["future_NQ"].tolist() == table.loc["Equity index (TR)"].tolist()
    # the comparator is not one of the shown benchmarks of the summary tables
    assert "future_NQ" not in sections["summary"].tables[0][1].index
