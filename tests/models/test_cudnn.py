"""cudnn_eligibility: which layer/direction keeps the cuDNN kernel, and why not."""

from __future__ import annotations

import pytest
from stackcast.models.config import LayerConfig, ModelConfig
from stackcast.models.cudnn import cudnn_eligibility, cudnn_warnings, model_cudnn_eligibility

L = LayerConfig


def test_default_config_is_eligible_on_tensorflow() -> None:
    checks = cudnn_eligibility(ModelConfig(), backend="tensorflow")
    assert [(c.layer, c.direction) for c in checks] == [
        ("rnn_0", "forward"),
        ("rnn_0", "backward"),
        ("rnn_1", "forward"),
        ("rnn_1", "backward"),
    ]
    assert all(c.eligible and not c.reasons for c in checks)
    assert cudnn_warnings(checks) == []


def test_recurrent_dropout_disables_every_direction() -> None:
    checks = cudnn_eligibility(ModelConfig(recurrent_dropout=0.2), backend="tensorflow")
    assert not any(c.eligible for c in checks)
    assert all("recurrent_dropout=0.2 > 0" in c.reasons for c in checks)
    assert len(cudnn_warnings(checks)) == 4


def test_activation_changes_are_per_layer() -> None:
    config = ModelConfig(
        layers=(
            L(cell="lstm", units=4, activation="relu"),
            L(cell="gru", units=4, recurrent_activation="hard_sigmoid", bidirectional=False),
            L(cell="lstm", units=4),
        )
    )
    checks = {(c.layer, c.direction): c for c in cudnn_eligibility(config, backend="tensorflow")}
    assert "activation='relu' (cuDNN needs 'tanh')" in checks["rnn_0", "backward"].reasons
    gru_reasons = checks["rnn_1", "forward"].reasons
    assert any("recurrent_activation='hard_sigmoid'" in r for r in gru_reasons)
    assert ("rnn_1", "backward") not in checks
    assert checks["rnn_2", "forward"].eligible


def test_left_padding_disables_tensorflow_cudnn() -> None:
    checks = cudnn_eligibility(ModelConfig(), padding="left", backend="tensorflow")
    assert all(not c.eligible and "left-padded" in c.reasons[0] for c in checks)
    assert all(c.eligible for c in cudnn_eligibility(ModelConfig(), "none", "tensorflow"))


def test_jax_rules_mask_and_gru() -> None:
    config = ModelConfig(layers=(L(cell="gru", units=4, backward_cell="lstm"),))
    gru, lstm = cudnn_eligibility(config, backend="jax")
    assert not gru.eligible and not lstm.eligible
    assert "the JAX backend has no cuDNN GRU" in gru.reasons
    assert "the JAX backend has no cuDNN GRU" not in lstm.reasons
    assert any("masked inputs" in r for r in lstm.reasons)
    # Backend limits are not configuration problems: nothing to warn about.
    assert cudnn_warnings([gru, lstm]) == []
    assert gru.to_json()["config_reasons"] == []


def test_unroll_and_bad_padding() -> None:
    assert all("unroll=True" in c.reasons for c in cudnn_eligibility(ModelConfig(), unroll=True))
    with pytest.raises(ValueError, match="padding"):
        cudnn_eligibility(ModelConfig(), padding="middle")  # type: ignore[arg-type]


def test_model_eligibility_matches_config_eligibility() -> None:
    from stackcast.models.network import build_model

    config = ModelConfig(
        layers=(L(cell="lstm", units=3, backward_cell="gru", activation="relu"), L(units=2)),
        recurrent_dropout=0.1,
    )
    model = build_model(config, 3, 5, 1)
    from_model = model_cudnn_eligibility(model, backend="tensorflow")
    from_config = cudnn_eligibility(config, backend="tensorflow")
    assert [c.to_json() for c in from_model] == [c.to_json() for c in from_config]
    assert "rnn_0 backward (gru): cuDNN off" in from_model[1].describe()
