"""A semi-transparent run folder: the basket's files, and the report's substitute-basket
section, from the in-memory run and read back from the folder alike."""

import json
import re

import pandas as pd
import pytest

from backtest.fund.basket import fund_baskets
from backtest.fund.run import fund_metrics, run_fund
from backtest.fund.spec import FundSpec
from backtest.report.build import build_report
from backtest.report.outputs import write_run
from backtest.report.report_data import OPTIONAL_SECTIONS, SECTIONS

DOC = {
    "inception": "2016-01-04",
    "market": {"seed": 7, "start": "2015-01-02", "end": "2016-12-30"},
    "strategies": [{"name": "carry"}, {"name": "trend"}],
    "disclosure": {"policy": "substitute_basket", "basket": {"guardrail_te_annual": 0.025}},
}
TITLE = dict(OPTIONAL_SECTIONS)["substitute-basket"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    run = run_fund(FundSpec.from_dict(DOC))
    out = write_run(run, tmp_path_factory.mktemp("semi") / "run", fund_metrics(run))
    return run, out


def test_folder_holds_the_baskets_and_the_report_its_section(written):
    run, out = written
    summary = pd.read_csv(out / "substitute_basket_summary.csv", index_col=0, parse_dates=[0])
    mine = fund_baskets(run).summary
    assert summary.index.equals(mine.index)
    assert ((summary["overlap"].dropna() >= 0.70) & (summary["overlap"].dropna() <= 0.95)).all()
    rows = pd.read_csv(out / "substitute_baskets.csv")
    assert list(rows.columns) == ["for_date", "valued_at", "instrument", "kind", "weight",
                                  "overlap"]  # fmt: skip
    assert json.loads((out / "spec.json").read_text())["disclosure"]["policy"] == (
        "substitute_basket"
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"<h2>{TITLE}</h2>" in html
    assert "above 2.5% a year" in html  # the configured guardrail, read from the spec
    assert html.index(f"<h2>{SECTIONS[-1][1]}</h2>") < html.index(f"<h2>{TITLE}</h2>")


def test_report_read_back_from_the_folder_has_the_same_section(written, tmp_path):
    _, out = written
    html = build_report(out, out=tmp_path / "again.html").read_text(encoding="utf-8")
    assert f"<h2>{TITLE}</h2>" in html
    start = html.index(f"<h2>{TITLE}</h2>")
    first = (out / "report.html").read_text(encoding="utf-8")
    # notes and tables agree (charts are images of the same data)
    strip = lambda s: re.sub(r"<img[^>]*>", "", s[s.index(f"<h2>{TITLE}</h2>") :])  # noqa: E731
    assert strip(html) == strip(first) and start > 0
    assert "Reverse-engineering score by year" in strip(html)
