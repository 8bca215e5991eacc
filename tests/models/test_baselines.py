import numpy as np
from sklearn.linear_model import Ridge
from stackcast.models.baselines import RidgeBaseline, drift


def test_drift_values():
    out = drift(np.array([0.01, -0.02]), 3)
    np.testing.assert_allclose(out, [[0.01, 0.02, 0.03], [-0.02, -0.04, -0.06]])


def test_streamed_ridge_equals_sklearn_on_full_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5, 3))
    y = x[:, -1, :2] @ np.array([[0.5, -1.0], [0.2, 0.3]]) + 0.1 + rng.normal(0, 0.01, (200, 2))
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 200, 32)]
    ours = RidgeBaseline(alpha=0.5).fit(batches)
    ref = Ridge(alpha=0.5).fit(x.reshape(200, -1), y)
    pred = ours.predict([x[i : i + 50] for i in range(0, 200, 50)])
    np.testing.assert_allclose(pred, ref.predict(x.reshape(200, -1)), atol=1e-8)
