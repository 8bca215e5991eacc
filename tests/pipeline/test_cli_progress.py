"""The training progress bar: drawn on a terminal, plain lines elsewhere, epochs with -v."""

from __future__ import annotations

import io

from rich.console import Console
from stackcast.models.base import EpochLine, labelled
from stackcast.pipeline.cli.progress import printer


def _epochs(n: int, label: str = "fold 1") -> list[str]:
    return [
        labelled(
            label, EpochLine(f"epoch {e}/{n}, loss 0.25", epoch=e, epochs=n, loss=0.25, seconds=0.1)
        )
        for e in range(1, n + 1)
    ]


def _run(say, lines: list[str]) -> None:
    say("fold 1/2: training")
    for line in lines:
        say(line)
    say("fold 1/2 done in 0.3 s (3 epochs)")


def test_terminal_draws_a_bar_and_prints_step_lines(capsys) -> None:
    screen = io.StringIO()
    say = printer(False, bar=True, console=Console(file=screen, force_terminal=True, width=100))
    _run(say, _epochs(3))
    drawn = screen.getvalue()
    assert "fold 1 epoch" in drawn and "3/3" in drawn and "loss 0.25" in drawn and "left" in drawn
    err = capsys.readouterr().err
    assert err.splitlines() == ["fold 1/2: training", "fold 1/2 done in 0.3 s (3 epochs)"]


def test_early_stop_closes_the_bar_before_the_next_line(capsys) -> None:
    screen = io.StringIO()
    say = printer(False, bar=True, console=Console(file=screen, force_terminal=True, width=100))
    _run(say, _epochs(8)[:3])  # stopped early after 3 of 8 epochs
    assert "3/8" in screen.getvalue()
    assert screen.getvalue().endswith("\x1b[2K")  # the transient bar was erased
    assert "done" in capsys.readouterr().err


def test_not_a_terminal_prints_step_lines_only(capsys) -> None:
    say = printer(False, bar=False)
    _run(say, _epochs(3))
    assert capsys.readouterr().err.splitlines() == [
        "fold 1/2: training",
        "fold 1/2 done in 0.3 s (3 epochs)",
    ]


def test_verbose_prints_every_epoch_as_a_line(capsys) -> None:
    say = printer(True, bar=True, console=Console(file=io.StringIO(), force_terminal=True))
    _run(say, _epochs(2))
    lines = capsys.readouterr().err.splitlines()
    assert lines[1:3] == ["  fold 1: epoch 1/2, loss 0.25", "  fold 1: epoch 2/2, loss 0.25"]
    assert len(lines) == 4
