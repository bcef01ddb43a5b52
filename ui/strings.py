"""User-facing text of the chat UI in each supported language."""

from __future__ import annotations

from dataclasses import dataclass

from training.errors import ConfigError

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class UIStrings:
    """The text that the chat page shows, in one language.

    `message_too_long` is a `str.format` template with the field `max_chars`.
    """

    html_lang: str
    title: str
    description: str
    chat_label: str
    message_label: str
    placeholder: str
    send_button: str
    clear_button: str
    sources_label: str
    handoff_notice: str
    notice_title: str
    error_message: str
    empty_message: str
    message_too_long: str


# TODO: let operators override these texts from the config file (company name, opening hours);
# until then a deployment that needs other wording edits this table.
_STRINGS = {
    "en": UIStrings(
        html_lang="en",
        title="Customer support",
        description=(
            "Ask our support assistant a question. It answers from our help articles "
            "and passes you to a person from our team when it cannot help."
        ),
        chat_label="Conversation",
        message_label="Message",
        placeholder="Type your question and press Enter",
        send_button="Send",
        clear_button="New conversation",
        sources_label="Sources",
        handoff_notice="This request needs a person from our support team.",
        notice_title="Note",
        error_message="Sorry, something went wrong on our side. Please send your message again in a moment.",
        empty_message="Please type a message first.",
        message_too_long="Your message is too long. Please keep it under {max_chars} characters.",
    ),
    "zh-CN": UIStrings(
        html_lang="zh-CN",
        title="在线客服",
        description="您可以向客服助手提问。助手根据帮助文章回答；无法解决时，会为您转接人工客服。",
        chat_label="对话",
        message_label="消息",
        placeholder="请输入您的问题，按回车发送",
        send_button="发送",
        clear_button="新对话",
        sources_label="参考来源",
        handoff_notice="此问题需要人工客服处理。",
        notice_title="提示",
        error_message="抱歉，系统出现问题。请稍后重新发送您的消息。",
        empty_message="请先输入消息。",
        message_too_long="您的消息太长，请控制在 {max_chars} 个字符以内。",
    ),
}

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_STRINGS)


def normalize_language(language: str) -> str:
    """Map a BCP 47 tag to its spelling in SUPPORTED_LANGUAGES, ignoring case and `_` versus `-`.

    Raises ConfigError when the language is not supported.
    """
    requested = str(language).strip().replace("_", "-").lower()
    for supported in SUPPORTED_LANGUAGES:
        if supported.lower() == requested:
            return supported
    raise ConfigError(
        f"Invalid UI language {language!r}. Must be one of {', '.join(SUPPORTED_LANGUAGES)}. "
        "Set the language to one of these tags."
    )


def get_strings(language: str = DEFAULT_LANGUAGE) -> UIStrings:
    """Return the UI text for `language`. Raises ConfigError when the language is not supported."""
    return _STRINGS[normalize_language(language)]
