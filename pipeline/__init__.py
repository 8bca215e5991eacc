"""Everything with a side effect, in sub-packages by concern.

- ``data``: sources (files, the bundled sample, Yahoo), validation, the price store, ingest;
- ``results``: run directories and the index, the model registry, the ledger, the report server;
- ``workflows``: backtest, train/retrain and the daily forecast, each written once;
- ``orchestration``: the Prefect tasks and flows over those workflows, artifacts, ``serve``;
- ``cli``: the ``stackcast`` command line.

``config``, ``errors`` and ``atomic`` are shared by all of them.
"""
