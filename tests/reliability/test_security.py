"""Security: loopback-only servers, escaped reports, no pickles or eval, safe-mode model
loading, and user-supplied paths confined to where they belong."""

from __future__ import annotations

import http.client
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stackcast.pipeline.config import check_ticker, parse_config
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import ConfigError
from stackcast.pipeline.results.reportserver import start_report_server, stop_report_server

from tests.reliability.conftest import Trained
from tests.reliability.helpers import REPO, cli, tiny_config, write_csv

SOURCE_DIRS = ("pipeline", "features", "models", "reports", "bench", "tests")
FORBIDDEN = {
    "pickle import": re.compile(
        r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\b", re.M
    ),
    "pickle load": re.compile(r"\bpickle\.loads?\("),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "eval(": re.compile(r"(?<![\w.])eval\("),
    "exec(": re.compile(r"(?<![\w.])exec\("),
    "keras safe_mode=False": re.compile(r"safe_mode\s*=\s*False"),
    "keras unsafe deserialization": re.compile(r"enable_unsafe_deserialization"),
    "yaml.load(": re.compile(r"\byaml\.(unsafe_)?load\("),
    "torch.load(": re.compile(r"\btorch\.load\("),
    "shell=True": re.compile(r"shell\s*=\s*True"),
}
THIS = Path(__file__).resolve()


def sources() -> Iterator[Path]:
    for top in SOURCE_DIRS:
        for path in sorted((REPO / top).rglob("*.py")):
            if path.resolve() != THIS and ".venv" not in path.parts:
                yield path


def test_no_pickle_no_eval_anywhere_in_the_source_tree() -> None:
    found = []
    checked = 0
    for path in sources():
        text = path.read_text(encoding="utf-8")
        checked += 1
        for what, pattern in FORBIDDEN.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {what}")
    assert checked > 50
    assert found == []


def test_every_keras_model_load_is_safe_mode() -> None:
    calls = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"keras\.(saving|models)\.load_model\(([^)]*)\)", text):
            calls.append((path.relative_to(REPO).as_posix(), m.group(2)))
    assert ("models/persistence.py", "model_path, compile=False, safe_mode=True") in calls
    assert all("safe_mode=True" in args for _, args in calls), calls


def test_a_model_with_code_in_it_is_refused(tmp_path: Path) -> None:
    """A ``Lambda`` layer carries Python bytecode: loading it must fail in safe mode."""
    import keras
    from stackcast.models.persistence import load_model, save_model

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    save_model(keras.Model(inputs, outputs), tmp_path, {"features": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=r"(?i)unsafe|safe_mode|lambda"):
        load_model(tmp_path)


# ----------------------------------------------------------------------------- servers


def test_servers_bind_loopback_by_default(home: Path) -> None:
    import stackcast.pipeline.cli.commands
    import stackcast.pipeline.orchestration.serve
    import stackcast.pipeline.results.reportserver

    server, url = start_report_server(home)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert url.startswith("http://127.0.0.1:")
    finally:
        stop_report_server(server)
    defaults = {}
    for module in (
        stackcast.pipeline.orchestration.serve,
        stackcast.pipeline.results.reportserver,
        stackcast.pipeline.cli.commands,
    ):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            param = inspect.signature(fn).parameters.get("host")
            if param is not None and param.default is not inspect.Parameter.empty:
                defaults[f"{module.__name__}.{name}"] = param.default
    assert {
        "stackcast.pipeline.orchestration.serve.serve",
        "stackcast.pipeline.orchestration.serve.serve_command",
    } <= set(defaults)
    assert "stackcast.pipeline.results.reportserver.start_report_server" in defaults
    assert set(defaults.values()) == {"127.0.0.1"}, defaults
    # `stackcast serve` and `python -m stackcast.pipeline.orchestration.serve`
    serve_cmd = inspect.signature(stackcast.pipeline.cli.commands.serve).parameters["host"].default
    assert serve_cmd == "127.0.0.1"
    source = inspect.getsource(stackcast.pipeline.orchestration.serve.main)
    assert 'parser.add_argument("--host", default="127.0.0.1"' in source


@pytest.fixture
def report_site(home: Path, tmp_path: Path) -> Iterator[str]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET", encoding="utf-8")
    run = home / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<h1>ok</h1>", encoding="utf-8")
    (home / "runs" / "escape").symlink_to(outside, target_is_directory=True)
    (home / "runs" / ".staging-r2-abcdef").mkdir()
    (home / "runs" / ".staging-r2-abcdef" / "report.html").write_text("half", encoding="utf-8")
    (home / "prefect").mkdir()
    (home / "prefect" / "prefect.db").write_text("SECRET", encoding="utf-8")
    (home / "ledger.parquet.lock").write_text("", encoding="utf-8")
    server, url = start_report_server(home)
    try:
        yield url
    finally:
        stop_report_server(server)


def raw_request(url: str, method: str, path: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


ATTACKS = [
    "/../outside/secret.txt",
    "/runs/../../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/runs/%2e%2e%2f%2e%2e%2foutside/secret.txt",
    "/runs/..%5c..%5coutside/secret.txt",
    "/..\\outside\\secret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/runs/escape/secret.txt",
    "/runs/escape/",
    "/runs/.staging-r2-abcdef/report.html",
    "/runs/%2estaging-r2-abcdef/report.html",
    "/prefect/prefect.db",
    "/PREFECT/../prefect/prefect.db",
    "/ledger.parquet.lock",
    "/runs/r1/report.html%00.txt",
    "/%ff%fe",
]


def test_report_server_refuses_every_traversal(report_site: str) -> None:
    assert raw_request(report_site, "GET", "/runs/r1/report.html") == (200, b"<h1>ok</h1>")
    for path in ATTACKS:
        status, body = raw_request(report_site, "GET", path)
        assert status in (400, 404), (path, status)
        assert b"SECRET" not in body and b"half" not in body, path
    for method in ("PUT", "POST", "DELETE"):
        assert raw_request(report_site, method, "/runs/r1/report.html")[0] == 501
    status, body = raw_request(report_site, "GET", "/runs/")
    assert status == 200 and b"r1" in body and b"staging" not in body


# ----------------------------------------------------------------------------- paths


NASTY = [
    "../x",
    "..",
    ".",
    "/etc/passwd",
    "A/../../B",
    "a\\b",
    "C:\\x",
    "~root",
    "A\x00B",
    "$(id)",
    "`id`",
    "A;B",
    "A|B",
    "A B",
    "",
    " ",
    "..A",
    ".hidden",
    "A" * 21,
    "%2e%2e",
]


@pytest.mark.parametrize("ticker", NASTY)
def test_hostile_tickers_are_refused(ticker: str, home: Path) -> None:
    with pytest.raises(ConfigError):
        PriceStore(home).path(ticker)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=25))
