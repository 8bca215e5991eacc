"""Small CLI defects, each fixed and pinned: help texts, file tickers, ingest-failure wording."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from stackcast.models.engine import _epochs
from stackcast.pipeline.cli.commands import configure

from tests.conftest import sessions
from tests.reliability.helpers import cli


def test_run_help_does_not_promise_epochs_and_ingest_help_tells_exit_1_for_unreachable() -> None:
    run_help = cli("run", "--help").stdout
    assert "epoch" not in run_help and "each step" in run_help
    ingest_help = " ".join(cli("ingest", "--help").stdout.split())
    assert "exit 1 otherwise: a source still unreachable after its retries" in ingest_help


def test_a_file_source_without_tickers_means_the_files_tickers(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    dates = sessions("2020-01-02", 5).strftime("%Y-%m-%d")
    pd.concat(
        pd.DataFrame({"date": dates, "ticker": t, "close": 1.0 + k}) for k, t in enumerate("AB")
    ).to_csv(path, index=False)
    cfg = configure(None, None, str(path))
    assert cfg.data.tickers == ("A", "B") and cfg.data.source == str(path)
    assert configure(None, "B", str(path)).data.tickers == ("B",)


def test_a_failed_ingest_is_named_instead_of_ingest_first() -> None:
    result = cli("train", "--source", "sample", "--tickers", "ZZZ")
    assert result.exit_code == 2, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "no ticker could be ingested: ZZZ: not in the bundled sample" in line
    assert "ingest` first" not in line


def test_epoch_counts_read_as_words() -> None:
    assert (_epochs(1), _epochs(3)) == ("1 epoch", "3 epochs")


def test_calendar_bad_inputs_exit_2_naming_ticker_date_and_calendar(tmp_path: Path) -> None:
    dates = [*sessions("2020-01-02", 300).strftime("%Y-%m-%d"), "2021-03-06"]  # a Saturday
    path = tmp_path / "SAT.csv"
    pd.DataFrame({"date": dates, "close": 10.0 + pd.Series(range(301)) * 0.01}).to_csv(
        path, index=False
    )
    result = cli("backtest", "--source", str(path), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "SAT" in line and "2021-03-06" in line and "XNYS" in line
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[features]\ncalendar = "MOON"\n', encoding="utf-8")
    result = cli("backtest", "-c", bad)
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "key 'features.calendar': unknown calendar 'MOON'" in line
