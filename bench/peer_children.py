"""The peer bench's children: stackcast's demo (its network or darts') and darts' BlockRNN.

Each child runs in a fresh interpreter (``python -m bench.peer --child ...``) and reports
``import_s`` (its heavy imports: Keras and its backend, or torch and darts) apart from
``seconds``, the timed span: from loaded data to the last forecast (stackcast: every output it
writes), model construction included on every side.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

END = "2008-10-14"
TICKERS = ("MSFT", "GOOG")


def layout() -> tuple[Any, Any, list[Any]]:
    """``(cfg, panel, splits)`` of the demo backtest, built the way ``stackcast demo`` does."""
    from stackcast.features.panel import build_panel
    from stackcast.pipeline.config import builtin_config, load_config
    from stackcast.pipeline.data.sources import load_frames
    from stackcast.pipeline.workflows.backtest import make_splits

    cfg = load_config(builtin_config("demo"))
    frames = load_frames("sample", TICKERS, end=dt.date.fromisoformat(END), data_cfg=cfg.data)
    panel = build_panel(frames, cfg.features)
    return cfg, panel, make_splits(cfg, panel.calendar())


def mae_table(y_true: Any, y_pred: Any, horizons: Any) -> dict[str, Any]:
    """Per-horizon MAE of ``y_pred`` and of the random walk (zero) over known targets."""
    known = np.isfinite(y_true)
    out: dict[str, Any] = {"horizon": [], "mae": [], "mae_random_walk": [], "n": []}
    for h in sorted(set(horizons.tolist())):
        m = known & (horizons == h)
        out["horizon"].append(int(h))
        out["mae"].append(float(np.mean(np.abs(y_pred[m] - y_true[m]))))
        out["mae_random_walk"].append(float(np.mean(np.abs(y_true[m]))))
        out["n"].append(int(m.sum()))
    out["mae_all"] = float(np.mean(np.abs(y_pred[known] - y_true[known])))
    out["mae_random_walk_all"] = float(np.mean(np.abs(y_true[known])))
    return out


def stackcast_param_count(cfg: Any, n_features: int) -> int:
    """Trainable parameters of ``cfg``'s stackcast network."""
    from stackcast.models.network import build_model

    model = build_model(cfg.model, n_features, cfg.features.window, cfg.features.horizons, seed=0)
    return int(sum(int(w.numpy().size) for w in model.trainable_weights))


def lstm_hidden_for(params: int, inputs: int, outputs: int) -> tuple[int, int]:
    """Hidden size of darts' 1-layer BlockRNN LSTM closest to ``params``; (size, count).

    darts maps the last hidden state through ``Linear(hidden, outputs)`` (``outputs`` = target
    components) and sizes the output chunk by reshaping, so the head is ``hidden + 1`` weights
    for one target; torch's LSTM has two bias vectors.
    """

    def count(h: int) -> int:
        return 4 * (h * inputs + h * h + 2 * h) + h * outputs + outputs

    best = min(range(1, 512), key=lambda h: abs(count(h) - params))
    return best, count(best)


def demo_hidden(cfg: Any, n_features: int) -> int:
    """darts' LSTM width for the demo: the parameter count of stackcast's demo network."""
    return lstm_hidden_for(stackcast_param_count(cfg, n_features), n_features, 1)[0]


def child_params() -> dict[str, Any]:
    """stackcast's demo parameter count and darts' matching LSTM width (run once, untimed).

    The parent passes the width to the darts children, so darts' process never loads Keras.
    """
    cfg, panel, _ = layout()
    n = len(panel.feature_names)
    params = stackcast_param_count(cfg, n)
    hidden, formula = lstm_hidden_for(params, n, 1)
    return {"stackcast_params": params, "hidden_dim": hidden, "params_formula": formula}


