"""The sweep's verdict and its page: every candidate's validation and test result.

Pure. The candidates' test p-values form one Holm family (``adjust_candidates``: every
candidate at every horizon against the random walk), and the sweep's verdicts are the chosen
candidate's entries of that family (``selection_verdicts``), computed once and stored with the
run; ``with_selection`` puts them into the winner's test metrics so no page shows the winner's
own, unadjusted-for-selection verdict. ``render_sweep`` receives the numbers (``SweepData``) and
returns the self-contained HTML page (templates and escaping as in
``stackcast.reports.templating``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackcast.reports.significance import holm_adjust
from stackcast.reports.templating import _env
from stackcast.reports.verdicts import run_verdicts

SUBJECT = "the chosen candidate"


def adjust_candidates(rows: Sequence[Mapping[str, Any]], significance: float) -> None:
    """Holm-adjust every ``ok`` candidate's test p-values (``dm[].p``) as one family.

    Sets ``p_holm`` and ``beats_random_walk`` on each ``dm`` entry (``holm_adjust``).
    """
    entries = [d for r in rows if r["status"] == "ok" for d in r["dm"]]
    holm_adjust(entries, significance, key="p")


def selection_verdicts(
    rows: Sequence[Mapping[str, Any]], winner: int, significance: float
) -> dict[str, Any]:
    """The sweep's verdicts: the chosen candidate's entries of the candidates' Holm family.

    Returns:
        ``run_verdicts`` output (``verdicts``, ``verdict``, ``verdict_note``) whose sentences
        name the family (``adjusted over 2 candidates x 3 horizons``).
    """
    ok = [r for r in rows if r["status"] == "ok"]
    horizons = sorted({d["horizon"] for r in ok for d in r["dm"]})
    tests = sum(1 for r in ok for d in r["dm"] if d.get("p") is not None)
    row = next(r for r in rows if r["candidate"] == winner)
    k, m = len(ok), len(horizons)
    family = (
        f"adjusted over {k} candidate{'' if k == 1 else 's'} x {m} horizon{'' if m == 1 else 's'}"
    )
    note = (
        "Diebold-Mariano p-values are one-sided (model better), pooled over tickers per origin "
        f"date, and Holm-adjusted over every candidate at every horizon ({tests} tests): the "
        "chosen candidate is one of several, so its test counts them all; a verdict says "
        f'"beats" only below the {significance:.0%} level.'
    )
    pooled = [
        {
            "horizon": d["horizon"],
            "p_one_sided": d["p"],
            "p_holm": d["p_holm"],
            "beats_random_walk": d["beats_random_walk"],
        }
        for d in row["dm"]
    ]
    return run_verdicts(pooled, significance, subject=SUBJECT, family=family, note=note)


def with_selection(
    metrics: Mapping[str, Any], row: Mapping[str, Any], verdicts: Mapping[str, Any]
) -> dict[str, Any]:
    """The winner's test metrics with the sweep's verdicts and family p-values in place.

    ``metrics`` is the winner's ``evaluate`` output on the test folds; its pooled DM entries
    take ``p_holm`` and ``beats_random_walk`` from ``row`` (the winner's candidate row).
    """
    by_h = {d["horizon"]: d for d in row["dm"]}
    pooled = [
        e | {k: by_h[e["horizon"]][k] for k in ("p_holm", "beats_random_walk")}
        if e["horizon"] in by_h
        else e
        for e in metrics.get("dm", {}).get("pooled", [])
    ]
    return {**metrics, "dm": {**metrics.get("dm", {}), "pooled": pooled}, **verdicts}


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
        verdicts: ``selection_verdicts`` output (the sweep's verdicts and their note).
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
    verdicts: Mapping[str, Any] = field(default_factory=dict)


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
