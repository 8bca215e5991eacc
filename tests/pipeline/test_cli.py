from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import stackcast.pipeline.data.ingest
from stackcast.pipeline.cli.app import app, main
from stackcast.pipeline.data.ingest import IngestResult
from stackcast.pipeline.errors import SourceError
from typer.testing import CliRunner

import stackcast

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def assert_one_error_line(stderr: str, starts: str = "error: ") -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(starts), stderr
    assert "Traceback" not in stderr
    return lines[0]


def cli_subprocess(*args: str, console: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI: ``python -m pipeline`` or the console-script entry (``app()``)."""
    if console:
        cmd = [
            sys.executable,
            "-c",
            "import sys; from stackcast.pipeline.cli.app import app; sys.exit(app())",
            *args,
        ]
    else:
        cmd = [sys.executable, "-m", "stackcast", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_ingest_sample_msft_then_nothing_new(home: Path) -> None:
    result = run("ingest", "--source", "sample", "--tickers", "MSFT")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    header, row = result.stdout.splitlines()
    assert header.split() == ["ticker", "status", "added", "first", "last", "rows", "note"]
    assert row.split() == ["MSFT", "ok", "7983", "1986-03-13", "2017-11-10", "7983", "created"]
    assert len(pd.read_parquet(home / "prices" / "MSFT.parquet")) == 7983

    again = run("ingest", "--source", "sample", "--tickers", "MSFT")
    assert again.exit_code == 0
    assert again.stdout.splitlines()[1].split()[:3] == ["MSFT", "ok", "0"]


def test_help_and_version() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "ingest" in result.stdout and "Exit codes" in result.stdout
    result = run("--version")
    assert (result.exit_code, result.stdout.strip()) == (0, f"stackcast {stackcast.__version__}")
    result = run()
    assert result.exit_code == 0 and "Usage: stackcast" in result.stdout
    result = run("ingest", "--help")
    assert result.exit_code == 0 and "--tickers" in result.stdout and "exit 2" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["ingest", "--source", "sample", "--tickers", "NOPE"],
            "error: NOPE: not in the bundled sample",
        ),
        (["ingest", "--source", "sample", "--tickers", "../x"], "error: invalid ticker '../x'"),
        (["ingest", "--source", "sample", "--start", "2020-02-30"], "error: --start: invalid date"),
        (["ingest", "--source", "nowhere.csv"], "error: source file not found"),
        (["ingest", "--source", "sample", "--tickerz", "X"], "error: No such option: --tickerz"),
        (["frobnicate"], "error: No such command 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert assert_one_error_line(result.stderr).startswith(expected)


def test_bad_data_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("date,ticker,close\n2024-01-02,AAA,1\nbad,AAA,2\n")
    result = run("ingest", "--source", str(path))
    assert result.exit_code == 2
    line = assert_one_error_line(result.stderr)
    assert line == "error: AAA: 1 problem in prices.csv: line 3: unparseable date 'bad'"
    assert result.stdout == ""  # the file is refused as a whole, before any ticker is stored


def test_bad_config_key_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[data]\ntickerz = ['MSFT']\n")
    result = run("ingest", "--config", str(cfg), "--source", "sample")
    assert result.exit_code == 2
    assert assert_one_error_line(result.stderr) == (
        f"error: {cfg}: unknown key 'data.tickerz' (did you mean 'data.tickers'?)"
    )


def test_several_failures_make_one_line(tmp_path: Path) -> None:
    result = run("ingest", "--source", "sample", "--tickers", "NOPE,NADA,GOOG")
    assert result.exit_code == 2
    line = assert_one_error_line(result.stderr)
    assert line.startswith("error: 2 of 3 tickers failed: NOPE: not in the bundled sample")
    assert "; NADA: " in line


def test_warnings_go_to_stderr_and_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "JMP.csv"
    path.write_text("date,close\n2024-01-02,1\n2024-01-03,5\n")
    result = run("ingest", "--source", str(path))
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: JMP line 3 2024-01-03: one-day move of +400%")


def test_unexpected_failure_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(stackcast.pipeline.data.ingest, "ingest", boom)
    result = run("ingest", "--source", "sample")
    assert result.exit_code == 1
    line = assert_one_error_line(result.stderr)
    assert line.startswith("error: unexpected RuntimeError: kaboom")


def test_a_failed_ticker_that_is_not_bad_input_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def mixed(*args, **kwargs):
        return [
            IngestResult("AAA", "error", message="bad rows", error=SourceError("AAA", "bad rows")),
            IngestResult(
                "BBB", "error", message="unexpected OSError: disk full", error=OSError("disk full")
            ),
        ]

    monkeypatch.setattr(stackcast.pipeline.data.ingest, "ingest", mixed)
    result = run("ingest", "--source", "sample")
    assert result.exit_code == 1
    assert_one_error_line(result.stderr)


def test_main_returns_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["ingest", "--source", "sample", "--tickers", "NOPE"]) == 2
    assert capsys.readouterr().err.startswith("error: NOPE")


def test_real_console_bad_inputs_exit_2_without_traceback(tmp_path: Path) -> None:
    proc = cli_subprocess("ingest", "--source", "sample", "--tickers", "NOPE")
    assert proc.returncode == 2, proc.stderr
    assert assert_one_error_line(proc.stderr).startswith("error: NOPE: not in the bundled sample")

    proc = cli_subprocess("ingest", "--source", "sample", "--start", "yesterday", console=True)
    assert proc.returncode == 2, proc.stderr
    assert (
        assert_one_error_line(proc.stderr)
        == "error: --start: invalid date 'yesterday'; use YYYY-MM-DD"
    )

    proc = cli_subprocess("ingest", "--bogus", console=True)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr)


def test_real_console_success_and_version(home: Path) -> None:
    proc = cli_subprocess("ingest", "--source", "sample", "--tickers", "GOOG")
    assert proc.returncode == 0, proc.stderr
    assert "1047" in proc.stdout
    assert (home / "prices" / "GOOG.parquet").is_file()
    proc = cli_subprocess("--version", console=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"stackcast {stackcast.__version__}")


def test_importing_the_cli_stays_light() -> None:
    code = (
        "import sys, stackcast.pipeline.cli.app\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'prefect', 'pandas', 'yfinance', 'sklearn') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
