"""What price validation reports: its findings, a ticker's validated prices, its error.

A ``Problem`` is one finding about one row (where and what); ``PriceValidationError`` names
the first few (``summarize``) and carries them all; ``Loaded`` is a ticker's price frame with
the warnings validation raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from stackcast.pipeline.errors import DataError

SHOWN = 3  # problems quoted in an error message; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One finding about one row: where it is and what is wrong."""

    ticker: str
    row: int | None
    date: str | None
    message: str
    row_name: str = "row"

    def __str__(self) -> str:
        where = [self.ticker]
        if self.row is not None:
            where.append(f"{self.row_name} {self.row}")
        if self.date:
            where.append(self.date)
        return f"{' '.join(where)}: {self.message}"


@dataclass(frozen=True)
class Loaded:
    """One ticker's validated prices (a price frame) and the warnings validation raised."""

    frame: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())


class PriceValidationError(DataError):
    """Prices failed validation; ``problems`` lists every finding."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


def summarize(problems: list[Problem], ticker: str, origin: str = "") -> str:
    """One line: the count, the first ``SHOWN`` problems, and how many more there are."""
    n = len(problems)
    src = f" in {origin}" if origin else ""
    head = "; ".join(str(p).removeprefix(f"{ticker} ") for p in problems[:SHOWN])
    more = f"; and {n - SHOWN} more" if n > SHOWN else ""
    noun = "problem" if n == 1 else "problems"
    return f"{ticker}: {n} {noun}{src}: {head}{more}"


def fmt_date(ts: pd.Timestamp | None) -> str | None:
    """``ts`` as ``YYYY-MM-DD``; None when missing."""
    return None if ts is None or pd.isna(ts) else ts.strftime("%Y-%m-%d")


def jump_problem(
    ticker: str, row: Any, day: Any, logret: float, max_jump: float, row_name: str
) -> Problem:
    """The finding of a one-day move (``|logret| > max_jump``) on ``row``, dated ``day``."""
    text = f"one-day move of {float(np.expm1(logret)):+.0%} (|log return| {abs(logret):.2f} > "
    text += f"max_jump {max_jump:g})"
    return Problem(ticker, int(row), fmt_date(pd.Timestamp(day)), text, row_name)
