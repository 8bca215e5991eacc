"""Gradient-boosted trees (LightGBM) on the model's windows, as a ``Forecaster``.

``fit`` mirrors the RNN's: the same held-out blocks of the fold's training origins (an
early-stopping block, then a calibration block, H-bar gaps before each;
``holdout.held_out_masks``), the same fold scaler fit before the first held-out block
(``holdout.scaler_rows``), the same windows flattened to ``window x features`` columns. One
booster per horizon is trained on the scaled targets with early stopping on the early-stopping
block; the interval is split conformal on the calibration block, residuals normalised by each
origin's trailing volatility (``stackcast.models.intervals``). Training is seeded and
deterministic on CPU (``deterministic``, a fixed thread count). ``save``/``load`` write
LightGBM's own text model per horizon plus ``meta.json``; nothing is pickled.

LightGBM is an optional dependency (``pip install 'stackcast[lightgbm]'``); it is imported on
first use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stackcast.features.scaling import FoldScaler
from stackcast.models.base import FitInfo, Forecaster, Prediction, Progress
from stackcast.models.holdout import held_out_masks, scaler_range, scaler_rows
from stackcast.models.intervals import Calibration, calibrate, trailing_volatility

if TYPE_CHECKING:
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows

# Booster settings: small trees and a slow rate for noisy daily returns. One thread, fixed, so
# the same data and seed give the same trees on any machine; on a busy 2-core machine OpenMP's
# second thread made a demo-sized fit 70x slower (15.8 s against 0.22 s, same trees).
PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}
MAX_ROUNDS = 400  # with an early-stopping block; it stops after STOPPING_ROUNDS without gain
STOPPING_ROUNDS = 30
FIXED_ROUNDS = 100  # without an early-stopping block
BATCH = 4096  # windows materialised at a time


def flat_windows(panel: Panel, rows: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``[len(rows), window * F]`` float32: each origin's (padded) window, flattened."""
    batches = panel.batches(rows, BATCH, X=X)
    parts = [batches[i].reshape(len(batches[i]), -1) for i in range(len(batches))]
    width = panel.window * X.shape[1]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, width), np.float32)


def _lightgbm() -> Any:
    import lightgbm

    return lightgbm


