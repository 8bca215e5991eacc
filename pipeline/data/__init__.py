"""Data in: sources (files, the bundled sample, Yahoo), validation, the price store, ingest."""
