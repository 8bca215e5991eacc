"""Command-line options that say how to read a price file, shared by every command taking one.

``--date-format``, ``--sep`` and ``--decimal`` override ``[data] date_format``, ``sep`` and
``decimal`` for one command (``with_reading``); unset, the file's own are detected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from stackcast.pipeline.errors import ConfigError

if TYPE_CHECKING:
    from stackcast.pipeline.config import RunConfig

DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="Date format of a price file, e.g. '%d.%m.%Y' or ISO8601 (default: ISO 8601, or "
        "the one common format that reads every date of the file).",
    ),
]
SepOpt = Annotated[
    str | None,
    typer.Option(
        "--sep", help="Column separator of a CSV price file: ',', ';', 'tab' or '|' "
        "(default: detected).",
    ),
]  # fmt: skip
DecimalOpt = Annotated[
    str | None,
    typer.Option("--decimal", help="Decimal mark of a price file: '.' or ',' (default: detected)."),
]


def with_reading(
    cfg: RunConfig, date_format: str | None, sep: str | None, decimal: str | None
) -> RunConfig:
    """``cfg`` with the reading options given on the command line (the others kept as set).

    Raises:
        ConfigError: An option value that is not a date format, separator or decimal mark.
    """
    from pydantic import ValidationError
    from stackcast.pipeline.config import DataConfig

    given = {"date_format": date_format, "sep": sep, "decimal": decimal}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return cfg
    try:
        checked = DataConfig.model_validate(given)
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]).replace("_", "-")
        raise ConfigError(f"{flag}: {err['msg'].removeprefix('Value error, ')}") from None
    data = cfg.data.model_copy(update={k: getattr(checked, k) for k in given})
    return cfg.model_copy(update={"data": data})
