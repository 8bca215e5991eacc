"""Point in time: replays equal `run --as-of` day by day, never see the future, and refuse
bad ranges; trading-session targets on the bundled real prices."""

from __future__ import annotations

import datetime as _dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.features.calendars import trading_calendar
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel, target_dates
from stackcast.pipeline.config import RunConfig, to_toml
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.results import ledger, registry
from stackcast.pipeline.workflows.replay import replay, retrain_days

from tests.conftest import SAMPLE
from tests.reliability.helpers import cli

TINY = {
    "name": "tiny",
    "data": {"source": "sample", "tickers": ["MSFT", "GOOG"], "end": "2008-10-14"},
    "features": {"window": 16, "horizons": 2, "min_history": 8},
    "model": {"layers": [{"cell": "gru", "units": 4}], "dropout": 0.0, "between_dropout": 0.0},
    "train": {"epochs": 1, "warm_epochs": 1, "mc_samples": 3, "batch_size": 256},
    "backtest": {"folds": 1, "test_size": 15, "train_size": 250},
}
START, END = _dt.date(2008, 10, 2), _dt.date(2008, 10, 7)  # Thu..Tue, a Saturday retrain


def cfg_for(home: Path) -> RunConfig:
    return RunConfig.model_validate({**TINY, "paths": {"home": str(home)}})


def ingested(home: Path) -> RunConfig:
    cfg = cfg_for(home)
    result = cli("ingest", "--source", "sample", "--tickers", "MSFT,GOOG")
    assert result.exit_code == 0, result.stderr
    return cfg


def test_session_targets_on_real_prices() -> None:
    """target = log(close[origin + h sessions] / close[origin]) on XNYS, holidays and halts."""
    frames = {t: pd.read_csv(SAMPLE / f"{t}.csv", parse_dates=["date"]) for t in ("MSFT", "GOOG")}
    cfg = FeatureConfig(window=20, horizons=5)
    panel = build_panel(frames, cfg)
    xnys = trading_calendar("XNYS")
    for k, t in enumerate(panel.tickers):
        lo, hi = int(panel.offsets[k]), int(panel.offsets[k + 1])
        close = frames[t].set_index(frames[t]["date"].dt.date)["close"]
        rows = np.arange(lo, hi)[panel.origin_ok[lo:hi]]
        dates = target_dates(panel, rows)
        assert xnys.is_session(dates).all()  # no target date is a non-session
        for h in (1, 3, 5):
            want = xnys.add_sessions(panel.dates[rows], h)
            np.testing.assert_array_equal(dates[:, h - 1], want)
            origin = close.reindex(pd.to_datetime(panel.dates[rows]).date).to_numpy()
            target = close.reindex(pd.to_datetime(want).date).to_numpy()  # NaN: no bar (halt)
            expect = np.log(target / origin)
            got = panel.Y[rows, h - 1]
            inside = rows + h < hi
            np.testing.assert_allclose(
                got[inside], expect[inside], rtol=1e-9, atol=1e-14, equal_nan=True
            )
    # MSFT's two sessions without a bar are unobserved rows, not shifts of the calendar.
    msft = panel.tickers.index("MSFT")
    lo, hi = panel.offsets[msft], panel.offsets[msft + 1]
    missing = panel.dates[lo:hi][~panel.observed[lo:hi]]
    assert [str(d) for d in missing] == ["1998-10-29", "1999-11-16"]


def test_retrain_schedule_maps_to_the_next_session() -> None:
    cfg = cfg_for(Path("/tmp"))
    days = [_dt.date.fromisoformat(str(d)) for d in trading_calendar("XNYS").sessions(START, END)]
    # Saturday 2008-10-04 09:00: trained as of Friday 10-03, first used on Monday 10-06.
    assert retrain_days(cfg, days) == {_dt.date(2008, 10, 6): _dt.date(2008, 10, 3)}


