"""The masked, stacked, bidirectional LSTM/GRU regressor as a ``Forecaster``.

``fit`` reads top to bottom: hold out the latest training origins as an early-stopping block
and, after it, a calibration block (H-bar gaps before each), fit the fold's scaler on the rows
before the first held-out block (``scaler_rows``: neither held-out block's inputs or targets
enter its statistics), build the network (or keep the previous fold's weights: warm start),
train with gradient monitoring, refuse exploding gradients, then calibrate the interval on the
calibration block, which neither training, early stopping nor the scaler saw (split conformal
with the finite-sample quantile, residuals normalised by each origin's trailing volatility:
``stackcast.models.intervals``). ``predict`` makes the point forecast (one pass with dropout
off by default, or the mean of MC-dropout passes) and applies that calibration.
``save``/``load`` write and read a model directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stackcast.features.config import FeatureConfig
from stackcast.features.scaling import FoldScaler
from stackcast.models.base import FitInfo, Forecaster, Prediction, Progress
from stackcast.models.config import TrainConfig
from stackcast.models.holdout import held_out_masks, refit_masks, scaler_range, scaler_rows
from stackcast.models.intervals import (
    Calibration,
    calibrate,
    trailing_volatility,
)
from stackcast.models.network import build_model
from stackcast.models.persistence import ModelMismatchError, load_model, save_model
from stackcast.models.precision import resolve_dtype_policy
from stackcast.models.predict import predict_blocks
from stackcast.models.training import TrainingError, train

if TYPE_CHECKING:
    import keras
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows


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


@dataclass
class _Ahead:
    """A block predicted together with the calibration block, kept for ``predict``."""

    panel: Panel
    rows: np.ndarray
    network: keras.Model
    calibration: Calibration | None
    outputs: tuple[np.ndarray, np.ndarray, np.ndarray]
    train_config: TrainConfig
    seed: int

    def serves(self, forecaster: RNNForecaster, panel: Panel, rows: np.ndarray) -> bool:
        """Whether these outputs are what ``forecaster.predict(panel, rows)`` would compute."""
        return (
            panel is self.panel
            and forecaster.network is self.network
            and forecaster.calibration is self.calibration
            and forecaster.train_config == self.train_config
            and forecaster.seed == self.seed
            and np.array_equal(rows, self.rows)
        )


class RNNForecaster(Forecaster):
    """The Keras network of ``[model]``, trained as ``[train]`` says.

    Attributes:
        network: The Keras model (None before the first fit); kept across folds for warm start.
        scaler: The fold's ``FoldScaler``.
        calibration: The interval's ``Calibration``, or None (no held-out block: the band is
            the MC-dropout quantiles).
        seed: Seeds dropout sampling in ``predict`` (the fold's training seed).
    """

    name = "rnn"
    network: keras.Model | None = None
    scaler: FoldScaler
    calibration: Calibration | None = None
    _ahead: _Ahead | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = self.train_config.seed

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Scale, split, build or warm-start, train, check gradients, calibrate."""
        masks = held_out_masks(panel.dates[rows.train], self.train_config, self.features.horizons)
        return self._fit(panel, rows, masks, fold=fold, progress=progress)

    def refit(
        self, panel: Panel, rows: FoldRows, epochs: int, *, progress: Progress | None = None
    ) -> FitInfo:
        """A fresh fit for exactly ``epochs`` epochs, calibrated on its own held-out block.

        Nothing is held out for early stopping (the epoch count is given); the latest
        ``calibration_fraction`` of the dates (``validation_fraction`` when that is 0) after
        an H-date gap calibrates the interval, as ``fit``'s calibration block does
        (``refit_masks``). Without room for that block nothing is held out and
        ``calibration`` is None (a warning says so).
        """
        masks = refit_masks(panel.dates[rows.train], self.train_config, self.features.horizons)
        self.network = None
        return self._fit(panel, rows, masks, epochs=epochs, progress=progress)

    def _fit(
        self,
        panel: Panel,
        rows: FoldRows,
        masks: tuple[np.ndarray, np.ndarray, np.ndarray, str | None],
        *,
        fold: int = 0,
        epochs: int | None = None,
        progress: Progress | None = None,
    ) -> FitInfo:
        """``fit``'s body on given held-out masks; ``epochs`` overrides the config's count."""
        fc, tc = self.features, self.train_config
        self._ahead = None
        fit_mask, val_mask, cal_mask, cal_warning = masks
        tr, va, ca = rows.train[fit_mask], rows.train[val_mask], rows.train[cal_mask]
        scaled = scaler_rows(panel, rows.fit_rows, np.concatenate([va, ca]))
        self.scaler = FoldScaler.fit_panel(panel, scaled, fc)
        Xs = self.scaler.transform_inputs(panel.X, panel.ticker_id)
        Ys = self.scaler.transform_targets(panel.Y, panel.ticker_id)
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
        epochs = epochs or (tc.warm_epochs if warm else tc.epochs)
        fold_tc = tc.model_copy(update={"epochs": epochs, "seed": self.seed})
        result = train(self.network, train_b, val_b, fold_tc, log=progress)
        check_gradients(result.history, tc.explode_threshold)

        self.calibration = None
        warnings = list(result.warnings)
        shared = cal_mask is val_mask
        if tc.mc_samples > 0 and len(ca):
            self._calibrate(panel, ca, Xs, Ys, shared, rows.test)
        if cal_warning and tc.mc_samples > 0:
            warnings.append(cal_warning)
        history = dict(result.history)
        history.update(
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            warm_start=warm,
            n_train=len(tr),
            n_val=len(va),
            n_calibration=len(ca),
            calibration_block=self.calibration.block if self.calibration else None,
            scaler_rows=int(scaled.sum()),
            **scaler_range(panel, scaled),
        )
        return FitInfo(history, warnings)

    def _calibrate(
        self,
        panel: Panel,
        rows: np.ndarray,
        Xs: np.ndarray,
        Ys: np.ndarray,
        shared: bool,
        ahead: np.ndarray,
    ) -> None:
        """Conformal calibration on held-out origins ``rows`` (as ``[train]`` says).

        The fold's test origins ``ahead`` are predicted in the same call (one pass sequence
        over both blocks) and kept for ``predict``, which would compute the same outputs.
        """
        tc = self.train_config
        blocks = [panel.batches(rows, tc.batch_size, X=Xs)]
        if len(ahead):
            blocks.append(panel.batches(ahead, tc.batch_size, X=Xs))
        outputs = self._predict(blocks, calibrated=True)
        mean = outputs[0][0]
        block = "early-stopping" if shared else "calibration"
        if tc.interval_scale == "none":
            self.calibration = calibrate(Ys[rows] - mean, tc.interval, block=block)
        else:
            tid = panel.ticker_id[rows]
            residuals = panel.Y[rows] - self.scaler.inverse_targets(mean, tid)
            lookback = self.features.window
            vol = trailing_volatility(panel, rows, lookback)
            self.calibration = calibrate(
                residuals, tc.interval, volatility=vol, lookback=lookback, block=block
            )
        if len(ahead):
            rows_ahead = np.array(ahead, copy=True)
            self._ahead = _Ahead(
                panel, rows_ahead, self.network, self.calibration, outputs[1], tc, self.seed
            )

    def _predict(
        self, blocks: list[Any], *, calibrated: bool
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(mean, lo, hi)`` per block in scaled units: the point forecast ``[train]`` asks for.

        A calibrated band needs only the point forecast, so with ``point_forecast =
        "deterministic"`` that is one pass with dropout off; otherwise (or without a
        calibration) ``mc_samples`` dropout passes give the mean and the MC band.
        """
        tc = self.train_config
        samples = tc.mc_samples
        if calibrated and tc.point_forecast == "deterministic":
            samples = 0
        return predict_blocks(self.network, blocks, samples, tc.interval, seed=self.seed)

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """The point forecast and the calibrated band (MC quantiles without a calibration)."""
        if self.network is None:
            raise RuntimeError("RNNForecaster.predict called before fit or load")
        tc = self.train_config
        scaler = self.scaler
        if scaler.tickers != tuple(panel.tickers):
            scaler = scaler.for_tickers(panel.tickers)
        cal = self.calibration
        ahead, self._ahead = self._ahead, None
        if ahead is not None and scaler is self.scaler and ahead.serves(self, panel, rows):
            mean, lo, hi = ahead.outputs  # predicted with the calibration block
        else:
            Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
            batches = panel.batches(rows, tc.batch_size, X=Xs)
            mean, lo, hi = self._predict([batches], calibrated=cal is not None)[0]
        tid = panel.ticker_id[rows]
        y_pred = scaler.inverse_targets(mean, tid)
        if tc.mc_samples == 0:
            return Prediction.point(y_pred)
        if cal is not None and cal.method == "volatility":
            vol = cal.scale(panel, rows)[:, None]
            return Prediction(y_pred, y_pred + cal.offsets[0] * vol, y_pred + cal.offsets[1] * vol)
        if cal is not None:
            lo, hi = mean + cal.offsets[0], mean + cal.offsets[1]
        return Prediction(y_pred, scaler.inverse_targets(lo, tid), scaler.inverse_targets(hi, tid))

    def save(self, directory: str | Path, meta: dict[str, Any]) -> Path:
        """Write ``model.keras`` and ``meta.json`` (with the scaler and the calibration)."""
        if self.network is None:
            raise RuntimeError("RNNForecaster.save called before fit")
        cal = self.calibration
        meta = {
            **meta,
            "scaler": self.scaler.to_json(),
            "interval_calibration": None if cal is None else cal.to_json(),
            # read by models saved before interval_calibration existed; None unless it means
            # the same there (residual offsets in scaled units)
            "interval_offsets": cal.offsets.tolist()
            if cal is not None and cal.method == "residual"
            else None,
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
            saved_train = dict(saved.get("train", {}))
            # models saved before point_forecast existed were calibrated on the MC mean
            saved_train.setdefault("point_forecast", "mc_mean")
            train = train or TrainConfig.model_validate(saved_train)
        except ValueError as exc:
            raise ModelMismatchError(f"meta.json holds an invalid config: {exc}") from None
        self = cls(features, train=train)
        self.network = network
        self.scaler = FoldScaler.from_json(meta["scaler"])
        saved_cal = meta.get("interval_calibration")
        offsets = meta.get("interval_offsets")
        if saved_cal is not None:
            self.calibration = Calibration.from_json(saved_cal)
        elif offsets is not None:  # saved before interval_calibration: residual offsets
            offsets = np.asarray(offsets, dtype=float)
            self.calibration = Calibration("residual", offsets, block="early-stopping")
        return self, meta
