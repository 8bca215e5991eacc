import json
import re
import shutil
import threading

import pytest
from stackcast.pipeline.results.runs import REPO, RUN_KINDS, git_commit, new_run_id


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
def test_git_commit_names_the_checkout_and_flags_local_changes():
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", git_commit() or "")


def test_run_ids_sort_by_time_and_name_their_kind():
    a, b = new_run_id("backtest"), new_run_id("daily")
    assert re.fullmatch(r"\d{8}T\d{6}Z-backtest-[0-9a-f]{4}", a)
    assert a[:16] <= b[:16] and "-daily-" in b


def test_run_files_in_folders_are_published_with_the_run(tmp_path):
    from stackcast.pipeline.results.runs import publish_run

    home = tmp_path / "home"
    files = {"report.html": "<p>r</p>", "tickers/BRK_2EB.html": "<p>t</p>"}
    out = publish_run(home, "r1", files, {"kind": "backtest"}, out=tmp_path / "out")
    assert (out / "tickers" / "BRK_2EB.html").read_text() == "<p>t</p>"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize(
    "name", ["../escaped.html", "a/../../escaped.html", "/tmp/escaped.html", "", ".", "a/.."]
)
def test_a_run_file_outside_the_run_directory_is_refused_and_nothing_published(tmp_path, name):
    from stackcast.pipeline.results.runs import publish_run

    files = {"report.html": "<p>r</p>", name: "<p>x</p>"}
    with pytest.raises(ValueError, match="outside the run directory"):
        publish_run(tmp_path / "home", "r1", files, {"kind": "backtest"}, out=tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.html").exists()


def test_nested_and_dotted_run_file_names_land_inside_the_run(tmp_path):
    from stackcast.pipeline.results.runs import publish_run

    files = {"a/b/c.html": "1", "a/./d.html": "2", "a/b/../e.html": "3", "./f.html": "4"}
    out = publish_run(tmp_path / "home", "r1", files, {"kind": "backtest"}, out=tmp_path / "out")
    found = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*.html")}
    assert found == {"a/b/c.html": "1", "a/d.html": "2", "a/e.html": "3", "f.html": "4"}
    with pytest.raises(ValueError, match=r"run file 'a/\./d\.html' given twice"):
        publish_run(tmp_path / "home", "r2", {"a/d.html": "1", "a/./d.html": "2"}, {})


def test_a_file_that_fails_in_a_writer_thread_publishes_nothing(tmp_path, monkeypatch):
    """A write that fails in a writer thread: its own error, no run, the last good state kept."""
    import pandas as pd
    from stackcast.pipeline.results import runs

    home = tmp_path / "home"
    good = runs.publish_run(home, "r0", {"report.html": "<p>0</p>"}, {"kind": "backtest"})
    index = (home / "index.html").read_text()
    real = runs.write_durably

    def failing(path, write):
        if path.name == "B.html":
            raise OSError(28, "No space left on device")
        real(path, write)

    monkeypatch.setattr(runs, "write_durably", failing)
    files = {
        "report.html": "<p>1</p>",
        "metrics.json": {"model": {}},
        "forecasts.parquet": pd.DataFrame({"y_pred": [0.1, 0.2]}),
        **{f"tickers/{t}.html": f"<p>{t}</p>" for t in "ABCDEFGHIJ"},
    }
    with pytest.raises(OSError, match="No space left on device"):
        runs.publish_run(home, "r1", files, {"kind": "backtest"})
    assert sorted(p.name for p in (home / "runs").iterdir()) == ["r0"]  # no staging left
    assert (good / "report.html").read_text() == "<p>0</p>"
    assert (home / "index.html").read_text() == index


def test_generated_files_are_written_as_they_come_and_a_failing_generator_publishes_nothing(
    tmp_path,
):
    """Pairs from a generator: the first file is being written before the next is produced;
    a generator that raises leaves the last good run, its index and no staging directory."""
    from stackcast.pipeline.results import runs

    home = tmp_path / "home"
    good = runs.publish_run(home, "r0", {"report.html": "<p>0</p>"}, {"kind": "backtest"})
    index = (home / "index.html").read_text()
    seen = []

    def files():
        yield "metrics.json", {"model": {"mae": 1.0}}
        staging = next(p for p in tmp_path.glob(".staging-out-*") if p.is_dir())
        for _ in range(500):  # the writer thread has the first file by now, or soon
            if (staging / "metrics.json").exists():
                break
            threading.Event().wait(0.01)
        seen.append((staging / "metrics.json").exists())
        yield "tickers/A.html", "<p>a</p>"

    out = runs.publish_run(home, "r1", files(), {"kind": "backtest"}, out=tmp_path / "out")
    assert seen == [True]
    assert json.loads((out / "metrics.json").read_text()) == {"model": {"mae": 1.0}}
    assert (out / "tickers" / "A.html").read_text() == "<p>a</p>"

    def broken():
        yield "metrics.json", {"model": {}}
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError, match="render failed"):
        runs.publish_run(home, "r2", broken(), {"kind": "backtest"})
    assert sorted(p.name for p in (home / "runs").iterdir()) == ["r0"]
    assert (good / "report.html").read_text() == "<p>0</p>"
    assert (home / "index.html").read_text() == index
    with pytest.raises(ValueError, match=r"run file 'summary\.json' given twice"):
        runs.publish_run(home, "r3", {"summary.json": {}}, {"kind": "backtest"})
    twice = iter([("a.html", "<p>1</p>"), ("a.html", "<p>2</p>")])
    with pytest.raises(ValueError, match=r"run file 'a\.html' given twice"):
        runs.publish_run(home, "r4", twice, {"kind": "backtest"})
    assert sorted(p.name for p in (home / "runs").iterdir()) == ["r0"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["runs", "--kind", "bogus"], "--kind: unknown run kind 'bogus': use one of backtest"),
        (["ingest", "--source", "sample", "--tickers", "MSFT", "--decimal", "x"], "--decimal"),
        (["ingest", "--source", "sample", "--tickers", "MSFT", "--sep", "xx"], "--sep"),
        (["ingest", "--source", "bogus", "--tickers", "MSFT"], "unknown source 'bogus'"),
        (["serve", "--port", "abc"], "--port"),
        (["run", "--as-of", "soon"], "--as-of"),
    ],
)
def test_choice_options_refuse_unknown_values(home, args, words):
    from tests.reliability.helpers import cli, error_lines, snapshot

    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    (line,) = error_lines(result.stderr)
    assert words in line
    assert snapshot(home) == {}


def test_runs_lists_every_kind(home):
    from tests.reliability.helpers import cli

    for kind in RUN_KINDS:
        result = cli("runs", "--kind", kind)
        assert result.exit_code == 0 and f"no {kind} runs" in result.stdout
