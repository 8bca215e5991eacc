"""Split-conformal prediction intervals: the finite-sample quantile and its calibration.

A forecaster calibrates its band on a block of held-out origins (after the early-stopping
block, see ``stackcast.features.splits.holdout_split``): per horizon, the band is the point
forecast plus the calibration residuals' conformal quantiles. Two methods:

- ``"volatility"`` (normalised conformal): each residual (in log returns) is divided by its
  origin's trailing realised volatility (``trailing_volatility``: the root mean square of the
  daily log returns over the model's window, ending at the origin, so nothing after it); the
  band is ``y_pred + q * volatility``, and widens when markets get rougher.
- ``"residual"``: quantiles of the residuals themselves in the scaler's target units (the
  behaviour of models saved before the calibration block existed).

The quantile is the finite-sample split-conformal one: with ``n`` calibration scores and
``alpha = 1 - interval``, the upper bound is the ``ceil((n + 1)(1 - alpha / 2))``-th smallest
score and the lower bound the ``floor((n + 1) alpha / 2)``-th, so each tail holds at most
``alpha / 2`` of an exchangeable future score. Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from stackcast.features.panel import Panel

Method = Literal["volatility", "residual"]


def min_calibration(interval: float) -> int:
    """Fewest scores for which both conformal ranks of a central ``interval`` band exist."""
    tail = (1.0 - interval) / 2.0
    return max(1, math.ceil((1.0 - tail) / tail - 1e-9))


def conformal_quantiles(scores: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Finite-sample conformal bounds per column of ``scores`` (``[n, H]``, NaN ignored).

    Returns:
        ``(offsets [2, H], n [H])``: the lower and upper bound per horizon and how many finite
        scores each used. A horizon with fewer than ``min_calibration(interval)`` scores takes
        its extreme scores (the conformal rank would lie past the sample), NaN with none.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    tail = (1.0 - interval) / 2.0
    out = np.full((2, scores.shape[1]), np.nan)
    counts = np.zeros(scores.shape[1], dtype=np.int64)
    for h in range(scores.shape[1]):
        s = np.sort(scores[np.isfinite(scores[:, h]), h])
        n = len(s)
        counts[h] = n
        if n == 0:
            continue
        k_hi = math.ceil((n + 1) * (1.0 - tail) - 1e-9)  # 1-based rank
        k_lo = math.floor((n + 1) * tail + 1e-9)
        out[1, h] = s[min(k_hi, n) - 1]
        out[0, h] = s[max(k_lo, 1) - 1]
    return out, counts


def trailing_volatility(panel: Panel, rows: np.ndarray, lookback: int) -> np.ndarray:
    """Realised daily volatility at each origin: RMS log return over ``lookback`` rows.

    Uses the closes of the origin's own ticker block from ``lookback`` rows before the origin
    up to the origin itself (point in time), observed rows only. NaN with fewer than two
    returns or none non-zero.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), np.nan)
    if len(rows) == 0:
        return out
    close = np.asarray(panel.close, dtype=float)
    prev = np.concatenate([[np.nan], close[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.log(close / prev) ** 2
    starts = panel.starts
    valid = panel.observed & (np.arange(len(close)) > starts)  # a previous close in the block
    r2 = np.where(valid & np.isfinite(r2), r2, 0.0)
    c_sq = np.concatenate([[0.0], np.cumsum(r2)])
    c_n = np.concatenate([[0], np.cumsum(valid.astype(np.int64))])
    first = np.maximum(rows - lookback + 1, starts[rows])
    n = c_n[rows + 1] - c_n[first]
    total = c_sq[rows + 1] - c_sq[first]
    ok = (n >= 2) & (total > 0)
    out[ok] = np.sqrt(total[ok] / n[ok])
    return out


@dataclass(frozen=True)
class Calibration:
    """A calibrated band: per-horizon offsets and how to apply them.

    Attributes:
        method: ``"volatility"`` (offsets are multiples of the origin's trailing volatility,
            in log returns) or ``"residual"`` (offsets in the scaler's target units).
        offsets: ``[2, H]`` lower and upper offsets.
        n: Calibration scores per horizon.
        lookback: Rows of the trailing volatility (``"volatility"`` only).
        fallback_scale: Volatility used at an origin whose own is undefined (the calibration
            block's median).
        block: Which origins calibrated it (``"calibration"`` or ``"early-stopping"``).
    """

    method: Method
    offsets: np.ndarray
    n: tuple[int, ...] = ()
    lookback: int = 0
    fallback_scale: float = float("nan")
    block: str = "calibration"

    def scale(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """``[n]`` volatility at each origin (the fallback where undefined)."""
        vol = trailing_volatility(panel, rows, self.lookback)
        return np.where(np.isfinite(vol), vol, self.fallback_scale)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form for ``meta.json``."""
        return {
            "method": self.method,
            "offsets": self.offsets.tolist(),
            "n": list(self.n),
            "lookback": self.lookback,
            "fallback_scale": self.fallback_scale if math.isfinite(self.fallback_scale) else None,
            "block": self.block,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of ``to_json``."""
        fallback = data.get("fallback_scale")
        return cls(
            method=data["method"],
            offsets=np.asarray(data["offsets"], dtype=float),
            n=tuple(int(v) for v in data.get("n", ())),
            lookback=int(data.get("lookback", 0)),
            fallback_scale=float("nan") if fallback is None else float(fallback),
            block=str(data.get("block", "calibration")),
        )


def calibrate(
    residuals: np.ndarray,
    interval: float,
    *,
    volatility: np.ndarray | None = None,
    lookback: int = 0,
    block: str = "calibration",
) -> Calibration:
    """Calibrate from residuals ``[n, H]``; with ``volatility`` ``[n]``, normalised conformal.

    Origins whose volatility is undefined are left out of a normalised calibration.
    """
    residuals = np.asarray(residuals, dtype=float)
    if volatility is None:
        offsets, n = conformal_quantiles(residuals, interval)
        return Calibration("residual", offsets, tuple(int(v) for v in n), block=block)
    vol = np.asarray(volatility, dtype=float)
    ok = np.isfinite(vol) & (vol > 0)
    offsets, n = conformal_quantiles(residuals[ok] / vol[ok, None], interval)
    fallback = float(np.median(vol[ok])) if ok.any() else float("nan")
    return Calibration(
        "volatility", offsets, tuple(int(v) for v in n), int(lookback), fallback, block
    )
