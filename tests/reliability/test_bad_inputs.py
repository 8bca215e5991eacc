"""Bad input through the real command line: CLI flags, config files and data files.

Every case must end with exit 2, exactly one ``error: ...`` line on stderr that names the
problem, no traceback anywhere, and STACKCAST_HOME unchanged (sha256 of every file before and
after; zero-byte lock files aside). Cases that reach ``train``/``backtest``/``run`` must fail
before any training: the engine's ``run_fold`` is replaced by a tripwire.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from stackcast.pipeline.data.store import PriceStore

from tests.reliability.helpers import (
    assert_clean_error,
    cli,
    cli_subprocess,
    snapshot,
    synthetic_prices,
    tiny_config,
    write_csv,
)

GOOD_ROWS = "date,ticker,close\n" + "".join(
    f"2020-01-{d:02d},AAA,{100 + d}\n" for d in range(1, 29)
)


class Files:
    """The files every case may point at (written once per module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.good = write_csv(root / "good.csv", synthetic_prices(("AAA", "BBB"), n=500))
        self.short = write_csv(root / "short.csv", synthetic_prices(("CCC",), n=5))
        self.one = write_csv(root / "one.csv", synthetic_prices(("DDD",), n=1))
        (root / "adir.csv").mkdir()
        (root / "outfile").write_text("not a directory\n", encoding="utf-8")

    def data(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def config(self, name: str, body: str | bytes, source: Path | None = None) -> Path:
        """A config that reads local files only, so a wrongly accepted one never goes online."""
        if isinstance(body, bytes):
            return self.data(name, body)
        src = f'[data]\nsource = "{source or self.good}"\ntickers = ["AAA"]\n'
        if body.lstrip().startswith("[data]"):
            src = ""
        top, _, rest = body.partition("\n#--\n") if "\n#--\n" in body else ("", "", body)
        return self.data(name, f"{top}\n{src}\n{rest}")

    def tiny(
        self, name: str, source: Path, tickers: tuple[str, ...], huge_test: bool = False
    ) -> Path:
        text = tiny_config(source, tickers)
        if huge_test:
            text = text.replace("test_size = 40", "test_size = 100000")
        return self.data(name, text)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def seeded(files: Files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding a good state: AAA, BBB (500 bars), CCC (5 bars), DDD (1 bar)."""
    from stackcast.pipeline.config import parse_config
    from stackcast.pipeline.data.ingest import ingest

    home = tmp_path_factory.mktemp("seeded")
    cfg = parse_config(f'[paths]\nhome = "{home}"\n')
    for source in (files.good, files.short, files.one):
        results = ingest(cfg, source=str(source), store=PriceStore(home))
        assert all(r.ok for r in results), results
    return home


@pytest.fixture
def stocked_home(home: Path, seeded: Path) -> Path:
    shutil.copytree(seeded, home, dirs_exist_ok=True)
    return home


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: any case that reaches model training fails the test (exit 1, not 2)."""
    import stackcast.models.engine

    def tripwire(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started on bad input")

    monkeypatch.setattr(stackcast.models.engine, "run_fold", tripwire)


Case = Callable[[Files], list[str | Path]]
T = "[train]\n"
F = "[features]\n"
M = "[model]\n"

# id -> (argv built from the files, words the error line must contain)
CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    # ---------------------------------------------------------------- config files
    "config missing": (lambda f: ["ingest", "-c", "/nonexistent/x.toml"], ("not found",)),
    "config is a directory": (lambda f: ["ingest", "-c", f.root], ("is a directory",)),
    "config not TOML": (lambda f: ["ingest", "-c", f.config("c1.toml", "[data\n")], ("TOML",)),
    "config unknown top-level key": (
        lambda f: ["ingest", "-c", f.config("c2.toml", "bogus = 1\n#--\n")],
        ("unknown key 'bogus'",),
    ),
    "config unknown key in section": (
        lambda f: ["ingest", "-c", f.config("c3.toml", M + "foo = 1\n")],
        ("unknown key 'model.foo'",),
    ),
    "config misspelt section": (
        lambda f: ["ingest", "-c", f.config("c4.toml", "[modle]\nunits = 1\n")],
        ("unknown key 'modle'",),
    ),
    "config string for integer": (
        lambda f: ["ingest", "-c", f.config("c5.toml", F + "window = 'abc'\n")],
        ("features.window", "integer"),
    ),
    "config numeric string for integer": (
        lambda f: ["ingest", "-c", f.config("c6.toml", F + "window = '30'\n")],
        ("features.window", "string"),
    ),
    "config boolean for integer": (
        lambda f: ["ingest", "-c", f.config("c7.toml", T + "epochs = true\n")],
        ("train.epochs", "boolean"),
    ),
    "config string for list": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c8.toml", '[data]\nsource = "sample"\ntickers = "AAA"\n'),
        ],
        ("data.tickers", 'tickers is a list: tickers = ["AAA"]'),
    ),
    "config section is a number": (
        lambda f: ["ingest", "-c", f.config("c9.toml", "report = 5\n#--\n")],
        ("report",),
    ),
    "config empty ticker list": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c10.toml", '[data]\nsource = "sample"\ntickers = []\n'),
        ],
        ("data.tickers",),
    ),
    "config window 10**9": (
        lambda f: ["ingest", "-c", f.config("c11.toml", F + "window = 1000000000\n")],
        ("features.window", "1000"),
    ),
    "config units 10**7": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c12.toml", M + "layers = [{cell='gru', units=10000000}]\n"),
        ],
        ("model.layers.0.units", "4096"),
    ),
    "config epochs 10**12": (
        lambda f: ["ingest", "-c", f.config("c13.toml", T + "epochs = 1000000000000\n")],
        ("train.epochs",),
    ),
    "config batch 10**6": (
        lambda f: ["ingest", "-c", f.config("c14.toml", T + "batch_size = 1000000\n")],
        ("train.batch_size",),
    ),
    "config horizons >= window": (
        lambda f: ["ingest", "-c", f.config("c15.toml", F + "window = 16\nhorizons = 16\n")],
        ("horizons (16) must be < window (16)",),
    ),
    "config min_history > window": (
        lambda f: ["ingest", "-c", f.config("c16.toml", F + "window = 16\nmin_history = 17\n")],
        ("min_history",),
    ),
    "config NaN learning rate": (
        lambda f: ["ingest", "-c", f.config("c17.toml", T + "learning_rate = nan\n")],
        ("train.learning_rate",),
    ),
    "config NaN mask value": (
        lambda f: ["ingest", "-c", f.config("c18.toml", F + "mask_value = nan\n")],
        ("features.mask_value", "finite"),
    ),
    "config infinite max_jump": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c19.toml", f'[data]\nsource = "{f.good}"\nmax_jump = inf\n'),
        ],
        ("data.max_jump", "finite"),
    ),
    "config absurd mask value": (
        lambda f: ["ingest", "-c", f.config("c20.toml", F + "mask_value = 1e300\n")],
        ("features.mask_value",),
    ),
    "config seed beyond 32 bits": (
        lambda f: ["ingest", "-c", f.config("c21.toml", T + "seed = 99999999999999999999\n")],
        ("train.seed",),
    ),
    "config negative learning rate": (
        lambda f: ["ingest", "-c", f.config("c22.toml", T + "learning_rate = -0.1\n")],
        ("train.learning_rate", "greater than 0"),
    ),
    "config dropout 1": (
        lambda f: ["ingest", "-c", f.config("c23.toml", M + "dropout = 1.0\n")],
        ("model.dropout",),
    ),
    "config UTF-16": (
        lambda f: ["ingest", "-c", f.config("c24.toml", tiny_config(f.good).encode("utf-16"))],
        ("not UTF-8",),
    ),
    "config latin-1": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c25.toml", "[report]\ntitle = 'café'\n".encode("latin-1")),
        ],
        ("not UTF-8", "0xe9"),
    ),
    "config binary garbage": (
        lambda f: ["ingest", "-c", f.config("c26.toml", bytes(range(256)) * 4)],
        ("c26.toml",),
    ),
    "config ticker with path separator": (
        lambda f: ["ingest", "-c", f.config("c27.toml", '[data]\ntickers = ["../etc/x"]\n')],
        ("invalid ticker '../etc/x'",),
    ),
    "config ticker with shell characters": (
        lambda f: ["ingest", "-c", f.config("c28.toml", '[data]\ntickers = ["A;rm -rf ~"]\n')],
        ("invalid ticker",),
    ),
    "config model name with path": (
        lambda f: ["ingest", "-c", f.config("c29.toml", "name = '../evil'\n#--\n")],
        ("key 'name'",),
    ),
    "config cron with 3 fields": (
        lambda f: ["ingest", "-c", f.config("c30.toml", "[schedule]\ndaily_cron = '* * *'\n")],
        ("schedule.daily_cron", "5 fields"),
    ),
    "config cron in the DST hole": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c31.toml", "[schedule]\nretrain_cron = '30 2 * * 0'\n"),
        ],
        ("schedule.retrain_cron", "DST"),
    ),
    "config unknown time zone": (
        lambda f: ["ingest", "-c", f.config("c32.toml", "[schedule]\ntimezone = 'Mars/Base'\n")],
        ("schedule.timezone",),
    ),
    "config title of 300 characters": (
        lambda f: ["ingest", "-c", f.config("c33.toml", "[report]\ntitle = '" + "x" * 300 + "'\n")],
        ("report.title", "200"),
    ),
    "config unknown source": (
        lambda f: ["ingest", "-c", f.config("c34.toml", '[data]\nsource = "ftp://x/y"\n')],
        ("unknown source",),
    ),
    "config unparseable date": (
        lambda f: [
            "ingest",
            "-c",
            f.config("c35.toml", f'[data]\nsource = "{f.good}"\nstart = "soon"\n'),
        ],
        ("data.start",),
    ),
    "config start after end": (
        lambda f: [
            "ingest",
            "-c",
            f.config(
                "c36.toml", f'[data]\nsource = "{f.good}"\nstart = 2021-01-01\nend = 2020-01-01\n'
            ),
        ],
        ("after end",),
    ),
    # ---------------------------------------------------------------- command-line flags
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
    # ---------------------------------------------------------------- data files
    "data empty file": (lambda f: ["ingest", "-s", f.data("AAA.csv", b"")], ("AAA.csv",)),
    "data header only": (
        lambda f: ["ingest", "-s", f.data("hdr.csv", "date,ticker,close\n")],
        ("hdr.csv", "no price rows"),
    ),
    "data UTF-16 with weekend dates": (  # UTF-16 is read; the calendar days are not sessions
        lambda f: ["ingest", "-s", f.data("u16.csv", GOOD_ROWS.encode("utf-16"))],
        ("u16.csv", "not sessions of the XNYS calendar"),
    ),
    "data latin-1": (
        lambda f: [
            "ingest",
            "-s",
            f.data("l1.csv", GOOD_ROWS.replace("AAA", "ÀAA").encode("latin-1")),
        ],
        ("l1.csv", "not UTF-8"),
    ),
    "data binary garbage csv": (
        lambda f: ["ingest", "-s", f.data("garbage.csv", bytes(range(256)) * 8)],
        ("garbage.csv",),
    ),
    "data binary garbage parquet": (
        lambda f: ["ingest", "-s", f.data("garbage.parquet", b"PAR1" + bytes(range(256)) * 8)],
        ("garbage.parquet", "cannot read"),
    ),
    "data duplicated date": (
        lambda f: ["ingest", "-s", f.data("dup.csv", GOOD_ROWS + "2020-01-05,AAA,99\n")],
        ("duplicate date", "line 30"),
    ),
    "data unparseable date": (
        lambda f: ["ingest", "-s", f.data("bd.csv", GOOD_ROWS + "2020-13-45,AAA,99\n")],
        ("unparseable date '2020-13-45'",),
    ),
    "data negative price": (
        lambda f: ["ingest", "-s", f.data("neg.csv", GOOD_ROWS + "2020-01-30,AAA,-5\n")],
        ("close is not a positive finite price (-5)",),
    ),
    "data zero price": (
        lambda f: ["ingest", "-s", f.data("zero.csv", GOOD_ROWS + "2020-01-30,AAA,0\n")],
        ("(0)",),
    ),
    "data NaN price": (
        lambda f: ["ingest", "-s", f.data("nan.csv", GOOD_ROWS + "2020-01-30,AAA,NaN\n")],
        ("(nan)",),
    ),
    "data infinite price": (
        lambda f: ["ingest", "-s", f.data("inf.csv", GOOD_ROWS + "2020-01-30,AAA,inf\n")],
        ("(inf)",),
    ),
    "data price spike to 1e-320": (
        lambda f: ["ingest", "-s", f.data("spike.csv", GOOD_ROWS + "2020-01-30,AAA,1e-320\n")],
        ("plausible range",),
    ),
    "data high below low": (
        lambda f: [
            "ingest",
            "-s",
            f.data("hl.csv", "date,ticker,high,low,close\n2020-01-02,AAA,9,11,10\n"),
        ],
        ("high 9 < low 11",),
    ),
    "data negative volume": (
        lambda f: [
            "ingest",
            "-s",
            f.data("vol.csv", "date,ticker,close,volume\n2020-01-02,AAA,10,-1\n"),
        ],
        ("volume",),
    ),
    "data without close column": (
        lambda f: ["ingest", "-s", f.data("nc.csv", GOOD_ROWS.replace("close", "price"))],
        ("missing column(s) close",),
    ),
    "data ticker with path separators": (
        lambda f: ["ingest", "-s", f.data("pt.csv", GOOD_ROWS.replace("AAA", "../../x"))],
        ("invalid ticker",),
    ),
    "data ticker with shell characters": (
        lambda f: ["ingest", "-s", f.data("sh.csv", GOOD_ROWS.replace("AAA", "A|nc -l 1"))],
        ("invalid ticker",),
    ),
    "data unnamed series, bad file name": (
        lambda f: ["ingest", "-s", f.data("my prices.csv", "date,close\n2020-01-02,10\n")],
        ("my prices.csv", "ticker"),
    ),
    # ---------------------------------------------------------------- before any training
    "train on a series shorter than min_history": (
        lambda f: ["train", "-c", f.tiny("t4.toml", f.short, ("CCC",))],
        ("enough history", "CCC"),
    ),
    "train on a one-row series": (
        lambda f: ["train", "-c", f.tiny("t5.toml", f.one, ("DDD",))],
        ("enough history", "DDD"),
    ),
    "train with test_size beyond the history": (
        lambda f: ["train", "-c", f.tiny("t6.toml", f.good, ("AAA",), huge_test=True)],
        ("not enough history",),
    ),
    "backtest with test_size beyond the history": (
        lambda f: ["backtest", "-c", f.tiny("t7.toml", f.good, ("AAA",), huge_test=True)],
        ("not enough history for the backtest",),
    ),
    "backtest of tickers the source lacks": (
        lambda f: ["backtest", "-c", f.tiny("t8.toml", f.good, ("ZZZ",))],
        ("no ticker could be ingested: ZZZ: not in good.csv",),
    ),
    "run without a trained model": (
        lambda f: ["run", "-c", f.tiny("t9.toml", f.good, ("AAA",))],
        ("no trained model", "stackcast train"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_and_writes_nothing(
    case: str, files: Files, stocked_home: Path, no_training: None
) -> None:
    build, words = CASES[case]
    args = build(files)
    before = snapshot(stocked_home)
    result = cli(*args)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert_clean_error(result.stdout, result.stderr, *words)
    assert snapshot(stocked_home) == before


def test_at_least_thirty_distinct_cases() -> None:
    assert len(CASES) >= 30


# The real console, in fresh processes: a sample across the three kinds of input.
SUBPROCESS_CASES = [
    "config UTF-16",
    "config is a directory",
    "config missing",
    "ticker with shell characters",
    "data binary garbage parquet",
    "data NaN price",
    "train on a series shorter than min_history",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_real_console(case: str, files: Files, stocked_home: Path) -> None:
    build, words = CASES[case]
    args = build(files)
    if case == "config UTF-16":
        args[0] = "train"
    if case == "config is a directory":
        args[0] = "backtest"
    before = snapshot(stocked_home)
    proc = cli_subprocess(*args, env={"STACKCAST_HOME": str(stocked_home)})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert_clean_error(proc.stdout, proc.stderr, *words)
    assert snapshot(stocked_home) == before
    assert os.environ["STACKCAST_HOME"] == str(stocked_home)
