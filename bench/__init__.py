"""stackcast benchmarks: ``python -m bench`` (``make bench``) runs them all.

Every figure is a ratio of two variants measured side by side in the same run (interleaved
repetitions, median reported); each measurement is one JSON line on stdout, also appended to
``bench/results.jsonl`` with the machine it ran on. See ``bench/__main__.py`` for the options
and ``bench/README.md`` for the latest figures.

Importing this package imports nothing heavy (benchmarks import TensorFlow only when run).
"""

# name -> (module, one-line description); run in this order.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "windowing": (
        "bench.memory_windows",
        "lazy WindowBatches vs a seed-style Python loop: time and peak memory (MSFT, window 60)",
    ),
    "throughput": (
        "bench.train_throughput",
        "training samples/s: default model vs seed-style Sequential BiLSTM; monitor on/off",
    ),
    "backtest": (
        "bench.backtest_warm",
        "walk-forward backtest, warm start vs retrain from scratch: wall time and MAE",
    ),
    "fold_parallel": (
        "bench.fold_parallel",
        "backtest without warm start: folds in order vs on 2 local Dask worker processes",
    ),
    "covariates": (
        "bench.covariates",
        "demo backtest with each covariate / every extra input vs the default inputs: time, MAE",
    ),
    "forecasters": (
        "bench.forecasters",
        "demo backtest with LightGBM scored beside the RNN vs the default forecasters: time, MAE",
    ),
    "daily": (
        "bench.daily_run",
        "`stackcast run` for 10 tickers with a saved champion vs `import tensorflow`",
    ),
    "scale": (
        "bench.scale",
        "backtest of 10/100/400 synthetic tickers: time outside training, peak RSS, report size",
    ),
    "gpu": (
        "bench.gpu_keras_vs_torch",
        "GPU: Keras (JAX) default model vs a torch cuDNN reference (skipped without CUDA)",
    ),
}
