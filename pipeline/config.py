"""The run configuration: one TOML file loaded into frozen pydantic models.

Each package owns its section's model; ``RunConfig`` composes them with the pipeline's own
``[data]``, ``[backtest]``, ``[schedule]``, ``[runtime]``, ``[sweep]`` and ``[paths]``
sections. The same models are the Prefect flows' parameters, so the UI renders them as forms.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
)
from stackcast.features.config import SECTION_CONFIG, FeatureConfig, calendar_spec
from stackcast.models.base import DEFAULT_FORECASTERS, FORECASTERS, lineup
from stackcast.models.config import ModelConfig, TrainConfig
from stackcast.pipeline.config_errors import format_error
from stackcast.pipeline.errors import ConfigError
from stackcast.reports.config import ReportConfig

API_WHERE = "config"  # what errors of a RunConfig built in Python name as their source
TICKER_RE = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$")
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def check_ticker(ticker: str) -> str:
    """Return the upper-cased ticker, or raise ``ConfigError`` if it is not a safe symbol.

    Tickers become file names, so only letters, digits and ``. - = ^`` are allowed (no path
    separators, no leading dot, at most 20 characters).
    """
    t = ticker.strip().upper()
    if not TICKER_RE.fullmatch(t):
        raise ConfigError(
            f"invalid ticker {ticker!r}: use 1-20 letters, digits or . - = ^ (no path characters)"
        )
    return t


class _Section(BaseModel):
    model_config = SECTION_CONFIG


class DataConfig(_Section):
    """Where prices come from and how they are checked."""

    tickers: tuple[str, ...] = Field(
        ("SPY", "QQQ", "AAPL", "MSFT", "NVDA"),
        min_length=1,
        strict=False,
        description="Tickers to ingest, forecast and backtest.",
    )
    source: str = Field(
        "yahoo", description="yahoo, sample, or a path to a .csv/.parquet file in long format."
    )
    start: date | None = Field(
        None, strict=False, description="First date to fetch (default: all history)."
    )
    end: date | None = Field(None, strict=False, description="Last date to fetch (default: today).")
    calendars: dict[str, str] = Field(
        default_factory=dict,
        strict=False,
        description="Per-ticker calendar overrides, e.g. {BTC-USD = '24/7'}; others use "
        "[features] calendar.",
    )
    max_jump: float = Field(
        0.75, gt=0.0, description="Absolute one-day log return flagged as absurd."
    )
    on_jump: Literal["warn", "error"] = Field(
        "warn", description="What an absurd one-day jump does: warn, or reject the data."
    )
    overlap: int = Field(5, ge=1, le=100, description="Stored bars refetched to spot restatements.")
    date_format: str | None = Field(
        None,
        description="Date format of price files, e.g. '%d.%m.%Y' (default: ISO 8601, or the "
        "one common format that reads every date of the file).",
    )
    sep: str | None = Field(
        None, description="Column separator of CSV price files: ',', ';', 'tab' or '|' "
        "(default: detected)."
    )  # fmt: skip
    decimal: Literal[".", ","] | None = Field(
        None, description="Decimal mark of price files, '.' or ',' (default: detected)."
    )
    retries: int = Field(3, ge=0, le=10, description="Retries per Yahoo request.")
    backoff: float = Field(1.0, ge=0.0, le=60.0, description="First retry delay (s), doubling.")
    timeout: float = Field(20.0, gt=0.0, le=600.0, description="Yahoo request timeout (s).")

    @field_validator("tickers")
    @classmethod
    def _tickers(cls, tickers: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(dict.fromkeys(check_ticker(t) for t in tickers))
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        from stackcast.pipeline.data.dates import check_date_format

        return None if value is None else check_date_format(value)

    @field_validator("sep")
    @classmethod
    def _sep(cls, value: str | None) -> str | None:
        named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
        sep = None if value is None else named.get(value.strip().lower(), value)
        if sep not in (None, ",", ";", "\t", "|"):
            raise ValueError(f"separator {value!r}: use ',', ';', 'tab' or '|'")
        return sep

    @field_validator("calendars")
    @classmethod
    def _calendars(cls, calendars: dict[str, str]) -> dict[str, str]:
        try:
            return {check_ticker(t): calendar_spec(c) for t, c in calendars.items()}
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


class BacktestConfig(_Section):
    """Walk-forward evaluation."""

    folds: int = Field(4, ge=1, le=500, description="Number of walk-forward folds.")
    test_size: int = Field(63, ge=1, description="Test origins per fold (retrain every k).")
    mode: Literal["expanding", "rolling"] = Field("rolling", description="Training window.")
    train_size: int = Field(1500, ge=50, description="Training origins per fold (rolling).")
    embargo: int | None = Field(
        None, ge=0, description="Bars between last training target and first test origin (>= H)."
    )
    forecasters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORECASTERS),
        description=(
            "Forecasters the run scores: the model first (published), then the baselines and "
            "peers (random_walk is always scored, as the reference). Known: "
            + ", ".join(FORECASTERS)
            + "."
        ),
    )

    @field_validator("forecasters")
    @classmethod
    def _forecasters(cls, names: list[str]) -> list[str]:
        lineup(names)
        return names

    def lineup(self) -> tuple[str, tuple[str, ...]]:
        """``(model, baselines)``: the model's name and the names scored beside it."""
        return lineup(self.forecasters)


