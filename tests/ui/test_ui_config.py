import pytest

from training.errors import ConfigError
from ui.config import UIConfig


def test_config_defaults_loopback():
    config = UIConfig()
    assert config.host == "127.0.0.1"
    assert config.port == 7860
    assert config.is_loopback


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"port": 0}, "ui.port"),
        ({"port": 70000}, "ui.port"),
        ({"port": True}, "ui.port"),
        ({"port": "7860"}, "ui.port"),
        ({"host": ""}, "ui.host"),
        ({"title": "  "}, "ui.title"),
        ({"max_message_chars": 0}, "ui.max_message_chars"),
        ({"concurrency_limit": 65}, "ui.concurrency_limit"),
    ],
)
def test_config_invalid_value(overrides, field_name):
    with pytest.raises(ConfigError) as caught:
        UIConfig(**overrides)
    assert field_name in str(caught.value)


def test_config_invalid_language():
    with pytest.raises(ConfigError, match="zh-CN"):
        UIConfig(language="de")


def test_config_normalizes_language():
    assert UIConfig(language="zh_cn").language == "zh-CN"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("chat.example.com", False)],
)
def test_config_is_loopback(host, expected):
    assert UIConfig(host=host).is_loopback is expected


def test_config_fields_have_help():
    from dataclasses import fields

    for item in fields(UIConfig):
        assert item.metadata.get("help"), item.name
