"""Steps that fan out on Dask without Prefect: what the CLI runs on ``task_runner = "dask"``.

``dask_steps(runtime)`` joins ``[runtime] dask_address`` or starts a local cluster of
``max_workers`` single-threaded worker processes for the command, and yields ``DaskSteps``:
``map`` submits one Dask task per key and waits for all of them (a key that fails, or whose
worker dies, is reported and the others go on); ``call`` and ``say`` run here. The Prefect
flows use ``PrefectSteps`` (``stackcast.pipeline.orchestration.tasks``) on the same runner
settings instead.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from stackcast.pipeline.config import RunConfig, RuntimeConfig
from stackcast.pipeline.environment import use_runtime
from stackcast.pipeline.errors import ConfigError
from stackcast.pipeline.workflows.steps import Progress, Steps, failure_text

T = TypeVar("T")


def in_worker(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` that first sets up the process (a Dask worker starts bare).

    Quiet logs, and the Keras backend of the ``RunConfig`` among the arguments.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        cfg = next((v for v in (*args, *kwargs.values()) if isinstance(v, RunConfig)), None)
        use_runtime(cfg)
        return fn(*args, **kwargs)

    return run


class DaskSteps(Steps):
    """Run ``map``'s keys as Dask tasks at the same time; everything else in this process.

    Args:
        client: A connected ``distributed.Client``.
        progress: Called with each progress line.
    """

    parallel = True

    def __init__(self, client: Any, progress: Progress | None = None) -> None:
        super().__init__(progress)
        self.client = client

    def map(
        self,
        name: str,
        fn: Callable[..., T],
        keys: Iterable[str],
        key_param: str,
        /,
        **params: Any,
    ) -> tuple[dict[str, T], dict[str, str]]:
        """Submit ``fn(**params, key_param=key)`` per key; ``(results, failures)`` by key."""
        token = secrets.token_hex(4)
        futures = {
            key: self.client.submit(
                in_worker(fn), **params, **{key_param: key}, key=f"{name}-{key}-{token}", pure=False
            )
            for key in keys
        }
        done: dict[str, T] = {}
        failed: dict[str, str] = {}
        for key, future in futures.items():
            try:
                done[key] = future.result()
            except Exception as exc:  # the task's own error, or its worker died (KilledWorker)
                failed[key] = failure_text(exc)
        return done, failed


@contextmanager
def dask_steps(runtime: RuntimeConfig, progress: Progress | None = None) -> Iterator[DaskSteps]:
    """``DaskSteps`` on ``[runtime] dask_address``, else on a local cluster for the block.

    Raises:
        ConfigError: ``distributed`` is not installed.
    """
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "[runtime] task_runner = 'dask' needs dask.distributed: pip install 'stackcast[dask]'"
        ) from None
    if runtime.dask_address:
        with distributed.Client(runtime.dask_address, timeout=30) as client:
            yield DaskSteps(client, progress)
        return
    with (
        distributed.LocalCluster(
            n_workers=runtime.max_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskSteps(client, progress)
