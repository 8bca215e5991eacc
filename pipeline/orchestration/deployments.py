"""The deployments ``stackcast serve`` serves: their specs, parameters and Prefect form.

``deployments_for(cfg)`` lists them (``daily-forecast`` and ``weekly-retrain`` on the config's
cron schedules, ``backtest``, ``sweep`` and ``ingest`` on demand), each with the whole
``RunConfig`` as its parameter (``sweep`` also takes its ``grid``); ``to_runner_deployments``
turns them into Prefect ``RunnerDeployment``s; ``load_deployments`` calls a
``MODULE:FUNCTION`` that returns others instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import UserError

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


def flow_parameters(cfg: RunConfig) -> dict[str, Any]:
    """Default parameters of every deployment: the whole config, with the home filled in."""
    paths = cfg.paths.model_copy(update={"home": str(cfg.home())})
    return {"cfg": cfg.model_copy(update={"paths": paths}).model_dump(mode="json")}


def deployments_for(cfg: RunConfig) -> list[DeploymentSpec]:
    """The stackcast deployments for ``cfg``.

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

    tz = cfg.schedule.timezone
    params = flow_parameters(cfg)
    return [
        DeploymentSpec(
            flows.daily_forecast_flow,
            "daily-forecast",
            Cron(cfg.schedule.daily_cron, timezone=tz),
            params,
            "Ingest new bars, forecast with the champion, append to the ledger, score, report.",
        ),
        DeploymentSpec(
            flows.weekly_retrain_flow,
            "weekly-retrain",
            Cron(cfg.schedule.retrain_cron, timezone=tz),
            params,
            "Retrain a challenger, backtest it and promote it if it beats the champion.",
        ),
        DeploymentSpec(
            flows.backtest_flow, "backtest", None, params, "Walk-forward backtest and report."
        ),
        DeploymentSpec(
            flows.sweep_flow,
            "sweep",
            None,
            params | {"grid": dict(DEFAULT_GRID)},
            "Backtest a grid of configs; choose on validation folds, report the test folds.",
        ),
        DeploymentSpec(flows.ingest_flow, "ingest", None, params, "Fetch and store prices."),
    ]


def to_runner_deployments(specs: Sequence[Any]) -> list[Any]:
    """Turn ``DeploymentSpec``s into Prefect ``RunnerDeployment``s (others pass through)."""
    from prefect.deployments.runner import EntrypointType

    out = []
    for spec in specs:
        if not isinstance(spec, DeploymentSpec):
            out.append(spec)
            continue
        out.append(
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
