"""The bot's own sentences (not mined from transcripts), in English and Simplified Chinese."""

from __future__ import annotations

import re

from training.data import detect_language

SUPPORTED_LANGUAGES = ("en", "zh-CN")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "empty": "Please type your question and I'll do my best to help.",
        "handoff": "I'm passing this conversation to a member of our support team. They will reply here as soon as possible.",
        "handed_off": "A member of our support team has this conversation and will reply here.",
        "fallback": "Sorry, I'm not sure I understood that. I can help with things like {topics}. "
        "You can rephrase your question, or type \"human\" to talk to a member of our team.",
        "fallback_no_topics": "Sorry, I'm not sure I understood that. You can rephrase your question, "
        "or type \"human\" to talk to a member of our team.",
        "fallback_handoff": "I still can't answer that myself, so I'm passing this conversation to a member of our support team. "
        "They will reply here as soon as possible.",
        "ask_slot": "Could you tell me the {slot}?",
        "ask_order_number": "Could you tell me your order number?",
        "ask_email": "Could you tell me the email address on your account?",
        "missing_slot": "the {slot}",
        "retrieval_intro": "Here is what our help centre says:",
        "past_answer_intro": "A similar question was answered like this:",
        "topic_separator": ", ",
    },
    "zh-CN": {
        "empty": "请输入您的问题，我会尽力帮助您。",
        "handoff": "我正在将此对话转给我们的客服人员，他们会尽快在这里回复您。",
        "handed_off": "客服人员已接手此对话，稍后会在这里回复您。",
        "fallback": "抱歉，我没有完全理解。我可以帮您处理{topics}等问题。您可以换个说法，或输入“人工”联系客服人员。",
        "fallback_no_topics": "抱歉，我没有完全理解。您可以换个说法，或输入“人工”联系客服人员。",
        "fallback_handoff": "这个问题我暂时无法回答，正在为您转接客服人员，他们会尽快在这里回复您。",
        "ask_slot": "请告诉我{slot}。",
        "ask_order_number": "请告诉我您的订单号。",
        "ask_email": "请告诉我您账户的电子邮箱地址。",
        "missing_slot": "{slot}",
        "retrieval_intro": "帮助中心的相关说明如下：",
        "past_answer_intro": "类似的问题曾这样解答：",
        "topic_separator": "、",
    },
}

# Explicit requests for a person. Matching is on whole words for English, so "humane" or "agenda" do not match.
_HANDOFF_PATTERNS = (
    re.compile(
        r"\b(human|real person|live (agent|person|chat)|operator|representative|customer service rep"
        r"|(talk|speak|chat) (to|with) (a |an |the |some |your )?(person|someone|somebody|agent|rep|staff|team member|manager))\b",
        re.IGNORECASE,
    ),
    re.compile(r"(人工|真人|转客服|客服人员|找客服|接客服)"),
)


def language_of(text: str, default: str = "en") -> str:
    """Return the message language, or `default` when the text has no letters to judge by."""
    if not re.search(r"\w", text):
        return default
    return detect_language(text)


def message(language: str, key: str, **values: str) -> str:
    """Return the bot sentence `key` in `language` (English when the language is not supported)."""
    table = MESSAGES.get(language, MESSAGES["en"])
    return table[key].format(**values)


def asks_for_human(text: str) -> bool:
    """Return True when the customer explicitly asks to talk to a person."""
    return any(pattern.search(text) for pattern in _HANDOFF_PATTERNS)
