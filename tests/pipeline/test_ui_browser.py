"""The Prefect UI for real, in a real browser: Quick run of daily-forecast, then its report.

A champion is trained with ``stackcast train --config configs/demo.toml`` in a fresh
STACKCAST_HOME, ``stackcast serve`` starts in its own process group, and Playwright drives
Debian's Chromium (headless) through Prefect's default (V2) UI like a person would. First the
deployment's Description tab (the schedule with its time zone) and its Custom run form at
1,400 x 900: a plain date field for ``as_of``, the tickers and model name, at most two screens
tall. Then Deployments -> daily-forecast -> Run -> Quick run (-> Run in the parameters dialog,
which Prefect shows when a parameter is required) -> View run in the toast. The REST API
only tells when the run is over; the UI must then show it Completed, list its artifacts, and the
``daily-forecast-report`` artifact's link must open the daily report on the report server.

Needs ``pip install playwright`` and a ``chromium`` on PATH (``apt-get install chromium``);
``playwright install`` is never needed. Everything stays on 127.0.0.1: the browser aborts any
other request.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.prefect_support import (
    CHROMIUM_ARGS,
    REPO,
    find_deployment,
    free_port,
    group_alive,
    serve_env,
    stop_process_group,
    wait_for_flow_run,
    wait_for_http,
)

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install playwright; the browser is Debian's chromium)",
)

CHROMIUM = shutil.which("chromium")
CONFIG = REPO / "configs" / "demo.toml"

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
UI_TIMEOUT_MS = 30_000  # one UI step (a click, a page, an element); the run has its own bound
DESKTOP = {"width": 1400, "height": 900}
RUN_TIMEOUT_S = 120.0
CREATE_FLOW_RUN = re.compile(r"/api/deployments/[0-9a-f-]{36}/create_flow_run$")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not on PATH (apt-get install chromium)"
)


def stackcast_command() -> list[str]:
    """The ``stackcast`` console script of the interpreter running the tests."""
    script = Path(sys.executable).with_name("stackcast")
    found = str(script) if script.is_file() else shutil.which("stackcast")
    assert found, "the stackcast console script is not installed (make setup)"
    return [found]


@contextlib.contextmanager
def served(home: Path, log: Path) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """``stackcast serve --config configs/demo.toml`` on free ports: (UI url, reports url, proc).

    The launcher runs in its own session; the whole process group is stopped (SIGTERM, then
    SIGKILL) however the block ends.
    """
    ui_port, reports_port = free_port(), free_port()
    cmd = [
        *stackcast_command(),
        "serve",
        "--config",
        str(CONFIG),
        "--host",
        "127.0.0.1",
        "--port",
        str(ui_port),
        "--reports-port",
        str(reports_port),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=serve_env(home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{reports_port}", proc
    finally:
        stop_process_group(proc, timeout=30, sig=signal.SIGTERM)
        assert not group_alive(proc.pid), "stackcast serve's process group outlived SIGKILL"


def local_only(aborted: list[str]) -> Any:
    """A route handler: requests to 127.0.0.1 go through, others are aborted (and noted)."""

    def handle(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    return handle


@contextlib.contextmanager
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium page; on failure a screenshot goes to ``tmp_path``."""
    errors: list[str] = []
    aborted: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", local_only(aborted))
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "response",
                lambda r: (
                    errors.append(f"HTTP {r.status} {r.request.method} {r.url}")
                    if r.status >= 400
                    else None
                ),
            )
            try:
                yield page
            except BaseException:
                shot = tmp_path / "failure.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"failure screenshot: {shot} (page {page.url})")
                if errors:
                    print("page errors:", *errors, sep="\n  ")
                raise
        finally:
            browser.close()
            if aborted:
                print(f"requests aborted (not 127.0.0.1): {sorted(set(aborted))}")


def click_until(link: Any, arrived: Any, tries: int = 3) -> None:
    """Click ``link`` until ``arrived`` shows; click again only while ``link`` is still shown.

    Prefect's single-page app rewrites its own URL (it adds default search parameters) just
    after a page shows, and a click in that moment can be lost or undone; a person then clicks
    again. A link or button that does nothing fails after ``tries`` clicks.
    """
    for attempt in range(1, tries + 1):
        if attempt == 1 or link.is_visible():
            if attempt > 1:
                print(f"not there yet, clicking again: {link}")
            link.click()
        try:
            sync_api.expect(arrived).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            if attempt == tries:
                raise


