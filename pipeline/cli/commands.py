"""The heavy commands: backtest, demo, train, run and serve.

They register on ``stackcast.pipeline.cli.app.app`` and run the workflow bodies in this process
(``Steps`` printing progress); each imports TensorFlow/Prefect only when it runs, so
``stackcast --help`` stays instant.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from stackcast.pipeline.cli.app import ConfigOpt, app, load_run_config
from stackcast.pipeline.cli.options import DateFormatOpt, DecimalOpt, SepOpt, with_reading
from stackcast.pipeline.cli.progress import printer
from stackcast.pipeline.config import RunConfig, builtin_config
from stackcast.pipeline.environment import quiet_tensorflow, use_runtime
from stackcast.pipeline.errors import ConfigError
from stackcast.pipeline.units import percent
from stackcast.pipeline.workflows.steps import Steps

Tickers = Annotated[
    str | None, typer.Option("--tickers", "-t", help="Comma-separated tickers (default: config's).")
]
Source = Annotated[
    str | None,
    typer.Option("--source", "-s", help="yahoo, sample, or a .csv/.parquet file."),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Print every epoch as a line (default: a progress bar on a terminal).",
    ),
]
RunOut = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Write the run here (default: STACKCAST_HOME/runs/<id>).",
        file_okay=False,
    ),
]  # fmt: skip
RunVerbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Also print each step (ingest, model, ledger)."),
]
WhatIfHome = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Where this what-if run writes its models, ledger and runs (default: "
        "STACKCAST_HOME/as-of, for a replay a new STACKCAST_HOME/replays/<id>); never the "
        "live ones.",
        file_okay=False,
    ),
]


def configure(
    config: Path | None,
    tickers: str | None,
    source: str | None,
    reading: tuple[str | None, str | None, str | None] = (None, None, None),
) -> RunConfig:
    """Load the config and apply ``--tickers``, ``--source`` and the reading options.

    ``reading`` is ``(--date-format, --sep, --decimal)``. A file ``--source`` without
    ``--tickers`` means every ticker the file holds.
    """
    from stackcast.pipeline.data.sources import parse_source, source_tickers

    cfg = with_reading(load_run_config(config), *reading)
    names = tuple(t for t in tickers.split(",") if t.strip()) if tickers else None
    if tickers is not None and not names:
        raise ConfigError("--tickers is empty")
    if names is None and source is not None and parse_source(source).kind == "file":
        names = tuple(source_tickers(source, cfg.data))
    return cfg.with_overrides(tickers=names, source=source)


def print_warnings(warnings: list[str], say) -> None:
    """Print each warning (diverging gradients, skipped tickers...) not printed yet, on stderr."""
    for w in warnings:
        line = f"warning: {w}"
        if line not in say.said:
            typer.echo(line, err=True)
            say.said.add(line)


def _date(value: str | None, flag: str) -> _dt.date | None:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag}: expected YYYY-MM-DD, got {value!r}") from None


@contextmanager
def command_steps(cfg: RunConfig, say) -> Iterator[Steps]:
    """The steps a command runs with: on Dask with ``task_runner = "dask"``, else in order."""
    if cfg.runtime.task_runner != "dask":
        yield Steps(say)
        return
    from stackcast.pipeline.orchestration.pool import dask_steps

    with dask_steps(cfg.runtime, say) as steps:
        yield steps


def _backtest(cfg: RunConfig, out: Path | None, verbose: bool) -> None:
    use_runtime(cfg)
    from stackcast.pipeline.workflows.backtest import run_backtest

    say = printer(verbose)
    with command_steps(cfg, say) as steps:
        result, run_dir = run_backtest(cfg, out=out, steps=steps)
    metrics = result.metrics
    print_warnings(
        list(result.warnings)
        + list(metrics.get("scoring_warnings", []))
        + list(metrics.get("coverage_warnings", [])),
        say,
    )
    for line in horizon_lines(metrics):
        typer.echo(line)
    typer.echo(overall_line(metrics))
    for v in metrics.get("verdicts", []):
        typer.echo(v["sentence"])
    if metrics.get("verdict_note"):
        typer.echo(f"({metrics['verdict_note']})")
    for peer in metrics.get("peers", {}).values():
        for sentence in peer["sentences"]:
            typer.echo(sentence)
        typer.echo(f"({peer['note']})")
    typer.echo(f"report: {run_dir / 'report.html'}")


def overall_line(metrics: dict) -> str:
    """MAE over every horizon of the model and each forecaster scored beside it (percent)."""
    from stackcast.models.base import label

    parts = [f"model {percent(metrics.get('model', {}).get('overall', {}).get('mae'))}"]
    parts += [
        f"{label(name)} {percent(block.get('overall', {}).get('mae'))}"
        for name, block in metrics.get("baselines", {}).items()
    ]
    return "MAE over all horizons: " + ", ".join(parts)


def horizon_lines(metrics: dict) -> list[str]:
    """Per horizon: MAE of the model and the random walk (percent of price) and coverage."""
    rw = {
        r["horizon"]: r
        for r in metrics.get("baselines", {}).get("random_walk", {}).get("by_horizon", [])
    }
    lines = []
    for r in metrics.get("model", {}).get("by_horizon", []):
        h = r["horizon"]
        line = (
            f"h={h}: MAE {percent(r.get('mae'))} vs random walk {percent(rw.get(h, {}).get('mae'))}"
        )
        if r.get("coverage") is not None and r.get("coverage_nominal") is not None:
            line += (
                f", interval coverage {percent(r['coverage'], 1)} "
                f"(nominal {percent(r['coverage_nominal'], 0)})"
            )
        lines.append(line)
    return lines


@app.command()
def backtest(
    config: ConfigOpt = None,
    tickers: Tickers = None,
    source: Source = None,
    out: RunOut = None,
    verbose: Verbose = False,
    date_format: DateFormatOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
) -> None:
    """Walk-forward backtest against baselines, with a report.

    The model is scored against the forecasters [backtest] forecasters lists (by default the
    random walk, drift and ridge) on the same origins. Writes forecasts.parquet, metrics.json,
    history.json, config.toml and report.html.
    """
    _backtest(configure(config, tickers, source, (date_format, sep, decimal)), out, verbose)


@app.command()
def demo(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the run here.", file_okay=False)
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Backtest the bundled sample offline; print the report.

    The bundled MSFT and GOOG daily prices with configs/demo.toml; no network.
    """
    typer.echo(
        "stackcast demo: offline walk-forward backtest of bundled MSFT and GOOG prices", err=True
    )
    _backtest(load_run_config(builtin_config("demo")), out, verbose)


