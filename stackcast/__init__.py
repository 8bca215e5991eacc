"""stackcast: forecast daily financial prices with masked, stacked, bidirectional RNNs.

The Python API runs the same workflow bodies as the command line and the Prefect flows::

    import stackcast

    frame = stackcast.sample_prices()                # or yours: date, ticker, close[, ...]
    cfg = stackcast.RunConfig.model_validate({"backtest": {"folds": 2}})
    result = stackcast.backtest(cfg, prices=frame)
    result.forecasts, result.metrics                 # DataFrame, dict (model, baselines)
    model = stackcast.train(cfg, frame)
    model.forecast(frame)                            # the next H forecasts per ticker

Bad input raises ``stackcast.StackcastError`` with the message the CLI prints after
``error:``: a bad file, frame or model directory, and a bad configuration, whether loaded
(``load_config``), built (``RunConfig(...)``, ``RunConfig.model_validate``) or passed as a
dict. Installed sub-packages: ``stackcast.features``, ``stackcast.models``,
``stackcast.reports`` (pure) and ``stackcast.pipeline`` (every side effect).
"""

from __future__ import annotations

# Load curl_cffi's libcurl before anything can import TensorFlow: TensorFlow exports libcurl
# symbols of its own, and a curl_cffi loaded after it binds to them and fails every request
# ("curl: (48) An unknown option was passed in to libcurl"). Every entry point (CLI, flows,
# serve, the API) imports this package first; tests/test_libcurl_order.py checks the order.
import curl_cffi  # noqa: F401

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": "stackcast.pipeline.config",
    "load_config": "stackcast.pipeline.config",
    "StackcastError": "stackcast.pipeline.errors",
    "backtest": "stackcast.pipeline.api",
    "train": "stackcast.pipeline.api",
    "load_model": "stackcast.pipeline.api",
    "sample_prices": "stackcast.pipeline.api",
    "BacktestResult": "stackcast.pipeline.api",
    "TrainedModel": "stackcast.pipeline.api",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    """Import the API's names on first use (``import stackcast`` stays light)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stackcast' has no attribute {name!r}")
