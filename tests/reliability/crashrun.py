"""Run Python code and SIGKILL the process at a chosen write boundary (a test helper).

    python -m tests.reliability.crashrun TRACE KILL_AT cli ARGS...          # the stackcast CLI
    python -m tests.reliability.crashrun TRACE KILL_AT call MODULE:FN ARGS  # FN(*ARGS)

Every ``os.replace`` (how stackcast swaps a finished temp file in) and every ``os.rename``
(``Path.rename``: how a staged run or model version is published) is a write boundary.
Each boundary reached is appended to TRACE as ``index<TAB>kind<TAB>source<TAB>target``, flushed
before it happens. With KILL_AT = k >= 1 the process sends itself SIGKILL just before boundary
k (so nothing after it runs, exactly like ``kill -9`` from outside); with KILL_AT = 0 it runs
to the end.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

_count = 0


def _arm(trace: str, kill_at: int) -> None:
    real_replace, real_rename = os.replace, os.rename
    out = open(trace, "a", encoding="utf-8")  # noqa: SIM115 (kept open until the process ends)

    def boundary(kind: str, src: Any, dst: Any) -> None:
        global _count
        _count += 1
        out.write(f"{_count}\t{kind}\t{os.fspath(src)}\t{os.fspath(dst)}\n")
        out.flush()
        os.fsync(out.fileno())
        if _count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        boundary("replace", src, dst)
        real_replace(src, dst, *args, **kwargs)

    def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        boundary("rename", src, dst)
        real_rename(src, dst, *args, **kwargs)

    os.replace, os.rename = replace, rename


def main(argv: list[str]) -> int:
    trace, kill_at, mode, *rest = argv
    _arm(trace, int(kill_at))
    if mode == "call":
        module, _, name = rest[0].partition(":")
        getattr(importlib.import_module(module), name)(*rest[1:])
        return 0
    from stackcast.pipeline.cli.app import main as cli_main

    return cli_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
