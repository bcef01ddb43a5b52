"""The chat service: load the model and index once, then answer messages by conversation id.

Every front end (the Gradio UI now, an HTTP API and the embeddable widget later) calls this one class.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from chatbot.config import AppConfig, read_toml
from chatbot.dialogue import DialogueManager
from chatbot.reply import Reply
from chatbot.state import ConversationState, ConversationStore, InMemoryStore
from training.errors import ArtifactError, ConfigError

logger = logging.getLogger(__name__)

_MAX_MESSAGE_CHARS = 4000
_LOCK_STRIPES = 64


class ChatService:
    """Reply to customer messages. One instance serves many conversations from several threads."""

    def __init__(self, dialogue: DialogueManager, store: ConversationStore, *, model_version: str = "") -> None:
        self.dialogue = dialogue
        self.store = store
        self.model_version = model_version
        # Turns of one conversation run one at a time; different conversations mostly run in parallel.
        self._locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))

    @classmethod
    def from_config(cls, config: AppConfig) -> "ChatService":
        """Load the current model and the index named by `config`, raising `ArtifactError` when either is missing."""
        from retrieval.embedder import Embedder
        from retrieval.index import KnowledgeIndex
        from training.artifact import IntentModel
        from training.registry import ModelRegistry

        started = time.perf_counter()
        current = ModelRegistry(config.paths.models_path).current()
        if current is None:
            raise ArtifactError(f"No trained model in {config.paths.models_path}. Run 'chatbot train' (or 'chatbot demo') first.")
        model = IntentModel.load(current, device=config.serve.device)
        index = None
        if (config.paths.index_path / "index.json").exists():
            embedder = Embedder(config.retrieval.embedder, device=config.serve.device, batch_size=config.retrieval.batch_size)
            index = KnowledgeIndex.load(config.paths.index_path, embedder)
        else:
            logger.warning("No knowledge index in %s; replies will not use retrieval. Run 'chatbot index' to build one.", config.paths.index_path)
        dialogue = DialogueManager(
            model,
            index,
            config.dialogue,
            retrieval_min_score=config.retrieval.min_score,
            slot_values=load_slot_values(config.paths.slot_values),
            topics=config.dialogue.topics,
        )
        store = InMemoryStore(config.serve.max_conversations, config.serve.conversation_ttl_s)
        service = cls(dialogue, store, model_version=model.version)
        service.warm_up()
        logger.info("Chat service ready in %.1f s: model %s, index %s", time.perf_counter() - started, current, config.paths.index_path if index else "none")
        return service

    def warm_up(self) -> None:
        """Run one throw-away prediction and search so the first customer does not pay for lazy loading."""
        self.dialogue.intent_model.predict(["hello"])
        if self.dialogue.index is not None:
            self.dialogue.index.search("hello")

    @staticmethod
    def new_conversation_id() -> str:
        """Return a random, unguessable conversation id."""
        return uuid.uuid4().hex

    def reply(self, conversation_id: str, message: str) -> Reply:
        """Return the reply to `message` in conversation `conversation_id`, creating the conversation on first use."""
        if not conversation_id or len(conversation_id) > 128:
            raise ConfigError(f"Invalid conversation id of length {len(conversation_id)}. Use new_conversation_id().")
        message = message[:_MAX_MESSAGE_CHARS]
        started = time.perf_counter()
        with self._locks[hash(conversation_id) % _LOCK_STRIPES]:
            state = self.store.get(conversation_id) or ConversationState(conversation_id)
            reply = self.dialogue.respond(state, message)
            self.store.put(state)
        latency_ms = (time.perf_counter() - started) * 1000
        # One structured event per turn; the customer's text is never logged.
        logger.info(
            "turn conversation=%s kind=%s intent=%s confidence=%.3f sources=%d latency_ms=%.1f model=%s",
            conversation_id, reply.kind, reply.intent or "-", reply.confidence, len(reply.sources), latency_ms, self.model_version,
        )
        logger.debug("turn conversation=%s reason=%s", conversation_id, reply.reason)
        return reply


def load_slot_values(path: str) -> dict[str, Any]:
    """Read the `[slot_values]` table of a TOML file; an empty path means no values."""
    if not path:
        return {}
    file = Path(path)
    document = read_toml(file, "Fix paths.slot_values in the config, or set it to '' for none.")
    values = document.get("slot_values")
    if not isinstance(values, dict):
        raise ConfigError(f"{file} has no [slot_values] table. Add one with a key per business-constant slot.")
    return values
