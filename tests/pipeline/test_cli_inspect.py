"""The inspection commands (runs, models, export, config) on small hand-written homes."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel
from stackcast.pipeline.cli.inspect import _toml_value
from stackcast.pipeline.config import RunConfig, load_config, parse_config

from tests.pipeline.test_cli import REPO, assert_one_error_line, run

CONTRACT = ["ticker", "origin", "horizon", "target_date", "y_pred", "y_true", "fold"]


def backtest_forecasts() -> pd.DataFrame:
    origins = pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"])
    return pd.DataFrame(
        {
            "ticker": ["MSFT", "MSFT", "GOOG", "GOOG"],
            "origin": origins,
            "horizon": [1, 2, 1, 2],
            "target_date": origins + pd.to_timedelta([1, 2, 1, 2], unit="D"),
            "y_pred": [0.001, -0.0023456789012345, 0.0, 1e-9],
            "y_true": [0.002, float("nan"), -0.01, 0.003],
            "fold": [0, 0, 1, 1],
            "lo": [-0.01, -0.02, -0.01, -0.02],
            "hi": [0.01, 0.02, 0.01, 0.02],
        }
    )


def daily_forecasts() -> pd.DataFrame:
    """A daily run's columns: no y_true/fold, extras, and not in the contract's order."""
    frame = backtest_forecasts().drop(columns=["y_true", "fold"])
    frame["price_pred"] = [101.0, 102.0, 99.5, 98.25]
    frame["model_version"] = "v0002"
    return frame[["price_pred", "hi", "y_pred", "ticker", "model_version", "lo", "horizon",
                  "target_date", "origin"]]  # fmt: skip


def write_run(
    home: Path,
    run_id: str,
    kind: str,
    created: str,
    *,
    tickers: list[str] | None = None,
    verdict: str = "the model does not beat a random walk at horizon 1, p = 0.41",
    forecasts: pd.DataFrame | None = None,
) -> Path:
    directory = home / "runs" / run_id
    directory.mkdir(parents=True)
    summary = {"run_id": run_id, "created": created, "kind": kind, "verdict": verdict,
               "tickers": tickers or ["MSFT", "GOOG"]}  # fmt: skip
    (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if forecasts is not None:
        forecasts.to_parquet(directory / "forecasts.parquet", index=False)
    return directory


def write_version(home: Path, name: str, version: str, meta: dict | str) -> Path:
    directory = home / "models" / name / version
    directory.mkdir(parents=True)
    text = meta if isinstance(meta, str) else json.dumps(meta)
    (directory / "meta.json").write_text(text, encoding="utf-8")
    return directory


def set_champion(home: Path, name: str, version: str) -> None:
    record = {"version": version, "promoted_at": "2024-02-01T00:00:00+00:00", "reason": "test"}
    (home / "models" / name / "champion.json").write_text(json.dumps(record), encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def table(stdout: str) -> tuple[list[str], list[list[str]]]:
    """Header words and rows split on the header's column starts."""
    lines = stdout.splitlines()
    header = lines[0]
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    bounds = [*starts[1:], None]
    rows = [[line[a:b].strip() for a, b in zip(starts, bounds, strict=True)] for line in lines[1:]]
    return header.split(), rows


def test_runs_empty_home_is_a_friendly_line(home: Path) -> None:
    result = run("runs")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no runs yet in ") and result.stdout.count("\n") == 1
    assert result.stderr == ""
    assert not (home / "runs").exists()


