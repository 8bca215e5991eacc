"""``python -m stackcast``: the ``stackcast`` command line."""

import sys

from stackcast.pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
