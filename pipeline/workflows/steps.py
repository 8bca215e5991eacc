"""How a workflow body runs its steps: in this process (CLI, API) or as Prefect tasks.

Every workflow (backtest, retrain, daily forecast) is one function that calls its steps
through a ``Steps`` object: ``call`` for a whole-panel step, ``map`` for per-ticker fan-out
(one failed key never stops the others), ``say`` for a progress line. ``Steps`` runs them
directly; ``stackcast.pipeline.orchestration.tasks.PrefectSteps`` runs the same calls as
named Prefect tasks on a task runner, with retries where a step may meet network trouble.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from stackcast.pipeline.errors import UserError

log = logging.getLogger("stackcast")

T = TypeVar("T")
Progress = Callable[[str], None]


def failure_text(exc: BaseException) -> str:
    """A failed step's message: a ``UserError``'s own text, else ``"Type: text"``."""
    text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    return text or type(exc).__name__


class Steps:
    """Run a workflow's steps in this process, in order.

    Args:
        progress: Called with each progress line (the CLI prints them); None: log only.

    Attributes:
        parallel: Whether ``map`` runs its keys at the same time (a fold-parallel backtest
            fans its folds out only then).
    """

    parallel = False

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress

    def say(self, message: str) -> None:
        """One progress line (epoch lines start with two spaces)."""
        log.info(message.strip())
        if self.progress is not None:
            self.progress(message)

    def call(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run one whole-panel step ``name`` and return its result."""
        return fn(*args, **kwargs)

    def map(
        self,
        name: str,
        fn: Callable[..., T],
        keys: Iterable[str],
        key_param: str,
        /,
        **params: Any,
    ) -> tuple[dict[str, T], dict[str, str]]:
        """Run ``fn(**params, key_param=key)`` for every key.

        Returns:
            ``(results by key, failure message by key)``: a key that fails (bad input or an
            unexpected error) is reported and the others go on.
        """
        done: dict[str, T] = {}
        failed: dict[str, str] = {}
        for key in keys:
            try:
                done[key] = fn(**params, **{key_param: key})
            except Exception as exc:
                failed[key] = failure_text(exc)
        return done, failed
