"""Results out: run directories and their index, the model registry, the ledger, report server."""
