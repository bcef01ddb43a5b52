"""Tests for the in-memory conversation store."""

from __future__ import annotations

import time

from chatbot.state import ConversationState, InMemoryStore, Turn


def test_store_round_trip():
    store = InMemoryStore()
    store.put(ConversationState("a", slots={"email": "x@example.com"}))
    assert store.get("a").slots == {"email": "x@example.com"}
    assert store.get("b") is None


def test_store_drops_least_recent():
    store = InMemoryStore(max_conversations=2)
    for conversation_id in ("a", "b", "c"):
        store.put(ConversationState(conversation_id))
    assert store.get("a") is None
    assert len(store) == 2


def test_store_expires_idle():
    store = InMemoryStore(ttl_s=0.01)
    store.put(ConversationState("a"))
    time.sleep(0.05)
    assert store.get("a") is None


def test_turns_capped():
    state = ConversationState("a")
    for number in range(5):
        state.add_turn(Turn("customer", str(number)), max_turns=3)
    assert [turn.text for turn in state.turns] == ["2", "3", "4"]
