"""The sweep page: every candidate's validation and test result, the chosen one marked.

Pure: ``render_sweep`` receives the numbers (``SweepData``) and returns the self-contained
HTML page (templates and escaping as in ``stackcast.reports.templating``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackcast.reports.templating import _env


@dataclass
class SweepData:
    """What the sweep page shows.

    Attributes:
        title: Page title.
        run_id: Run identifier.
        created: ISO timestamp.
        grid: Dotted key -> the values swept.
        rows: One per candidate, in grid order: ``candidate, label, status`` and, when it ran,
            ``validation_mae, validation_rw_mae, validation_ratio, test_mae, test_rw_mae,
            test_ratio, test_n, dm`` (``[{horizon, p, p_holm, mean_diff,
            beats_random_walk}]``), ``seconds``.
        winner: The chosen candidate's index.
        periods: ``validation_start/end, test_start/end, embargo, validation_folds,
            test_folds``.
        failed: Candidate label -> why it failed.
        significance: Level of the Holm-corrected tests (every candidate and horizon).
        winner_config: The chosen configuration as TOML.
        warnings: Run warnings.
    """

    title: str
    run_id: str
    created: str
    grid: Mapping[str, Sequence[Any]]
    rows: Sequence[Mapping[str, Any]]
    winner: int
    periods: Mapping[str, Any]
    failed: Mapping[str, str] = field(default_factory=dict)
    significance: float = 0.05
    winner_config: str = ""
    warnings: Sequence[str] = ()


def render_sweep(data: SweepData) -> str:
    """The self-contained sweep ``report.html``."""
    horizons = sorted({d["horizon"] for r in data.rows for d in r.get("dm", [])})
    rows = []
    for r in data.rows:
        dm = {d["horizon"]: d for d in r.get("dm", [])}
        rows.append(
            {
                **r,
                "by_h": [dm.get(h, {}) for h in horizons],
                "chosen": r["candidate"] == data.winner,
            }
        )
    winner = next(r for r in rows if r["chosen"])
    return (
        _env()
        .get_template("sweep.html")
        .render(d=data, rows=rows, horizons=horizons, winner=winner, grid=dict(data.grid))
    )
