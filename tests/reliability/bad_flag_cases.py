"""Bad command-line flags: tickers, dates, sources, options and output paths."""

from __future__ import annotations

from tests.reliability.bad_input_files import Case

# id -> (argv built from the files, words the error line must contain)
FLAG_CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "ticker with path separators": (
        lambda f: ["ingest", "-s", "sample", "-t", "../../etc/passwd"],
        ("invalid ticker", "../../etc/passwd"),
    ),
    "ticker with shell characters": (
        lambda f: ["ingest", "-s", "sample", "-t", "$(rm -rf ~);`id`"],
        ("invalid ticker",),
    ),
    "ticker with a slash": (lambda f: ["ingest", "-s", "sample", "-t", "BRK/B"], ("BRK/B",)),
    "ticker with a NUL byte": (
        lambda f: ["ingest", "-s", "sample", "-t", "A\x00B"],
        ("invalid ticker",),
    ),
    "ticker of 30 characters": (
        lambda f: ["ingest", "-s", "sample", "-t", "A" * 30],
        ("invalid ticker",),
    ),
    "unknown ticker": (
        lambda f: ["ingest", "-s", "sample", "-t", "NOPE"],
        ("NOPE", "not in the bundled sample"),
    ),
    "start not a date": (
        lambda f: ["ingest", "-s", "sample", "--start", "yesterday"],
        ("--start",),
    ),
    "start after end": (
        lambda f: ["ingest", "-s", "sample", "--start", "2020-02-01", "--end", "2020-01-01"],
        ("after end",),
    ),
    "source with unknown suffix": (lambda f: ["ingest", "-s", "prices.txt"], ("unknown source",)),
    "source file missing": (lambda f: ["ingest", "-s", "/nonexistent/p.csv"], ("not found",)),
    "source is a directory": (lambda f: ["ingest", "-s", f.root / "adir.csv"], ("is a directory",)),
    "unknown option": (lambda f: ["ingest", "--bogus"], ("--bogus",)),
    "port not a number": (lambda f: ["serve", "--port", "http"], ("--port",)),
    "as-of not a date": (
        lambda f: ["run", "-c", f.tiny("t1.toml", f.good, ("AAA",)), "--as-of", "soon"],
        ("--as-of",),
    ),
    "empty ticker list": (
        lambda f: ["backtest", "-c", f.tiny("t2.toml", f.good, ("AAA",)), "-t", " , "],
        ("--tickers",),
    ),
    "out is a file": (
        lambda f: [
            "backtest",
            "-c",
            f.tiny("t3.toml", f.good, ("AAA",)),
            "--out",
            f.root / "outfile",
        ],
        ("--out", "is a file"),
    ),
}
