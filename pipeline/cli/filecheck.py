"""``stackcast inspect FILE``: how a price file would be read, and whether it would be stored.

It reads the file exactly as ``ingest`` would (same code, same ``[data]`` and ``[features]
calendar`` settings, same options) and writes nothing, not even STACKCAST_HOME. Exit 0 when
the file would be stored, 2 (one ``error:`` line) when it would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from stackcast.pipeline.cli.app import ConfigOpt, app, load_run_config
from stackcast.pipeline.cli.options import DateFormatOpt, DecimalOpt, SepOpt, with_reading
from stackcast.pipeline.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from stackcast.pipeline.data.filecheck import Assessment
    from stackcast.pipeline.data.pricefile import PriceTable

SHOWN_ROWS = 3
_WIDTH = 11


def _say(label: str, text: str) -> None:
    typer.echo(f"{label:<{_WIDTH}} {text}".rstrip())


def _facts(path: Path, facts: dict[str, str]) -> None:
    _say("file", str(path))
    for label, text in facts.items():
        _say(label, text)


def _number(value: float) -> str:
    return "-" if value != value else f"{value:.10g}"  # NaN: missing


def _row_lines(table: PriceTable, dates: pd.Series, rows: pd.DataFrame) -> list[str]:
    name = table.reading.row_name
    out = []
    for idx, row in rows.iterrows():
        day = dates[idx]
        read = day.strftime("%Y-%m-%d") if day == day else "unreadable"
        values = "  ".join(
            f"{c} {_number(float(row[c]))}" for c in ("open", "high", "low", "close", "volume")
            if c in rows.columns
        )  # fmt: skip
        out.append(f"{name} {idx}: {row['date']!s} -> {read}  {row['ticker']}  {values}")
    return out


def _tickers(table: PriceTable, dates: pd.Series, assessment: Assessment, cfg) -> list[str]:
    frame = table.frame.assign(_day=dates)
    header = ("ticker", "rows", "first", "last", "calendar", "")
    lines = [header]
    for t in table.tickers:
        part = frame[frame["ticker"] == t]["_day"].dropna()
        first = part.min().strftime("%Y-%m-%d") if len(part) else "-"
        last = part.max().strftime("%Y-%m-%d") if len(part) else "-"
        spec = cfg.data.calendars.get(t, cfg.features.calendar)
        state = "refused" if t in assessment.errors else "ok"
        lines.append((t, str(int((frame["ticker"] == t).sum())), first, last, spec, state))
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]


def _problems(assessment: Assessment) -> list[str]:
    from stackcast.pipeline.data.problems import PriceValidationError

    out = []
    for err in assessment.errors.values():
        if isinstance(err, PriceValidationError) and err.problems:
            out += [str(p) for p in err.problems]
        else:
            out.append(str(err))
    return out


@app.command("inspect")
def inspect_file(
    file: Annotated[Path, typer.Argument(help="A .csv or .parquet price file.", dir_okay=False)],
    date_format: DateFormatOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show how a price file would be read; write nothing.

    Whether ingest would store it, and how: separator, decimal mark, date format, columns,
    close, tickers, first and last rows and every problem. Exit 0 if ingest would store the
    file, 2 if it would refuse it.
    """
    from stackcast.pipeline.data.dates import parse_dates
    from stackcast.pipeline.data.filecheck import assess
    from stackcast.pipeline.data.pricefile import PriceFileError, ReadRules, read_price_file
    from stackcast.pipeline.data.sources import parse_source

    cfg = with_reading(load_run_config(config), date_format, sep, decimal)
    src = parse_source(file)
    if src.kind != "file" or src.path is None:
        raise ConfigError(f"inspect reads a .csv or .parquet file, not the {src.kind} source")
    try:
        table = read_price_file(src.path, ReadRules.of(cfg.data))
    except PriceFileError as exc:
        _facts(src.path, exc.facts)
        raise
    assessment = assess(table, cfg.data, cfg.features.calendar)
    _facts(src.path, table.reading.facts)
    dates = parse_dates(table.frame["date"], table.reading.dates.format).dt.normalize()
    for i, line in enumerate(_tickers(table, dates, assessment, cfg)):
        _say("tickers" if i == 0 else "", line)
    frame = table.frame
    for label, rows in (
        ("first rows", frame.head(SHOWN_ROWS)),
        ("last rows", frame.tail(SHOWN_ROWS)),
    ):
        for i, line in enumerate(_row_lines(table, dates, rows)):
            _say(label if i == 0 else "", line)
    warnings = [w for got in assessment.loaded.values() for w in got.warnings]
    for i, line in enumerate(warnings):
        _say("warnings" if i == 0 else "", line)
    problems = _problems(assessment)
    for i, line in enumerate(problems or ["none"]):
        _say("problems" if i == 0 else "", line)
    verdict = assessment.verdict(table.reading.name)
    if verdict is not None:
        raise verdict
    n = sum(len(got.frame) for got in assessment.loaded.values())
    k = len(assessment.loaded)
    _say("result", f"would be stored: {n} rows of {k} ticker{'s' if k != 1 else ''}")
