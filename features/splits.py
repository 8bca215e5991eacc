"""Walk-forward splits with a purge and an embargo, and the time-ordered validation split.

Splits are positions in a sorted calendar of origin dates (``Panel.calendar()``). For a test
block starting at calendar index ``f``, the last training origin is at index
``f - embargo - horizons - 1``: its targets reach index ``f - embargo - 1`` at most, so no
training input or target reaches the date ``calendar[f - embargo]`` (the *cutoff*, the first
embargoed date) or anything later. The ``horizons`` dates after the last training origin are
the purge (where its targets land); the ``embargo`` dates before the test block are unused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np


def _day(d: Any) -> np.datetime64:
    return np.datetime64(d, "D")


@dataclass(frozen=True)
class FoldRows:
    """Panel rows of one fold.

    Attributes:
        train: Global row indices of the training origins.
        test: Global row indices of the test origins.
        fit_rows: ``[N]`` bool mask for ``FoldScaler.fit``: observed rows dated in the scaler
            fit range whose targets end before the cutoff.
    """

    train: np.ndarray
    test: np.ndarray
    fit_rows: np.ndarray


@dataclass(frozen=True)
class Split:
    """One walk-forward fold; dates are ``numpy.datetime64[D]``, ranges inclusive.

    Attributes:
        fold: 0-based, oldest first.
        train_start, train_end: First and last training origin date.
        test_start, test_end: First and last test origin date.
        fit_start, fit_end: Scaler fit range (the training range: ``fit_end == train_end``).
        embargo: Embargo length in calendar bars (``>= horizons``).
        horizons: H.
        train_targets_end: Latest calendar date a training target can reach
            (``calendar[last_train + horizons]``).
        embargo_start: The cutoff: first embargoed date; nothing of training reaches it.
        embargo_end: Last embargoed date (the day before ``test_start`` on the calendar).
        n_train: Training origin dates (calendar positions, not panel rows).
        n_test: Test origin dates.
        train_index, test_index: ``(first, last)`` calendar positions, inclusive.
    """

    fold: int
    train_start: np.datetime64
    train_end: np.datetime64
    test_start: np.datetime64
    test_end: np.datetime64
    fit_start: np.datetime64
    fit_end: np.datetime64
    embargo: int
    horizons: int
    train_targets_end: np.datetime64
    embargo_start: np.datetime64
    embargo_end: np.datetime64
    n_train: int
    n_test: int
    train_index: tuple[int, int]
    test_index: tuple[int, int]

    @property
    def cutoff(self) -> np.datetime64:
        """First date that no training input, target or scaler statistic may reach."""
        return self.embargo_start

    def audit(self) -> dict[str, Any]:
        """The fold's ranges as ISO dates and counts (a row of the report's leakage table).

        Carries the keys of ``stackcast.reports.html.AUDIT_COLUMNS`` (``scaler_fit_start``,
        ``scaler_fit_end``, ``embargo`` in bars, ``first_test_origin``) plus the finer ones.
        ``fold`` is numbered from 1, as everything shown to users is.
        """
        return {
            "fold": self.fold + 1,
            "train_start": str(self.train_start),
            "train_end": str(self.train_end),
            "train_targets_end": str(self.train_targets_end),
            "scaler_fit_start": str(self.fit_start),
            "scaler_fit_end": str(self.fit_end),
            "embargo": self.embargo,
            "embargo_start": str(self.embargo_start),
            "embargo_end": str(self.embargo_end),
            "horizons": self.horizons,
            "first_test_origin": str(self.test_start),
            "test_start": str(self.test_start),
            "test_end": str(self.test_end),
            "n_train": self.n_train,
            "n_test": self.n_test,
        }

    def rows(self, panel: Any, *, require_targets: bool = True) -> FoldRows:
        """Select this fold's rows of a ``Panel``.

        Training origins are dated in ``[train_start, train_end]`` and their targets end
        strictly before the cutoff (this matters only with the ``"data"`` calendar, where a
        sparse ticker's ``H`` bars can span more calendar dates); with ``require_targets`` they
        also need all ``H`` targets known. Test origins are every usable origin dated in
        ``[test_start, test_end]`` (unknown targets stay NaN).
        """
        train = panel.origins(
            self.train_start, self.train_end, require_targets=require_targets, before=self.cutoff
        )
        test = panel.origins(self.test_start, self.test_end)
        fit_rows = (
            panel.observed
            & (panel.dates >= self.fit_start)
            & (panel.dates <= self.fit_end)
            & (panel.target_end < self.cutoff)
        )
        return FoldRows(train=train, test=test, fit_rows=fit_rows)


def walk_forward(
    calendar: np.ndarray,
    *,
    folds: int,
    test_size: int,
    embargo: int,
    horizons: int,
    mode: str = "expanding",
    train_size: int | None = None,
    min_train: int = 1,
) -> list[Split]:
    """Walk-forward folds over the last ``folds`` test blocks of a calendar, oldest first.

    Test blocks are ``test_size`` consecutive calendar dates, tiled back from the end (the
    last block ends at the last date). The last training origin of a block starting at index
    ``f`` is ``f - embargo - horizons - 1``; training starts at index 0 (``"expanding"``) or
    ``train_size - 1`` dates before its end (``"rolling"``, shorter when history is short).
    Older blocks whose training range has fewer than ``min_train`` dates are left out, so a
    short history yields fewer folds.

    Args:
        calendar: Sorted unique origin dates (``Panel.calendar()``).
        folds: Most folds wanted.
        test_size: Test dates per fold.
        embargo: Embargo in bars; must be ``>= horizons``.
        horizons: H.
        mode: ``"expanding"`` or ``"rolling"``.
        train_size: Training dates per fold (``"rolling"`` only, required there).
        min_train: Fewest training dates a fold needs.

    Raises:
        ValueError: On bad arguments, or if not even one fold fits.
    """
    cal = np.asarray(calendar).astype("datetime64[D]")
    n = len(cal)
    if n > 1 and not (cal[1:] > cal[:-1]).all():
        raise ValueError("calendar must be sorted and unique")
    if folds < 1 or test_size < 1 or horizons < 1 or min_train < 1:
        raise ValueError("folds, test_size, horizons and min_train must be >= 1")
    if embargo < horizons:
        raise ValueError(f"embargo ({embargo}) must be >= horizons ({horizons})")
    if mode not in ("expanding", "rolling"):
        raise ValueError(f"unknown mode {mode!r}; use 'expanding' or 'rolling'")
    if mode == "rolling" and (train_size is None or train_size < 1):
        raise ValueError("rolling mode needs train_size >= 1")

    out: list[Split] = []
    for b in range(folds):
        f = n - (b + 1) * test_size
        last = f - embargo - horizons - 1
        first = 0 if mode == "expanding" else max(0, last - int(train_size or 0) + 1)
        if f < 0 or last - first + 1 < min_train:
            break
        t_end = f + test_size - 1
        out.append(
            Split(
                fold=-1,
                train_start=cal[first],
                train_end=cal[last],
                test_start=cal[f],
                test_end=cal[t_end],
                fit_start=cal[first],
                fit_end=cal[last],
                embargo=int(embargo),
                horizons=int(horizons),
                train_targets_end=cal[last + horizons],
                embargo_start=cal[f - embargo],
                embargo_end=cal[f - 1],
                n_train=last - first + 1,
                n_test=test_size,
                train_index=(first, last),
                test_index=(f, t_end),
            )
        )
    if not out:
        need = test_size + embargo + horizons + min_train
        raise ValueError(
            f"history too short for one walk-forward fold: {n} origin dates, need at least "
            f"{need} (test_size {test_size} + embargo {embargo} + horizons {horizons} "
            f"+ min_train {min_train})"
        )
    out.reverse()
    return [replace(s, fold=k) for k, s in enumerate(out)]


def holdout_split(
    train_dates: np.ndarray, fractions: tuple[float, ...], gap: int
) -> tuple[np.ndarray, ...]:
    """Time-ordered held-out blocks at the end of a training range, ``gap`` dates apart.

    The unique dates are cut, latest last, into a fitting part and one block per fraction
    (``round(fraction * n)`` dates each, at least 1), in the order given: with
    ``(0.15, 0.1)`` the fitting dates come first, then the early-stopping block, then the
    calibration block. ``gap`` dates are left out before each block (pass ``gap=H``), so no
    target of an earlier part reaches a later part's first date.

    Args:
        train_dates: Dates of the training origins (repeats allowed, e.g. one per panel row).
        fractions: Share of the unique dates of each block, each in ``(0, 1)``.
        gap: Dates left out before each block (``>= 0``).

    Returns:
        ``(fit_mask, block_1_mask, ...)``: disjoint boolean masks over ``train_dates``.

    Raises:
        ValueError: On a bad fraction or gap, or too few dates to leave any for fitting.
    """
    if not fractions or not all(0.0 < f < 1.0 for f in fractions):
        raise ValueError(f"fractions must be in (0, 1), got {list(fractions)}")
    if gap < 0:
        raise ValueError("gap must be >= 0")
    d = np.asarray(train_dates).astype("datetime64[D]")
    cal = np.unique(d)
    n = len(cal)
    sizes = [max(1, round(f * n)) for f in fractions]
    first_fit_free = n - sum(sizes) - gap * len(sizes)
    if first_fit_free < 1:
        raise ValueError(
            f"{n} training dates are too few for held-out blocks "
            f"(fractions {list(fractions)}, gap {gap})"
        )
    masks = []
    end = n  # exclusive end of the next block, walking back from the latest date
    for size in reversed(sizes):
        start = end - size
        masks.append((d >= cal[start]) & (d <= cal[end - 1]))
        end = start - gap
    masks.append(d <= cal[end - 1])
    return tuple(reversed(masks))


def validation_split(
    train_dates: np.ndarray, fraction: float, gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Time-ordered validation split inside a training range, with a gap of ``gap`` dates.

    The last ``round(fraction * n)`` (at least 1) unique dates are validation; the ``gap``
    dates before them are left out (pass ``gap=H`` so no fit target reaches a validation
    date); everything earlier is for fitting (``holdout_split`` with one block).

    Args:
        train_dates: Dates of the training origins (repeats allowed, e.g. one per panel row).
        fraction: Share of the unique dates used for validation, in ``(0, 1)``.
        gap: Dates left out between the two parts (``>= 0``).

    Returns:
        ``(fit_mask, val_mask)``: boolean masks over ``train_dates``.

    Raises:
        ValueError: On a bad fraction or gap, or too few dates to leave any for fitting.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    fit, val = holdout_split(train_dates, (fraction,), gap)
    return fit, val
