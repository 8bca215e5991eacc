"""The stacked, masked, (bi)directional LSTM/GRU regressor built from a ``ModelConfig``.

Layer names are fixed so that gradient norms and summaries can be read per layer:
``x`` (input), ``mask`` (Masking), ``rnn_0`` .. ``rnn_{n-1}`` (recurrent, each possibly a
``Bidirectional`` wrapper), ``between_1`` .. (Dropout before ``rnn_i``), ``head`` (attention
pooling, attention head only), ``dense`` (optional hidden Dense) and ``out`` (float32 Dense).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops
from stackcast.models.cells import GRU
from stackcast.models.config import LayerConfig, ModelConfig
from stackcast.models.initial_weights import built_together
from stackcast.models.seeding import keep_tensorflow_unloaded

# Bidirectional copies its layers through Keras' serializer, which would import TensorFlow on
# another backend (seconds per process); see keep_tensorflow_unloaded.
keep_tensorflow_unloaded()

_CELLS = {"lstm": keras.layers.LSTM, "gru": GRU}
# Score given to masked steps before the softmax. exp(-1e9 - max) underflows to exactly 0 in
# float32, so masked steps get exactly zero weight (as with -inf), while a row that is masked
# everywhere (never produced by the feature windows) degrades to uniform weights, not NaN.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="stackcast")
class MaskedAttentionPooling(keras.layers.Layer):
    """Additive attention pooling over time that honours the sequence mask.

    ``score_t = v . tanh(W h_t + b)``; masked steps get zero weight; output ``sum_t a_t h_t``.
    The softmax runs in float32 whatever the layer's compute dtype (mixed precision safe).

    Args:
        units: Width of the scoring projection; ``None`` uses the input feature size.
        **kwargs: Standard layer arguments (name, dtype, ...).
    """

    def __init__(self, units: int | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if units is not None and int(units) <= 0:
            raise ValueError(f"attention units must be positive, got {units}")
        self.units = None if units is None else int(units)
        self.seed = seed
        self.supports_masking = True

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create W, b and v for an input of shape ``(batch, time, features)``."""
        dim = int(input_shape[-1])
        units = self.units or dim
        self.w = self.add_weight(
            name="w", shape=(dim, units), initializer=_initializer("glorot_uniform", self.seed)
        )
        self.b = self.add_weight(name="b", shape=(units,), initializer="zeros")
        seed_v = None if self.seed is None else self.seed + 1
        self.v = self.add_weight(
            name="v", shape=(units, 1), initializer=_initializer("glorot_uniform", seed_v)
        )

    def call(self, inputs: Any, mask: Any = None) -> Any:
        """Pool ``inputs`` [B, T, D] to [B, D] with attention weights that skip masked steps."""
        hidden = ops.tanh(ops.matmul(inputs, self.w) + self.b)
        scores = ops.cast(ops.squeeze(ops.matmul(hidden, self.v), axis=-1), "float32")
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, _MASKED_SCORE)
        weights = ops.softmax(scores, axis=-1)
        weights = ops.cast(ops.expand_dims(weights, axis=-1), inputs.dtype)
        return ops.sum(weights * inputs, axis=1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """The pooled output has no time axis, so no mask."""
        return None

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """``(batch, features)``."""
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        """Serializable configuration (units, seed)."""
        config = super().get_config()
        config.update({"units": self.units, "seed": self.seed})
        return config


def _initializer(name: str, seed: int | None) -> keras.initializers.Initializer:
    """A Keras initializer by name, seeded when ``seed`` is given and the initializer is random."""
    init = keras.initializers.get(name)
    if seed is not None and "seed" in init.get_config():
        init = init.__class__.from_config({**init.get_config(), "seed": int(seed)})
    return init


def _validated(config: ModelConfig | dict[str, Any]) -> ModelConfig:
    """``config`` checked by its own constraints (a ``model_construct`` copy is re-checked)."""
    data = config if isinstance(config, dict) else config.model_dump()
    return ModelConfig.model_validate(data)


def _recurrent(
    cell: str,
    lc: LayerConfig,
    config: ModelConfig,
    *,
    return_sequences: bool,
    go_backwards: bool,
    name: str,
    seed: int | None,
    dtype: str,
) -> keras.layers.Layer:
    kwargs: dict[str, Any] = {}
    if keras.backend.backend() == "jax":
        # Our inputs always carry a mask, which disables cuDNN on JAX anyway; keras 3.15's
        # JAX cuDNN LSTM also misaligns go_backwards + return_sequences + dropout (measured).
        kwargs["use_cudnn"] = False
    return _CELLS[cell](
        lc.units,
        activation=lc.activation,
        recurrent_activation=lc.recurrent_activation,
        kernel_initializer=_initializer(config.kernel_initializer, seed),
        recurrent_initializer=_initializer(
            config.recurrent_initializer, None if seed is None else seed + 1
        ),
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        seed=None if seed is None else seed + 2,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        name=name,
        dtype=dtype,
        **kwargs,
    )


def build_model(
    config: ModelConfig | dict[str, Any],
    n_features: int,
    window: int | None,
    horizons: int,
    mask_value: float = -10.0,
    *,
    seed: int | None = 0,
    dtype_policy: str | None = None,
) -> keras.Model:
    """Build the Functional recurrent regressor described by ``config``.

    Args:
        config: Architecture (``ModelConfig`` or a dict of its fields).
        n_features: Input features per time step.
        window: Time steps per window; ``None`` builds a model that accepts any length.
        horizons: Outputs (one log return per horizon).
        mask_value: Input value marking padded steps (``features.windows`` right-pads with it).
        seed: Seeds every initializer and dropout layer: the same seed gives the same initial
            weights in any process (the default 0 keeps runs reproducible); ``None`` draws
            from Keras' global RNG instead (``keras.utils.set_random_seed``).
        dtype_policy: ``"float32"``, ``"mixed_float16"``, ...; ``None`` uses Keras' global
            policy. The output layer is always float32.

    Returns:
        An uncompiled ``keras.Model`` mapping ``[batch, window, n_features]`` to
        ``[batch, horizons]``.

    Raises:
        ValueError: invalid config (pydantic's ``ValidationError``) or sizes.
    """
    config = _validated(config)
    if int(n_features) < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    if window is not None and int(window) < 1:
        raise ValueError(f"window must be >= 1 or None, got {window}")
    if int(horizons) < 1:
        raise ValueError(f"horizons must be >= 1, got {horizons}")
    policy = dtype_policy or keras.config.dtype_policy().name
    args = (config, int(n_features), window, int(horizons), float(mask_value), seed, policy)
    if seed is None:  # initializers draw from Keras' global RNG: created one by one
        return _assemble(*args)
    # Seeded initializers are pure: on JAX every initial weight comes from one compiled
    # program instead of dozens (the same values; see initial_weights).
    return built_together(lambda: _assemble(*args))


def _assemble(
    config: ModelConfig,
    n_features: int,
    window: int | None,
    horizons: int,
    mask_value: float,
    seed: int | None,
    policy: str,
) -> keras.Model:
    """``build_model``'s layers, on checked arguments."""

    def sub_seed(k: int) -> int | None:
        return None if seed is None else int(seed) * 1000 + 10 * k

    inputs = keras.Input(shape=(window, n_features), name="x", dtype="float32")
    h = keras.layers.Masking(mask_value=mask_value, name="mask", dtype=policy)(inputs)
    n = len(config.layers)
    for i, lc in enumerate(config.layers):
        if i > 0 and config.between_dropout > 0:
            h = keras.layers.Dropout(
                config.between_dropout, seed=sub_seed(90 + i), name=f"between_{i}", dtype=policy
            )(h)
        return_sequences = i < n - 1 or config.head == "attention"
        common = {"return_sequences": return_sequences, "dtype": policy}
        if lc.bidirectional:
            fwd = _recurrent(
                lc.cell, lc, config, go_backwards=False, name=f"rnn_{i}",
                seed=sub_seed(2 * i), **common,
            )  # fmt: skip
            bwd = _recurrent(
                lc.backward_cell or lc.cell, lc, config, go_backwards=True,
                name=f"backward_rnn_{i}", seed=sub_seed(2 * i + 1), **common,
            )  # fmt: skip
            layer = keras.layers.Bidirectional(
                fwd, backward_layer=bwd, merge_mode=config.merge_mode, name=f"rnn_{i}", dtype=policy
            )
        else:
            layer = _recurrent(
                lc.cell, lc, config, go_backwards=False, name=f"rnn_{i}",
                seed=sub_seed(2 * i), **common,
            )  # fmt: skip
        h = layer(h)
    if config.head == "attention":
        h = MaskedAttentionPooling(seed=sub_seed(80), name="head", dtype=policy)(h)
    if config.dense_units > 0:
        h = keras.layers.Dense(
            config.dense_units,
            activation="relu",
            kernel_initializer=_initializer(config.kernel_initializer, sub_seed(81)),
            name="dense",
            dtype=policy,
        )(h)
    outputs = keras.layers.Dense(
        horizons,
        kernel_initializer=_initializer(config.kernel_initializer, sub_seed(82)),
        name="out",
        dtype="float32",
    )(h)
    return keras.Model(inputs, outputs, name="stackcast_rnn")


def layer_groups(model: keras.Model) -> list[str]:
    """Names of the model's top-level layers that own trainable weights, in order."""
    return [layer.name for layer in model.layers if layer.trainable_weights]
