"""Tests for loading the application config."""

from __future__ import annotations

import pytest

from chatbot.config import DEFAULT_DATA_DIR, DEMO_CONFIG, REPO_ROOT, AppConfig, render_reference, DialogueConfig, ServeConfig, load_config, parse_override
from training.errors import ConfigError


def test_defaults_are_neutral():
    config = load_config()
    assert config.paths.transcripts == []
    assert config.paths.slot_values == ""
    assert config.serve.host == "127.0.0.1"


def test_file_then_overrides(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[paths]\nworkdir = "out"\n[serve]\nport = 9000\nlanguage = "zh-CN"\n[train]\nepochs = 2\n')
    config = load_config(path, {"serve": {"port": 9100}})
    assert config.paths.workdir == str((tmp_path / "out").resolve())
    assert config.serve.port == 9100
    assert config.serve.language == "zh-CN"
    assert config.train.epochs == 2


def test_unknown_key_named(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[serve]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) \['prot'\] in \[serve\]"):
        load_config(path)


def test_unknown_table_named(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[server]\nport = 1\n")
    with pytest.raises(ConfigError, match="server"):
        load_config(path)


def test_missing_file_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml not found. Pass an existing file"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_named(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[serve\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    ("factory", "field"),
    [(lambda: ServeConfig(port=0), "serve.port"), (lambda: ServeConfig(language="fr"), "serve.language"),
     (lambda: DialogueConfig(intent_threshold=1.5), "dialogue.intent_threshold"),
     (lambda: DialogueConfig(fallbacks_before_handoff=-1), "dialogue.fallbacks_before_handoff")],
)
def test_invalid_values_named(factory, field):
    with pytest.raises(ConfigError, match=field):
        factory()


def test_parse_override_types():
    assert parse_override("train.epochs=3") == ("train", "epochs", 3)
    assert parse_override("dialogue.intent_threshold=0.5") == ("dialogue", "intent_threshold", 0.5)
    assert parse_override("serve.title=Help desk") == ("serve", "title", "Help desk")


def test_parse_override_invalid():
    with pytest.raises(ConfigError, match="TABLE.KEY=VALUE"):
        parse_override("epochs=3")


def test_embedded_config_file_loads():
    config = load_config(DEMO_CONFIG)
    assert isinstance(config, AppConfig)
    assert config.paths.transcripts == [str(DEFAULT_DATA_DIR / "transcripts.csv")]
    assert config.paths.articles_path == DEFAULT_DATA_DIR / "kb"
    assert config.dialogue.topics["zh-CN"]


def test_reference_page_current():
    page = REPO_ROOT / "docs" / "configuration.md"
    assert page.read_text(encoding="utf-8") == render_reference(), "docs/configuration.md is stale; regenerate it with the command at its top"
