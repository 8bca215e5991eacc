"""``stackcast sweep``: backtest a grid of configurations and choose one on validation folds.

Registers on ``stackcast.pipeline.cli.app.app``; runs ``stackcast.pipeline.workflows.sweep``
in this process (candidates one after another), or on Dask with ``[runtime] task_runner =
"dask"`` (one candidate per task). A bad grid exits 2 with one ``error:`` line before anything
runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from stackcast.pipeline.atomic import atomic_write_text
from stackcast.pipeline.cli.app import ConfigOpt, app, load_run_config
from stackcast.pipeline.cli.commands import (
    RunOut,
    Verbose,
    command_steps,
    print_warnings,
)
from stackcast.pipeline.cli.progress import printer
from stackcast.pipeline.environment import quiet_tensorflow
from stackcast.pipeline.errors import ConfigError, UserError
from stackcast.pipeline.units import percent


@app.command()
def sweep(
    config: ConfigOpt = None,
    grid: Annotated[
        Path | None,
        typer.Option(
            "--grid",
            "-g",
            help='TOML grid: dotted config keys to lists of values ("model.dropout" = [0.0, 0.2]).',
            dir_okay=False,
        ),
    ] = None,
    save_winner: Annotated[
        Path | None,
        typer.Option(
            "--save-winner",
            help="Also write the chosen config here (TOML, for `train`).",
            dir_okay=False,
        ),
    ] = None,
    out: RunOut = None,
    verbose: Verbose = False,
) -> None:
    """Backtest a grid of configs; choose on validation folds.

    The test folds are reported for every candidate. Each candidate runs [sweep]
    validation_folds folds before the [backtest] test folds; the lowest validation MAE wins. The
    run's report lists every candidate's test result against the random walk (Diebold-Mariano,
    Holm-corrected over every candidate and horizon) and the chosen config (winner.toml); the
    verdict printed is the chosen candidate's in that family.
    """
    from stackcast.pipeline.workflows.sweep import run_sweep
    from stackcast.pipeline.workflows.sweep_grid import expand, read_grid

    if grid is None:
        raise ConfigError("sweep needs --grid FILE (TOML: dotted keys = [values])")
    cfg = load_run_config(config)
    values = read_grid(grid)
    expand(cfg, values, str(grid))  # refuse a bad grid before TensorFlow loads
    quiet_tensorflow()
    say = printer(verbose)
    with command_steps(cfg, say) as steps:
        result, run_dir = run_sweep(cfg, values, steps=steps, out=out, where=str(grid))
    print_warnings(result.warnings, say)
    for r in result.rows:
        mark = "*" if r["candidate"] == result.winner.index else " "
        if r["status"] != "ok":
            typer.echo(f"{mark} {r['candidate'] + 1}. {r['label']}: failed")
            continue
        typer.echo(
            f"{mark} {r['candidate'] + 1}. {r['label']}: validation MAE "
            f"{percent(r['validation_mae'])}, test MAE {percent(r['test_mae'])} "
            f"(random walk {percent(r['test_rw_mae'])})"
        )
    over = (
        "each candidate's horizons"
        if "features.horizons" in values
        else f"horizons 1..{cfg.features.horizons}"
    )
    typer.echo(f"(MAE: percent of price, averaged over {over})")
    winner = run_dir / "winner.toml"
    if save_winner is not None:
        try:
            save_winner.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(save_winner, winner.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"--save-winner {save_winner}: {exc.strerror or exc}") from None
        winner = save_winner
    typer.echo(f"chosen on validation: {result.winner.label}")
    for v in result.verdicts.get("verdicts", []):
        typer.echo(v["sentence"])
    if result.verdicts.get("verdict_note"):
        typer.echo(f"({result.verdicts['verdict_note']})")
    typer.echo(f"winner config: {winner}")
    typer.echo(f"report: {run_dir / 'report.html'}")
