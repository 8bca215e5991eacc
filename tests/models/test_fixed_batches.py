"""Fixed training batch shapes: padding rows at sample weight 0 on TensorFlow and JAX."""

from __future__ import annotations

import importlib.util
import textwrap

import keras
import numpy as np
import pytest
import stackcast.models.training as training
from stackcast.models.batches import (
    WEIGHTED_REDUCTION,
    BatchAdapter,
    count_weighted_rows,
    fixed_batch_rows,
    keras_input,
    pad_batch,
)
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.losses import MaskedLoss
from stackcast.models.network import build_model

from tests.conftest import run_on_jax
from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, Batches, make_data

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's static batch pipeline"
)


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


@tensorflow_only
def test_tensorflow_reads_padded_batches_through_a_static_pipeline() -> None:
    x, y = make_data(20)
    assert fixed_batch_rows(Batches(x, y, 8), x[:8]) == 8
    adapter = BatchAdapter(Batches(x, y, 8), shuffle=True, seed=2, rows=8)
    data = keras_input(adapter, (x[:8], y[:8]))
    assert [tuple(s.shape) for s in data.element_spec] == [
        (8, WINDOW, FEATURES), (8, HORIZONS), (8,)
    ]  # fmt: skip
    assert int(data.cardinality()) == 3
    adapter.start_epoch(0)
    for got, want in zip(data, (adapter[i] for i in range(3)), strict=True):
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a.numpy(), b)
    plain = BatchAdapter(Batches(x, y, 8))
    assert keras_input(plain, (x[:8], y[:8])) is plain


LAYERS = (LayerConfig(cell="lstm", units=4, backward_cell="gru"),)
DROPOUT = ModelConfig(layers=LAYERS, head="attention")
PLAIN = ModelConfig(layers=LAYERS, head="attention", dropout=0.0, between_dropout=0.0)


def _fit(config: ModelConfig, n: int, pad: bool) -> tuple[dict, list, set, int]:
    """Train on ``n`` windows in batches of 16, padded or as they come.

    Returns the history, the weights, the input shapes the train step was traced for, and how
    often the source's epochs were ended (it reshuffles there).
    """
    x, y = make_data(72)
    y[3, 1] = np.nan  # an unknown horizon: masked in the loss
    source = Batches(x[:n], y[:n], 16)
    keep = training.fixed_batch_rows
    if not pad:
        training.fixed_batch_rows = lambda *a: None
    model = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=3)
    traced: set[tuple] = set()
    keras_step = model.train_step

    def train_step(data: tuple) -> dict:
        traced.add(tuple(data[0].shape))
        return keras_step(data)

    model.train_step = train_step
    try:
        result = training.train(model, source, None, TrainConfig(epochs=2, batch_size=16, seed=3))
    finally:
        training.fixed_batch_rows = keep
    return result.history, model.get_weights(), traced, source.epochs_ended


@tensorflow_only
def test_tensorflow_full_batches_train_to_the_same_bits_padded_or_not() -> None:
    h0, w0, traced0, ends0 = _fit(DROPOUT, 64, False)
    h1, w1, traced1, ends1 = _fit(DROPOUT, 64, True)
    assert traced0 == {(None, WINDOW, FEATURES)} and traced1 == {(16, WINDOW, FEATURES)}
    assert ends0 == ends1 == 3  # when fit starts and after each of the 2 epochs
    assert h0["loss"] == h1["loss"], (h0["loss"], h1["loss"])
    assert h0["grad_norm/all/mean"] == h1["grad_norm/all/mean"]
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))


@tensorflow_only
def test_tensorflow_short_last_batch_is_padded_and_the_loss_counts_real_rows() -> None:
    h0, w0, _, _ = _fit(PLAIN, 56, False)  # 3 batches of 16 and one of 8
    h1, w1, traced, _ = _fit(PLAIN, 56, True)
    assert traced == {(16, WINDOW, FEATURES)}
    assert np.allclose(h0["loss"], h1["loss"], rtol=1e-6, atol=0), (h0["loss"], h1["loss"])
    assert all(np.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(w0, w1, strict=True))


@tensorflow_only
def test_tensorflow_one_padded_step_has_the_short_batch_loss_and_gradient() -> None:
    x, y = make_data(5)

    def step(batch: tuple) -> tuple[float, list[np.ndarray]]:
        model = build_model(PLAIN, FEATURES, WINDOW, HORIZONS, MASK, seed=5)
        start = [w.copy() for w in model.get_weights()]
        count_weighted_rows(model)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1.0),
            loss=MaskedLoss("huber", reduction=WEIGHTED_REDUCTION),
        )
        loss = float(model.train_on_batch(*batch))
        return loss, [a - b for a, b in zip(start, model.get_weights(), strict=True)]

    short_loss, short_grad = step((x, y, np.ones(5, np.float32)))
    padded_loss, padded_grad = step(pad_batch(x, y, 16))
    assert abs(short_loss - padded_loss) <= 1e-7 * abs(short_loss), (short_loss, padded_loss)
    for a, b in zip(short_grad, padded_grad, strict=True):
        # the update is read back as a difference of weights: an ulp of a weight is 6e-8
        assert np.allclose(a, b, rtol=1e-5, atol=1e-7), float(np.abs(a - b).max())


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