def child_stackcast(network: str, hidden: int | None = None) -> dict[str, Any]:
    """The demo backtest with every output (report included); ``network``: demo or darts.

    ``hidden``: darts' LSTM width (``child_params``); computed here when not given.
    """
    import pandas as pd

    t0 = time.perf_counter()
    import keras
    from stackcast.models.network import build_model  # noqa: F401  (the model code, imported)
    from stackcast.pipeline.workflows.backtest import backtest

    import_s = time.perf_counter() - t0
    from stackcast.pipeline.config import builtin_config, load_config
    from stackcast.pipeline.data.sources import load_frames
    from stackcast.pipeline.environment import use_runtime

    from bench.peer_torch import darts_network_config

    cfg = load_config(builtin_config("demo"))
    frames = load_frames("sample", TICKERS, end=dt.date.fromisoformat(END), data_cfg=cfg.data)
    # Every column the sample has (OHLCV), so the panel holds the demo's four inputs.
    prices = pd.concat([f.assign(ticker=t) for t, f in frames.items()], ignore_index=True)
    n_inputs = 4
    if network == "darts":
        cfg = darts_network_config(cfg, hidden or demo_hidden(cfg, n_inputs))
    with tempfile.TemporaryDirectory() as home:
        runtime = cfg.runtime.model_copy(update={"backend": keras.backend.backend()})
        paths = cfg.paths.model_copy(update={"home": home})
        cfg = cfg.model_copy(update={"paths": paths, "runtime": runtime})
        # The process set-up every entry point (command line, Python API, flows) does first:
        # on JAX, the compile cache under the run's home (the cached sides' own wins) and
        # XLA's CPU options.
        use_runtime(cfg)
        t0 = time.perf_counter()
        result = backtest(cfg, prices)
        result.save(Path(home) / "run")
        seconds = time.perf_counter() - t0
        written = sorted(p.name for p in (Path(home) / "run").iterdir())
    f = result.forecasts
    table = mae_table(
        f["y_true"].to_numpy(float), f["y_pred"].to_numpy(float), f["horizon"].to_numpy()
    )
    return {
        "seconds": seconds,
        "import_s": import_s,
        "network": network,
        "backend": keras.backend.backend(),
        "files": written,
        "mae": table,
        "n_forecasts": len(f),
        "has_interval": bool(np.isfinite(f["lo"].to_numpy(float)).all()),
        "inputs": list(result.panel.feature_names),
        "params": stackcast_param_count(cfg, len(result.panel.feature_names)),
    }


def _darts_series(panel: Any, scaled: Any, block: int, lo: int, hi: int) -> tuple[Any, Any]:
    """Target (scaled log return) and past-covariate series of rows ``lo..hi`` of a block."""
    import pandas as pd
    from darts import TimeSeries

    start = int(panel.offsets[block])
    values = scaled[lo:hi].astype("float32")
    index = pd.RangeIndex(lo - start, hi - start)
    target = TimeSeries.from_times_and_values(index, values[:, :1])
    return target, TimeSeries.from_times_and_values(index, values[:, 1:])


