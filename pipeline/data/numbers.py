"""The numbers of a price file: one decimal mark per file, thousands separators, placeholders.

``100.34`` and ``100,34`` are both a hundred and a bit, but ``1,234`` may be 1234 or 1.234:
the decimal mark is decided once for the whole file from the values that tell (``1.234,56``,
``100,34``, ``22,351,900``...), or given (``--decimal`` / ``[data] decimal``), and refused
when the file mixes marks or nothing tells them apart. Every value is then read strictly
with it: a number with the other mark where the decimal should be is not a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from stackcast.pipeline.data.dates import MISSING
from stackcast.pipeline.errors import DataError

_SPACES = " \u00a0\u202f'"  # thousands separators besides the other mark
_CURRENCY = "$€£¥"
_INF = {"inf": np.inf, "+inf": np.inf, "-inf": -np.inf, "infinity": np.inf, "-infinity": -np.inf}


class NumberFormatError(DataError):
    """The file's decimal mark cannot be told, or the file mixes decimal marks."""


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: the decimal mark, the thousands separator, how it was chosen."""

    decimal: str = "."
    thousands: str = ","
    how: str = "default"

    def pattern(self) -> re.Pattern[str]:
        """A regex for one number written this way (sign, groups, decimals, exponent)."""
        group = re.escape(self.thousands + _SPACES)
        dec = re.escape(self.decimal)
        return re.compile(
            rf"^[+-]?(?:\d{{1,3}}(?:[{group}]\d{{3}})+|\d+|(?=[{dec}]\d))(?:{dec}\d*)?(?:[eE][+-]?\d+)?$"
        )


def cell_text(raw: pd.Series) -> pd.Series:
    """Stripped text without currency signs; placeholders (``null``, ``-``, empty) missing."""
    text = raw.astype("string").str.strip()
    text = text.str.strip(_CURRENCY).str.strip()
    return text.mask(text.str.lower().isin(MISSING))


def detect_number_format(cells: pd.Series, sep: str | None, given: str | None) -> NumberFormat:
    """The decimal mark of a file's number columns (``cells``: every value, as text).

    Raises:
        NumberFormatError: Values written with both marks, or only values like ``1,234``
            in a file not separated by commas (a thousands separator or a decimal comma?).
    """
    if given:
        other = "," if given == "." else "."
        return NumberFormat(given, other, "given")
    cells = cells.astype("string")
    comma = cells.str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
    dots = cells.str.count(r"\.").fillna(0).to_numpy()
    # Cells with one '.' and no ',' vote for '.' unless they read "1.234" (either mark):
    # told apart by position, as there may be millions of them.
    single = cells[~comma & (dots == 1)]
    decimals = (single.str.len() - single.str.find(".") - 1).to_numpy()
    three = r"^[+-]?\d{1,3}[,.]\d{3}$"  # 1,234 or 1.234: either mark
    maybe = cell_text(single[decimals == 3].drop_duplicates()).dropna()
    dot_votes = [*single[decimals != 3].head(1), *maybe[~maybe.str.match(three)].head(1)]
    text = cell_text(cells[comma | (dots > 1)].drop_duplicates()).dropna()
    text = text[~text.str.lower().isin(_INF)]
    both = text[text.str.contains(",", regex=False) & text.str.contains(".", regex=False)]
    last_comma = both.str.rfind(",") > both.str.rfind(".")
    comma_only = text[~text.str.contains(".", regex=False)]
    multi_dot = text[~text.str.contains(",", regex=False)]
    votes = {
        ",": [
            *both[last_comma],
            *comma_only[~comma_only.str.match(three) & (comma_only.str.count(",") == 1)],
            *multi_dot,
        ],
        ".": [*dot_votes, *both[~last_comma], *comma_only[comma_only.str.count(",") > 1]],
    }
    if votes[","] and votes["."]:
        raise NumberFormatError(
            f"the numbers mix decimal marks: {votes[','][0]!r} has a decimal comma, "
            f"{votes['.'][0]!r} a decimal point; give the one the file uses with --decimal "
            "or [data] decimal"
        )
    if votes[","]:
        return NumberFormat(",", ".", f"detected from {votes[','][0]!r}")
    if votes["."]:
        return NumberFormat(".", ",", f"detected from {votes['.'][0]!r}")
    if len(comma_only) and sep != ",":
        raise NumberFormatError(
            f"cannot tell whether the comma in {comma_only.iloc[0]!r} is a decimal mark or a "
            "thousands separator; give the decimal mark with --decimal ',' or --decimal '.' "
            "(or [data] decimal)"
        )
    if len(comma_only):
        return NumberFormat(
            ".", ",", f"'.', as the commas in quoted {comma_only.iloc[0]!r} group thousands"
        )
    return NumberFormat(".", ",", "default")


def parse_numbers(raw: pd.Series, fmt: NumberFormat) -> tuple[pd.Series, pd.Series]:
    """Read a column of numbers written as ``fmt`` says.

    Returns:
        ``(values, not_numbers)``: float64 values (NaN where missing or unreadable) and the
        original text of the cells that are not numbers (indexed like ``raw``).
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64"), raw.iloc[:0].astype("string")
    raw = raw.astype("string")
    values = pd.Series(np.nan, index=raw.index, dtype="float64")
    rest = raw
    if fmt.decimal == ".":  # plain numbers first: what pandas reads is what the file says
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        rest = raw[values.isna().to_numpy() & raw.notna().to_numpy(dtype=bool)]
    text = cell_text(rest)
    lower = text.str.lower()
    special = lower.isin(_INF).to_numpy(dtype=bool)
    ok = text.str.match(fmt.pattern()).fillna(False).to_numpy(dtype=bool)
    plain = text.where(ok).str.replace(rf"[{re.escape(fmt.thousands + _SPACES)}]", "", regex=True)
    if fmt.decimal != ".":
        plain = plain.str.replace(fmt.decimal, ".", regex=False)
    parsed = pd.to_numeric(plain, errors="coerce").astype("float64")
    parsed = parsed.where(~special, lower.map(_INF).astype("float64"))
    values.loc[rest.index] = parsed
    bad = text.notna().to_numpy(dtype=bool) & ~ok & ~special
    return values, rest[bad]
