"""The deployments ``stackcast serve`` serves: their specs, parameters and Prefect form.

``deployments_for(cfg, config_path)`` lists them (``daily-forecast`` and ``weekly-retrain`` on
the config's cron schedules, their time zone stated in the description; ``backtest``,
``sweep`` and ``ingest`` on demand). Each takes the short run form of
``stackcast.pipeline.orchestration.parameters`` with defaults that stand for the served
configuration: its tickers and model name, the config file, and as ``overrides`` what differs
from that file (``sweep`` also takes its ``grid``). ``to_runner_deployments`` turns them into
Prefect ``RunnerDeployment``s; ``load_deployments`` calls a ``MODULE:FUNCTION`` that returns
others instead.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import UserError
from stackcast.pipeline.orchestration.parameters import form_defaults

DEFAULT_GRID: dict[str, list[Any]] = {"model.dropout": [0.0, 0.2]}
"""The sweep deployment's default grid (the Run form shows it, to edit)."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment to serve: a flow, a name, an optional schedule and default parameters."""

    flow: Any
    name: str
    schedule: Any | None = None
    parameters: dict[str, Any] | None = None
    description: str | None = None
    tags: tuple[str, ...] = ("stackcast",)


def flow_parameters(
    cfg: RunConfig, config_path: str | Path | None = None, flow: Any = None
) -> dict[str, Any]:
    """The run form's defaults for ``cfg`` read from ``config_path``, for ``flow``'s fields.

    Without ``flow``: every field of the form (``parameters.FIELDS``).
    """
    if flow is None:
        return form_defaults(cfg, config_path)
    return form_defaults(cfg, config_path, inspect.signature(getattr(flow, "fn", flow)).parameters)


def schedule_text(cron: str, timezone: str) -> str:
    """The schedule in words with its time zone: ``Schedule: 18:30 America/New_York time ...``."""
    minute, hour = cron.split()[:2]
    if minute.isdigit() and hour.isdigit():
        return f"Schedule: {int(hour):02d}:{int(minute):02d} {timezone} time (cron {cron})."
    return f"Schedule: cron {cron} in {timezone} time."


def deployments_for(cfg: RunConfig, config_path: str | Path | None = None) -> list[DeploymentSpec]:
    """The stackcast deployments for ``cfg``, read from ``config_path`` (None: the default).

    Imports ``stackcast.pipeline.orchestration.flows`` lazily.

    Raises:
        UserError: the flows module is missing.
    """
    from prefect.schedules import Cron

    try:
        from stackcast.pipeline.orchestration import flows
    except ModuleNotFoundError as exc:
        if exc.name != "stackcast.pipeline.orchestration.flows":
            raise
        raise UserError(
            "the flows module (stackcast.pipeline.orchestration.flows) is missing: "
            "there are no flows to serve"
        ) from None

    tz, daily, retrain = cfg.schedule.timezone, cfg.schedule.daily_cron, cfg.schedule.retrain_cron
    specs = [
        (
            flows.daily_forecast_flow,
            "daily-forecast",
            Cron(daily, timezone=tz),
            "Ingest new bars, forecast with the champion, append to the ledger, score, report. "
            + schedule_text(daily, tz),
        ),
        (
            flows.weekly_retrain_flow,
            "weekly-retrain",
            Cron(retrain, timezone=tz),
            "Retrain a challenger, backtest it and promote it if it beats the champion. "
            + schedule_text(retrain, tz),
        ),
        (flows.backtest_flow, "backtest", None, "Walk-forward backtest and report."),
        (
            flows.sweep_flow,
            "sweep",
            None,
            "Backtest a grid of configs; choose on validation folds, report the test folds.",
        ),
        (flows.ingest_flow, "ingest", None, "Fetch and store prices."),
    ]
    return [
        DeploymentSpec(
            flow,
            name,
            schedule,
            flow_parameters(cfg, config_path, flow)
            | ({"grid": dict(DEFAULT_GRID)} if name == "sweep" else {}),
            description,
        )
        for flow, name, schedule, description in specs
    ]


def without_null_defaults(deployment: Any) -> Any:
    """Drop ``default: null`` from a ``RunnerDeployment``'s parameter schema (in place).

    Prefect 3.8.8's run form starts a field at its schema default and sends it, and its
    server accepts null only for an optional property that declares no default: a date left
    empty in the Custom run form (``as_of``) would be refused with ``None is not of type
    'string'``. Without the declared default the empty field is accepted, and the flow gets
    its Python default, None.
    """
    schema = getattr(deployment, "_parameter_openapi_schema", None)
    for prop in getattr(schema, "properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    return deployment


def to_runner_deployments(specs: Sequence[Any]) -> list[Any]:
    """Turn ``DeploymentSpec``s into Prefect ``RunnerDeployment``s (others pass through)."""
    from prefect.deployments.runner import EntrypointType

    out = []
    for spec in specs:
        if not isinstance(spec, DeploymentSpec):
            out.append(spec)
            continue
        out.append(
            without_null_defaults(
                spec.flow.to_deployment(
                    name=spec.name,
                    schedule=spec.schedule,
                    parameters=spec.parameters,
                    description=spec.description,
                    tags=list(spec.tags),
                    # "package.module.flow": independent of the directory serve starts in
                    entrypoint_type=EntrypointType.MODULE_PATH,
                )
            )
        )
    return out


def load_deployments(ref: str, cfg: RunConfig) -> list[Any]:
    """Call ``module:function`` with ``cfg`` to get the deployments to serve."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise UserError(f"--deployments {ref!r}: use MODULE:FUNCTION")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"--deployments {ref!r}: {exc}") from None
    return list(fn(cfg))
