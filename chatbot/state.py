"""Per-conversation state and the store that keeps it between turns."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Turn:
    """One message of a conversation. Customer text stays in memory for a human who takes over; it is never logged."""

    role: str
    text: str
    kind: str = ""
    intent: str = ""


@dataclass
class ConversationState:
    """The dialogue manager's memory of one conversation."""

    conversation_id: str
    language: str = ""
    slots: dict[str, str] = field(default_factory=dict)
    pending_intent: str = ""
    pending_slot: str = ""
    fallbacks: int = 0
    handed_off: bool = False
    turns: list[Turn] = field(default_factory=list)
    updated_at: float = field(default_factory=time.monotonic)

    def add_turn(self, turn: Turn, max_turns: int) -> None:
        """Append a turn, keeping at most `max_turns` of the latest."""
        self.turns.append(turn)
        del self.turns[:-max_turns]


class ConversationStore(Protocol):
    """Storage of conversation states between turns. In memory now, and Redis or a database can implement it later."""

    def get(self, conversation_id: str) -> ConversationState | None:
        """Return the state, or None for an unknown or expired conversation."""

    def put(self, state: ConversationState) -> None:
        """Save the state after a turn."""

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation."""


class InMemoryStore:
    """A thread-safe, size- and age-bounded store in this process's memory.

    The least recently updated conversation is dropped when `max_conversations` is exceeded, and a conversation
    idle for more than `ttl_s` seconds is treated as gone. State is lost when the process exits.
    """

    def __init__(self, max_conversations: int = 10_000, ttl_s: float = 3600.0) -> None:
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._lock = threading.Lock()
        self.max_conversations = max_conversations
        self.ttl_s = ttl_s

    def get(self, conversation_id: str) -> ConversationState | None:
        with self._lock:
            state = self._states.get(conversation_id)
            if state is None:
                return None
            if time.monotonic() - state.updated_at > self.ttl_s:
                del self._states[conversation_id]
                return None
            return state

    def put(self, state: ConversationState) -> None:
        with self._lock:
            state.updated_at = time.monotonic()
            self._states[state.conversation_id] = state
            self._states.move_to_end(state.conversation_id)
            while len(self._states) > self.max_conversations:
                self._states.popitem(last=False)

    def delete(self, conversation_id: str) -> None:
        with self._lock:
            self._states.pop(conversation_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