def test_runs_newest_first_with_kind_tickers_verdict_and_path(home: Path) -> None:
    write_run(home, "20240101T000000Z-backtest-aaaa", "backtest", "2024-01-01T00:00:00+00:00")
    write_run(home, "20240301T000000Z-daily-cccc", "daily", "2024-03-01T00:00:00+00:00",
              tickers=["SPY"], verdict="")  # fmt: skip
    write_run(home, "20240201T000000Z-train-bbbb", "train", "2024-02-01T00:00:00+00:00")
    (home / "runs" / ".staging-x-abcdef").mkdir()  # never listed
    (home / "runs" / "broken").mkdir()
    (home / "runs" / "broken" / "summary.json").write_text("{not json")
    result = run("runs")
    assert result.exit_code == 0, result.output
    header, rows = table(result.stdout)
    assert header == ["run", "kind", "tickers", "verdict", "path"]
    assert [r[0] for r in rows] == [
        "20240301T000000Z-daily-cccc",
        "20240201T000000Z-train-bbbb",
        "20240101T000000Z-backtest-aaaa",
    ]
    assert rows[0] == ["20240301T000000Z-daily-cccc", "daily", "SPY", "—",
                       str(home / "runs" / "20240301T000000Z-daily-cccc")]  # fmt: skip
    assert rows[1][1:3] == ["train", "MSFT,GOOG"]
    assert rows[2][3] == "the model does not beat a random walk at horizon 1, p = 0.41"

    only = run("runs", "--kind", "backtest")
    assert [r[0] for r in table(only.stdout)[1]] == ["20240101T000000Z-backtest-aaaa"]
    limited = run("runs", "--limit", "2")
    assert [r[1] for r in table(limited.stdout)[1]] == ["daily", "train"]
    none = run("runs", "--kind", "sweep")
    assert none.exit_code == 0 and none.stdout.startswith("no sweep runs in ")
    bogus = run("runs", "--kind", "nope")  # an unknown kind is refused, not "no runs"
    assert bogus.exit_code == 2 and "unknown run kind 'nope'" in bogus.stderr


def test_runs_bad_limit_exits_2() -> None:
    result = run("runs", "--limit", "0")
    assert result.exit_code == 2
    assert "--limit" in assert_one_error_line(result.stderr)


def test_models_empty_home_is_a_friendly_line(home: Path) -> None:
    result = run("models")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no model versions yet in ")
    assert not (home / "models").exists()


def test_models_lists_versions_marks_the_champion(home: Path) -> None:
    mae = {"y_pred": 0.0123456, "random_walk": 0.0125, "drift": 0.013}
    write_version(home, "default", "v0001",
                  {"created": "2024-01-01T09:00:00+00:00", "validation_mae": mae})  # fmt: skip
    v2 = {"created": "2024-01-08T09:00:00+00:00", "seen_until": "2024-01-05 00:00:00",
          "validation_mae": {"y_pred": 0.02}}  # fmt: skip
    write_version(home, "default", "v0002", v2)
    write_version(home, "default", "v0010", "{torn")
    write_version(home, "other", "v0001", {"created": "2024-02-01T09:00:00+00:00"})
    (home / "models" / "default" / ".staging-v0011-abcdef").mkdir()
    set_champion(home, "default", "v0001")
    result = run("models")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    header, rows = table(result.stdout)
    assert header == ["model", "version", "champion", "seen_until", "val_mae", "rw_mae",
                      "created", "note"]  # fmt: skip
    assert [r[:2] for r in rows] == [
        ["default", "v0010"], ["default", "v0002"], ["default", "v0001"], ["other", "v0001"]
    ]  # fmt: skip
    assert rows[0][2:] == ["", "—", "—", "—", "—", "meta.json unreadable"]
    assert rows[1][2:] == ["", "2024-01-05", "2.000%", "—", "2024-01-08T09:00:00+00:00", ""]
    assert rows[2][2:] == ["yes", "—", "1.235%", "1.250%", "2024-01-01T09:00:00+00:00", ""]
    assert rows[3][2] == ""
    assert [r[2] for r in rows].count("yes") == 1

    other = run("models", "--name", "other")
    assert [r[:2] for r in table(other.stdout)[1]] == [["other", "v0001"]]


