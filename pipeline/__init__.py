"""Everything with a side effect: config loading, sources, store, backtests, flows, CLI."""

__version__ = "0.1.0"
