"""The price store: one Parquet file per ticker under ``STACKCAST_HOME/prices/``.

Writes are atomic (temp file + fsync + rename) and serialised per ticker by a lock file
(``prices/.locks/<TICKER>.lock``), held for a whole read-fetch-write update so two runs never
interleave. Readers need no lock: they see the old file or the new one.

Incremental updates refetch only the last ``overlap`` stored bars onward. If the refetched
closes of those bars differ from the stored ones (relative tolerance ``RTOL``: a split or
dividend re-adjustment, a corrected print) or stored bars vanished, the ticker's whole history
is refetched and replaced; otherwise only bars after the last stored one are appended.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from stackcast.pipeline.atomic import atomic_write_parquet, file_lock
from stackcast.pipeline.config import check_ticker, resolve_home
from stackcast.pipeline.data.sources import Loaded
from stackcast.pipeline.errors import ConfigError, DataError

RTOL = 1e-6
META_KEY = "stackcast"
DEFAULT_LOCK_TIMEOUT = 120.0

Action = Literal["created", "appended", "unchanged", "replaced"]
Fetch = Callable[[_dt.date | None], Loaded]


@dataclass(frozen=True)
class UpdateOutcome:
    """What ``PriceStore.update`` did to one ticker."""

    ticker: str
    action: Action
    rows_added: int
    rows: int
    first: _dt.date
    last: _dt.date
    message: str = ""
    warnings: tuple[str, ...] = field(default=())


def _day(ts: Any) -> _dt.date:
    return pd.Timestamp(ts).date()


class PriceStore:
    """Per-ticker Parquet price files under ``<home>/prices``.

    Args:
        home: STACKCAST_HOME (default: ``resolve_home()``, i.e. the environment or ~/.stackcast).
        lock_timeout: Seconds to wait for another run holding a ticker's lock.
    """

    def __init__(
        self, home: str | Path | None = None, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.home = resolve_home(str(home) if home is not None else None)
        self.root = self.home / "prices"
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ paths and reads
    def path(self, ticker: str) -> Path:
        """The file of ``ticker`` (checked first: ``../x`` raises before a path exists)."""
        return self.root / f"{check_ticker(ticker)}.parquet"

    def tickers(self) -> list[str]:
        """Stored tickers, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.glob("*.parquet"):
            try:
                out.append(check_ticker(p.stem))
            except ConfigError:
                continue
        return sorted(set(out))

    def exists(self, ticker: str) -> bool:
        """Whether prices are stored for ``ticker``."""
        return self.path(ticker).is_file()

    def read(self, ticker: str) -> pd.DataFrame:
        """The stored price frame of ``ticker``.

        Raises:
            DataError: Nothing stored (with the command that fixes it), or an unreadable file.
        """
        t = check_ticker(ticker)
        path = self.path(t)
        if not path.is_file():
            raise DataError(
                f"{t}: no stored prices in {self.root}; run `stackcast ingest --tickers {t}`"
            )
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's errors are not OSError/ValueError subclasses
            raise DataError(
                f"{t}: stored prices are unreadable ({path}): {exc}; ingest again"
            ) from None
        missing = {"date", "ticker", "close"} - set(df.columns)
        if missing:
            raise DataError(
                f"{t}: stored prices lack {', '.join(sorted(missing))} ({path}); ingest again"
            )
        df["date"] = df["date"].astype("datetime64[ns]")
        damage = _damage(df)
        if damage:
            raise DataError(f"{t}: stored prices are damaged ({path}): {damage}; ingest again")
        return df

    def read_many(self, tickers: Iterable[str]) -> dict[str, pd.DataFrame]:
        """``read`` for several tickers, in order."""
        return {check_ticker(t): self.read(t) for t in tickers}

    def meta(self, ticker: str) -> dict[str, Any]:
        """What the store recorded about ``ticker``'s file (source, requested start, updated)."""
        return dict(self.read(ticker).attrs.get(META_KEY, {}))

    # ------------------------------------------------------------------ writes
    @contextmanager
    def lock(self, ticker: str) -> Iterator[None]:
        """Hold ``ticker``'s lock, ``prices/.locks/<TICKER>.lock`` (or raise ``LockTimeout``)."""
        t = check_ticker(ticker)
        with file_lock(self.root / ".locks" / f"{t}.lock", timeout=self.lock_timeout):
            yield

    def write(
        self, ticker: str, frame: pd.DataFrame, *, meta: dict[str, Any] | None = None
    ) -> Path:
        """Atomically replace ``ticker``'s file with ``frame`` (a validated price frame).

        The caller should hold ``lock(ticker)`` when it read the old file to build ``frame``.
        """
        t = check_ticker(ticker)
        path = self.path(t)
        if "ticker" not in frame.columns or not (frame["ticker"] == t).all():
            raise ValueError(f"frame written for {t} holds other tickers")
        out = frame.reset_index(drop=True)
        out.attrs = {META_KEY: {"ticker": t, **(meta or {})}}
        return atomic_write_parquet(out, path)

    # ------------------------------------------------------------------ incremental update
    def update(
        self,
        ticker: str,
        fetch: Fetch,
        *,
        overlap: int = 5,
        start: _dt.date | None = None,
        source: str = "",
        end: _dt.date | None = None,
    ) -> UpdateOutcome:
        """Bring ``ticker`` up to date, holding its lock throughout.

        Args:
            ticker: The ticker.
            fetch: ``fetch(since)`` returns the source's validated prices from ``since`` (None:
                from ``start``, the full history) or raises ``DataError``.
            overlap: Stored bars refetched to detect restatements.
            start: The earliest date wanted; a start earlier than the one the file was built
                from triggers a full refetch.
            source: Recorded in the file's metadata (default: keep the recorded one).
            end: The last date wanted; when the stored bars already reach past it (a replayed
                or cut-off run), nothing is fetched.

        Raises:
            DataError: From ``fetch``; the stored file is left as it was.
            LockTimeout: Another run holds the ticker's lock.
        """
        t = check_ticker(ticker)
        with self.lock(t):
            warnings: list[str] = []
            stored: pd.DataFrame | None = None
            if self.path(t).is_file():
                try:
                    stored = self.read(t)
                except DataError as exc:
                    warnings.append(f"{exc}; refetching the full history")
            meta = {"source": source, "start": start.isoformat() if start else None}

            if stored is None or stored.empty:
                return self._replace(t, fetch(start), None, "created", "", meta, warnings)

            old_meta = stored.attrs.get(META_KEY, {})
            meta["source"] = source or old_meta.get("source", "")
            old_start = old_meta.get("start")
            if old_start is not None and (
                start is None or start < _dt.date.fromisoformat(old_start)
            ):
                reason = f"history extended back to {start or 'the first bar'}"
                return self._replace(t, fetch(start), stored, "replaced", reason, meta, warnings)
            meta["start"] = old_start

            k = min(overlap, len(stored))
            since = _day(stored["date"].iloc[-k])
            if end is not None and since > end:
                return UpdateOutcome(
                    t, "unchanged", 0, len(stored), _day(stored["date"].iloc[0]),
                    _day(stored["date"].iloc[-1]), f"stored bars already reach past {end}",
                    tuple(warnings),
                )  # fmt: skip
            loaded = fetch(since)
            reason = restatement(stored, loaded.frame, since)
            if reason:
                return self._replace(
                    t,
                    fetch(start),
                    stored,
                    "replaced",
                    f"{reason}; refetched the full history",
                    meta,
                    warnings,
                )
            last = stored["date"].iloc[-1]
            new = loaded.frame[loaded.frame["date"] > last]
            warnings.extend(loaded.warnings)
            if new.empty:
                return UpdateOutcome(
                    t, "unchanged", 0, len(stored), _day(stored["date"].iloc[0]), _day(last),
                    "up to date", tuple(warnings),
                )  # fmt: skip
            combined = pd.concat([stored, new], ignore_index=True)
            self.write(t, combined, meta={**meta, "updated": _now()})
            return UpdateOutcome(
                t, "appended", len(new), len(combined), _day(combined["date"].iloc[0]),
                _day(combined["date"].iloc[-1]), f"{len(new)} new bars", tuple(warnings),
            )  # fmt: skip

    def _replace(
        self,
        t: str,
        loaded: Loaded,
        old: pd.DataFrame | None,
        action: Action,
        message: str,
        meta: dict[str, Any],
        warnings: list[str],
    ) -> UpdateOutcome:
        frame = loaded.frame
        self.write(t, frame, meta={**meta, "updated": _now()})
        added = len(frame) if old is None else int((~frame["date"].isin(old["date"])).sum())
        return UpdateOutcome(
            t, action, added, len(frame), _day(frame["date"].iloc[0]), _day(frame["date"].iloc[-1]),
            message or f"{len(frame)} bars", (*warnings, *loaded.warnings),
        )  # fmt: skip


