"""Results out: run directories and the run index, the model registry, the ledger, the report server."""
