"""Workflow steps as Prefect tasks: ``PrefectSteps`` and the task runners.

The flows run the same workflow bodies as the CLI (``stackcast.pipeline.workflows``), passing
``PrefectSteps``: every ``steps.call(name, fn, ...)`` becomes a task run named ``name`` in the
flow's process, every ``steps.map(name, fn, keys, ...)`` fans out one task run per key
(``ingest-<T>``, ``forecast-<T>``) on the task runner. Retries live in this one layer:
``ingest-ticker`` retries network trouble with backoff (``INGEST_RETRIES`` retries,
``INGEST_RETRY_DELAYS`` seconds, 20 % jitter) but never bad input (``retry_transient``).

Task runner: ``[runtime] task_runner`` picks ``ThreadPoolTaskRunner(max_workers)`` or
``prefect_dask.DaskTaskRunner`` (``address=[runtime] dask_address`` joins an existing
cluster; without one, a local cluster of ``max_workers`` single-threaded worker processes is
started for the run). The runner is built from the ``cfg`` parameter inside the flow, at run
time: in Prefect 3.8.8 the flow engine enters ``flow.task_runner.duplicate()`` before the
flow function runs, and a served deployment runs the module-level flow object from its
entrypoint, so ``flow.with_options(task_runner=...)`` could only take effect as a second
(sub)flow run. Tasks submitted to a runner directly (``runner.submit(task, parameters)``)
still run inside the flow run's context and show in its task graph. Dask workers import
``stackcast`` and use the same ``STACKCAST_HOME`` (pinned into ``cfg.paths.home`` at the
start of every flow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from stackcast.pipeline.config import RunConfig, RuntimeConfig
from stackcast.pipeline.environment import use_runtime
from stackcast.pipeline.errors import ConfigError, UserError
from stackcast.pipeline.orchestration.pool import in_worker
from stackcast.pipeline.workflows.steps import Steps, failure_text

T = TypeVar("T")

INGEST_RETRIES = 3
INGEST_RETRY_DELAYS: Sequence[float] = (30.0, 120.0, 300.0)
INGEST_RETRY_JITTER = 0.2


def task_runner_for(runtime: RuntimeConfig) -> TaskRunner[Any]:
    """The task runner ``[runtime]`` asks for (not started).

    Raises:
        ConfigError: ``dask`` without ``prefect-dask`` installed.
    """
    if runtime.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ConfigError(
                "[runtime] task_runner = 'dask' needs prefect-dask: pip install 'stackcast[dask]'"
            ) from None
        if runtime.dask_address:
            return DaskTaskRunner(address=runtime.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": runtime.max_workers, "threads_per_worker": 1}
        )
    return ThreadPoolTaskRunner(max_workers=runtime.max_workers)


def _exception(state: State[Any]) -> BaseException | None:
    """The exception a failed state holds (as such, or in its in-memory result record)."""
    data = state.data
    if isinstance(data, BaseException) or data is None:
        return data
    result = getattr(data, "result", None)  # a ResultRecord
    return result if isinstance(result, BaseException) else None


def failure_message(state: State[Any]) -> str:
    """The error of a failed task run (its exception's text), else the state's message."""
    exc = _exception(state)
    if exc is None:  # crashed or cancelled: no exception to show
        return state.message or state.type.value.lower()
    return failure_text(exc)


def lost_message(future: Any, state: State[Any]) -> str:
    """Why a task run that never reached a final state is gone (the runner's error)."""
    try:
        future.result(raise_on_failure=True)
    except Exception as exc:
        return f"lost while {state.type.value.lower()}: {failure_text(exc)}"
    return f"lost while {state.type.value.lower()}"


def retry_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry condition: network trouble and unexpected errors, never bad input.

    A ``UserError`` (unknown ticker, invalid data, bad config) will fail again; a
    ``SourceUnavailable`` (the source stayed unreachable: ``exit_code`` 1) or any other
    exception (a timeout, a reset connection) may not.
    """
    exc = _exception(state)
    if isinstance(exc, UserError):
        return getattr(exc, "exit_code", 2) != 2
    return True


def map_options(name: str, key_param: str) -> dict[str, Any]:
    """Task options of a per-key step: its run name, and retries for ingest."""
    options: dict[str, Any] = {
        "name": name,
        "task_run_name": f"{name.removesuffix('-ticker')}-{{{key_param}}}",
        "cache_policy": NO_CACHE,
        "persist_result": False,
    }
    if name == "ingest-ticker":
        options |= {
            "retries": INGEST_RETRIES,
            "retry_delay_seconds": list(INGEST_RETRY_DELAYS),
            "retry_jitter_factor": INGEST_RETRY_JITTER,
            "retry_condition_fn": retry_transient,
        }
    return options


class PrefectSteps(Steps):
    """Run a workflow's steps as Prefect tasks of the current flow run.

    Args:
        runner: A started task runner for the per-key fan-out.
    """

    parallel = True

    def __init__(self, runner: TaskRunner[Any]) -> None:
        super().__init__()
        self.runner = runner

    def say(self, message: str) -> None:
        """Log the line on the current flow or task run's logger."""
        get_run_logger().info(message.strip())

    def call(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` as a task named ``name`` in the flow's process (never cached)."""
        step = task(fn, name=name, cache_policy=NO_CACHE, persist_result=False)
        return step(*args, **kwargs)

    def map(
        self,
        name: str,
        fn: Callable[..., T],
        keys: Iterable[str],
        key_param: str,
        /,
        **params: Any,
    ) -> tuple[dict[str, T], dict[str, str]]:
        """Submit one task run per key to the runner and wait for all of them."""
        step = task(in_worker(fn), **map_options(name, key_param))
        futures = {k: self.runner.submit(step, {**params, key_param: k}) for k in keys}
        done: dict[str, T] = {}
        failed: dict[str, str] = {}
        for key, future in futures.items():
            future.wait()
            state = future.state
            if state.is_completed():
                done[key] = future.result()
            elif state.is_final():
                failed[key] = failure_message(state)
            else:  # never finished: its worker died (a Dask KilledWorker) or it was lost
                failed[key] = lost_message(future, state)
        return done, failed


def prepared(cfg: RunConfig) -> RunConfig:
    """``cfg`` with STACKCAST_HOME pinned (task runs on other threads or workers see it)."""
    use_runtime(cfg)
    return cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"home": str(cfg.home())})})