def test_models_warns_about_a_broken_champion_pointer(home: Path) -> None:
    write_version(home, "default", "v0001", {"created": "2024-01-01T09:00:00+00:00"})
    set_champion(home, "default", "v0007")  # names a missing version
    result = run("models")
    assert result.exit_code == 0
    assert "yes" not in result.stdout
    assert result.stderr.startswith("warning: default: champion.json")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("nope", "error: no model named 'nope' in "), ("../x", "error: --name: invalid model name")],
)
def test_models_bad_name_exits_2(home: Path, name: str, expected: str) -> None:
    write_version(home, "default", "v0001", {})
    result = run("models", "--name", name)
    assert result.exit_code == 2, result.output
    assert assert_one_error_line(result.stderr).startswith(expected)
    assert result.stdout == ""


def test_export_backtest_round_trips(home: Path, tmp_path: Path) -> None:
    frame = backtest_forecasts()
    write_run(home, "r1", "backtest", "2024-01-01T00:00:00+00:00", forecasts=frame)
    out = tmp_path / "f.csv"
    result = run("export", "r1", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote 4 rows ") and str(out) in result.stdout
    assert out.read_text().splitlines()[0] == ",".join([*CONTRACT, "lo", "hi"])
    back = pd.read_csv(out, parse_dates=["origin", "target_date"])
    pd.testing.assert_frame_equal(back, frame, check_exact=True, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv"]  # no temp file left

    out.write_text("old")  # an existing file is replaced
    assert run("export", "r1", "--csv", str(out)).exit_code == 0
    assert out.read_text().startswith("ticker,")


def test_export_daily_puts_the_contract_columns_first(home: Path, tmp_path: Path) -> None:
    write_run(home, "d1", "daily", "2024-01-01T00:00:00+00:00", forecasts=daily_forecasts())
    out = tmp_path / "daily.csv"
    result = run("export", "d1", "--csv", str(out))
    assert result.exit_code == 0, result.output
    back = pd.read_csv(out)
    assert list(back.columns) == ["ticker", "origin", "horizon", "target_date", "y_pred", "lo",
                                  "hi", "price_pred", "model_version"]  # fmt: skip
    assert back["price_pred"].tolist() == [101.0, 102.0, 99.5, 98.25]


@pytest.mark.parametrize("run_id", ["nope", "../runs/r1", ".staging-r1", "r1/..", ""])
def test_export_unknown_run_exits_2(home: Path, tmp_path: Path, run_id: str) -> None:
    write_run(home, "r1", "backtest", "2024-01-01T00:00:00+00:00", forecasts=backtest_forecasts())
    (home / "runs" / ".staging-r1").mkdir()
    out = tmp_path / "f.csv"
    before = snapshot(home)
    result = run("export", run_id, "--csv", str(out))
    assert result.exit_code == 2, result.output
    assert assert_one_error_line(result.stderr) == (
        f"error: unknown run '{run_id}': see stackcast runs"
    )
    assert not out.exists() and snapshot(home) == before


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("dir", "is a directory"),
        ("missing/f.csv", "does not exist"),
        ("afile/f.csv", "does not exist"),
    ],
)
def test_export_unwritable_csv_exits_2(
    home: Path, tmp_path: Path, target: str, expected: str
) -> None:
    write_run(home, "r1", "backtest", "2024-01-01T00:00:00+00:00", forecasts=backtest_forecasts())
    (tmp_path / "dir").mkdir()
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    result = run("export", "r1", "--csv", str(tmp_path / target))
    assert result.exit_code == 2, result.output
    line = assert_one_error_line(result.stderr)
    assert line.startswith("error: --csv ") and expected in line
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("damage", ["no forecasts", "torn forecasts"])
def test_export_run_without_readable_forecasts_exits_2(
    home: Path, tmp_path: Path, damage: str
) -> None:
    directory = write_run(home, "r1", "backtest", "2024-01-01T00:00:00+00:00")
    if damage == "torn forecasts":
        (directory / "forecasts.parquet").write_bytes(b"PAR1 not really")
    out = tmp_path / "f.csv"
    out.write_text("keep me")
    result = run("export", "r1", "--csv", str(out))
    assert result.exit_code == 2, result.output
    assert "forecasts" in assert_one_error_line(result.stderr)
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv"]


