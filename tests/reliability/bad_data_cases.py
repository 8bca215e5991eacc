"""Bad data files, and data that cannot train: each case fails before any training."""

from __future__ import annotations

from tests.reliability.bad_input_files import Case

GOOD_ROWS = "date,ticker,close\n" + "".join(
    f"2020-01-{d:02d},AAA,{100 + d}\n" for d in range(1, 29)
)


# id -> (argv built from the files, words the error line must contain)
DATA_CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
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
}

# data that reaches train/backtest/run but cannot train
TRAINING_CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
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
