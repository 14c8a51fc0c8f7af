"""Fund configs are checked when they load (backtest/fund/checks.py): every section, key,
strategy and parameter, typed and in range; exit 2 with one line naming file, section and key;
nothing written."""

import tomllib
from pathlib import Path

import pytest

from backtest.cli import main
from backtest.errors import ConfigError
from backtest.fund.spec import AllocatorSpec, FundSpec

LALT = (Path(__file__).resolve().parents[3] / "examples" / "lalt.toml").read_text()
STRATEGIES = "".join(f'[[strategies]]\nname = "{n}"\n\n' for n in
                     ("carry", "vol_premium", "trend", "equity_market_neutral"))  # fmt: skip


def edit(old: str, new: str) -> str:
    assert old in LALT, old
    return LALT.replace(old, new)


TREND = 'name = "trend"'
CASES = {
    "empty file": ("", ["the config is empty"]),
    "no strategies": (edit(STRATEGIES, ""), ["no strategies"]),
    "fractional shares": (
        edit("initial_shares = 1000000", "initial_shares = 1000000.5"),
        ["[fund] initial_shares", "whole number", "1000000.5"],
    ),
    "negative strategy vol target": (
        edit(TREND, TREND + "\nparams = {vol_target_annual = -0.1}"),
        ["(trend).params] vol_target_annual", "-0.1"],
    ),
    "typo'd strategy param": (
        edit(TREND, TREND + "\nparams = {vol_target_anual = 0.1}"),
        ["vol_target_anual", "did you mean 'vol_target_annual'"],
    ),
    "string param": (
        edit(TREND, TREND + '\nparams = {forecast_cap = "20"}'),
        ["forecast_cap", "must be a number", "'20'"],
    ),
    "nested param choice": (
        edit('name = "carry"', 'name = "carry"\nparams = {fx = {mode = "x"}}'),
        ["(carry).params.fx] mode", "must be one of"],
    ),
    "infeasible min weights": (
        edit("min_weight = 0.05", "min_weight = 0.3"),
        ["[allocator] min_weight", "cannot be met"],
    ),
    "absurd roll days": (
        edit("roll_days_before_expiry = 5", "roll_days_before_expiry = 100000"),
        ["[fund]", "roll_days_before_expiry", "100000"],
    ),
    "zero vol target": (
        edit("vol_target_annual = 0.08", "vol_target_annual = 0"),
        ["[allocator] vol_target_annual", "write false"],
    ),
    "string max weight": (
        edit("max_weight = 0.5", 'max_weight = "0.5"'),
        ["[allocator] max_weight", "must be a number", "'0.5'"],
    ),
    "near-miss key": (
        edit("max_weight = 0.5", "max_wieght = 0.5"),
        ["[allocator] max_wieght", "did you mean 'max_weight'"],
    ),
    "near-miss section": (edit("[allocator]", "[alocator]"), ["did you mean 'allocator'"]),
    "near-miss strategy": (
        edit(TREND, 'name = "trnd"'),
        ["unknown strategy 'trnd'", "did you mean 'trend'"],
    ),
    "near-miss limit": (edit("industry_max", "industy_max"), ["did you mean 'industry_max'"]),
    "bool for a number": (
        edit("max_leverage = 3.0", "max_leverage = true"),
        ["max_leverage", "must be a number"],
    ),
    "ambiguous flow date": (
        LALT + '\n[[fund.flows.flows]]\ndate = "01/07/2019"\nunits = 1\n',
        ["[fund.flows.flows, entry 1] date", "YYYY-MM-DD"],
    ),
    "market year only": (edit('start = "2005-01-03"', 'start = "2005"'), ["[market]", "'2005'"]),
    "negative spread": (
        LALT + "\n[fund.costs]\nhalf_spread_bps = {equity = -1.0}\n",
        ["[fund.costs]", "half_spread_bps"],
    ),
    "unknown strategy key": (edit(TREND, TREND + "\nparam = {}"), ["did you mean 'params'"]),
    "buffer wider than the position": (
        edit("no_trade_buffer_pct_position = 0.15", "no_trade_buffer_pct_position = 15"),
        ["[fund]", "no_trade_buffer_pct_position must be a fraction", "[0, 1]"],
    ),
    "absurd buffer cost reference": (
        edit("no_trade_buffer_cost_ref_bps = 5.0", "no_trade_buffer_cost_ref_bps = 5000.0"),
        ["[fund]", "no_trade_buffer_cost_ref_bps must be in [0, 100.0] bp"],
    ),
    "string for the buffer's edge rule": (
        edit("no_trade_buffer_to_edge = true", 'no_trade_buffer_to_edge = "yes"'),
        ["[fund] no_trade_buffer_to_edge", "'yes'"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_exits_2_with_one_line_naming_file_and_key(case, tmp_path, capsys):
    text, expect = CASES[case]
    cfg = tmp_path / "fund.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    code = main(["backtest", "--config", str(cfg), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and str(cfg) in err and "Traceback" not in err
    for part in expect:
        assert part in err, (part, err)
    assert not out.exists()


def test_a_folder_or_undecodable_bytes_as_config_exit_2(tmp_path, capsys):
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfename = 1\n")
    cases = ((tmp_path, "is a folder"), (tmp_path / "bin.toml", "not UTF-8 text (byte 0xff"))
    for cfg, expect in cases:
        assert main(["backtest", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert expect in err and f"{cfg}:" in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_false_switches_an_optional_setting_off_and_the_example_loads():
    spec = FundSpec.from_dict({"strategies": [{"name": "trend"}],
                               "allocator": {"vol_target_annual": False}})  # fmt: skip
    assert spec.allocator.vol_target_annual is None
    assert FundSpec.from_dict(tomllib.loads(LALT)).allocator.vol_target_annual == 0.08


def test_config_error_names_file_section_and_key():
    err = ConfigError("f.toml", "must be a number", section="allocator", key="max_weight")
    assert str(err) == "f.toml: [allocator] max_weight: must be a number"
    assert isinstance(err, ValueError)
    with pytest.raises(ValueError, match="vol_target_annual must be in"):
        AllocatorSpec(vol_target_annual=0.0)