def test_export_needs_csv() -> None:
    result = run("export", "r1")
    assert result.exit_code == 2
    assert "--csv" in assert_one_error_line(result.stderr)


def commented_keys(text: str) -> dict[tuple[str, str], str]:
    """(section, key) -> the comment above it, for every key set or commented out as unset."""
    found: dict[tuple[str, str], str] = {}
    section, comment = "", ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line[1 : line.index("]")]
        elif line.startswith(("#   ", "    ", "]")) or not line:
            continue
        elif line.startswith("# ") and not line.endswith("= (unset)"):
            comment = line
        else:
            key = line.removeprefix("# ").split(" = ")[0]
            assert (section, key) not in found, line
            found[(section, key)] = comment
            comment = ""
    return found


def test_config_defaults_parse_back_with_a_comment_per_key() -> None:
    result = run("config", "--defaults")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert parse_config(text) == RunConfig()
    cfg = RunConfig()
    sections = [k for k in RunConfig.model_fields if isinstance(getattr(cfg, k), BaseModel)]
    headers = [line.split("]")[0] + "]" for line in text.splitlines() if line.startswith("[")]
    assert headers == [f"[{s}]" for s in sections]
    expected = {("", "name"): RunConfig.model_fields["name"].description}
    for s in sections:
        for key, field in type(getattr(cfg, s)).model_fields.items():
            expected[(s, key)] = field.description
    found = commented_keys(text)
    assert found.keys() == expected.keys()
    for where, description in expected.items():
        assert found[where].startswith("# "), where
        if description:
            assert found[where] == f"# {description}", where
    assert "# Number of walk-forward folds.\nfolds = 4\n" in text
    assert "# end = (unset)" in text
    assert "#   units: Units per direction." in text


def test_config_file_prints_its_effective_values(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text('name = "mine"\n[train]\nepochs = 3\n[model]\nlayers = [{cell = "gru", '
                    'units = 8, backward_cell = "lstm"}]\n[data]\nend = 2008-10-14\n')  # fmt: skip
    result = run("config", "--config", str(path))
    assert result.exit_code == 0, result.output
    assert parse_config(result.stdout) == load_config(path)
    assert "epochs = 3\n" in result.stdout and "window = 60\n" in result.stdout
    assert 'backward_cell = "lstm"' in result.stdout
    plain = run("config")
    assert plain.exit_code == 0 and parse_config(plain.stdout) == load_config()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[train]\nepochz = 3\n", "unknown key 'train.epochz'"),
        ("[train\n", "not valid TOML"),
        (None, "config file not found"),
        ("dir", "is a directory"),
    ],
)
def test_config_bad_file_exits_2(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "bad.toml"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    result = run("config", "--config", str(path))
    assert result.exit_code == 2, result.output
    assert expected in assert_one_error_line(result.stderr)
    assert result.stdout == ""


def test_config_defaults_and_config_together_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text("")
    result = run("config", "--defaults", "--config", str(path))
    assert result.exit_code == 2
    assert assert_one_error_line(result.stderr) == (
        "error: use either --defaults or --config, not both"
    )


def test_toml_values_quote_keys_that_are_not_bare() -> None:
    value = {"BRK.B": "XNYS", "BTC-USD": "24/7", "^GSPC": None, "a b": [1, 2.5]}
    parsed = tomllib.loads(f"v = {_toml_value(value)}\nw = {_toml_value({})}\n")
    assert parsed == {"v": {"BRK.B": "XNYS", "BTC-USD": "24/7", "a b": [1, 2.5]}, "w": {}}


def test_inspection_commands_import_no_pandas() -> None:
    code = (
        "import sys; from stackcast.pipeline.cli import main; main(['runs']); "
        "main(['config', '--defaults']); print(sorted({'pandas', 'keras'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[]"
