"""Random price frames shared by the feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("open", "high", "low", "close", "volume")


def random_frame(
    seed: int,
    n: int = 120,
    *,
    ticker: str = "AAA",
    start: str = "2020-01-01",
    gap_rate: float = 0.05,
    columns: tuple[str, ...] = COLUMNS,
    freq: str = "B",
) -> pd.DataFrame:
    """A valid random price frame of about ``n`` bars with random missing bars.

    ``freq="B"`` means XNYS sessions (the default calendar); another pandas frequency is used
    as it is.

    The first and last bars are always present.
    """
    rng = np.random.default_rng(seed)
    if freq == "B":  # trading days: sessions of the default calendar
        from tests.conftest import sessions

        dates = sessions(start, n)
    else:
        dates = pd.date_range(start, periods=n, freq=freq)
    keep = rng.random(n) >= gap_rate
    keep[0] = keep[-1] = True
    dates = dates[keep]
    m = len(dates)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, m)))
    spread = np.abs(rng.normal(0, 0.01, m))
    data = {
        "date": dates,
        "ticker": ticker,
        "open": close * np.exp(rng.normal(0, 0.005, m)),
        "high": close * np.exp(spread),
        "low": close * np.exp(-spread),
        "close": close,
        "volume": rng.integers(1_000, 1_000_000, m).astype(np.float64),
    }
    return pd.DataFrame({k: v for k, v in data.items() if k in ("date", "ticker", *columns)})
