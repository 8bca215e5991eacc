"""A caller's long price frame: validated in one pass, the same as ticker by ticker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import _validated, frames_from_table
from stackcast.pipeline.data.sources import validated_frame
from stackcast.pipeline.errors import DataError


def _table(tickers=("BBB", "AAA", "C.D"), n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    parts = []
    for t in tickers:
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        close[n // 2] *= 3  # a one-day move over max_jump: a warning, then one back
        parts.append(
            pd.DataFrame({"date": dates, "ticker": t, "open": close, "high": close * 1.01,
                          "low": close * 0.99, "close": close, "volume": 1e6})
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)


def _one_by_one(cfg: RunConfig, prices: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, tuple]]:
    table = prices.reset_index(drop=True)
    table.index = table.index + 1
    out = {}
    for t, raw in table.groupby("ticker", sort=True):
        got = validated_frame(str(t), raw, cfg.data.start, cfg.data.end, cfg.data, "prices")
        out[str(t)] = (got.frame, got.warnings)
    return out


@pytest.mark.parametrize(
    ("dates_as_text", "data"),
    [
        (False, {}),
        (True, {}),
        (False, {"start": "2020-03-02", "end": "2020-09-30"}),  # clipped (warnings: all bars)
        (False, {"start": "2020-02-29", "end": "2020-03-01"}),  # a weekend: no bar in range
    ],
)
def test_one_pass_matches_ticker_by_ticker(dates_as_text: bool, data: dict) -> None:
    cfg = RunConfig.model_validate({"name": "t", "data": data})
    prices = _table()
    if dates_as_text:  # the general path, ticker by ticker
        prices["date"] = prices["date"].dt.strftime("%Y-%m-%d")
    table = prices.reset_index(drop=True)
    table.index = table.index + 1
    got = dict(_validated(cfg, table))
    if data.get("end") == "2020-03-01":
        assert all(isinstance(e, DataError) and "no prices between" in str(e) for e in got.values())
        with pytest.raises(DataError, match="no prices between 2020-02-29 and 2020-03-01"):
            frames_from_table(cfg, prices)
        return
    want = _one_by_one(cfg, prices)
    assert list(got) == list(want) == ["AAA", "BBB", "C.D"]
    for t, (frame, warnings) in want.items():
        pd.testing.assert_frame_equal(got[t].frame, frame, check_exact=True)
        assert got[t].warnings == warnings and len(warnings) == 2
    assert list(frames_from_table(cfg, prices)) == list(want)


def test_a_bad_row_is_reported_as_ticker_by_ticker() -> None:
    cfg = RunConfig.model_validate({"name": "t"})
    prices = _table()
    prices.loc[prices.index[7], "close"] = -1.0
    with pytest.raises(DataError, match=r"close is not a positive finite price \(-1\)"):
        frames_from_table(cfg, prices)
    dup = _table()
    dup.loc[dup.index[0], "date"] = dup.loc[dup.index[0], "date"] + pd.Timedelta(hours=1)
    dup = pd.concat([dup, dup.iloc[:1]])
    with pytest.raises(DataError, match="duplicate date"):
        frames_from_table(cfg, dup)


def test_an_empty_table_of_dates_is_refused_as_bad_input() -> None:
    cfg = RunConfig.model_validate({"name": "t"})
    empty = _table().iloc[:0]  # the columns and dtypes of a real table, no rows
    with pytest.raises(DataError, match="prices: the frame has no rows"):
        frames_from_table(cfg, empty)


def test_tickers_differing_in_case_are_one_ticker_not_two_that_overwrite() -> None:
    cfg = RunConfig.model_validate({"name": "t"})
    table = _table(tickers=("AAA",), n=60)
    table = table.sort_values("date").reset_index(drop=True)
    lower = table.copy()
    lower["ticker"] = "aaa"
    halves = pd.concat([table.iloc[:30], lower.iloc[30:]], ignore_index=True)
    frames = frames_from_table(cfg, halves)
    assert list(frames) == ["AAA"]
    assert len(frames["AAA"]) == 60  # both spellings' rows, none lost
    both = pd.concat([table, lower], ignore_index=True)  # the same dates under both spellings
    with pytest.raises(DataError, match="AAA"):
        frames_from_table(cfg, both)


def test_a_row_without_a_ticker_is_refused_not_dropped() -> None:
    cfg = RunConfig.model_validate({"name": "t"})
    table = _table(tickers=("AAA",), n=60).reset_index(drop=True)
    table["ticker"] = table["ticker"].astype(object)
    table.loc[7, "ticker"] = None
    with pytest.raises(DataError, match=r"prices: row 8 has no ticker"):
        frames_from_table(cfg, table)
    table.loc[7, "ticker"] = "  "
    with pytest.raises(DataError, match=r"prices: row 8 has no ticker"):
        frames_from_table(cfg, table)


@pytest.mark.parametrize("seed", range(4))
def test_rows_are_ordered_as_lexsort_orders_them(seed: int) -> None:
    from stackcast.pipeline.data.validate import _by_group_then_day

    rng = np.random.default_rng(seed)
    group = rng.integers(0, 5, 400)
    day = np.sort(rng.integers(0, 300, 400)).astype("datetime64[D]")  # in date order...
    if seed % 2:
        day = rng.permutation(day)  # ...or not
    if seed == 2:
        day[1] = day[0]  # a repeated date in date order: the full sort
        group[1] = group[0]
    np.testing.assert_array_equal(_by_group_then_day(day, group), np.lexsort((day, group)))


def test_each_ticker_frame_stands_alone() -> None:
    """The frames share one block of memory; writing to one changes no other, nor the input."""
    cfg = RunConfig.model_validate({"name": "t"})
    prices = _table()
    before = prices.copy()
    frames = frames_from_table(cfg, prices)
    kept = {t: f.copy() for t, f in frames.items()}
    frames["AAA"].loc[0, "close"] = -5.0
    frames["AAA"]["volume"] = 0.0
    assert frames["AAA"].loc[0, "close"] == -5.0
    for t in ("BBB", "C.D"):
        pd.testing.assert_frame_equal(frames[t], kept[t], check_exact=True)
    pd.testing.assert_frame_equal(prices, before, check_exact=True)
    assert all(isinstance(f.index, pd.RangeIndex) and f.index[0] == 0 for f in frames.values())
