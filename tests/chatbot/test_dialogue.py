"""Tests for the dialogue manager's decisions, on small stand-ins for the intent model and the index."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chatbot.config import DialogueConfig
from chatbot.dialogue import DialogueManager
from chatbot.reply import CLARIFY, FALLBACK, HANDOFF, RETRIEVAL, TEMPLATE
from chatbot.state import ConversationState


class KeywordModel:
    """Predicts an intent from keywords, with a fixed confidence per keyword."""

    threshold = 0.6

    def __init__(self):
        self.templates = {
            "track_order": [SimpleNamespace(text="Order {{order_number}} is on its way from {{store_name}}.", language="en"),
                            SimpleNamespace(text="您的订单 {{order_number}} 正在配送中。", language="zh-CN")],
            "shipping_costs": [SimpleNamespace(text="Shipping costs {{shipping_fee}}.", language="en")],
            "contact_human_agent": [SimpleNamespace(text="Connecting you.", language="en")],
        }
        self.calls = 0

    def predict(self, texts):
        self.calls += 1
        text = texts[0].lower()
        for keyword, intent, confidence in (("where", "track_order", 0.9), ("订单", "track_order", 0.9), ("ship", "shipping_costs", 0.4),
                                            ("weather", "out_of_scope", 0.95), ("supervisor", "contact_human_agent", 0.9)):
            if keyword in text:
                return [SimpleNamespace(intent=intent, confidence=confidence)]
        return [SimpleNamespace(intent="track_order", confidence=0.2)]


class FixedIndex:
    def __init__(self, hits, unknown_share=0.0):
        self.hits = hits
        self.embedder = SimpleNamespace(unknown_token_share=lambda text: unknown_share)

    def search(self, query, k=None):
        return self.hits


ARTICLE = SimpleNamespace(kind="article", text="Standard shipping costs 4.95 EUR. Orders over 50 EUR ship free.", score=0.72,
                          path="kb/en/shipping.md", title="Shipping costs", url="https://help.example/shipping", answer=None)


def manager(hits=(), **config):
    return DialogueManager(KeywordModel(), FixedIndex(list(hits)), DialogueConfig(**config), retrieval_min_score=0.5,
                           slot_values={"store_name": "Northwind", "zh-CN": {"store_name": "北风"}})


def test_confident_intent_asks_for_slot():
    bot, state = manager(), ConversationState("c1")
    reply = bot.respond(state, "where is my parcel?")
    assert reply.kind == CLARIFY
    assert reply.intent == "track_order"
    assert "order number" in reply.text
    assert state.pending_slot == "order_number"


def test_slot_given_next_turn_fills_template():
    bot, state = manager(), ConversationState("c1")
    bot.respond(state, "where is my parcel?")
    reply = bot.respond(state, "it's NW-482913")
    assert reply.kind == TEMPLATE
    assert reply.text == "Order NW-482913 is on its way from Northwind."
    assert "{{" not in reply.text


def test_template_filled_in_one_turn():
    reply = manager().respond(ConversationState("c1"), "where is order NW-100200")
    assert reply.kind == TEMPLATE
    assert reply.text == "Order NW-100200 is on its way from Northwind."
    assert reply.confidence == 0.9
    assert "cleared the threshold" in reply.reason


def test_chinese_template_chosen():
    reply = manager().respond(ConversationState("c1"), "我的订单 NW-100200 到哪了")
    assert reply.kind == TEMPLATE
    assert reply.text == "您的订单 NW-100200 正在配送中。"


def test_low_confidence_uses_retrieval():
    reply = manager([ARTICLE]).respond(ConversationState("c1"), "how much is shipping")
    assert reply.kind == RETRIEVAL
    assert "4.95 EUR" in reply.text
    assert reply.sources[0].path == "kb/en/shipping.md"
    assert reply.sources[0].url == "https://help.example/shipping"
    assert "scored 0.72" in reply.reason


def past_answer(score, language="en"):
    return SimpleNamespace(kind="past_answer", text="Can I pay by PayPal?", answer="Yes, {{store_name}} takes PayPal.", score=score,
                           path="conversation en-0007", title="conversation en-0007", url="", language=language)


def test_past_answer_needs_higher_score():
    reply = manager([past_answer(0.7), ARTICLE]).respond(ConversationState("c1"), "how much is shipping")
    assert reply.kind == RETRIEVAL
    assert reply.sources[0].path == "kb/en/shipping.md"


def test_close_past_answer_reused():
    reply = manager([past_answer(0.9)]).respond(ConversationState("c1"), "can i pay with paypal")
    assert reply.kind == RETRIEVAL
    assert "Yes, Northwind takes PayPal." in reply.text
    assert reply.sources[0].title == "conversation en-0007"


def test_other_language_hit_ignored():
    reply = manager([past_answer(0.95, language="zh-CN")]).respond(ConversationState("c1"), "can i pay with paypal")
    assert reply.kind == FALLBACK


def test_weak_retrieval_falls_back():
    weak = SimpleNamespace(**{**vars(ARTICLE), "score": 0.3})
    reply = manager([weak]).respond(ConversationState("c1"), "blah blah")
    assert reply.kind == FALLBACK
    assert "human" in reply.text
    assert reply.sources == ()
    assert "best passage scored 0.30 (article), below 0.50" in reply.reason


def test_unreadable_message_skips_retrieval():
    bot = DialogueManager(KeywordModel(), FixedIndex([ARTICLE], unknown_share=0.9), DialogueConfig(), retrieval_min_score=0.5)
    reply = bot.respond(ConversationState("c1"), "运费是多少")
    assert reply.kind == FALLBACK
    assert "90% of the message's tokens are unknown" in reply.reason


def test_out_of_scope_falls_back():
    reply = manager().respond(ConversationState("c1"), "what's the weather")
    assert reply.kind == FALLBACK
    assert "out of scope" in reply.reason


def test_repeated_fallback_hands_off():
    bot, state = manager(fallbacks_before_handoff=2), ConversationState("c1")
    first = bot.respond(state, "what's the weather")
    second = bot.respond(state, "weather tomorrow?")
    assert first.kind == FALLBACK
    assert second.kind == HANDOFF
    assert state.handed_off


@pytest.mark.parametrize("text", ["I want to talk to a human", "can I speak with someone please", "转人工", "我要找人工客服"])
def test_explicit_human_request(text):
    bot = manager()
    reply = bot.respond(ConversationState("c1"), text)
    assert reply.kind == HANDOFF
    assert bot.intent_model.calls == 0


def test_handoff_intent():
    reply = manager().respond(ConversationState("c1"), "get me your supervisor")
    assert reply.kind == HANDOFF
    assert reply.intent == "contact_human_agent"


def test_after_handoff_bot_stays_out():
    bot, state = manager(), ConversationState("c1")
    bot.respond(state, "human please")
    reply = bot.respond(state, "where is order NW-100200")
    assert reply.kind == HANDOFF
    assert "already handed" in reply.reason


def test_empty_message_clarifies():
    reply = manager().respond(ConversationState("c1"), "   ")
    assert reply.kind == CLARIFY


def test_configured_threshold_overrides_calibrated():
    reply = manager(intent_threshold=0.95).respond(ConversationState("c1"), "where is order NW-100200")
    assert reply.kind != TEMPLATE


def test_missing_business_slot_humanized():
    reply = manager(intent_threshold=0.3).respond(ConversationState("c1"), "ship to me")
    assert reply.text == "Shipping costs the shipping fee."


def test_reply_records_turns():
    bot, state = manager(), ConversationState("c1")
    bot.respond(state, "where is order NW-100200")
    assert [turn.role for turn in state.turns] == ["customer", "bot"]
    assert state.turns[1].kind == TEMPLATE
