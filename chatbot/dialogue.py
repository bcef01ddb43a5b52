"""The dialogue manager: decide each reply from the intent model, the knowledge index and the conversation state.

The decisions are tried in order. An explicit request for a person hands off. A slot the bot asked for is
filled into the pending template. A confident intent gets its filled template. A retrieved passage that clears
its threshold is shown with its source. Anything else gets a fallback that offers a person, and repeated
fallbacks hand off.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from chatbot.config import DialogueConfig
from chatbot.messages import asks_for_human, language_of, message
from chatbot.reply import CLARIFY, FALLBACK, HANDOFF, RETRIEVAL, TEMPLATE, Reply, Source
from chatbot.slots import extract_slots, fill_template, humanize_slot, template_slot_names
from chatbot.state import ConversationState, Turn
from training.data import OUT_OF_SCOPE

logger = logging.getLogger(__name__)


class IntentPredictor(Protocol):
    """The part of `training.artifact.IntentModel` the dialogue manager uses."""

    threshold: float
    templates: Mapping[str, Sequence[Any]]

    def predict(self, texts: list[str]) -> list[Any]: ...


class Searcher(Protocol):
    """The part of `retrieval.index.KnowledgeIndex` the dialogue manager uses."""

    def search(self, query: str, k: int | None = None) -> list[Any]: ...


@dataclass(frozen=True)
class _Decision:
    kind: str
    text: str
    reason: str
    intent: str = ""
    confidence: float = 0.0
    sources: tuple[Source, ...] = ()


class DialogueManager:
    """Turn one customer message and the conversation's state into a `Reply`, updating the state."""

    def __init__(
        self,
        intent_model: IntentPredictor,
        index: Searcher | None,
        config: DialogueConfig,
        *,
        retrieval_min_score: float,
        slot_values: Mapping[str, Any] | None = None,
        topics: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.intent_model = intent_model
        self.index = index
        self.config = config
        self.threshold = config.intent_threshold if config.intent_threshold is not None else float(intent_model.threshold)
        self.retrieval_min_score = config.retrieval_min_score if config.retrieval_min_score is not None else retrieval_min_score
        self.slot_values = dict(slot_values or {})
        self.topics = {language: list(names) for language, names in (topics or {}).items()}
        if "en" not in self.topics:
            self.topics["en"] = [name.replace("_", " ") for name in sorted(intent_model.templates) if name != OUT_OF_SCOPE][:6]

    def respond(self, state: ConversationState, text: str) -> Reply:
        """Return the reply to `text` and record both turns in `state`."""
        text = text.strip()
        language = language_of(text, state.language or self.config.default_language)
        if text:
            state.language = language
        state.add_turn(Turn("customer", text), self.config.max_history_turns)

        decision = self._decide(state, text, language)

        state.fallbacks = state.fallbacks + 1 if decision.kind == FALLBACK else 0
        if decision.kind == HANDOFF:
            state.handed_off = True
        state.add_turn(Turn("bot", decision.text, decision.kind, decision.intent), self.config.max_history_turns)
        return Reply(
            kind=decision.kind,
            text=decision.text,
            intent=decision.intent,
            confidence=round(decision.confidence, 4),
            sources=decision.sources,
            reason=decision.reason,
            conversation_id=state.conversation_id,
        )

    def _decide(self, state: ConversationState, text: str, language: str) -> _Decision:
        if not text:
            return _Decision(CLARIFY, message(language, "empty"), "The message was empty.")
        if state.handed_off:
            return _Decision(HANDOFF, message(language, "handed_off"), "The conversation was already handed to a human.")
        if asks_for_human(text):
            return _Decision(HANDOFF, message(language, "handoff"), "The customer asked for a human.")

        found = extract_slots(text)
        state.slots.update(found)
        if state.pending_intent:
            intent, slot = state.pending_intent, state.pending_slot
            state.pending_intent = state.pending_slot = ""
            if slot in found:
                return self._template_reply(state, intent, 1.0, language, f"The customer gave the {slot} asked for by the {intent} template.")

        prediction = self.intent_model.predict([text])[0]
        intent, confidence = prediction.intent, float(prediction.confidence)
        if intent in self.config.handoff_intents and confidence >= self.threshold:
            return _Decision(HANDOFF, message(language, "handoff"), f"Intent {intent} asks for a human (confidence {confidence:.2f}).", intent, confidence)
        if intent != OUT_OF_SCOPE and confidence >= self.threshold and self.intent_model.templates.get(intent):
            return self._template_reply(state, intent, confidence, language, f"Intent {intent} cleared the threshold {self.threshold:.2f} with {confidence:.2f}.")

        retrieved, retrieval_note = self._retrieve(text, language, intent, confidence)
        if retrieved is not None:
            return retrieved

        cause = "predicted out of scope" if intent == OUT_OF_SCOPE else f"intent {intent} at {confidence:.2f} is below {self.threshold:.2f}"
        limit = self.config.fallbacks_before_handoff
        if limit and state.fallbacks + 1 >= limit:
            return _Decision(HANDOFF, message(language, "fallback_handoff"), f"{limit} fallbacks in a row: {cause}, and {retrieval_note}.", intent, confidence)
        return _Decision(FALLBACK, self._fallback_text(language), f"No confident answer: {cause}, and {retrieval_note}.", intent, confidence)

    def _template_reply(self, state: ConversationState, intent: str, confidence: float, language: str, reason: str) -> _Decision:
        template = self._pick_template(intent, language)
        values = self._slot_values(language)
        values.update(state.slots)
        for slot in template_slot_names(template):
            if slot in self.config.ask_for_slots and not values.get(slot):
                state.pending_intent, state.pending_slot = intent, slot
                question_key = f"ask_{slot}" if slot in ("order_number", "email") else "ask_slot"
                return _Decision(CLARIFY, message(language, question_key, slot=humanize_slot(slot)), f"Intent {intent} needs the {slot}, which the customer has not given.", intent, confidence)
        text = fill_template(template, values, lambda slot: message(language, "missing_slot", slot=humanize_slot(slot)))
        return _Decision(TEMPLATE, text, reason, intent, confidence)

    def _pick_template(self, intent: str, language: str) -> str:
        templates = self.intent_model.templates[intent]
        for template in templates:
            if getattr(template, "language", "") == language:
                return template.text
        # NOTE: with no template in the customer's language, the first (most representative) one is used,
        # which may be in another language.
        return templates[0].text

    def _slot_values(self, language: str) -> dict[str, str]:
        values = {key: str(value) for key, value in self.slot_values.items() if not isinstance(value, dict)}
        localized = self.slot_values.get(language)
        if isinstance(localized, dict):
            values.update({key: str(value) for key, value in localized.items()})
        return values

    def _retrieve(self, text: str, language: str, intent: str, confidence: float) -> tuple[_Decision | None, str]:
        """Return a retrieved answer, or None with a note that says why there is none."""
        if self.index is None:
            return None, "there is no knowledge index"
        unreadable = self._unknown_token_share(text)
        if unreadable > self.config.max_unknown_token_share:
            return None, f"retrieval was skipped because {unreadable:.0%} of the message's tokens are unknown to the embedder"
        hits = [hit for hit in self.index.search(text, k=_SEARCH_DEPTH) if getattr(hit, "language", "") in ("", language)]
        usable = [hit for hit in hits if hit.score >= self._min_score(hit.kind)]
        if not usable:
            best = f"{hits[0].score:.2f} ({hits[0].kind})" if hits else "nothing in the customer's language"
            return None, (
                f"the best passage scored {best}, below {self.retrieval_min_score:.2f} for articles "
                f"and {self._min_score('past_answer'):.2f} for past answers"
            )
        best = usable[0]
        sources = tuple(
            Source(title=hit.title or hit.path, path=hit.path, url=hit.url or "", score=round(float(hit.score), 4))
            for hit in usable
            if hit.kind == best.kind
        )[:_MAX_SOURCES]
        if best.kind == "past_answer":
            values = self._slot_values(language)
            answer = fill_template(best.answer or best.text, values, lambda slot: message(language, "missing_slot", slot=humanize_slot(slot)))
            body = f"{message(language, 'past_answer_intro')}\n\n{_shorten(answer, self.config.max_answer_chars)}"
        else:
            body = f"{message(language, 'retrieval_intro')}\n\n{_shorten(best.text, self.config.max_answer_chars)}"
        reason = f"Retrieved {best.kind} {best.path or best.title} scored {best.score:.2f} (threshold {self._min_score(best.kind):.2f}); intent {intent} at {confidence:.2f} was not used."
        return _Decision(RETRIEVAL, body, reason, intent, confidence, sources), ""

    def _min_score(self, kind: str) -> float:
        if kind == "past_answer":
            return max(self.retrieval_min_score, self.config.past_answer_min_score)
        return self.retrieval_min_score

    def _unknown_token_share(self, text: str) -> float:
        embedder = getattr(self.index, "embedder", None)
        measure = getattr(embedder, "unknown_token_share", None)
        return float(measure(text)) if measure is not None else 0.0

    def _fallback_text(self, language: str) -> str:
        topics = self.topics.get(language) or ([] if language != "en" else self.topics["en"])
        if not topics:
            return message(language, "fallback_no_topics")
        return message(language, "fallback", topics=message(language, "topic_separator").join(topics))


# Hits fetched per search, before the language filter and the per-kind thresholds, and sources shown per reply.
_SEARCH_DEPTH = 8
_MAX_SOURCES = 3
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def _shorten(text: str, limit: int) -> str:
    """Cut `text` at the last sentence end before `limit` characters (or at the limit, with an ellipsis)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [match.end() for match in _SENTENCE_END.finditer(cut) if match.end() > limit // 2]
    return cut[: ends[-1]].rstrip() if ends else cut.rstrip() + "…"
