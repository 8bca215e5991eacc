"""predict: deterministic point forecasts and seeded Monte Carlo dropout bands."""

from __future__ import annotations

import numpy as np
import pytest
from stackcast.models.predict import predict, predict_blocks

from tests.models.helpers import HORIZONS, Batches, Trained


def test_mc_zero_is_the_deterministic_prediction(trained: Trained) -> None:
    x = trained.x[:20]
    mean, lo, hi = predict(trained.model, x, mc_samples=0, interval=0.8)
    np.testing.assert_allclose(mean, trained.model.predict(x, verbose=0), rtol=1e-6)
    assert mean.shape == (20, HORIZONS) and np.isnan(lo).all() and np.isnan(hi).all()


def test_mc_bands_are_seeded_ordered_and_batched(trained: Trained) -> None:
    x = trained.x[:20]
    batches = Batches(x, trained.y[:20], 8)  # (x, y) batches, last one short
    mean, lo, hi = predict(trained.model, batches, mc_samples=16, interval=0.8, seed=3)
    again = predict(trained.model, x, mc_samples=16, interval=0.8, seed=3)
    for a, b in zip((mean, lo, hi), again, strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same bands (batches or one array)
    assert mean.shape == lo.shape == hi.shape == (20, HORIZONS)
    assert np.all(lo <= mean) and np.all(mean <= hi) and np.all(hi - lo > 0)
    other = predict(trained.model, x, mc_samples=16, interval=0.8, seed=4)
    assert not np.allclose(other[1], lo)
    wider = predict(trained.model, x, mc_samples=16, interval=0.95, seed=3)
    assert np.all(wider[2] - wider[1] >= hi - lo - 1e-7)


def test_mc_sampling_leaves_dropout_rng_untouched(trained: Trained) -> None:
    states = [v for v in trained.model.non_trainable_variables if "seed_generator" in v.path]
    before = [v.numpy().copy() for v in states]
    predict(trained.model, trained.x[:4], mc_samples=4, interval=0.5, seed=1)
    for v, b in zip(states, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), b)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mc_samples"):
        predict(None, np.zeros((1, 2, 3)), mc_samples=-1, interval=0.8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        predict(None, np.zeros((1, 2, 3)), mc_samples=2, interval=1.0)  # type: ignore[arg-type]


def test_point_forecasts_run_in_passes_of_one_fixed_shape(trained: Trained) -> None:
    """Any block is predicted in fixed-size passes (last padded), so a window's forecast does
    not depend on the block it comes with (a pass of another shape may round differently)."""
    from stackcast.models.predict import fixed_shape_outputs

    x = trained.x[:37]
    direct = np.asarray(trained.model.predict_on_batch(x))
    for rows in (8, 16, 64):
        out = fixed_shape_outputs(trained.model, x, rows)
        np.testing.assert_allclose(out, direct, rtol=1e-5, atol=1e-7)
        for n in (5, 16, 30):  # a smaller block: the same values, bit for bit
            np.testing.assert_array_equal(fixed_shape_outputs(trained.model, x[:n], rows), out[:n])
    shapes = []
    inner = trained.model.predict_on_batch
    trained.model.predict_on_batch = lambda b: shapes.append(b.shape) or inner(b)
    try:
        fixed_shape_outputs(trained.model, x, 16)
    finally:
        del trained.model.predict_on_batch
    assert shapes == [(16, *x.shape[1:])] * 3


@pytest.mark.parametrize("mc_samples", [0, 6])
def test_blocks_predicted_together_get_what_each_gets_alone(
    trained: Trained, mc_samples: int
) -> None:
    """One call over several blocks (one pass sequence): every block's forecasts and band
    are bit for bit those of a call of its own (each block's dropout RNG starts at ``seed``)."""
    blocks = [trained.x[:7], trained.x[:0], Batches(trained.x[5:30], trained.y[5:30], 8)]
    together = predict_blocks(trained.model, blocks, mc_samples, 0.8, seed=5)
    assert len(together) == 3 and together[1][0].shape == (0, HORIZONS)
    for block, got in zip(blocks, together, strict=True):
        alone = predict(trained.model, block, mc_samples, 0.8, seed=5)
        for a, b in zip(got, alone, strict=True):
            np.testing.assert_array_equal(a, b)
