"""The ``stackcast`` command line: the root group (``app``) with every command registered on it.

``app`` defines the root group, the shared options and ``ingest``; ``commands`` (and ``sweep``)
registers the heavy commands on it. Importing this package (as the console script and
``python -m stackcast`` do) loads both.
"""

from stackcast.pipeline.cli import commands as _commands  # noqa: F401  (registers commands)
from stackcast.pipeline.cli import filecheck as _filecheck  # noqa: F401  (registers commands)
from stackcast.pipeline.cli import inspect as _inspect  # noqa: F401  (registers commands)
from stackcast.pipeline.cli import sweep as _sweep  # noqa: F401  (registers commands)
from stackcast.pipeline.cli.app import app, main

__all__ = ["app", "main"]
