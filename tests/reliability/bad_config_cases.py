"""Bad config files: missing, unreadable, malformed, unknown keys, wrong types, absurd values."""

from __future__ import annotations

from tests.reliability.bad_input_files import Case
from tests.reliability.helpers import tiny_config

T = "[train]\n"
F = "[features]\n"
M = "[model]\n"

# id -> (argv built from the files, words the error line must contain)
CONFIG_CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
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
}
