from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline import atomic
from stackcast.pipeline.data.sources import Loaded, load_frames
from stackcast.pipeline.data.store import PriceStore, restatement
from stackcast.pipeline.errors import ConfigError, DataError, LockTimeout, SourceError

from tests.conftest import sessions

pytestmark = pytest.mark.usefixtures("home")


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return load_frames("sample", ["GOOG"])["GOOG"]


class Source:
    """A fake fetch function serving a (mutable) frame, recording each `since` asked for."""

    def __init__(self, frame: pd.DataFrame, delay: float = 0.0) -> None:
        self.frame = frame
        self.calls: list[dt.date | None] = []
        self.delay = delay

    def __call__(self, since: dt.date | None) -> Loaded:
        self.calls.append(since)
        if self.delay:
            time.sleep(self.delay)
        df = self.frame
        if since is not None:
            df = df[df["date"] >= pd.Timestamp(since)].reset_index(drop=True)
        return Loaded(df, ("a warning",))


def test_home_comes_from_the_environment(home: Path) -> None:
    store = PriceStore()
    assert store.root == home / "prices"
    assert store.path("msft") == home / "prices" / "MSFT.parquet"


def test_write_read_round_trip(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    path = store.write("GOOG", goog, meta={"source": "sample"})
    assert path == home / "prices" / "GOOG.parquet"
    back = store.read("goog")
    pd.testing.assert_frame_equal(back, goog, check_dtype=True)
    assert store.meta("GOOG") == {"ticker": "GOOG", "source": "sample"}
    assert store.tickers() == ["GOOG"]
    assert store.exists("GOOG") and not store.exists("MSFT")
    assert store.read_many(["GOOG"])["GOOG"].shape == goog.shape


def test_write_refuses_a_frame_of_another_ticker(home: Path, goog: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="holds other tickers"):
        PriceStore(home).write("MSFT", goog)


def test_read_missing_says_how_to_fix(home: Path) -> None:
    with pytest.raises(
        DataError, match=r"MSFT: no stored prices .*stackcast ingest --tickers MSFT"
    ):
        PriceStore(home).read("MSFT")


@pytest.mark.parametrize("ticker", ["../x", "..", "a/b", "/etc/passwd", ".hidden", "x" * 21, ""])
def test_path_like_tickers_are_refused_before_any_path_exists(
    home: Path, goog: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, ticker: str
) -> None:
    store = PriceStore(home)
    built: list[str] = []
    real_truediv = Path.__truediv__

    def spy(self: Path, other: str) -> Path:
        built.append(str(other))
        return real_truediv(self, other)

    monkeypatch.setattr(Path, "__truediv__", spy)
    for call in (
        lambda: store.path(ticker),
        lambda: store.write(ticker, goog),
        lambda: store.read(ticker),
        lambda: store.update(ticker, Source(goog)),
    ):
        with pytest.raises(ConfigError, match="invalid ticker"):
            call()
    monkeypatch.undo()
    assert not any(ticker in b for b in built if ticker)
    assert list(home.rglob("*")) == []


def test_crash_between_temp_write_and_rename_keeps_old_file(
    home: Path, goog: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PriceStore(home)
    old = goog.iloc[:-10].reset_index(drop=True)
    store.write("GOOG", old)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.update("GOOG", Source(goog))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.read("GOOG"), old)
    assert sorted(p.name for p in store.root.iterdir()) == [".locks", "GOOG.parquet"]


def test_create_then_incremental_append_then_unchanged(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    src = Source(goog.iloc[:-20].reset_index(drop=True))
    out = store.update("GOOG", src, overlap=5, source="test")
    assert (out.action, out.rows_added, out.rows) == ("created", len(goog) - 20, len(goog) - 20)
    assert src.calls == [None]
    assert out.warnings == ("a warning",)

    src.frame = goog  # 20 new bars
    out = store.update("GOOG", src, overlap=5)
    assert (out.action, out.rows_added, out.rows) == ("appended", 20, len(goog))
    assert src.calls[-1] == goog["date"].iloc[-25].date()  # only the last 5 stored bars refetched
    assert out.last == goog["date"].iloc[-1].date()
    pd.testing.assert_frame_equal(store.read("GOOG"), goog)

    out = store.update("GOOG", src, overlap=5)
    assert (out.action, out.rows_added, out.rows) == ("unchanged", 0, len(goog))
    assert store.meta("GOOG")["source"] == "test"


def test_restatement_in_the_overlap_triggers_a_full_refetch(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    store.update("GOOG", Source(goog.iloc[:-3].reset_index(drop=True)))
    split = goog.copy()
    split[["open", "high", "low", "close"]] /= 2  # a 2:1 split re-adjusts all history
    src = Source(split)
    out = store.update("GOOG", src, overlap=5)
    assert out.action == "replaced"
    assert out.rows_added == 3
    assert "restatement: close on" in out.message
    assert src.calls == [goog["date"].iloc[-8].date(), None]
    pd.testing.assert_frame_equal(store.read("GOOG"), split)


def test_tiny_float_noise_is_not_a_restatement(goog: pd.DataFrame) -> None:
    noisy = goog.assign(close=goog["close"] * (1 + 1e-9))
    assert restatement(goog, noisy, goog["date"].iloc[-5].date()) == ""
    moved = goog.assign(close=goog["close"] * (1 + 1e-5))
    assert restatement(goog, moved, goog["date"].iloc[-5].date()).startswith("restatement")


def test_vanished_bars_and_changed_columns_are_restatements(goog: pd.DataFrame) -> None:
    since = goog["date"].iloc[-5].date()
    gone = goog.drop(index=len(goog) - 3)
    assert "1 stored bar(s)" in restatement(goog, gone, since)
    assert restatement(goog, goog.drop(columns="volume"), since).startswith("columns changed")


def test_earlier_start_refetches_everything(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    src = Source(goog)
    store.update("GOOG", src, start=dt.date(2006, 1, 1))
    out = store.update("GOOG", src, start=dt.date(2005, 1, 1))
    assert out.action == "replaced" and "history extended back" in out.message
    assert store.meta("GOOG")["start"] == "2005-01-01"
    out = store.update("GOOG", src, start=dt.date(2007, 1, 1))  # later start: keep history
    assert out.action == "unchanged"


def test_failed_fetch_leaves_the_store_alone(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    store.update("GOOG", Source(goog))
    before = store.path("GOOG").read_bytes()

    def broken(since):
        raise SourceError("GOOG", "network down")

    with pytest.raises(SourceError):
        store.update("GOOG", broken)
    assert store.path("GOOG").read_bytes() == before


def test_unreadable_stored_file_is_rebuilt(home: Path, goog: pd.DataFrame) -> None:
    store = PriceStore(home)
    store.root.mkdir(parents=True)
    store.path("GOOG").write_bytes(b"garbage")
    with pytest.raises(DataError, match="unreadable"):
        store.read("GOOG")
    out = store.update("GOOG", Source(goog))
    assert out.action == "created"
    assert any("unreadable" in w for w in out.warnings)
    assert len(store.read("GOOG")) == len(goog)


def test_concurrent_updates_of_one_ticker_are_serialised(home: Path, goog: pd.DataFrame) -> None:
    intervals: list[tuple[float, float]] = []
    results = []

    class Timed(Source):
        def __call__(self, since):
            t0 = time.monotonic()
            try:
                return super().__call__(since)
            finally:
                intervals.append((t0, time.monotonic()))

    def run() -> None:
        results.append(PriceStore(home).update("GOOG", Timed(goog, delay=0.15)))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    intervals.sort()
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(intervals))
    assert sorted(r.action for r in results) == ["created", "unchanged", "unchanged"]
    assert sum(r.rows_added for r in results) == len(goog)
    assert len(PriceStore(home).read("GOOG")) == len(goog)


def test_lock_timeout_when_another_run_holds_the_ticker(home: Path, goog: pd.DataFrame) -> None:
    slow = PriceStore(home)
    quick = PriceStore(home, lock_timeout=0.1)
    started = threading.Event()

    def fetch(since):
        started.set()
        time.sleep(0.6)
        return Loaded(goog)

    t = threading.Thread(target=lambda: slow.update("GOOG", fetch))
    t.start()
    try:
        assert started.wait(5)
        with pytest.raises(LockTimeout, match=r"GOOG is locked by another stackcast run"):
            quick.update("GOOG", Source(goog))
    finally:
        t.join()
    assert len(quick.read("GOOG")) == len(goog)


def test_update_with_end_before_stored_bars_fetches_nothing(tmp_path):
    import datetime as dt

    from stackcast.pipeline.data.store import PriceStore

    store = PriceStore(tmp_path)
    frame = pd.DataFrame(
        {"date": sessions("2020-01-01", periods=30), "ticker": "ABC", "close": 10.0}
    )

    class Loaded:
        def __init__(self, f):
            self.frame, self.warnings = f, ()

    calls = []

    def fetch(since):
        calls.append(since)
        return Loaded(frame)

    store.update("ABC", fetch)
    out = store.update("ABC", fetch, end=dt.date(2020, 1, 10))
    assert out.action == "unchanged" and out.rows_added == 0
    assert len(calls) == 1