def test_a_ticker_never_leaves_the_prices_directory(ticker: str) -> None:
    root = Path("/srv/stackcast/home/prices")
    try:
        path = PriceStore("/srv/stackcast/home").path(ticker)
    except ConfigError:
        return
    assert path.parent == root
    assert Path(str(path)).resolve().parent == root.resolve()  # no '..', no separators
    assert not path.name.startswith(".")
    assert check_ticker(ticker) + ".parquet" == path.name


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".", "", "x" * 65, "a b", "a\\b"])
def test_model_names_cannot_leave_the_models_directory(name: str) -> None:
    with pytest.raises(ConfigError, match="key 'name'"):
        parse_config(f"name = {json.dumps(name)}\n")


# ----------------------------------------------------------------------------- reports

HOSTILE_TITLE = "<script>alert('title')</script>"
HOSTILE_DIR = '<img src=x onerror="alert(1)">'


def assert_escaped(html: str, *raw: str) -> None:
    for text in raw:
        assert text not in html, text
    assert "<script" not in html.lower()  # the templates have none: any would be injected
    assert "<img src=x" not in html


def test_reports_escape_user_supplied_strings(
    champion_home: Path, trained: Trained, tmp_path: Path
) -> None:
    import pandas as pd

    frame = pd.read_csv(trained.csv)
    bad_row = {"date": "<script>alert(2)</script>", "ticker": "BBB", "close": 1.0}
    csv = write_csv(
        tmp_path / HOSTILE_DIR / "prices.csv", pd.concat([frame, pd.DataFrame([bad_row])])
    )
    config = tmp_path / "hostile.toml"
    text = tiny_config(csv, extra=f'\n[report]\ntitle = "{HOSTILE_TITLE}"\n')
    config.write_text(text, encoding="utf-8")

    # the daily report: BBB's ingest fails on the hostile date, quoted in the warnings
    result = cli("run", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert "<script>alert(2)</script>" in result.stderr  # the terminal shows it as is
    daily = (Path(result.stdout.split("report: ")[1].strip())).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in daily
    assert_escaped(daily, "<script>alert(2)", HOSTILE_DIR)

    # the backtest report and the index: the title and the source path
    result = cli("backtest", "-c", config)
    assert result.exit_code == 0, result.stderr
    report = Path(result.stdout.split("report: ")[1].strip()).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in report
    assert_escaped(report, HOSTILE_TITLE, HOSTILE_DIR, "<script>alert(2)")
    index = (champion_home / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in index
    assert_escaped(index, HOSTILE_TITLE, "<script>alert(2)")
