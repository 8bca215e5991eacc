"""What the commands print while they work: step lines, and a training progress bar on a TTY.

``printer`` returns the progress callback the workflows' ``Steps`` call with each line. Step
lines (fold and ticker lines) always go to stderr. Epoch lines (``EpochLine``, with the
epoch, the loss and the seconds it took) drive a ``rich`` progress bar (epoch, loss, time
left) when stderr is a terminal, are printed as lines with ``--verbose``, and are otherwise
dropped, so logs and pipes get plain text only.
"""

from __future__ import annotations

import atexit
import math
import sys
from collections.abc import Callable
from typing import Any

import typer
from stackcast.models.base import EpochLine


class TrainingBar:
    """One transient ``rich`` bar per fit, started by its first epoch and closed by its last.

    The bar has no refresh thread (it redraws on each epoch), so an error mid-fit leaves no
    live display behind; while a bar is shown, ``close`` is also registered to run at exit,
    which restores the cursor.
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress: Any = None
        self._task: Any = None

    def update(self, line: EpochLine) -> None:
        """Advance the bar to ``line.epoch`` of ``line.epochs`` (a new bar at epoch 1)."""
        if self._progress is None or line.epoch == 1:
            self._start(line.epochs, line.label or "training")
        loss = "" if math.isnan(line.loss) else f"loss {line.loss:.4g}"
        self._progress.update(
            self._task, completed=line.epoch, total=line.epochs, loss=loss, refresh=True
        )
        if line.epoch >= line.epochs:
            self.close()

    def _start(self, epochs: int, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.close()
        self._progress = Progress(
            TextColumn("  {task.description} epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[loss]}"),
            TimeRemainingColumn(),
            TextColumn("left"),
            console=self.console,
            auto_refresh=False,
            transient=True,
        )
        self._progress.start()
        atexit.register(self.close)  # restores the cursor if the process ends mid-fit
        self._task = self._progress.add_task(label, total=epochs, loss="")

    def close(self) -> None:
        """Remove the bar (when one is shown)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            atexit.unregister(self.close)


def printer(
    verbose: bool, *, bar: bool | None = None, console: Any = None
) -> Callable[[str], None]:
    """A progress callback: step lines always, epochs as a bar on a TTY or lines with ``verbose``.

    Args:
        verbose: Print every epoch line (then no bar is drawn).
        bar: Draw the training bar; ``None``: when stderr is a terminal.
        console: The ``rich`` console the bar draws on (tests pass one).

    ``say.said`` holds every line printed, so a command can add the warnings not yet shown.
    """
    said: set[str] = set()
    if bar is None:
        bar = sys.stderr.isatty()
    training = TrainingBar(console) if bar and not verbose else None

    def say(message: str) -> None:
        if isinstance(message, EpochLine) and not verbose:
            if training is not None:
                training.update(message)
            return
        if training is not None:
            training.close()
        typer.echo(message, err=True)
        said.add(message)

    say.said = said  # type: ignore[attr-defined]
    return say