class LightGBM(Forecaster):
    """One LightGBM booster per horizon on flattened, scaled windows.

    Attributes:
        boosters: One ``lightgbm.Booster`` per horizon (empty before ``fit`` or ``load``).
        scaler: The fold's ``FoldScaler``.
        calibration: The interval's ``Calibration``, or None (no held-out block).
        seed: The fold's seed (``[train] seed`` + fold).
    """

    name = "lightgbm"
    calibration: Calibration | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boosters: list[Any] = []
        self.seed = self.train_config.seed

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Scale, hold out, train a booster per horizon with early stopping, calibrate."""
        lgb = _lightgbm()
        fc, tc = self.features, self.train_config
        fit_mask, val_mask, cal_mask, cal_warning = held_out_masks(
            panel.dates[rows.train], tc, fc.horizons
        )
        tr, va, ca = rows.train[fit_mask], rows.train[val_mask], rows.train[cal_mask]
        scaled = scaler_rows(panel, rows.fit_rows, np.concatenate([va, ca]))
        self.scaler = FoldScaler.fit_panel(panel, scaled, fc)
        Xs = self.scaler.transform_inputs(panel.X, panel.ticker_id)
        Ys = self.scaler.transform_targets(panel.Y, panel.ticker_id)
        x_tr, x_va = flat_windows(panel, tr, Xs), flat_windows(panel, va, Xs)
        self.seed = tc.seed + fold
        params = {**PARAMS, "seed": self.seed}
        self.boosters, rounds = [], []
        for h in range(panel.horizons):
            ok = np.isfinite(Ys[tr, h])
            train_set = lgb.Dataset(x_tr[ok], Ys[tr, h][ok], params={"verbosity": -1})
            v_ok = np.isfinite(Ys[va, h])
            if v_ok.sum() >= 2:
                valid = train_set.create_valid(x_va[v_ok], Ys[va, h][v_ok])
                stop = [lgb.early_stopping(STOPPING_ROUNDS, verbose=False)]
                booster = lgb.train(params, train_set, MAX_ROUNDS, [valid], callbacks=stop)
            else:
                booster = lgb.train(params, train_set, FIXED_ROUNDS)
            best = booster.best_iteration or booster.current_iteration()
            self.boosters.append(booster)
            rounds.append(int(best))
            if progress is not None:
                progress(f"lightgbm horizon {h + 1}: {best} rounds")
        self.calibration = None
        if len(ca):
            residuals = panel.Y[ca] - self._mean(panel, ca, Xs)
            vol = trailing_volatility(panel, ca, fc.window)
            block = "early-stopping" if cal_mask is val_mask else "calibration"
            self.calibration = calibrate(
                residuals, tc.interval, volatility=vol, lookback=fc.window, block=block
            )
        history = {
            "rounds": rounds,
            "n_train": len(tr),
            "n_val": len(va),
            "n_calibration": len(ca),
            **scaler_range(panel, scaled),
        }
        return FitInfo(history, [cal_warning] if cal_warning else [])

    def _mean(
        self, panel: Panel, rows: np.ndarray, Xs: np.ndarray, scaler: FoldScaler | None = None
    ) -> np.ndarray:
        """Point forecasts of ``rows`` in log returns, ``[len(rows), H]``."""
        x = flat_windows(panel, rows, Xs)
        pred = np.column_stack(
            [b.predict(x, num_iteration=b.best_iteration or None) for b in self.boosters]
        )
        return (scaler or self.scaler).inverse_targets(pred, panel.ticker_id[rows])

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """The point forecast and, when calibrated, the conformal band."""
        if not self.boosters:
            raise RuntimeError("LightGBM.predict called before fit or load")
        scaler = self.scaler
        if scaler.tickers != tuple(panel.tickers):
            scaler = scaler.for_tickers(panel.tickers)
        rows = np.asarray(rows, dtype=np.int64)
        Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
        mean = self._mean(panel, rows, Xs, scaler) if len(rows) else np.zeros((0, panel.horizons))
        cal = self.calibration
        if cal is None:
            return Prediction.point(mean)
        vol = cal.scale(panel, rows)[:, None]
        return Prediction(mean, mean + cal.offsets[0] * vol, mean + cal.offsets[1] * vol)

    def save(self, directory: str | Path, meta: dict[str, Any]) -> Path:
        """Write ``lightgbm_h<h>.txt`` per horizon (LightGBM's text model) and ``meta.json``."""
        if not self.boosters:
            raise RuntimeError("LightGBM.save called before fit")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for h, booster in enumerate(self.boosters, start=1):
            booster.save_model(str(out / f"lightgbm_h{h}.txt"))
        cal = self.calibration
        full = {
            **meta,
            "forecaster": self.name,
            "horizons": len(self.boosters),
            "scaler": self.scaler.to_json(),
            "interval_calibration": None if cal is None else cal.to_json(),
        }
        (out / "meta.json").write_text(json.dumps(full, indent=2, default=str))
        return out

    @classmethod
    def load(cls, directory: str | Path, **options: Any) -> tuple[LightGBM, dict[str, Any]]:
        """Read a directory ``save`` wrote; ``(forecaster, meta)`` (``options`` build it)."""
        lgb = _lightgbm()
        path = Path(directory)
        meta = json.loads((path / "meta.json").read_text())
        self = cls(**options)
        self.boosters = [
            lgb.Booster(model_str=(path / f"lightgbm_h{h}.txt").read_text())
            for h in range(1, int(meta["horizons"]) + 1)
        ]
        self.scaler = FoldScaler.from_json(meta["scaler"])
        saved = meta.get("interval_calibration")
        self.calibration = None if saved is None else Calibration.from_json(saved)
        return self, meta
