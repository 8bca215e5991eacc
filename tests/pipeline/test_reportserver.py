from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from stackcast.pipeline.results.reportserver import (
    link_for,
    start_report_server,
    stop_report_server,
)

from tests.prefect_support import free_port, http_get


@pytest.fixture
def site(home: Path) -> Path:
    run = home / "runs" / "20240101T000000Z-daily-abcd"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<h1>the report</h1>", encoding="utf-8")
    (home / "index.html").write_text("<h1>index</h1>", encoding="utf-8")
    (home / "runs" / ".staging-x").mkdir()
    (home / "runs" / ".staging-x" / "report.html").write_text("half", encoding="utf-8")
    (home / "prefect").mkdir()
    (home / "prefect" / "profiles.toml").write_text("SECRET", encoding="utf-8")
    (home / "ledger.parquet.lock").write_text("", encoding="utf-8")
    return home


@pytest.fixture
def server(site: Path) -> Iterator[tuple[object, str]]:
    srv, url = start_report_server(site)
    yield srv, url
    stop_report_server(srv)


def _raw_get(url: str, raw_path: str) -> int:
    """Send a request line verbatim (no client-side normalisation of ``..``)."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.putrequest("GET", raw_path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_serves_report_and_index(server: tuple[object, str]) -> None:
    _, url = server
    resp = http_get(url + "runs/20240101T000000Z-daily-abcd/report.html")
    assert resp.status_code == 200
    assert "the report" in resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert "index" in http_get(url).text  # index.html at /
    assert http_get(url + "runs/nope.html").status_code == 404


def test_binds_loopback_by_default(server: tuple[object, str]) -> None:
    srv, url = server
    assert srv.server_address[0] == "127.0.0.1"
    assert url.startswith("http://127.0.0.1:")


def test_refuses_traversal(server: tuple[object, str], site: Path) -> None:
    _, url = server
    secret = site.parent / "secret.txt"
    secret.write_text("outside", encoding="utf-8")
    for raw in (
        f"/../{secret.name}",
        f"/runs/../../{secret.name}",
        f"/%2e%2e/{secret.name}",
        f"/runs/%2E%2E/%2E%2E/{secret.name}",
        f"/..%2f{secret.name}",
        "/%00index.html",
        "/..\\secret.txt",
    ):
        assert _raw_get(url, raw) in (400, 404), raw


def test_refuses_symlink_out_of_home(server: tuple[object, str], site: Path) -> None:
    _, url = server
    outside = site.parent / "outside-dir"
    outside.mkdir(exist_ok=True)
    (outside / "x.html").write_text("outside", encoding="utf-8")
    os.symlink(outside, site / "runs" / "escape")
    assert http_get(url + "runs/escape/x.html").status_code == 404


def test_hidden_and_private_entries_not_served(server: tuple[object, str]) -> None:
    _, url = server
    assert http_get(url + "prefect/profiles.toml").status_code == 404
    assert http_get(url + "prefect/").status_code == 404
    assert http_get(url + "runs/.staging-x/report.html").status_code == 404
    assert http_get(url + "ledger.parquet.lock").status_code == 404
    listing = http_get(url + "runs/")
    assert listing.status_code == 200
    assert "20240101T000000Z-daily-abcd" in listing.text
    assert ".staging" not in listing.text


def test_root_listing_hides_private_dirs(home: Path) -> None:
    (home / "runs").mkdir()
    (home / "prefect").mkdir()
    srv, url = start_report_server(home)
    try:
        text = http_get(url).text
    finally:
        stop_report_server(srv)
    assert "runs/" in text
    assert "prefect" not in text


def test_read_only(server: tuple[object, str]) -> None:
    import httpx

    _, url = server
    assert httpx.put(url + "index.html", content=b"x", timeout=5).status_code == 501
    assert httpx.post(url + "index.html", content=b"x", timeout=5).status_code == 501


def test_given_port_and_stop_releases_it(site: Path) -> None:
    port = free_port()
    srv, url = start_report_server(site, port=port)
    assert url == f"http://127.0.0.1:{port}/"
    stop_report_server(srv)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # free again


def test_link_for(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = home / "runs" / "r 1" / "report.html"
    assert link_for(home, report, "http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/runs/r%201/report.html"
    )
    monkeypatch.delenv("STACKCAST_REPORTS_URL", raising=False)
    assert link_for(home, report) is None
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "http://h:1")
    assert link_for(home, "index.html") == "http://h:1/index.html"
    assert link_for(home, home.parent / "x.html") is None
    assert link_for(home, "prefect/profiles.toml") is None