def post_flow_run(page: Any, submit: Callable[[], None], tries: int = 5) -> None:
    """``submit()`` makes the UI POST ``create_flow_run``; do it again after a 503.

    Prefect's local SQLite server answers 503 while its database is locked (for instance while
    the scheduler inserts the runs of the cron schedules just registered). The UI then shows an
    error toast and keeps the dialog open, and a person clicks Run again. Any other answer, or
    no request at all, is final.
    """
    toasts = page.get_by_role("region", name=re.compile(r"^Notifications")).get_by_role("listitem")
    statuses: list[int] = []
    for _ in range(tries):
        with page.expect_response(
            lambda r: r.request.method == "POST" and CREATE_FLOW_RUN.search(r.url) is not None
        ) as answer:
            submit()
        statuses.append(answer.value.status)
        if answer.value.status != 503:
            break
        sync_api.expect(toasts.filter(has_text="error while creating flow run")).to_be_visible()
    assert 200 <= statuses[-1] < 300, f"create_flow_run answered {statuses}"


def open_daily_forecast(page: Any, ui: str) -> Any:
    """Deployments -> daily-forecast; returns the deployment page's Run button."""
    expect = sync_api.expect
    page.goto(f"{ui}/")
    deployment = page.get_by_role("link", name="daily-forecast", exact=True).and_(
        page.locator('[href*="/deployments/deployment/"]')
    )
    click_until(page.get_by_role("link", name="Deployments", exact=True), deployment)
    expect(page).to_have_url(re.compile(r"/v2/deployments"))  # Prefect's default (V2) UI
    run_button = page.get_by_role("button", name="Run", exact=True)
    click_until(deployment, run_button)
    expect(page).to_have_url(re.compile(r"/deployments/deployment/[0-9a-f-]{36}"))
    return run_button


def check_custom_run_form(page: Any, ui: str, tickers: list[str], name: str) -> int:
    """The schedule's time zone in the Description tab; the Custom run form; its height (px).

    The form leads with ``as_of`` as a plain date field (no "date | None" toggle), then the
    tickers and the model's name, and fits two screens of a 1,400 x 900 desktop.
    """
    expect = sync_api.expect
    page.set_viewport_size(DESKTOP)
    run_button = open_daily_forecast(page, ui)
    schedule = page.get_by_text(re.compile(r"Schedule: \d\d:\d\d America/New_York time"))
    click_until(page.get_by_role("tab", name="Description", exact=True), schedule)

    custom_run = page.get_by_role("menuitem", name="Custom run", exact=True)
    click_until(run_button, custom_run)
    click_until(custom_run, page.get_by_role("button", name="Submit", exact=True))
    expect(page).to_have_url(re.compile(r"/deployments/deployment/[0-9a-f-]{36}/run"))
    expect(page.get_by_text("as_of (Optional)", exact=True)).to_be_visible()
    expect(page.get_by_text("Pick a date", exact=True)).to_be_visible()
    expect(page.get_by_text('Property is type "None"')).to_have_count(0)
    values = page.evaluate(
        "() => [...document.querySelectorAll('input, textarea')].map(e => e.value)"
    )
    assert set(tickers) | {name} <= set(values), values
    height = int(page.evaluate("() => document.documentElement.scrollHeight"))
    assert height <= 2 * DESKTOP["height"], f"the Custom run form is {height} px tall"
    return height


