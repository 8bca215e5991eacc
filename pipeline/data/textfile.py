"""A delimited text file as a table of strings: encoding, separator, quoting, line numbers.

The encoding is UTF-8 (a byte order mark is fine) or UTF-16/32 (told by its byte order mark,
or UTF-16 without one by its zero bytes); anything else is refused. Line endings may be LF,
CRLF or CR. The separator (``,``, ``;``, tab or ``|``) is the one that splits the header and
the first rows into the same number of fields, unless given. Quoted fields may hold the
separator. Empty fields at the end of a row (a trailing separator) are dropped; a row with
more filled fields than the header is refused, never cut.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from stackcast.pipeline.errors import DataError

SEPARATORS = (",", ";", "\t", "|")
SEP_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_SNIFF_LINES = 50
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with byte order mark"),
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


@dataclass(frozen=True)
class TextTable:
    """A text file's header and rows, with how it was read.

    Attributes:
        header: The header's fields, stripped.
        cells: One column per header field (named by position), strings; the index holds
            each row's line number in the file.
        encoding: The encoding, as the user knows it (``UTF-8``, ``UTF-16``...).
        sep: The separator.
        sep_how: ``given`` or ``detected``.
    """

    header: list[str]
    cells: pd.DataFrame
    encoding: str
    sep: str
    sep_how: str


def decode(data: bytes, name: str) -> tuple[str, str]:
    """``(text, encoding name)`` of a file's bytes.

    Raises:
        DataError: Bytes that are not UTF-8 (or UTF-16/32 with a byte order mark).
    """
    codec, label = "utf-8", "UTF-8"
    for bom, bom_codec, bom_label in _BOMS:
        if data.startswith(bom):
            codec, label = bom_codec, bom_label
            break
    else:
        head = data[:4096]
        if len(head) >= 4:
            even, odd = head[0::2], head[1::2]
            if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
                codec, label = "utf-16-le", "UTF-16 (little-endian, no byte order mark)"
            elif even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
                codec, label = "utf-16-be", "UTF-16 (big-endian, no byte order mark)"
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as exc:
        what = "UTF-8" if codec == "utf-8" else label
        raise DataError(
            f"{name}: cannot read prices: not {what} text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start}); save the file as UTF-8"
        ) from None


def _records(text: str, sep: str) -> Iterable[tuple[int, list[str]]]:
    """``(first line number, stripped fields)`` of every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)
    line = 1
    try:
        for fields in reader:
            cells = [f.strip() for f in fields]
            if any(cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"cannot split line {reader.line_num}: {exc}") from None


def _filled(fields: list[str]) -> int:
    """How many fields remain once empty trailing ones are dropped."""
    n = len(fields)
    while n and not fields[n - 1]:
        n -= 1
    return n


def _sniff(text: str, name: str) -> str:
    """The separator that splits the header and the first rows alike."""
    lines = [ln for ln in text[: 1 << 20].split("\n") if ln.strip()][: _SNIFF_LINES + 1]
    sample = "\n".join(lines)
    best: tuple[float, int, str] | None = None
    hint = ""
    for sep in SEPARATORS:
        try:
            rows = [f for _, f in _records(sample, sep)]
        except DataError:
            continue
        width = _filled(rows[0]) if rows else 0
        if width < 2:
            continue
        data = rows[1:]
        fit = sum(_filled(r) == width for r in data) / len(data) if data else 1.0
        if fit < 0.5:
            bad = next(r for r in data if _filled(r) != width)
            hint = hint or (
                f": split at {SEP_NAMES[sep]}, the header has {width} fields but a row has "
                f"{_filled(bad)}"
            )
            continue
        if best is None or (fit, width) > best[:2]:
            best = (fit, width, sep)
    if best is None:
        first = lines[0][:60] if lines else ""
        raise DataError(
            f"{name}: cannot tell the column separator (header {first!r}){hint}; give it "
            "with --sep (',', ';', tab or '|') or [data] sep"
        )
    return best[2]


def _split_slow(text: str, sep: str, name: str) -> tuple[list[str], pd.DataFrame]:
    """Header and rows by the csv module: exact line numbers, quoted line breaks."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for line, fields in _records(text, sep):
            if header is None:
                header = fields
                continue
            filled = _filled(fields)
            if filled > len(header):
                raise DataError(
                    f"{name}: line {line} has {filled} fields, the header {len(header)}; "
                    f"check the separator (read as {SEP_NAMES.get(sep, repr(sep))}) or give "
                    "--sep"
                )
            rows.append(fields[: len(header)] + [""] * (len(header) - len(fields)))
            lines.append(line)
    except DataError as exc:
        if str(exc).startswith(name):
            raise
        raise DataError(f"{name}: cannot read prices: {exc}") from None
    if header is None:
        raise DataError(f"{name}: the file is empty")
    return header, pd.DataFrame(rows, index=pd.Index(lines), columns=range(len(header)))


def _split_fast(text: str, sep: str) -> tuple[list[str], pd.DataFrame] | None:
    """Header and rows by pandas' C parser (fast), or None.

    None where it would not read the file as the csv module does: a row wider than the first
    line, a quoted line break, blank lines.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = pd.read_csv(
                io.StringIO(text), sep=sep, header=None, dtype=str, na_filter=False,
                skip_blank_lines=False, skipinitialspace=True, quotechar='"', engine="c",
            )  # fmt: skip
    except (ValueError, pd.errors.ParserError, csv.Error, OverflowError):
        return None
    if len(raw) != text.count("\n") + (not text.endswith("\n")):
        return None
    raw = raw.fillna("")
    raw = raw.apply(lambda col: col.astype(str).str.strip())
    raw.index = pd.RangeIndex(1, len(raw) + 1)  # line numbers
    filled = (raw != "").any(axis=1).to_numpy()
    if not filled.any():
        return None
    first = int(filled.argmax())
    header = list(raw.iloc[first])
    rows = raw.iloc[first + 1 :][filled[first + 1 :]]
    rows.columns = range(len(header))
    return header, rows


def read_text_table(data: bytes, name: str, sep: str | None = None) -> TextTable:
    """Split a delimited text file into its header and rows of strings.

    Raises:
        DataError: Undecodable bytes, no separator that fits, a header only, or a row with
            more filled fields than the header.
    """
    text, encoding = decode(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    how = "given" if sep else "detected"
    sep = sep or _sniff(text, name)
    header, rows = _split_fast(text, sep) or _split_slow(text, sep, name)
    width = len(header)
    while width > 1 and not header[width - 1] and not (rows[width - 1] != "").any():
        width -= 1  # a trailing separator: an empty column without a name
    header, rows = header[:width], rows.iloc[:, :width]
    if rows.empty:
        raise DataError(f"{name}: no price rows (the file has a header only)")
    return TextTable(header, rows.astype("string"), encoding, sep, how)
