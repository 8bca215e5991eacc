"""The demo's network written in torch (fused ``nn.GRU``/``nn.LSTM``): the same-network peer.

``fold_windows`` builds, per fold, exactly the windows stackcast's forecaster trains on and
forecasts from (its held-out split, fold scaler and right-padded windows), as arrays; the
torch side trains the demo network on them with the demo's schedule (``epochs`` on the first
fold, ``warm_epochs`` more per later fold from the previous weights, batch ``batch_size``,
Adam, the masked Huber loss) and forecasts the test origins. No early stopping, no intervals:
its time is training and point forecasts only. ``fold_windows`` and the config helpers need
no torch; ``child_torch`` does (the ``peer`` extra).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def fold_windows(panel: Any, rows: Any, cfg: Any, fold: int) -> dict[str, Any]:
    """The fold's training and test windows as stackcast's ``RNNForecaster.fit`` makes them.

    Returns:
        ``x_train [N, L, F]``, ``y_train [N, H]`` (scaled, NaN where unknown), ``x_test``,
        ``mask_test`` / ``mask_train`` (``[N, L]`` valid steps) and ``inverse`` (scaled
        forecasts of the test origins -> log returns).
    """
    from stackcast.features.scaling import FoldScaler
    from stackcast.models.rnn import held_out_masks, scaler_rows

    fc, tc = cfg.features, cfg.train
    fit_mask, val_mask, cal_mask, _ = held_out_masks(panel.dates[rows.train], tc, fc.horizons)
    tr = rows.train[fit_mask]
    held = np.concatenate([rows.train[val_mask], rows.train[cal_mask]])
    scaler = FoldScaler.fit_panel(panel, scaler_rows(panel, rows.fit_rows, held), fc)
    Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
    Ys = scaler.transform_targets(panel.Y, panel.ticker_id)

    def stack(origins: np.ndarray, targets: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        batches = panel.batches(origins, tc.batch_size, X=Xs, targets=targets)
        items = [batches[i] for i in range(len(batches))]
        xs = [np.asarray(b[0] if isinstance(b, tuple | list) else b) for b in items]
        ys = [np.asarray(b[1]) for b in items] if targets is not None else None
        return np.concatenate(xs), None if ys is None else np.concatenate(ys)

    x_train, y_train = stack(tr, Ys[tr])
    x_test = stack(rows.test)[0]
    tid = panel.ticker_id[rows.test]
    return {
        "x_train": x_train.astype(np.float32),
        "y_train": y_train.astype(np.float32),
        "x_test": x_test.astype(np.float32),
        "mask_train": np.any(x_train != fc.mask_value, axis=-1),
        "mask_test": np.any(x_test != fc.mask_value, axis=-1),
        "inverse": lambda scaled: scaler.inverse_targets(scaled, tid),
        "seed": tc.seed + fold,
    }


def darts_network_config(cfg: Any, hidden: int) -> Any:
    """``cfg`` with darts' BlockRNN network: one unidirectional LSTM layer, ``last`` head.

    darts' ``BlockRNNModel`` with ``dropout=0`` maps the last hidden state through one linear
    layer; stackcast's closest network is one forward LSTM of the same width, no dropout, the
    ``last`` head. Everything else (folds, schedule, intervals, baselines, report) is kept.
    """
    model = cfg.model.model_validate(
        {
            **cfg.model.model_dump(),
            "layers": [{"cell": "lstm", "units": int(hidden), "bidirectional": False}],
            "head": "last",
            "dropout": 0.0,
            "between_dropout": 0.0,
            "dense_units": 0,
        }
    )
    return cfg.model_copy(update={"model": model})


def _network(torch: Any, cfg: Any, n_features: int) -> Any:
    """The demo network: its layers as ``[model]`` lists them, attention or last head."""
    nn = torch.nn
    mc, fc = cfg.model, cfg.features

    def cell(kind: str, inputs: int, units: int) -> Any:
        return (nn.LSTM if kind == "lstm" else nn.GRU)(inputs, units, batch_first=True)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fwd, self.bwd = nn.ModuleList(), nn.ModuleList()
            width = n_features
            for layer in mc.layers:
                self.fwd.append(cell(layer.cell, width, layer.units))
                if layer.bidirectional:
                    back = layer.backward_cell or layer.cell
                    self.bwd.append(cell(back, width, layer.units))
                else:
                    self.bwd.append(nn.Identity())
                width = layer.units * (2 if layer.bidirectional else 1)
            self.drop_in = nn.Dropout(mc.dropout)
            self.drop_between = nn.Dropout(mc.between_dropout)
            self.score = nn.Linear(width, width)
            self.v = nn.Linear(width, 1, bias=False)
            self.out = nn.Linear(width, fc.horizons)

        def forward(self, x: Any, mask: Any) -> Any:
            h = x
            for i, (f, b) in enumerate(zip(self.fwd, self.bwd, strict=True)):
                h = self.drop_in(h) if i == 0 else self.drop_between(h)
                seq = f(h)[0]
                if not isinstance(b, nn.Identity):
                    back = torch.flip(b(torch.flip(h, [1]))[0], [1])
                    seq = torch.cat([seq, back], dim=-1)
                h = seq
            if mc.head == "last":
                last = mask.long().sum(1).clamp(min=1) - 1
                return self.out(h[torch.arange(len(h)), last])
            e = self.v(torch.tanh(self.score(h))).squeeze(-1)
            e = e.masked_fill(~mask, float("-inf"))
            w = torch.softmax(e, dim=1).unsqueeze(-1)
            return self.out((w * h).sum(1))

    return Net()


def _masked_huber(torch: Any, pred: Any, y: Any) -> Any:
    """stackcast's masked Huber loss (delta 1): per sample over known targets, batch mean."""
    known = ~torch.isnan(y)
    err = torch.where(known, pred, 0.0) - torch.where(known, y, 0.0)
    a = err.abs()
    per = torch.where(a <= 1.0, 0.5 * err**2, a - 0.5) * known
    return (per.sum(-1) / known.sum(-1).clamp(min=1)).mean()


