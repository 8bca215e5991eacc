"""Fixed training batch shapes: padding rows at sample weight 0 on JAX, nothing on TensorFlow."""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest
from stackcast.models.batches import BatchAdapter, fixed_batch_rows, pad_batch

from tests.conftest import run_on_jax
from tests.models.helpers import MASK, Batches, Trained, make_data


def test_pad_batch_fills_up_with_copies_of_its_own_windows_at_weight_zero() -> None:
    x, y = make_data(5)
    px, py, w = pad_batch(x, y, 12)
    assert px.shape == (12, *x.shape[1:]) and py.shape == (12, y.shape[1])
    assert w.dtype == np.float32 and w.tolist() == [1.0] * 5 + [0.0] * 7
    assert np.array_equal(px[:5], x) and np.array_equal(py[:5], y)
    for row in range(5, 12):  # every added row is one of the batch's real windows
        assert np.array_equal(px[row], x[(row - 5) % 5])
        assert np.array_equal(py[row], y[(row - 5) % 5])
    assert np.any(px != MASK, axis=-1).any(axis=1).all()  # no fully masked window added


def test_a_full_batch_comes_back_whole_with_weights_one() -> None:
    x, y = make_data(8)
    px, py, w = pad_batch(x, y, 8)
    assert px is x and py is y and w.tolist() == [1.0] * 8
    px, py, w = pad_batch(x, y, 4)  # longer than the fixed rows: kept whole
    assert len(px) == 8 and w.tolist() == [1.0] * 8


def test_adapter_pads_every_batch_and_checks_only_the_real_rows() -> None:
    x, y = make_data(20)
    y[18, 0] = np.inf  # in the short last batch
    adapter = BatchAdapter(Batches(x, y, 8), rows=8)
    adapter.start_epoch(0)
    shapes = {adapter[i][0].shape for i in range(len(adapter))}
    assert shapes == {(8, *x.shape[1:])}
    xs, ys, w = adapter[2]
    assert w.tolist() == [1.0] * 4 + [0.0] * 4
    assert np.array_equal(xs[:4], x[16:]) and np.array_equal(ys[:4], y[16:])
    assert adapter.nonfinite == {(0, 2)}
    assert len(BatchAdapter(Batches(x, y, 8))[2]) == 2  # no rows: (x, y) as given


def test_tensorflow_trains_on_batches_as_they_come(trained: Trained) -> None:
    x, _ = make_data(4)
    assert fixed_batch_rows(Batches(x, x, 16), x) is None
    # today's loss and epoch bookkeeping: Keras' own reduction, no trainer hook
    assert trained.model.loss.reduction == "sum_over_batch_size"
    assert "_update_metrics_variables" not in vars(trained.model)


JAX_SCRIPT = textwrap.dedent(
    """
    import json, logging
    import numpy as np
    import jax
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import stackcast.models.training as training
    from stackcast.models.batches import (
        WEIGHTED_REDUCTION, count_weighted_rows, fixed_batch_rows, pad_batch)
    from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
    from stackcast.models.losses import MaskedLoss
    from stackcast.models.network import build_model
    from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, Batches, make_data

    compiles = []
    class Count(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            if message.startswith("Compiling jit("):
                compiles.append(message.split(")")[0][len("Compiling jit("):])
    logging.getLogger("jax").addHandler(Count())
    jax.config.update("jax_log_compiles", True)

    x, y = make_data(72)
    y[3, 1] = np.nan  # an unknown horizon: masked in the loss
    layers = (LayerConfig(cell="lstm", units=4, backward_cell="gru"),)
    dropout = ModelConfig(layers=layers, head="attention")
    plain = ModelConfig(layers=layers, head="attention", dropout=0.0, between_dropout=0.0)
    tc = TrainConfig(epochs=2, batch_size=16, seed=3)
    assert fixed_batch_rows(Batches(x, y, 16), x[:16]) == 16

    def fit(config, n, pad):
        keep = training.fixed_batch_rows
        if not pad:
            training.fixed_batch_rows = lambda *a: None
        try:
            model = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=3)
            compiles.clear()
            result = training.train(model, (x[:n], y[:n]), None, tc)
            steps = compiles.count("train_step")
        finally:
            training.fixed_batch_rows = keep
        return result.history, model.get_weights(), steps

    # batches that need no padding: loss, gradients and updates bit-identical to no padding
    h0, w0, _ = fit(dropout, 64, False)
    h1, w1, _ = fit(dropout, 64, True)
    assert h0["loss"] == h1["loss"], (h0["loss"], h1["loss"])
    assert h0["grad_norm/all/mean"] == h1["grad_norm/all/mean"]
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))

    # a short last batch (8 of 16 rows): one compiled train step instead of two, and the
    # epoch loss is still the mean over the real rows
    h0, w0, steps0 = fit(plain, 56, False)
    h1, w1, steps1 = fit(plain, 56, True)
    assert (steps0, steps1) == (2, 1), (steps0, steps1)
    assert np.allclose(h0["loss"], h1["loss"], rtol=1e-6, atol=0), (h0["loss"], h1["loss"])
    assert all(np.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(w0, w1, strict=True))

    # one train step on a short batch, padded or not: same loss, same gradient (SGD, rate 1)
    def step(batch):
        model = build_model(plain, FEATURES, WINDOW, HORIZONS, MASK, seed=5)
        start = [w.copy() for w in model.get_weights()]
        count_weighted_rows(model)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0),
                      loss=MaskedLoss("huber", reduction=WEIGHTED_REDUCTION))
        loss = float(model.train_on_batch(*batch))
        return loss, [a - b for a, b in zip(start, model.get_weights(), strict=True)]

    xs, ys = x[:5], y[:5]
    short_loss, short_grad = step((xs, ys, np.ones(5, np.float32)))
    padded_loss, padded_grad = step(pad_batch(xs, ys, 16))
    assert abs(short_loss - padded_loss) <= 1e-7 * abs(short_loss), (short_loss, padded_loss)
    for a, b in zip(short_grad, padded_grad, strict=True):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-8), float(np.abs(a - b).max())
    print(json.dumps({"ok": True}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_trains_with_one_batch_shape_and_the_same_numbers() -> None:
    proc = run_on_jax(JAX_SCRIPT, cold=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert '"ok": true' in proc.stdout
