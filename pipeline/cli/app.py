"""The ``stackcast`` command line (Typer).

Exit codes: 0 success; 2 bad input or usage (exactly one ``error: ...`` line on stderr, no
traceback); 1 unexpected failure (``error: unexpected ...``; ``STACKCAST_DEBUG=1`` adds the
traceback).

Adding a command: decorate a function with ``@app.command()`` and raise ``UserError`` (or a
subclass) for bad input: the root group turns it into ``error: ...`` and exit 2, anything else
into exit 1, for the console script, ``python -m pipeline`` and ``typer.testing.CliRunner``
alike. Import heavy modules (pandas, keras, prefect) inside the command, never at the top of
this module, so ``stackcast --help`` stays fast. ``fail(message)`` exits 2 with one error line.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from stackcast.pipeline.cli.lean import skip_keras_extras
from stackcast.pipeline.cli.options import DateFormatOpt, DecimalOpt, SepOpt, with_reading
from stackcast.pipeline.errors import UserError
from typer.core import TyperGroup

from stackcast import __version__

if TYPE_CHECKING:
    from stackcast.pipeline.config import RunConfig
    from stackcast.pipeline.data.ingest import IngestResult

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str) -> None:
    """Print ``error: message`` as exactly one line on stderr."""
    typer.echo(f"error: {_one_line(message)}", err=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one ``error:`` line and exit (2 by default)."""
    error_line(message)
    raise typer.Exit(code)


def exit_code_for(exc: BaseException) -> int:
    """2 for bad input or usage (``UserError``, Typer/Click usage errors), else 1."""
    if isinstance(exc, UserError):
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    if isinstance(exc, typer.TyperException):  # Typer's (vendored) Click errors
        return int(getattr(exc, "exit_code", EXIT_UNEXPECTED))
    return EXIT_UNEXPECTED


def report(exc: BaseException) -> int:
    """Print ``exc`` as one ``error:`` line (traceback first if unexpected and STACKCAST_DEBUG)."""
    code = exit_code_for(exc)
    if isinstance(exc, typer.TyperException):
        error_line(exc.format_message())
    elif isinstance(exc, UserError):
        error_line(str(exc))
    elif os.environ.get("STACKCAST_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
        error_line(f"unexpected {type(exc).__name__}: {exc}")
    else:
        error_line(
            f"unexpected {type(exc).__name__}: {exc} (STACKCAST_DEBUG=1 shows the traceback)"
        )
    return code


class StackcastGroup(TyperGroup):
    """The root command: maps every error to one ``error:`` line and the documented exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; exits (standalone) or returns the exit code."""
        skip_keras_extras()
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "stackcast",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `stackcast`: help, exit 0
                typer.echo(exc.format_message())
                code = EXIT_OK
            else:
                code = report(exc)
        except typer.Abort:
            error_line("aborted")
            code = EXIT_UNEXPECTED
        except (KeyboardInterrupt, EOFError):
            error_line("interrupted")
            code = 130
        except Exception as exc:
            code = report(exc)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="stackcast",
    cls=StackcastGroup,
    help="Forecast daily prices with masked, stacked, bidirectional LSTM/GRU models.",
    epilog="Exit codes: 0 success, 2 bad input or usage (one 'error:' line), 1 unexpected.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stackcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Forecast daily prices with masked, stacked, bidirectional LSTM/GRU models."""


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML config file (default: configs/default.toml).", dir_okay=False
    ),
]


def load_run_config(path: Path | None) -> RunConfig:
    """The run configuration from ``--config`` (``ConfigError`` -> exit 2)."""
    from stackcast.pipeline.config import load_config

    return load_config(path)


def _fmt_date(value: Any) -> str:
    return value.isoformat() if value is not None else "-"


def print_ingest_table(results: Sequence[IngestResult]) -> None:
    """The per-ticker summary: ticker, status, rows added, first/last date, stored rows, note."""
    header = ("ticker", "status", "added", "first", "last", "rows", "note")
    rows = [
        (
            r.ticker,
            r.status,
            str(r.rows_added),
            _fmt_date(r.first),
            _fmt_date(r.last),
            str(r.rows),
            r.action if r.ok else "failed (see error)",
        )
        for r in results
    ]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    numeric = {2, 5}
    for line in (header, *rows):
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        typer.echo("  ".join(cells).rstrip())


@app.command()
def ingest(
    tickers: Annotated[
        str | None,
        typer.Option(
            "--tickers",
            "-t",
            help="Comma-separated tickers (default: the config's, or all in a sample/file source).",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", "-s", help="yahoo, sample, or a .csv/.parquet file in long format."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First date, YYYY-MM-DD (default: the config's, for the config's source)."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last date, YYYY-MM-DD (default: the config's, or latest).")
    ] = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
) -> None:
    """Fetch, validate and store daily prices.

    Stores one Parquet file per ticker in STACKCAST_HOME/prices and prints one row per ticker.
    Exit 0 if every ticker succeeded; if any failed, one 'error:' line and exit 2 when every
    failure was bad input or data (unknown ticker, invalid rows), exit 1 otherwise: a source
    still unreachable after its retries (try again later) or the store could not be written.
    """
    from stackcast.pipeline.data.ingest import ingest as run_ingest

    cfg = with_reading(load_run_config(config), date_format, sep, decimal)
    results = run_ingest(cfg, tickers=tickers, source=source, start=start, end=end)
    print_ingest_table(results)
    for r in results:
        for w in r.warnings:
            typer.echo(f"warning: {_one_line(w)}", err=True)
    failed = [r for r in results if not r.ok]
    if not failed:
        return
    if len(failed) == 1:
        error_line(f"{failed[0].ticker}: {failed[0].message}")
    else:
        detail = "; ".join(f"{r.ticker}: {r.message}" for r in failed)
        error_line(f"{len(failed)} of {len(results)} tickers failed: {detail}")
    raise typer.Exit(EXIT_USAGE if all(r.user_error for r in failed) else EXIT_UNEXPECTED)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    return command.main(args=argv, prog_name="stackcast", standalone_mode=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
