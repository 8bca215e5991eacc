from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.errors import DataError, LockTimeout
from stackcast.pipeline.results import ledger

from tests.conftest import sessions


def _rows(
    origin: str = "2024-01-02",
    tickers: tuple[str, ...] = ("AAA", "BBB"),
    horizons: int = 2,
    y_pred: float = 0.01,
    run_id: str = "run-1",
    model_name: str = "demo",
) -> pd.DataFrame:
    rows = []
    for t in tickers:
        for h in range(1, horizons + 1):
            rows.append(
                {
                    "ticker": t,
                    "origin": pd.Timestamp(origin),
                    "horizon": h,
                    "target_date": pd.Timestamp(origin) + pd.offsets.BDay(h),
                    "y_pred": y_pred * h,
                    "lo": y_pred * h - 0.05,
                    "hi": y_pred * h + 0.05,
                    "origin_close": 100.0,
                    "model_name": model_name,
                    "model_version": "v1",
                    "run_id": run_id,
                }
            )
    return pd.DataFrame(rows)


def test_read_empty_ledger_has_schema(home: Path) -> None:
    df = ledger.read(home)
    assert df.empty
    assert list(df.columns) == list(ledger.COLUMNS)


def test_append_and_read_roundtrip(home: Path) -> None:
    update = ledger.append(home, _rows())
    assert update == ledger.LedgerUpdate(added=4, replaced=0, total=4)
    df = ledger.read(home)
    assert list(df.columns) == list(ledger.COLUMNS)
    assert len(df) == 4
    assert df["origin"].dtype == "datetime64[ns]"
    assert str(df["published_at"].dt.tz) == "UTC"
    row = df[(df["ticker"] == "AAA") & (df["horizon"] == 2)].iloc[0]
    assert row["price_pred"] == pytest.approx(100.0 * math.exp(0.02))
    assert row["target_date"] == pd.Timestamp("2024-01-04")


def test_append_is_idempotent_per_origin_and_keeps_newer_values(home: Path) -> None:
    ledger.append(home, _rows(y_pred=0.01, run_id="first"))
    update = ledger.append(home, _rows(y_pred=0.03, run_id="second"))
    assert update == ledger.LedgerUpdate(added=0, replaced=4, total=4)
    df = ledger.read(home)
    assert not df.duplicated(list(ledger.KEY)).any()
    assert set(df["run_id"]) == {"second"}
    assert df.loc[df["horizon"] == 1, "y_pred"].tolist() == pytest.approx([0.03, 0.03])
    # a new origin and another model add rows; the old ones stay
    ledger.append(home, _rows(origin="2024-01-03"))
    ledger.append(home, _rows(model_name="challenger"))
    df = ledger.read(home)
    assert len(df) == 12
    assert not df.duplicated(list(ledger.KEY)).any()


def test_duplicates_within_one_append_keep_the_last(home: Path) -> None:
    rows = pd.concat([_rows(y_pred=0.01), _rows(y_pred=0.02)], ignore_index=True)
    update = ledger.append(home, rows)
    assert update.total == 4
    assert ledger.read(home)["y_pred"].max() == pytest.approx(0.04)


def test_append_rejects_bad_rows(home: Path) -> None:
    with pytest.raises(DataError, match="lack column"):
        ledger.append(home, _rows().drop(columns=["origin_close"]))
    bad = _rows()
    bad.loc[0, "y_pred"] = np.nan
    with pytest.raises(DataError, match="y_pred"):
        ledger.append(home, bad)
    bad = _rows()
    bad.loc[0, "model_version"] = None
    with pytest.raises(DataError, match="model_version"):
        ledger.append(home, bad)
    assert not ledger.ledger_path(home).exists()


def test_crash_before_replace_keeps_old_ledger(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.append(home, _rows(run_id="good"))
    before = ledger.ledger_path(home).read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        ledger.append(home, _rows(origin="2024-01-03", run_id="lost"))
    monkeypatch.undo()
    assert ledger.ledger_path(home).read_bytes() == before
    df = ledger.read(home)
    assert set(df["run_id"]) == {"good"}
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
    # the lock was released: the next append works
    assert ledger.append(home, _rows(origin="2024-01-03")).total == 8


def test_concurrent_appends_lose_no_rows(home: Path) -> None:
    origins = [str(d.date()) for d in sessions("2024-01-01", periods=8)]
    errors: list[BaseException] = []

    def worker(origin: str) -> None:
        try:
            ledger.append(home, _rows(origin=origin, run_id=origin))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(o,)) for o in origins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    df = ledger.read(home)
    assert len(df) == len(origins) * 4
    assert set(df["run_id"]) == set(origins)


def test_lock_timeout(home: Path) -> None:
    from filelock import FileLock

    ledger.append(home, _rows())
    with FileLock(str(ledger.ledger_path(home)) + ".lock"):
        holder_done = threading.Event()
        result: list[BaseException] = []

        def other() -> None:
            try:
                ledger.append(home, _rows(origin="2024-01-03"), timeout=0.2)
            except BaseException as exc:
                result.append(exc)
            holder_done.set()

        t = threading.Thread(target=other)
        t.start()
        t.join(5)
    assert holder_done.is_set()
    assert isinstance(result[0], LockTimeout)


def test_score_fills_y_true(home: Path) -> None:
    ledger.append(home, _rows(origin="2024-01-02", horizons=2))
    prices = {
        "AAA": pd.DataFrame({"date": sessions("2024-01-02", periods=2), "close": [100.0, 104.0]})
    }
    scored = ledger.score(ledger.read(home), prices)
    aaa = scored[scored["ticker"] == "AAA"].set_index("horizon")
    assert aaa.loc[1, "status"] == "scored"
    assert aaa.loc[1, "y_true"] == pytest.approx(math.log(1.04))
    assert aaa.loc[2, "status"] == "pending"
    assert (scored[scored["ticker"] == "BBB"]["status"] == "pending").all()
