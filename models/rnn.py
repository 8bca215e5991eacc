"""The masked, stacked, bidirectional LSTM/GRU regressor as a ``Forecaster``.

``fit`` reads top to bottom: fit the fold's scaler on its training range, split off the
latest training origins (with an H-bar gap) for early stopping, build the network (or keep
the previous fold's weights: warm start), train with gradient monitoring, refuse exploding
gradients, then calibrate the interval on the held-out origins (split conformal: MC-dropout
spread alone covers far less than its nominal level on returns). ``predict`` forecasts with
MC dropout and applies that calibration. ``save``/``load`` write and read a model directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stackcast.features.config import FeatureConfig
from stackcast.features.scaling import FoldScaler
from stackcast.features.splits import validation_split
from stackcast.models.base import FitInfo, Forecaster, Prediction, Progress
from stackcast.models.config import TrainConfig
from stackcast.models.network import build_model
from stackcast.models.persistence import ModelMismatchError, load_model, save_model
from stackcast.models.precision import resolve_dtype_policy
from stackcast.models.predict import predict
from stackcast.models.training import TrainingError, train

if TYPE_CHECKING:
    import keras
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows


def conformal_offsets(residuals: np.ndarray, interval: float) -> np.ndarray:
    """Per-horizon residual quantiles ``[2, H]`` bounding a central ``interval`` band."""
    q = [(1.0 - interval) / 2.0, (1.0 + interval) / 2.0]
    return np.nanquantile(residuals, q, axis=0)


def check_gradients(history: dict[str, Any], threshold: float) -> None:
    """Refuse a fit whose gradient norm exploded (above ``threshold``) or went non-finite.

    Healthy fits stay near 1 (before clipping); a norm past the threshold means the learning
    rate or the data is wrong, and weights from such a fit are never used.
    """
    norms = np.asarray(history.get("grad_norm/all/max") or [], dtype=float)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms > threshold))
    if len(bad):
        epoch = int(bad[0])
        raise TrainingError(
            f"exploding gradients: norm {norms[epoch]:.3g} in epoch {epoch + 1} exceeds "
            f"explode_threshold {threshold:g}; lower [train] learning_rate or set clipnorm",
            epoch=epoch + 1,
        )


class RNNForecaster(Forecaster):
    """The Keras network of ``[model]``, trained as ``[train]`` says.

    Attributes:
        network: The Keras model (None before the first fit); kept across folds for warm start.
        scaler: The fold's ``FoldScaler``.
        offsets: ``[2, H]`` conformal offsets in scaled units, or None (no calibration block).
        seed: Seeds dropout sampling in ``predict`` (the fold's training seed).
    """

    name = "rnn"
    network: keras.Model | None = None
    scaler: FoldScaler
    offsets: np.ndarray | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = self.train_config.seed

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Scale, split, build or warm-start, train, check gradients, calibrate."""
        fc, tc = self.features, self.train_config
        self.scaler = FoldScaler.fit_panel(panel, rows.fit_rows, fc)
        Xs = self.scaler.transform_inputs(panel.X, panel.ticker_id)
        Ys = self.scaler.transform_targets(panel.Y, panel.ticker_id)

        if tc.validation_fraction > 0 and len(np.unique(panel.dates[rows.train])) > 4 * fc.horizons:
            fit_mask, val_mask = validation_split(
                panel.dates[rows.train], tc.validation_fraction, gap=fc.horizons
            )
        else:
            fit_mask = np.ones(len(rows.train), bool)
            val_mask = np.zeros(len(rows.train), bool)
        tr, va = rows.train[fit_mask], rows.train[val_mask]
        self.seed = tc.seed + fold
        train_b = panel.batches(
            tr, tc.batch_size, X=Xs, targets=Ys[tr], shuffle=True, seed=self.seed
        )
        val_b = panel.batches(va, tc.batch_size, X=Xs, targets=Ys[va]) if len(va) else None

        warm = self.network is not None and tc.warm_start
        if not warm:
            self.network = build_model(
                self.model_config,
                len(panel.feature_names),
                fc.window,
                fc.horizons,
                mask_value=fc.mask_value,
                seed=self.seed,
                dtype_policy=resolve_dtype_policy(tc),
            )
        epochs = tc.warm_epochs if warm else tc.epochs
        fold_tc = tc.model_copy(update={"epochs": epochs, "seed": self.seed})
        result = train(self.network, train_b, val_b, fold_tc, log=progress)
        check_gradients(result.history, tc.explode_threshold)

        self.offsets = None
        if tc.mc_samples > 0 and val_b is not None:
            val_mean = predict(self.network, val_b, tc.mc_samples, tc.interval, seed=self.seed)[0]
            self.offsets = conformal_offsets(Ys[va] - val_mean, tc.interval)
        history = dict(result.history)
        history.update(
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            warm_start=warm,
            n_train=len(tr),
            n_val=len(va),
        )
        return FitInfo(history, list(result.warnings))

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """MC-dropout mean and the calibrated band (MC quantiles without a calibration)."""
        if self.network is None:
            raise RuntimeError("RNNForecaster.predict called before fit or load")
        tc = self.train_config
        scaler = self.scaler
        if scaler.tickers != tuple(panel.tickers):
            scaler = scaler.for_tickers(panel.tickers)
        Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
        batches = panel.batches(rows, tc.batch_size, X=Xs)
        mean, lo, hi = predict(self.network, batches, tc.mc_samples, tc.interval, seed=self.seed)
        if self.offsets is not None:
            lo, hi = mean + self.offsets[0], mean + self.offsets[1]
        tid = panel.ticker_id[rows]
        y_pred = scaler.inverse_targets(mean, tid)
        if tc.mc_samples == 0:
            return Prediction.point(y_pred)
        return Prediction(y_pred, scaler.inverse_targets(lo, tid), scaler.inverse_targets(hi, tid))

    def save(self, directory: str | Path, meta: dict[str, Any]) -> Path:
        """Write ``model.keras`` and ``meta.json`` (with the scaler and the calibration)."""
        if self.network is None:
            raise RuntimeError("RNNForecaster.save called before fit")
        meta = {
            **meta,
            "scaler": self.scaler.to_json(),
            "interval_offsets": None if self.offsets is None else self.offsets.tolist(),
        }
        return save_model(self.network, directory, meta)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        features: FeatureConfig | None = None,
        train: TrainConfig | None = None,
        expected_features: list[str] | None = None,
    ) -> tuple[RNNForecaster, dict[str, Any]]:
        """Load a saved model directory (safe mode); ``(forecaster, meta)``.

        ``features`` and ``train`` default to the sections saved in ``meta.json``.
        """
        network, meta = load_model(directory, expected_features=expected_features)
        saved = meta.get("config") or {}
        try:
            features = features or FeatureConfig.model_validate(saved.get("features", {}))
            train = train or TrainConfig.model_validate(saved.get("train", {}))
        except ValueError as exc:
            raise ModelMismatchError(f"meta.json holds an invalid config: {exc}") from None
        self = cls(features, train=train)
        self.network = network
        self.scaler = FoldScaler.from_json(meta["scaler"])
        offsets = meta.get("interval_offsets")
        self.offsets = None if offsets is None else np.asarray(offsets, dtype=float)
        return self, meta
