"""The price-file corpus (tests/data/formats): every real-world shape is either stored with the
closes a person reading the file sees, on the dates they see, or refused with exit 2, one
``error:`` line and a store whose bytes are unchanged. ``expected.toml`` holds what each file
says; the files come in through the CLI, ``inspect`` and the config alike."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from stackcast.features.calendars import trading_calendar
from stackcast.pipeline.config import parse_config
from stackcast.pipeline.data.ingest import ingest
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import DataError

from tests.reliability.helpers import assert_clean_error, cli, snapshot

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
CASES = tomllib.loads((FORMATS / "expected.toml").read_text(encoding="utf-8"))
STORED = sorted(n for n, c in CASES.items() if "error" not in c)
REFUSED = sorted(n for n, c in CASES.items() if "error" in c)
XNYS = trading_calendar("XNYS")


def _ingest(case: dict) -> object:
    return cli("ingest", "--source", FORMATS / case["file"], *case.get("args", []))


def _stocked(home: Path) -> dict[str, str]:
    """Store GOOG, MSFT and ACME from good files; the sha256 of every file under prices/."""
    for name in ("multi-ticker.csv", "eu-dots.csv"):
        result = cli("ingest", "--source", FORMATS / name)
        assert result.exit_code == 0, result.stderr
    return snapshot(home / "prices")


def _check_stored(home: Path, case: dict) -> None:
    store = PriceStore(home)
    assert store.tickers() == sorted(case["rows"])
    for ticker, n in case["rows"].items():
        frame = store.read(ticker)
        assert len(frame) == n, ticker
        assert XNYS.is_session(frame["date"]).all(), ticker
        if "columns" in case:
            assert list(frame.columns) == case["columns"]
        by_date = frame.set_index(frame["date"].dt.strftime("%Y-%m-%d"))
        for what, column in (("closes", "close"), ("volumes", "volume")):
            for day, value in case.get(what, {}).get(ticker, {}).items():
                assert by_date.loc[day, column] == pytest.approx(value, rel=1e-12, abs=0), (
                    ticker, day, column,
                )  # fmt: skip


def test_the_corpus_has_every_shape_and_each_file_a_case() -> None:
    files = {p.name for p in FORMATS.iterdir() if p.suffix in (".csv", ".parquet")}
    assert len(files) >= 25
    assert files == {c["file"] for c in CASES.values()}


@pytest.mark.parametrize("name", STORED)
def test_a_good_file_is_stored_as_it_reads(name: str, home: Path) -> None:
    case = CASES[name]
    result = _ingest(case)
    assert result.exit_code == 0, result.stderr
    assert "error:" not in result.stderr
    _check_stored(home, case)


@pytest.mark.parametrize("name", REFUSED)
def test_a_bad_file_is_refused_and_the_store_kept(name: str, home: Path) -> None:
    case = CASES[name]
    before = _stocked(home)
    result = _ingest(case)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert_clean_error(result.stdout, result.stderr, *case["error"])
    assert snapshot(home / "prices") == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_inspect_agrees_with_ingest_and_writes_nothing(
    name: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    nowhere = tmp_path / "not-created"
    monkeypatch.setenv("STACKCAST_HOME", str(nowhere))
    result = cli("inspect", FORMATS / case["file"], *case.get("args", []))
    assert not nowhere.exists()
    if "error" in case:
        assert result.exit_code == 2, result.stdout
        assert_clean_error(result.stdout, result.stderr, *case["error"])
        return
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("result      would be stored")
    for label in ("separator", "dates", "columns", "close", "tickers", "first rows", "problems"):
        if label == "separator" and case["file"].endswith(".parquet"):
            continue
        assert any(line.startswith(label) for line in lines), (label, result.stdout)
    for ticker, n in case["rows"].items():
        assert any(line.split()[:2] == [ticker, str(n)] for line in lines), result.stdout


def test_inspect_says_which_close_a_yahoo_file_gives() -> None:
    result = cli("inspect", FORMATS / "MSFT.csv")
    close = next(line for line in result.stdout.splitlines() if line.startswith("close"))
    assert "'Adj Close' (adjusted for splits and dividends, like the Yahoo source)" in close


def test_a_misread_file_on_top_of_a_stored_ticker_leaves_it_as_it_was(home: Path) -> None:
    good = cli("ingest", "--source", FORMATS / "ambiguous-dmy.csv", "--date-format", "%d/%m/%Y")
    assert good.exit_code == 0, good.stderr
    before = snapshot(home / "prices")
    for args in (["--date-format", "%m/%d/%Y"], []):  # misread, then ambiguous
        bad = cli("ingest", "--source", FORMATS / "ambiguous-dmy.csv", *args)
        assert bad.exit_code == 2
        assert snapshot(home / "prices") == before


def test_the_config_reads_a_file_the_same_way(home: Path) -> None:
    path = FORMATS / "ambiguous-dmy.csv"
    cfg = parse_config(f'[data]\nsource = "{path}"\ntickers = ["GOOG"]\n')
    with pytest.raises(DataError, match="the dates fit 2 formats"):
        ingest(cfg)
    cfg = parse_config(f'[data]\nsource = "{path}"\ntickers = ["GOOG"]\ndate_format = "%d/%m/%Y"\n')
    (result,) = ingest(cfg)
    assert result.ok, result.message
    _check_stored(home, CASES["ambiguous-dmy-given"])
    cfg = parse_config(
        f'[data]\nsource = "{FORMATS / "BTC-USD.csv"}"\ncalendars = {{BTC-USD = "24/7"}}\n'
    )
    (result,) = ingest(cfg, tickers=["BTC-USD"])
    assert result.ok and result.rows == 20, result.message


def test_reading_options_are_checked(home: Path) -> None:
    for args, words in (
        (["--date-format", "%Y"], ("--date-format", "month")),
        (["--sep", "x"], ("--sep", "separator")),
        (["--decimal", ";"], ("--decimal",)),
    ):
        result = cli("ingest", "--source", FORMATS / "crlf.csv", *args)
        assert result.exit_code == 2
        assert_clean_error(result.stdout, result.stderr, *words)
    assert not (home / "prices").exists()


def test_a_wrong_separator_is_refused_naming_the_file() -> None:
    result = cli("inspect", FORMATS / "EXCEL-DE.csv", "--sep", ",")
    assert result.exit_code == 2
    assert_clean_error(result.stdout, result.stderr, "EXCEL-DE.csv")
