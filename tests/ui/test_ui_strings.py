from dataclasses import fields

import pytest

from training.errors import ConfigError
from ui.strings import SUPPORTED_LANGUAGES, get_strings


def test_supported_languages():
    assert SUPPORTED_LANGUAGES == ("en", "zh-CN")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_strings_all_filled(language):
    strings = get_strings(language)
    for item in fields(strings):
        assert getattr(strings, item.name).strip(), f"{language}: {item.name} is empty"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_too_long_template_formats(language):
    text = get_strings(language).message_too_long.format(max_chars=2000)
    assert "2000" in text


def test_zh_strings_are_chinese():
    strings = get_strings("zh-CN")
    for text in (strings.title, strings.send_button, strings.sources_label, strings.error_message):
        assert any("\u4e00" <= char <= "\u9fff" for char in text), text


@pytest.mark.parametrize("tag", ["zh-cn", "zh_CN", " ZH-CN "])
def test_get_strings_normalizes_tag(tag):
    assert get_strings(tag) is get_strings("zh-CN")


def test_get_strings_unknown_language():
    with pytest.raises(ConfigError) as caught:
        get_strings("fr")
    message = str(caught.value)
    assert "'fr'" in message
    assert "en, zh-CN" in message