class ScheduleConfig(_Section):
    """When the daily forecast and the weekly retrain run."""

    daily_cron: str = Field("30 18 * * 1-5", description="Daily forecast (after the US close).")
    retrain_cron: str = Field("0 9 * * 6", description="Weekly challenger retrain.")
    timezone: str = Field("America/New_York", description="IANA time zone of the crons.")

    @field_validator("daily_cron", "retrain_cron")
    @classmethod
    def _cron(cls, cron: str) -> str:
        fields = cron.split()
        if len(fields) != 5:
            raise ValueError(f"cron {cron!r} must have 5 fields")
        hour = fields[1]
        if hour.isdigit() and 1 <= int(hour) < 3:
            raise ValueError(f"cron {cron!r} runs between 01:00 and 03:00, which DST skips")
        return cron

    @field_validator("timezone")
    @classmethod
    def _tz(cls, tz: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        return tz


class RuntimeConfig(_Section):
    """How stackcast runs: the Keras backend and how Prefect runs per-ticker tasks."""

    backend: Literal["tensorflow", "jax"] = Field(
        "tensorflow",
        description=(
            "Keras backend for training and forecasting: tensorflow, or jax (pip install "
            "'stackcast[jax]'; faster on CPU, compiles longer on a run's first fold). "
            "STACKCAST_BACKEND overrides it for one process."
        ),
    )
    compile_cache: bool = Field(
        True,
        description=(
            "jax only: keep XLA's compiled train and predict steps under "
            "STACKCAST_HOME/cache/xla (at most 1 GiB, oldest entries evicted), so later runs "
            "of the same model skip most of the first fold's compile."
        ),
    )
    task_runner: Literal["thread", "dask"] = Field("thread", description="Task runner.")
    dask_address: str | None = Field(None, description="Existing Dask scheduler to join.")
    max_workers: int = Field(4, ge=1, le=256, description="Thread pool size / local Dask workers.")


class SweepConfig(_Section):
    """How ``stackcast sweep`` picks a configuration: validation folds before the test folds."""

    validation_folds: int = Field(
        2,
        ge=1,
        le=100,
        description="Walk-forward folds before the [backtest] test folds that score candidates.",
    )
    max_combinations: int = Field(
        32, ge=1, le=10_000, description="Most grid combinations a sweep accepts."
    )


class PathsConfig(_Section):
    """Where stackcast keeps its state."""

    home: str | None = Field(None, description="STACKCAST_HOME (default ~/.stackcast).")


class RunConfig(_Section):
    """Every section of a stackcast TOML file."""

    data: DataConfig = DataConfig()
    name: str = Field("default", pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="Model name.")
    features: FeatureConfig = FeatureConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    backtest: BacktestConfig = BacktestConfig()
    report: ReportConfig = ReportConfig()
    sweep: SweepConfig = SweepConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    paths: PathsConfig = PathsConfig()

    def __init__(self, /, **data: Any) -> None:
        """Validate ``data``; bad input raises ``StackcastError`` in the CLI's words."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(format_error(exc, API_WHERE, RunConfig)) from None

    # Pydantic's own marker: validation inside another model (a flow's parameters) builds a
    # RunConfig without this __init__, so it still raises pydantic's ValidationError there.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> RunConfig:
        """Validate ``obj`` (a dict of sections); bad input raises ``StackcastError``."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise ConfigError(format_error(exc, API_WHERE, cls)) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> RunConfig:
        """Validate JSON text; bad input raises ``StackcastError``."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise ConfigError(format_error(exc, API_WHERE, cls)) from None

    @property
    def embargo(self) -> int:
        """The effective embargo in bars: the configured one, never below H."""
        return max(self.backtest.embargo or 0, self.features.horizons)

    def home(self) -> Path:
        """The resolved STACKCAST_HOME for this run."""
        return resolve_home(self.paths.home)

    def compile_cache_dir(self) -> Path | None:
        """Where the jax backend keeps compiled steps (``None``: ``compile_cache`` is off)."""
        return self.home() / "cache" / "xla" if self.runtime.compile_cache else None

    def with_overrides(self, **data: Any) -> RunConfig:
        """Return a copy with ``[data]`` fields replaced (validated)."""
        merged = self.data.model_dump() | {k: v for k, v in data.items() if v is not None}
        return self.model_copy(update={"data": _validated(DataConfig, merged, "<command line>")})


def resolve_home(home: str | None = None) -> Path:
    """STACKCAST_HOME: the argument, else the environment variable, else ``~/.stackcast``."""
    raw = home or os.environ.get("STACKCAST_HOME") or "~/.stackcast"
    return Path(raw).expanduser().resolve()


def _validated(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:  # pydantic's validator itself: RunConfig.model_validate would name "config"
        return model.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(format_error(exc, where, model)) from None


def config_from_dict(data: Any, where: str) -> RunConfig:
    """A ``RunConfig`` from already-parsed data (a model's saved config); errors name ``where``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: no configuration saved")
    return _validated(RunConfig, data, where)


def with_dotted(cfg: RunConfig, changes: Mapping[str, Any], where: str = "overrides") -> RunConfig:
    """``cfg`` with dotted keys set (``model.dropout``, or a top-level key such as ``name``).

    Raises:
        ConfigError: an unknown key or a value the configuration refuses, in the words of a
            config file (``overrides: key 'train.epochs': expected a number, ...``).
    """
    data = cfg.model_dump(mode="json")
    for key, value in changes.items():
        section, dot, name = str(key).partition(".")
        table = data.get(section)
        if not dot:
            data[section] = value
        elif isinstance(table, dict) and name and "." not in name:
            table[name] = value
        else:
            raise ConfigError(f"{where}: unknown key '{key}' (use section.key, e.g. train.epochs)")
    return config_from_dict(data, where)


def parse_config(text: str, where: str = "<config>") -> RunConfig:
    """Parse TOML text into a ``RunConfig``; errors name the key and ``where``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    return _validated(RunConfig, data, where)


def load_config(path: str | Path | None = None) -> RunConfig:
    """Load a TOML config file (default ``configs/default.toml`` or built-in defaults)."""
    if path is None:
        default = CONFIG_DIR / "default.toml"
        return load_config(default) if default.is_file() else RunConfig()
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config {p} is a directory, not a TOML file")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a UTF-8 byte order mark is fine
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: cannot read config: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, str(p))


def builtin_config(name: str) -> Path:
    """Path of a config shipped in ``configs/`` (``default`` or ``demo``)."""
    return CONFIG_DIR / f"{name}.toml"


def _without_none(value: Any) -> Any:
    """``value`` with every None dropped from its dicts (TOML has no null)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


def to_toml(cfg: RunConfig) -> str:
    """Write a ``RunConfig`` as TOML that ``parse_config`` reads back to an equal config."""
    return tomli_w.dumps(_without_none(cfg.model_dump(mode="python")))