def quick_run_daily_forecast(page: Any, ui: str, confirm_in_dialog: bool) -> str:
    """Deployments -> daily-forecast -> Run -> Quick run -> View run; returns the run's id.

    With a required parameter Prefect's Quick run asks to confirm the default parameters in a
    "Run Deployment" dialog; without one it creates the run at once.
    """
    expect = sync_api.expect
    run_button = open_daily_forecast(page, ui)

    quick_run = page.get_by_role("menuitem", name="Quick run", exact=True)
    dialog = page.get_by_role("dialog", name="Run Deployment")

    def submit() -> None:
        if not (confirm_in_dialog and dialog.is_visible()):  # after a 503 the dialog stays
            click_until(run_button, quick_run)
            quick_run.click()
        if confirm_in_dialog:
            dialog.get_by_role("button", name="Run", exact=True).click()

    post_flow_run(page, submit)
    expect(page.get_by_text("Flow run created", exact=True)).to_be_visible()
    if confirm_in_dialog:
        expect(dialog).to_be_hidden()

    click_until(
        page.get_by_role("link", name="View run", exact=True),
        page.get_by_role("tab", name="Logs", exact=True),
    )
    expect(page).to_have_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
    match = re.search(r"/runs/flow-run/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def report_link(page: Any, run_name: str) -> Any:
    """From the run's page: Artifacts tab -> daily-forecast-report -> this run's artifact."""
    expect = sync_api.expect
    page.reload()  # the run's final state and its artifacts, as a person coming back sees them
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
    card = page.get_by_role("heading", name="daily-forecast-report", exact=True)
    click_until(page.get_by_role("tab", name="Artifacts", exact=True), card)
    for key in ("daily-forecast-summary", "daily-forecast-ledger"):
        expect(page.get_by_role("heading", name=key, exact=True)).to_be_visible()

    # the key's history: the entry of this run links to its artifact (by its short id)
    this_run = page.get_by_role("link", name=run_name, exact=True)
    click_until(page.get_by_role("link").filter(has=card), this_run)
    expect(page).to_have_url(re.compile(r"/artifacts/key/daily-forecast-report"))
    short_id = re.compile(r"^[0-9a-f]{8}$")
    entry = (
        page.locator("div")
        .filter(has=this_run)
        .filter(has=page.get_by_role("link", name=short_id))
        .last
    )
    link = page.get_by_role("link", name="report", exact=True)
    click_until(entry.get_by_role("link", name=short_id), link)
    expect(page).to_have_url(re.compile(r"/artifacts/artifact/[0-9a-f-]{36}"))
    return link


def follow(link: Any) -> tuple[Any, int]:
    """Click ``link`` like a person (same tab, or the new tab it opens); (page, HTTP status)."""
    page = link.page
    href = link.get_attribute("href")
    new_tab = link.get_attribute("target") == "_blank"
    opener = page.context.expect_page() if new_tab else contextlib.nullcontext()
    with (
        opener as popup,
        page.context.expect_event("response", lambda r: r.url == href) as response,
    ):
        link.click()
    return (popup.value if new_tab else page), response.value.status


def assert_daily_report(report: Any, name: str, tickers: list[str], horizons: int) -> None:
    """The daily report: its title, heading and forecast table (one row per ticker x horizon)."""
    expect = sync_api.expect
    title = f"stackcast daily forecast: {name}"
    expect(report).to_have_title(re.compile(rf"^{re.escape(title)}"))
    expect(report.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()
    expect(report.get_by_role("heading", name="Forecasts", exact=True)).to_be_visible()
    table = report.get_by_role("table").first
    for column in ("ticker", "origin", "target date", "forecast", "interval"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    rows = table.get_by_role("row")
    for ticker in tickers:
        cell = report.get_by_role("cell", name=ticker, exact=True)
        expect(rows.filter(has=cell)).to_have_count(horizons)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_run_from_the_prefect_ui_opens_the_daily_report(home: Path, tmp_path: Path) -> None:
    """Deployments -> daily-forecast -> Run -> Quick run -> Completed -> artifact -> report."""
    demo = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    sync_api.expect.set_options(timeout=UI_TIMEOUT_MS)
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    trained = subprocess.run(
        [*stackcast_command(), "train", "--config", str(CONFIG)],
        cwd=REPO,
        env=serve_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert "promoted to champion" in trained.stdout, trained.stdout[-2000:]
    lap("champion trained")

    log = tmp_path / "serve.log"
    try:
        with served(home, log) as (ui, reports, proc):
            api = f"{ui}/api"
            wait_for_http(f"{api}/health", timeout=90, proc=proc)
            deployment = find_deployment(api, "daily-forecast", timeout=60)
            lap("served")
            tickers, horizons = demo["data"]["tickers"], demo["features"]["horizons"]
            with browser_page(tmp_path) as page:
                height = check_custom_run_form(page, ui, tickers, demo["name"])
                lap(f"custom run form ({height} px)")
                required = deployment["parameter_openapi_schema"].get("required")
                run_id = quick_run_daily_forecast(page, ui, confirm_in_dialog=bool(required))
                lap("quick run")
                run = wait_for_flow_run(api, run_id, timeout=RUN_TIMEOUT_S)
                lap("flow run finished")
                assert run["state"]["type"] == "COMPLETED", run["state"].get("message")
                assert run["deployment_id"] == deployment["id"], run

                link = report_link(page, run["name"])
                href = link.get_attribute("href") or ""
                assert re.fullmatch(rf"{re.escape(reports)}/runs/[^/]+/report\.html", href), href
                report, status = follow(link)
                assert status == 200, (href, status)
                sync_api.expect(report).to_have_url(href)
                assert_daily_report(report, demo["name"], tickers, horizons)
                lap("report checked")
    finally:
        lap("stopped")
        print(f"timings (s): {timings}")
        if log.is_file():
            print(f"serve log tail:\n{log.read_text(errors='replace')[-3000:]}")