@app.command()
def train(
    config: ConfigOpt = None,
    tickers: Tickers = None,
    source: Source = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Train on stored prices up to this day only (YYYY-MM-DD), for `run --as-of`; "
            "written to a what-if home, never to the live registry.",
        ),
    ] = None,
    home: WhatIfHome = None,
    verbose: Verbose = False,
    date_format: DateFormatOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
) -> None:
    """Train a new model version and promote it if it wins.

    It becomes champion only if it beats both the champion and the random walk on the latest
    validation block.
    """
    quiet_tensorflow()
    from stackcast.pipeline.workflows.training import over_horizons, retrain

    say = printer(verbose)
    day = _date(as_of, "--as-of")
    cfg = configure(config, tickers, source, (date_format, sep, decimal))
    use_runtime(cfg)
    result = retrain(cfg, steps=Steps(say), as_of=day, home=home)
    print_warnings(result.warnings, say)
    c = result.challenger
    v = c.model.validation
    typer.echo(
        f"trained {c.name} {c.version}: validation MAE {percent(v['y_pred'])} "
        f"(random walk {percent(v['random_walk'])}), {over_horizons(cfg)}"
    )
    typer.echo(("promoted to champion: " if result.promoted else "champion kept: ") + result.reason)
    if day is not None:
        typer.echo(f"what-if home: {result.run_dir.parent.parent} (the live registry is untouched)")
    typer.echo(f"report: {result.run_dir / 'report.html'}")