def child_torch(layout: Any, seed: int) -> dict[str, Any]:
    """Train and forecast the demo network in torch over the demo's folds (imports timed apart)."""
    t0 = time.perf_counter()
    # The window code (``fold_windows``) imports stackcast's model modules, and with them
    # Keras: loaded here, outside the span, and reported apart from torch's own import.
    import stackcast.models.rnn  # noqa: F401
    from stackcast.models.engine import fold_rows

    keras_import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    import torch

    import_s = time.perf_counter() - t0
    cfg, panel, splits = layout()
    tc = cfg.train
    y_true, y_pred, horizons = [], [], []
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    net = _network(torch, cfg, len(panel.feature_names))
    opt = torch.optim.Adam(net.parameters(), lr=tc.learning_rate)
    for k, split in enumerate(splits):
        rows = fold_rows(panel, split)
        w = fold_windows(panel, rows, cfg, k)
        x, y = torch.from_numpy(w["x_train"]), torch.from_numpy(w["y_train"])
        m = torch.from_numpy(w["mask_train"])
        epochs = tc.epochs if k == 0 or not tc.warm_start else tc.warm_epochs
        rng = np.random.default_rng(w["seed"])
        net.train()
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(x)))
            for start in range(0, len(x), tc.batch_size):
                idx = order[start : start + tc.batch_size]
                opt.zero_grad()
                loss = _masked_huber(torch, net(x[idx], m[idx]), y[idx])
                loss.backward()
                if tc.clipnorm:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), tc.clipnorm)
                opt.step()
        net.eval()
        with torch.no_grad():
            scaled = net(torch.from_numpy(w["x_test"]), torch.from_numpy(w["mask_test"]))
        y_pred.append(w["inverse"](scaled.numpy().astype(np.float64)).reshape(-1))
        y_true.append(panel.Y[rows.test].reshape(-1))
        horizons.append(np.tile(np.arange(1, panel.horizons + 1), len(rows.test)))
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "import_s": import_s,
        "keras_import_s": keras_import_s,
        "y_true": np.concatenate(y_true),
        "y_pred": np.concatenate(y_pred),
        "horizons": np.concatenate(horizons),
        "params": int(sum(p.numel() for p in net.parameters())),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