def _damage(df: pd.DataFrame) -> str:
    """What breaks the price-frame invariants in a stored file (``""`` if nothing).

    Files are validated before they are written, so this only finds files changed behind
    stackcast's back (a hand edit, another tool, disk damage); they must never reach a model.
    """
    dates = df["date"]
    if dates.isna().any():
        return "missing dates"
    if not (dates.is_monotonic_increasing and dates.is_unique):
        return "dates are not unique and increasing"
    for col in ("open", "high", "low", "close", "volume"):
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & ((values >= 0) if col == "volume" else (values > 0))
        if not ok.all():
            day = _day(dates.iloc[int(np.argmin(ok))])
            return f"{col} {_fmt(values[int(np.argmin(ok))])} on {day} is not a valid value"
    return ""


def _fmt(value: float) -> str:
    return f"{value:g}"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def restatement(stored: pd.DataFrame, fresh: pd.DataFrame, since: _dt.date) -> str:
    """Why ``fresh`` contradicts ``stored`` from ``since`` on, or ``""`` if it agrees.

    Disagreements: different price columns, stored bars missing from ``fresh``, or closes on
    common dates differing by more than ``RTOL`` (relative).
    """
    if set(stored.columns) != set(fresh.columns):
        return f"columns changed ({', '.join(stored.columns)} -> {', '.join(fresh.columns)})"
    window = stored[stored["date"] >= pd.Timestamp(since)]
    dates = window["date"]
    # each stored bar's row in ``fresh`` (validated: one bar per date), -1 where it has none
    at = pd.Index(fresh["date"]).get_indexer(dates)
    close = np.append(fresh["close"].to_numpy(dtype=np.float64), np.nan)  # at -1: NaN
    new = close[at]
    gone = np.isnan(new)
    if gone.any():
        first_gone = _day(dates.iloc[int(np.flatnonzero(gone)[0])])
        return f"{int(gone.sum())} stored bar(s) from {first_gone} missing from the source"
    old = window["close"].to_numpy(dtype=np.float64)
    differ = ~np.isclose(new, old, rtol=RTOL, atol=0.0)
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        return f"restatement: close on {_day(dates.iloc[i])} changed from {old[i]:g} to {new[i]:g}"
    return ""
