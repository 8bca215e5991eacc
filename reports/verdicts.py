"""A run's verdicts in prose: the sentences, the note beside them, p-values as text.

``run_verdicts`` turns the pooled, Holm-adjusted Diebold-Mariano tests
(``stackcast.reports.significance``) into the run's verdict sentences and its one headline
verdict, computed once and stored in ``metrics.json``; every page reads them from there.
"""

from __future__ import annotations

from typing import Any


def holm_note(horizons: int, significance: float) -> str:
    """The line next to the verdicts that says how their p-values were adjusted."""
    tests = f"{horizons} horizon" + ("" if horizons == 1 else "s")
    return (
        f"Diebold-Mariano p-values are one-sided (model better) and Holm-adjusted across "
        f'{tests}; a verdict says "beats" only below the {significance:.0%} level.'
    )


def format_p(p: float | None) -> str:
    """A p-value for prose: ``0.41``, ``0.012``, ``0.050``, ``< 0.001`` or ``n/a``."""
    if p is None:
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def verdict_sentence(
    h: int, beats: bool, p: float | None, *, subject: str = "the model", family: str = ""
) -> str:
    """``the model does / does not beat a random walk at horizon h, Holm p = ...``.

    ``p`` is the Holm-adjusted one-sided p-value the verdict was decided on; ``family``, when
    given, follows it in brackets (``adjusted over 2 candidates x 3 horizons``).
    """
    p_text = format_p(p)
    p_part = f"Holm p {p_text}" if p_text.startswith("<") else f"Holm p = {p_text}"
    does = "beats" if beats else "does not beat"
    tail = f" ({family})" if family else ""
    return f"{subject} {does} a random walk at horizon {h}, {p_part}{tail}"


def run_verdicts(
    pooled: list[dict[str, Any]],
    significance: float,
    *,
    subject: str = "the model",
    family: str = "",
    note: str | None = None,
) -> dict[str, Any]:
    """A run's verdicts, computed once from its pooled, Holm-adjusted DM entries.

    Args:
        pooled: entries with ``horizon, p_one_sided, p_holm, beats_random_walk``.
        significance: the level.
        subject: who the sentence is about (``the model``, ``the chosen candidate``).
        family: what the Holm adjustment ran over, appended to each sentence when given.
        note: the line shown beside the verdicts (default ``holm_note``).

    Returns:
        ``{"verdicts": [{horizon, beats_random_walk, p_value, p_raw, sentence}...],
        "verdict": the headline one (the shortest horizon) or None, "verdict_note": ...}``;
        ``p_value`` is the adjusted p the verdict is decided on, ``p_raw`` the one-sided p.
    """
    verdicts = [
        {
            "horizon": int(e["horizon"]),
            "beats_random_walk": bool(e["beats_random_walk"]),
            "p_value": e["p_holm"],
            "p_raw": e["p_one_sided"],
            "sentence": verdict_sentence(
                int(e["horizon"]), bool(e["beats_random_walk"]), e["p_holm"],
                subject=subject, family=family,
            ),
        }
        for e in sorted(pooled, key=lambda e: int(e["horizon"]))
    ]  # fmt: skip
    if note is None:
        note = holm_note(len(pooled), significance) if pooled else ""
    return {
        "verdicts": verdicts,
        "verdict": dict(verdicts[0]) if verdicts else None,
        "verdict_note": note,
    }
