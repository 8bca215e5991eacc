"""build_model: every cell combination builds and trains; masking; invalid configs."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.network import MaskedAttentionPooling, build_model, layer_groups

from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, Batches, make_data

L = LayerConfig
COMBOS = {
    # name: (config, build kwargs, train overrides)
    "lstm-concat": (ModelConfig(layers=(L(cell="lstm", units=4),), merge_mode="concat"), {}, {}),
    "gru-sum-recdrop": (
        ModelConfig(layers=(L(cell="gru", units=4),), merge_mode="sum", recurrent_dropout=0.1),
        {},
        {},
    ),
    "per-layer-ave": (
        ModelConfig(
            layers=(
                L(cell="gru", units=4, bidirectional=False),
                L(cell="lstm", units=3, bidirectional=False),
            ),
            merge_mode="ave",
            dense_units=5,
        ),
        {},
        {},
    ),
    "per-direction-mul-attention-fp16": (
        ModelConfig(
            layers=(L(cell="lstm", units=4, backward_cell="gru"),),
            merge_mode="mul",
            head="attention",
        ),
        {"dtype_policy": "mixed_float16"},
        {"mixed_precision": "on"},
    ),
    "unidirectional-relu": (
        ModelConfig(layers=(L(cell="lstm", units=4, bidirectional=False, activation="relu"),)),
        {},
        {},
    ),
    "attention": (
        ModelConfig(layers=(L(cell="gru", units=4, backward_cell="lstm"),), head="attention"),
        {},
        {},
    ),
}


@pytest.mark.parametrize("name", list(COMBOS))
def test_every_combination_builds_and_trains(name: str, caplog: pytest.LogCaptureFixture) -> None:
    from stackcast.models.training import train

    config, build_kwargs, overrides = COMBOS[name]
    x, y = make_data(32)
    model = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=1, **build_kwargs)
    assert model.output_shape == (None, HORIZONS)
    assert model.get_layer("out").dtype_policy.name == "float32"
    source = Batches(x, y, 16)
    tc = TrainConfig(epochs=1, batch_size=16, **overrides)
    with caplog.at_level(logging.WARNING, logger="stackcast.models.training"):
        result = train(model, source, None, tc, run_eagerly=True)
    assert result.epochs_run == 1 and np.isfinite(result.history["loss"]).all()
    assert source.epochs_ended >= 1  # on_epoch_end reached the source
    out = keras.ops.convert_to_numpy(model(x[:5]))
    assert out.shape == (5, HORIZONS) and out.dtype == np.float32 and np.isfinite(out).all()
    groups = [k.split("/")[1] for k in result.history if k.endswith("/mean")]
    assert set(layer_groups(model)) <= set(groups)
    if name == "per-direction-mul-attention-fp16":
        assert result.dtype_policy == "mixed_float16"
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert np.isfinite(result.history["grad_norm/rnn_0/mean"]).all()
    # Config choices that keep cuDNN off are warned about (result and logging).
    if name == "gru-sum-recdrop":
        assert any("recurrent_dropout=0.1" in w for w in result.warnings)
        assert "cuDNN disabled for rnn_0" in caplog.text
    elif name == "unidirectional-relu":
        assert any("activation='relu'" in w for w in result.warnings)
    else:
        assert not any("cuDNN" in w for w in result.warnings)


def test_layer_names_and_return_sequences() -> None:
    config = ModelConfig(
        layers=(L(cell="lstm", units=4), L(cell="gru", units=3), L(cell="lstm", units=2)),
        dense_units=4,
    )
    model = build_model(config, FEATURES, WINDOW, HORIZONS)
    names = [layer.name for layer in model.layers]
    for expected in ("x", "mask", "rnn_0", "between_1", "rnn_1", "between_2", "rnn_2", "dense"):
        assert expected in names
    assert names[-1] == "out"
    assert model.get_layer("rnn_0").return_sequences
    assert model.get_layer("rnn_1").return_sequences
    assert not model.get_layer("rnn_2").return_sequences
    assert model.get_layer("rnn_0").output.shape == (None, WINDOW, 8)  # concat of 2 x 4
    bwd = model.get_layer("rnn_1").backward_layer
    assert bwd.go_backwards and bwd.return_sequences


def test_backward_cell_is_a_real_backward_layer() -> None:
    model = build_model(
        ModelConfig(layers=(L(cell="lstm", units=3, backward_cell="gru"),)), FEATURES, WINDOW, 1
    )
    bi = model.get_layer("rnn_0")
    assert isinstance(bi, keras.layers.Bidirectional)
    assert isinstance(bi.forward_layer, keras.layers.LSTM)
    assert isinstance(bi.backward_layer, keras.layers.GRU)
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


def test_same_seed_same_weights_and_directions_differ() -> None:
    config = ModelConfig(layers=(L(cell="lstm", units=3),))
    a = build_model(config, FEATURES, WINDOW, HORIZONS, seed=3)
    b = build_model(config, FEATURES, WINDOW, HORIZONS, seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    bi = a.get_layer("rnn_0")
    fwd_kernel = bi.forward_layer.cell.kernel.numpy()
    assert not np.allclose(fwd_kernel, bi.backward_layer.cell.kernel.numpy())


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (ModelConfig.model_construct(layers=()), "at least one recurrent layer"),
        (
            ModelConfig.model_construct(
                **{
                    **ModelConfig().__dict__,
                    "layers": (
                        L.model_construct(
                            **{**L().__dict__, "bidirectional": False, "backward_cell": "gru"}
                        ),
                    ),
                }
            ),
            r"backward_cell='gru' needs bidirectional",
        ),
        (
            ModelConfig.model_construct(
                **{
                    **ModelConfig().__dict__,
                    "layers": (L.model_construct(**{**L().__dict__, "cell": "rnn", "units": 4}),),
                }
            ),
            "Input should be 'lstm' or 'gru'",
        ),
        (
            ModelConfig.model_construct(
                **{
                    **ModelConfig().__dict__,
                    "layers": (L.model_construct(**{**L().__dict__, "cell": "gru", "units": 0}),),
                }
            ),
            r"greater than 0",
        ),
    ],
)
def test_invalid_configs_raise_value_error(config: ModelConfig, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_model(config, FEATURES, WINDOW, HORIZONS)


def test_invalid_sizes_raise_value_error() -> None:
    with pytest.raises(ValueError, match="horizons"):
        build_model(ModelConfig(), FEATURES, WINDOW, 0)
    with pytest.raises(ValueError, match="n_features"):
        build_model(ModelConfig(), 0, WINDOW, 1)


@pytest.mark.parametrize("head", ["last", "attention"])
def test_right_padding_gives_the_unpadded_prediction(head: str) -> None:
    config = ModelConfig(
        layers=(L(cell="gru", units=5, backward_cell="lstm"), L(cell="lstm", units=4)),
        head=head,
    )
    fixed = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=11)
    free = build_model(config, FEATURES, None, HORIZONS, MASK, seed=11)
    rng = np.random.default_rng(5)
    for n in (2, 4, WINDOW):
        seq = rng.normal(size=(1, n, FEATURES)).astype(np.float32)
        padded = np.full((1, WINDOW, FEATURES), MASK, dtype=np.float32)
        padded[:, :n] = seq
        unpadded_out = free(seq, training=False).numpy()
        np.testing.assert_allclose(free(padded).numpy(), unpadded_out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fixed(padded).numpy(), unpadded_out, rtol=1e-5, atol=1e-6)


def test_attention_ignores_masked_steps_and_serializes() -> None:
    layer = MaskedAttentionPooling(units=3, seed=0)
    h = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    out = layer(h, mask=mask).numpy()
    garbage = h.copy()
    garbage[0, 2:] = 1e3  # masked steps must not matter, however large
    np.testing.assert_allclose(layer(garbage, mask=mask).numpy(), out, rtol=1e-6)
    np.testing.assert_allclose(out[0], layer(h[:1, :2]).numpy()[0], rtol=1e-5, atol=1e-6)
    clone = MaskedAttentionPooling.from_config(layer.get_config())
    assert clone.units == 3 and clone.seed == 0
    assert keras.saving.get_registered_object("stackcast>MaskedAttentionPooling") is not None