def child_darts(seed: int, hidden: int | None = None) -> dict[str, Any]:
    """darts ``BlockRNNModel`` fold by fold on the demo's folds; timed from loaded data.

    ``hidden``: the LSTM width (``child_params``); without it, computed here from stackcast's
    parameter count (which loads Keras into this process, outside the span).
    """
    import logging
    import warnings

    t0 = time.perf_counter()
    import torch
    from darts.models import BlockRNNModel

    import_s = time.perf_counter() - t0
    from stackcast.models.engine import fold_rows

    warnings.filterwarnings("ignore")
    for name in ("darts", "pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cfg, panel, splits = layout()
    fc, tc = cfg.features, cfg.train
    W, H = fc.window, fc.horizons
    names = list(panel.feature_names)
    ret = names.index("log_return")
    order = [ret] + [j for j in range(len(names)) if j != ret]
    if hidden is None:
        hidden = lstm_hidden_for(stackcast_param_count(cfg, len(names)), len(names), 1)[0]
    y_true, y_pred, horizons = [], [], []
    fold_s: list[float] = []
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = BlockRNNModel(
        input_chunk_length=W,
        output_chunk_length=H,
        model="LSTM",
        hidden_dim=hidden,
        n_rnn_layers=1,
        dropout=0.0,
        batch_size=tc.batch_size,
        n_epochs=tc.epochs,
        optimizer_kwargs={"lr": tc.learning_rate},
        random_state=seed,
        pl_trainer_kwargs={
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": False,
            "enable_checkpointing": False,
        },
    )
    for k, split in enumerate(splits):
        f0 = time.perf_counter()
        rows = fold_rows(panel, split)
        # Per-ticker standardisation on the fold's training rows (stackcast's scaler range).
        scaled = np.zeros_like(panel.X, dtype=np.float64)
        ret_sd = np.ones(len(panel.tickers))
        series, covs = [], []
        for b in range(len(panel.tickers)):
            lo_b, hi_b = int(panel.offsets[b]), int(panel.offsets[b + 1])
            mine = rows.train[(rows.train >= lo_b) & (rows.train < hi_b)]
            if len(mine) == 0:
                continue
            fit_rows = np.arange(max(lo_b, int(mine.min()) - W + 1), int(mine.max()) + 1)
            mu = panel.X[fit_rows].mean(axis=0)
            sd = panel.X[fit_rows].std(axis=0)
            sd[sd == 0] = 1.0
            scaled[lo_b:hi_b] = (panel.X[lo_b:hi_b] - mu) / sd
            # The return is only divided by its sd, so H scaled steps sum back to a log return.
            scaled[lo_b:hi_b, ret] = panel.X[lo_b:hi_b, ret] / sd[ret]
            ret_sd[b] = sd[ret]
            # Training windows: inputs from W-1 rows before the first origin, targets up to
            # H rows after the last one (all before the fold's embargo ends).
            lo, hi = max(lo_b, int(mine.min()) - W + 1), min(hi_b, int(mine.max()) + H + 1)
            s, c = _darts_series(panel, scaled[:, order], b, lo, hi)
            series.append(s)
            covs.append(c)
        ordered = scaled[:, order]
        epochs = tc.epochs if k == 0 or not tc.warm_start else tc.warm_epochs
        model.fit(series, past_covariates=covs, epochs=epochs, verbose=False)
        test = rows.test
        inputs, in_covs = [], []
        for r in test:
            b = int(panel.ticker_id[r])
            lo_b = int(panel.offsets[b])
            lo = max(lo_b, int(r) - W + 1)
            s, c = _darts_series(panel, ordered, b, lo, int(r) + 1)
            inputs.append(s)
            in_covs.append(c)
        preds = model.predict(
            n=H, series=inputs, past_covariates=in_covs, verbose=False, show_warnings=False
        )
        for r, p in zip(test, preds, strict=True):
            steps = p.values().reshape(-1)[:H] * ret_sd[int(panel.ticker_id[r])]
            y_pred.append(np.cumsum(steps))
            y_true.append(panel.Y[int(r)])
            horizons.append(np.arange(1, H + 1))
        fold_s.append(time.perf_counter() - f0)
    seconds = time.perf_counter() - t0
    table = mae_table(np.concatenate(y_true), np.concatenate(y_pred), np.concatenate(horizons))
    counted = int(sum(p.numel() for p in model.model.parameters() if p.requires_grad))
    return {
        "seconds": seconds,
        "import_s": import_s,
        "fold_s": fold_s,
        "mae": table,
        "n_forecasts": int(sum(len(h) for h in horizons)),
        "hidden_dim": hidden,
        "params": counted,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def child_torch_same_network(seed: int) -> dict[str, Any]:
    """The torch reference of the demo network, with its MAE table."""
    from bench.peer_torch import child_torch

    out = child_torch(layout, seed)
    out["mae"] = mae_table(out.pop("y_true"), out.pop("y_pred"), out["horizons"])
    out["n_forecasts"] = len(out.pop("horizons"))
    return out
