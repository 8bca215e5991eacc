from pathlib import Path

import pytest
from stackcast.pipeline.config import (
    RunConfig,
    builtin_config,
    check_ticker,
    load_config,
    parse_config,
    resolve_home,
    to_toml,
)
from stackcast.pipeline.errors import ConfigError


@pytest.mark.parametrize("name", ["default", "demo"])
def test_shipped_configs_load_and_round_trip(name):
    cfg = load_config(builtin_config(name))
    assert parse_config(to_toml(cfg)) == cfg


def test_demo_uses_bundled_sample():
    cfg = load_config(builtin_config("demo"))
    assert cfg.data.source == "sample"
    assert set(cfg.data.tickers) == {"MSFT", "GOOG"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[data]\nfoo = 1", "unknown key 'data.foo'"),
        ("colour = 'red'", "unknown key 'colour'"),
        ("[features]\nwindow = 'a'", "key 'features.window'"),
        ("[features]\nwindow = 10\nhorizons = 10", "horizons (10) must be < window (10)"),
        ("[model]\nlayers = []", "key 'model.layers'"),
        ("[model]\nlayers = [{cell = 'rnn', units = 4}]", "key 'model.layers.0.cell'"),
        ("[model]\nlayers = [{cell = 'gru', units = 0}]", "key 'model.layers.0.units'"),
        ("[data]\ntickers = ['../x']", "key 'data.tickers'"),
        ("[schedule]\ndaily_cron = '30 2 * * *'", "DST"),
        ("[schedule]\ntimezone = 'Mars/Olympus'", "unknown time zone"),
        ("[train]\nlearning_rate = -1", "key 'train.learning_rate'"),
        ("[data\n", "not valid TOML"),
        ("[train]\nepoch = 3", "unknown key 'train.epoch' (did you mean 'train.epochs'?)"),
        ("[trian]\nepochs = 3", "unknown key 'trian' (did you mean 'train'?)"),
        ("[model]\nlayers = [{cel = 'gru', units = 4}]", "(did you mean 'model.layers.0.cell'?)"),
        ("[data]\ntickers = 'MSFT'", 'tickers is a list: tickers = ["MSFT"]'),
        ("[data]\ntickers = 'MSFT,GOOG'", 'tickers is a list: tickers = ["MSFT", "GOOG"]'),
        ("train = 3", "key 'train': expected a table of keys, got the int 3"),
    ],
)
def test_config_errors_name_the_key_and_file(tmp_path: Path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "A B", "X;rm", "$(x)", "A" * 21])
def test_ticker_pattern_refuses_path_and_shell_characters(bad):
    with pytest.raises(ConfigError):
        check_ticker(bad)


def test_ticker_normalised():
    assert check_ticker(" brk-b ") == "BRK-B"
    assert check_ticker("^GSPC") == "^GSPC"


def test_home_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("STACKCAST_HOME", str(tmp_path / "h"))
    assert resolve_home() == (tmp_path / "h").resolve()
    assert RunConfig().embargo == 5


def test_no_guess_for_a_key_like_nothing_known(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nzzzz = 3\n[data.calendars]\nMSFT = 'XNYS'\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: unknown key 'train.zzzz'"


@pytest.mark.parametrize(
    "build",
    [
        lambda: RunConfig.model_validate({"train": {"epoch": 3}}),
        lambda: RunConfig(train={"epoch": 3}),
        lambda: RunConfig.model_validate_json('{"train": {"epoch": 3}}'),
    ],
)
def test_a_config_built_in_python_raises_stackcast_error_in_the_cli_words(build):
    from stackcast.pipeline.errors import StackcastError

    with pytest.raises(StackcastError) as err:
        build()
    assert str(err.value) == "config: unknown key 'train.epoch' (did you mean 'train.epochs'?)"
    assert err.value.__cause__ is None and err.value.__suppress_context__  # one clean line


def test_validation_inside_other_models_keeps_pydantic_errors():
    """Flow parameters (a model holding a RunConfig) still get pydantic's ValidationError."""
    from pydantic import BaseModel, ValidationError

    class Parameters(BaseModel):
        cfg: RunConfig

    with pytest.raises(ValidationError):
        Parameters.model_validate({"cfg": {"train": {"epoch": 3}}})
    assert Parameters.model_validate({"cfg": {"train": {"epochs": 3}}}).cfg.train.epochs == 3
    assert RunConfig(train={"epochs": 3}) == RunConfig.model_validate({"train": {"epochs": 3}})