@pytest.mark.slow
def test_replay_equals_run_as_of_and_never_sees_the_future(home: Path, tmp_path: Path) -> None:
    cfg = ingested(home)
    result = replay(cfg, START, END)
    assert result.sessions == ["2008-10-02", "2008-10-03", "2008-10-06", "2008-10-07"]
    assert [r["as_of"] for r in result.retrains] == ["2008-10-01", "2008-10-03"]
    assert result.home is not None and result.home.parent == home / "replays"
    live = ("ledger.parquet", "models", "runs", "index.html")
    assert not any((home / name).exists() for name in live)  # nothing written to production
    book = ledger.read(result.home)
    assert len(book) == 4 * 2 * 2 and set(book["run_id"]) == set(result.daily_runs)
    for _, row in book.drop_duplicates("model_version").iterrows():  # point in time
        meta = registry.model_root(result.home, "tiny") / row["model_version"] / "meta.json"
        seen = pd.Timestamp(pd.read_json(meta, typ="series")["seen_until"])
        assert (book.loc[book["model_version"] == row["model_version"], "origin"] >= seen).all()
    assert (result.run_dir / "report.html").is_file()

    # The same forecasts as `train --as-of` / `run --as-of` by hand, day by day, in a home
    # whose prices after the last session differ: nothing after an origin reaches it.
    other = tmp_path / "other"
    shutil.copytree(home / "prices", other / "prices")
    store = PriceStore(other)
    for t in ("MSFT", "GOOG"):
        frame = store.read(t)
        later = frame["date"] > pd.Timestamp(END)
        assert later.any()
        for c in ("open", "high", "low", "close"):
            frame.loc[later, c] *= 1.2
        store.write(t, frame)
    config = tmp_path / "other.toml"
    config.write_text(to_toml(cfg_for(other)), encoding="utf-8")
    steps = [
        ("train", "2008-10-01"), ("run", "2008-10-02"), ("run", "2008-10-03"),
        ("train", "2008-10-03"), ("run", "2008-10-06"), ("run", "2008-10-07"),
    ]  # fmt: skip
    for command, day in steps:
        done = cli(command, "-c", config, "--as-of", day)
        assert done.exit_code == 0, (command, day, done.stderr)
    cols = ["ticker", "origin", "horizon", "target_date", "y_pred", "lo", "hi", "model_version"]
    by_hand = ledger.read(other / "as-of")  # what-if runs write to their own home
    pd.testing.assert_frame_equal(
        book[cols].sort_values(cols[:3]).reset_index(drop=True),
        by_hand[cols].sort_values(cols[:3]).reset_index(drop=True),
    )


def test_bad_replay_and_as_of_inputs_exit_2_and_write_nothing(home: Path, tmp_path: Path) -> None:
    cfg = ingested(home)
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(cfg), encoding="utf-8")
    before = sorted(p.relative_to(home) for p in home.rglob("*") if p.is_file())
    cases = [
        (["replay", "-c", config, "--start", "2008-10-07", "--end", "2008-10-02"], "after"),
        (["replay", "-c", config, "--start", "2008-10-04", "--end", "2008-10-05"], "no XNYS"),
        (["replay", "-c", config, "--start", "2008-10-04"], "needs --start and --end"),
        (["train", "-c", config, "--as-of", "1900-01-02"], "no prices"),
        (["run", "-c", config, "--as-of", "2008-10-01"], "train --as-of 2008-10-01"),
    ]
    for args, words in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert len(errors) == 1 and words in errors[0], (args, result.stderr)
    after = sorted(p.relative_to(home) for p in home.rglob("*") if p.is_file())
    assert [p for p in after if p not in before and p.suffix != ".lock"] == []


@pytest.mark.slow
def test_promoted_champion_is_refit_and_identical_challengers_are_not_stored(home: Path) -> None:
    from stackcast.pipeline.workflows.training import retrain

    cfg = ingested(home)
    first = retrain(cfg, refresh=False)
    assert first.promoted and first.challenger.version == "v0001"
    meta = first.challenger.model.meta
    assert meta["role"] == "champion" and meta["seen_until"] == "2008-10-14"  # the last bar
    assert meta["refit"]["epochs"] >= 1 and meta["split"]["test_end"] < "2008-10-14"
    second = retrain(cfg, refresh=False)  # same data: the champion saw the whole block
    assert not second.promoted and "saw this block" in second.reason
    assert second.challenger.version == "v0002"
    assert second.challenger.model.meta["role"] == "challenger"
    third = retrain(cfg, refresh=False)
    assert third.challenger.version == "v0002"  # identical to v0002: not stored again
    assert registry.versions(home, "tiny") == ["v0001", "v0002"]
    assert registry.champion(home, "tiny")["version"] == "v0001"
