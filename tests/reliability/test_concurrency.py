"""Writers at the same time, in threads (the multi-process case is in test_crash_slow):
per-ticker store locks, the ledger lock, and a clean message when a lock is held too long."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from stackcast.pipeline.config import parse_config
from stackcast.pipeline.data.ingest import ingest
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.results import ledger

from tests.reliability.helpers import check_home, synthetic_prices, write_csv
from tests.reliability.workloads import append_ledger


def test_concurrent_ingests_of_the_same_tickers(home: Path, tmp_path: Path) -> None:
    full = synthetic_prices(("AAA", "BBB", "CCC"), n=300)
    old = write_csv(tmp_path / "old.csv", full[pd.to_datetime(full["date"]) < "2020-09-01"])
    new = write_csv(tmp_path / "new.csv", full)
    cfg = parse_config("")
    assert all(r.ok for r in ingest(cfg, source=str(old)))
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda _: ingest(cfg, source=str(new)), range(6)))
    assert all(r.ok for results in runs for r in results)
    added = sorted(r.rows_added for results in runs for r in results if r.ticker == "AAA")
    assert added[-1] > 0 and added[:-1] == [0] * 5  # one run appended, the others saw it
    store = PriceStore(home)
    assert all(len(store.read(t)) == 300 for t in ("AAA", "BBB", "CCC"))
    assert check_home(home) == []


def test_concurrent_ledger_appends_lose_nothing(home: Path) -> None:
    days = [str(d.date()) for d in pd.bdate_range("2024-01-02", periods=8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: append_ledger(str(home), d), days + days))  # each day twice
    book = ledger.read(home)
    assert len(book) == 8 * 4 and not book.duplicated(list(ledger.KEY)).any()


def test_a_lock_held_too_long_fails_that_ticker_cleanly(home: Path, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", synthetic_prices(("AAA", "BBB"), n=50))
    store = PriceStore(home, lock_timeout=0.2)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock("AAA"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        results = ingest(parse_config(""), source=str(csv), store=store)
    finally:
        release.set()
        holder.join()
    aaa, bbb = results
    assert not aaa.ok and aaa.user_error
    assert "locked by another stackcast run" in aaa.message
    assert bbb.ok and not store.exists("AAA")
