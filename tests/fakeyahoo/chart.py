"""The fake's Yahoo chart JSON: prices frames turned into ``/v8/finance/chart`` answers."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

EXCHANGE_TZ = "America/New_York"
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
QUOTE_NOT_FOUND = {
    "quoteSummary": {
        "result": None,
        "error": {"code": "Not Found", "description": "Quote not found for symbol"},
    }
}
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]


def _as_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Accept a price frame (``date`` column or DatetimeIndex, any-case OHLCV columns)."""
    df = frame.copy()
    df.columns = [str(c).lower().replace(" ", "") for c in df.columns]
    if "date" in df.columns:
        df = df.set_index("date")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.index)).tz_localize(None).normalize()
    df = df.sort_index()
    if "close" not in df.columns:
        raise ValueError("fake prices need a close column")
    for col in ("open", "high", "low"):
        if col not in df.columns:
            df[col] = df["close"]
    if "volume" not in df.columns:
        df["volume"] = 0
    if "adjclose" not in df.columns:
        df["adjclose"] = df["close"]
    return df[["open", "high", "low", "close", "volume", "adjclose"]]


def _timestamps(index: pd.DatetimeIndex) -> list[int]:
    """Yahoo stamps daily bars at the session open (09:30 New York) in epoch seconds."""
    local = (index + pd.Timedelta(hours=9, minutes=30)).tz_localize(ZoneInfo(EXCHANGE_TZ))
    return [int(t.timestamp()) for t in local]


def _nullable(values: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else float(v) for v in values]


def chart_json(symbol: str, prices: pd.DataFrame, query: dict[str, str]) -> dict[str, Any]:
    """Yahoo's chart answer for ``symbol`` restricted to the query's range."""
    stamps = _timestamps(prices.index)
    rows = prices.assign(_ts=stamps)
    if "period1" in query or "period2" in query:
        p1 = int(query.get("period1", 0))
        p2 = int(query.get("period2", 2**40))
        rows = rows[(rows["_ts"] >= p1) & (rows["_ts"] < p2)]
    elif query.get("range") == "1d":
        rows = rows.iloc[-1:]
    first = stamps[0] if stamps else 0
    last = stamps[-1] if stamps else 0
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "fullExchangeName": "NasdaqGS",
        "instrumentType": "EQUITY",
        "firstTradeDate": first,
        "regularMarketTime": last,
        "hasPrePostMarketData": True,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": EXCHANGE_TZ,
        "regularMarketPrice": float(prices["close"].iloc[-1]) if len(prices) else None,
        "chartPreviousClose": float(prices["close"].iloc[0]) if len(prices) else None,
        "priceHint": 2,
        "currentTradingPeriod": {
            k: {"timezone": "EST", "start": last, "end": last + 23400, "gmtoffset": -18000}
            for k in ("pre", "regular", "post")
        },
        "dataGranularity": "1d",
        "range": query.get("range", ""),
        "validRanges": VALID_RANGES,
    }
    result: dict[str, Any] = {"meta": meta}
    if len(rows):
        result["timestamp"] = [int(t) for t in rows["_ts"]]
        result["indicators"] = {
            "quote": [
                {
                    "open": _nullable(rows["open"]),
                    "high": _nullable(rows["high"]),
                    "low": _nullable(rows["low"]),
                    "close": _nullable(rows["close"]),
                    "volume": [None if pd.isna(v) else int(v) for v in rows["volume"]],
                }
            ],
            "adjclose": [{"adjclose": _nullable(rows["adjclose"])}],
        }
    else:
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return {"chart": {"result": [result], "error": None}}
