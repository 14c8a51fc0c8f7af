"""The command line: help, data synthetic, data validate, and exit codes on bad data."""

import os
import subprocess
import sys

import pandas as pd

from backtest.cli.app import main


def test_console_script_lists_its_commands():
    out = subprocess.run(
        [sys.executable, "-m", "backtest.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    # the usage line lists the subcommands (the description alone mentions none of them)
    usage = out.split("\n\n")[0]
    assert "{data,backtest,report,nightly,experiment}" in usage
    for command in ("data", "backtest", "report", "nightly"):
        sub = subprocess.run([sys.executable, "-m", "backtest.cli", command, "--help"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert sub.startswith(f"usage: multistrat {command}")


def test_the_console_script_exits_with_mains_code_and_skips_the_last_collections(monkeypatch):
    """``multistrat`` and ``python -m backtest.cli`` run :func:`backtest.cli.app.run`: main's
    exit code, after freezing the heap out of the interpreter's final garbage collections."""
    import gc
    import tomllib
    from pathlib import Path

    import pytest

    from backtest.cli import app

    calls, handlers = [], []
    monkeypatch.setattr(app, "main", lambda argv=None: calls.append(("main", argv)) or 3)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze", None)))
    monkeypatch.setattr(app.atexit, "register", lambda fn, *a: handlers.append((fn, a)))
    with pytest.raises(SystemExit) as stop:
        app.run(["data", "validate", "x"])
    assert stop.value.code == 3
    assert calls == [("main", ["data", "validate", "x"]), ("freeze", None)]
    # the exit handler registered before main ends the process with main's code, no tear-down
    monkeypatch.setattr(app.os, "_exit", lambda code: calls.append(("_exit", code)))
    [(handler, args)] = handlers
    handler(*args)
    assert calls[-1] == ("_exit", 3)
    handler([])  # main did not return (argparse's own exit): the usual exit, not this one
    assert calls[-1] == ("_exit", 3) and len(calls) == 3
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["multistrat"] == "backtest.cli.app:run"
    bad = subprocess.run([sys.executable, "-m", "backtest.cli", "data", "validate", "/no/such"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("multistrat data:")


def test_a_finished_command_exits_at_once_with_its_output_and_files_complete(tmp_path):
    """The console script skips the interpreter's tear-down after main returns: what the
    command printed (through a pipe, so buffered) and wrote is complete, and the code is
    main's (0 here; 2 for bad input above)."""
    out = tmp_path / "syn"
    made = subprocess.run([sys.executable, "-m", "backtest.cli", "data", "synthetic", "--seed",
                           "3", "--start", "2019-01-02", "--end", "2019-03-29", "--out", str(out),
                           "--format", "csv"], capture_output=True, text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    checked = subprocess.run([sys.executable, "-m", "backtest.cli", "data", "validate", str(out)],
                             capture_output=True, text=True, env=buffered)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == _validate_in_process(out)  # every line, to the last one


def _validate_in_process(folder) -> str:
    import contextlib
    import io

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["data", "validate", str(folder)]) == 0
    return text.getvalue()


def test_an_internal_error_is_one_line_and_exit_1(monkeypatch, capsys):
    """A bug in our own code (here a KeyError) is not "bad input": exit 1, one line, and the
    traceback only with --debug."""
    from backtest.cli import data_cmd

    def broken(args):
        raise KeyError("no_such_column")

    monkeypatch.setattr(data_cmd, "cmd_data_validate", broken)
    assert main(["data", "validate", "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: KeyError" in err and "--debug" in err
    assert main(["--debug", "data", "validate", "x"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    from backtest.cli import data_cmd

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_cmd, "cmd_data_validate", interrupted)
    assert main(["data", "validate", "x"]) == 130
    assert capsys.readouterr().err == "multistrat data: interrupted\n"


def test_ctrl_c_during_a_backtest_stops_it_and_its_chart_worker(tmp_path):
    """SIGINT to the whole process group (what Ctrl-C sends) once the chart worker runs: one
    line, exit 130, no traceback from either process, no output folder."""
    import os
    import signal
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "backtest.cli", "backtest", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    seen, deadline = b"", time.monotonic() + 120
    while b"fund:" not in seen and time.monotonic() < deadline:  # the progress bar: running
        seen += os.read(proc.stderr.fileno(), 4096)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    err = (seen + rest).decode()
    assert proc.returncode == 130, err
    assert "multistrat backtest: interrupted\n" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_one_mapping_from_exceptions_to_exit_codes():
    from backtest.cli.app import exit_code_for
    from backtest.errors import DataError, ExitCode, NightlyError, StateError

    assert exit_code_for(DataError("f.csv", "bad"))[0] == ExitCode.BAD_INPUT
    assert exit_code_for(FileNotFoundError("x"))[0] == ExitCode.BAD_INPUT
    assert exit_code_for(StateError("x"))[0] == ExitCode.STATE
    assert exit_code_for(NightlyError(ExitCode.STATE, "locked"))[0] == ExitCode.STATE
    assert exit_code_for(KeyError("x"))[0] == ExitCode.INTERNAL
    assert exit_code_for(TypeError("x"))[0] == ExitCode.INTERNAL


def test_synthetic_then_validate(tmp_path, capsys):
    out = tmp_path / "syn"
    code = main(["data", "synthetic", "--seed", "3", "--start", "2019-01-02", "--end",
                 "2019-12-31", "--out", str(out), "--format", "csv"])  # fmt: skip
    assert code == 0
    assert (out / "manifest.json").exists() and (out / "prices.csv").exists()
    capsys.readouterr()
    assert main(["data", "validate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2019-01-02 .. 2019-12-31, 252 days" in text
    assert "equity" in text and "vix_future" in text


def test_validate_bad_file_exits_2_naming_file_row_and_column(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["data", "synthetic", "--seed", "3", "--start", "2019-01-02", "--end",
                 "2019-03-29", "--out", str(out), "--format", "csv"]) == 0  # fmt: skip
    prices = pd.read_csv(out / "prices.csv", dtype=str)
    prices.loc[4, "ES"] = "abc"  # data row 5
    prices.to_csv(out / "prices.csv", index=False)
    before = sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())
    capsys.readouterr()
    assert main(["data", "validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "prices.csv" in err and "row 5" in err and "'ES'" in err and "abc" in err
    # validating writes nothing
    assert before == sorted((p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file())


def test_synthetic_refuses_to_overwrite_and_leaves_folder_intact(tmp_path, capsys):
    out = tmp_path / "syn"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["data", "synthetic", "--start", "2019-01-02", "--end", "2019-02-01",
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