@app.command()
def run(
    config: ConfigOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Replay a past day on stored data (YYYY-MM-DD), written to a what-if home.",
        ),
    ] = None,
    home: WhatIfHome = None,
    verbose: RunVerbose = False,
) -> None:
    """Run the daily forecast once, without a server.

    Ingest, forecast with the champion, append to the ledger, score, report.
    """
    quiet_tensorflow()
    from stackcast.pipeline.workflows.daily import daily_forecast

    cfg = load_run_config(config)
    use_runtime(cfg)
    say = printer(verbose) if verbose else None
    result = daily_forecast(cfg, _date(as_of, "--as-of"), steps=Steps(say), home=home)
    for t in sorted(result.forecasts["ticker"].unique()):
        f = result.forecasts[
            (result.forecasts["ticker"] == t) & (result.forecasts["horizon"] == 1)
        ].iloc[0]
        typer.echo(
            f"{t} {f['origin'].date()} close {f['origin_close']:.2f} -> "
            f"{f['target_date'].date()} {f['price_pred']:.2f}"
        )
    for w in result.warnings:  # ingest trouble and tickers not forecast, with or without -v
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"ledger: {result.update.added} new rows, {result.update.replaced} replaced")
    if as_of is not None:
        typer.echo(f"what-if home: {result.home} (the live ledger is untouched)")
    typer.echo(f"report: {result.report}")
    if result.failed:
        raise typer.Exit(1)


@app.command()
def replay(
    config: ConfigOpt = None,
    start: Annotated[str, typer.Option("--start", help="First session (YYYY-MM-DD).")] = "",
    end: Annotated[str, typer.Option("--end", help="Last session (YYYY-MM-DD).")] = "",
    home: WhatIfHome = None,
    verbose: Verbose = False,
) -> None:
    """Replay the daily routine on stored prices.

    Session by session, as production would have run it. Each session: the forecast of `run
    --as-of` with a model that saw no later price; a retrain (`train --as-of`) on the retrain
    schedule; then a report of everything published against the random walk. Everything goes to
    the replay's own what-if home; the live ledger, models and index are never written.
    """
    quiet_tensorflow()
    from stackcast.pipeline.workflows.replay import replay as run_replay

    first, last = _date(start or None, "--start"), _date(end or None, "--end")
    if first is None or last is None:
        raise ConfigError("replay needs --start and --end (YYYY-MM-DD)")
    cfg = load_run_config(config)
    use_runtime(cfg)
    result = run_replay(cfg, first, last, steps=Steps(printer(verbose)), home=home)
    for r in result.score.itertuples():
        typer.echo(
            f"h={r.horizon}: n {r.n}, MAE {100 * r.mae:.3f}% vs random walk {100 * r.rw_mae:.3f}%"
        )
    typer.echo(f"{len(result.daily_runs)} daily runs, {len(result.retrains)} retrains")
    typer.echo(f"what-if home: {result.home} (the live ledger, models and index are untouched)")
    typer.echo(f"report: {result.run_dir / 'report.html'}")


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str, typer.Option(help="Interface for the servers.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Prefect UI/API port.")] = 4200,
    reports_port: Annotated[int, typer.Option(help="Report server port.")] = 4201,
) -> None:
    """Start Prefect, the scheduled deployments and the reports.

    Serves the Prefect UI, the deployments (daily forecast and weekly retrain on their
    schedules) and a read-only report server; Ctrl-C stops them.
    """
    quiet_tensorflow()
    from stackcast.pipeline.orchestration.serve import serve_command

    code = serve_command(str(config) if config else None, host, port=reports_port, ui_port=port)
    raise typer.Exit(code)
