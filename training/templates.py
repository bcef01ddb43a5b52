"""Response templates mined from the agent replies of each intent.

A template is a past agent reply picked as the reply to an intent, with its placeholders rewritten
as named slots such as `{{order_number}}` that the dialogue manager fills or strips.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from training.data import OUT_OF_SCOPE, Example
from training.errors import DataError

logger = logging.getLogger(__name__)

# `{{ anything but braces }}`. `_slot_name` normalises the name inside.
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
# A lower-case letter or digit followed by an upper-case letter marks a camelCase word boundary.
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^\w]+|_+")
_WHITESPACE = re.compile(r"\s+")
# Values that belong to one customer: an e-mail address, or a run of 6 or more digits (order,
# phone and card numbers), possibly grouped by spaces or dashes. A reply that contains one is
# never served to another customer as a template.
_PERSONAL_DATA = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\d(?:[ -]?\d){5,}")

# Two replies whose embeddings have at least this cosine similarity count as near-duplicates, so
# at most one of them becomes a template.
NEAR_DUPLICATE_SIMILARITY = 0.9

EmbedFunction = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Template:
    """A reply template for one intent and language.

    `slots` are the snake_case slot names in order of first appearance in `text`, and `support`
    is the number of agent replies (duplicates included) that are closer to this template than to
    any other template of the same intent and language.
    """

    intent: str
    text: str
    slots: tuple[str, ...]
    language: str
    support: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        values = asdict(self)
        values["slots"] = list(self.slots)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Template:
        """Build a template from a dict written by `to_dict`."""
        return cls(
            intent=str(values["intent"]),
            text=str(values["text"]),
            slots=tuple(str(slot) for slot in values["slots"]),
            language=str(values["language"]),
            support=int(values["support"]),
        )


def _slot_name(raw: str) -> str:
    words = _CAMEL_BOUNDARY.sub("_", raw.strip())
    return _NON_WORD.sub("_", words).strip("_").lower()


def normalize_placeholders(text: str) -> str:
    """Rewrite every `{{...}}` placeholder as a snake_case slot.

    `{{Order Number}}`, `{{ order-number }}` and `{{OrderNumber}}` all become `{{order_number}}`.
    Letters outside ASCII are kept, so `{{订单号}}` stays as it is. A placeholder whose name has
    no letter or digit, such as `{{ }}`, is left unchanged.
    """

    def replace(match: re.Match[str]) -> str:
        name = _slot_name(match.group(1))
        return "{{" + name + "}}" if name else match.group(0)

    return _PLACEHOLDER.sub(replace, text)


def template_slots(text: str) -> tuple[str, ...]:
    """Return the snake_case slot names in `text`, each once, in order of first appearance."""
    names = (_slot_name(match.group(1)) for match in _PLACEHOLDER.finditer(text))
    return tuple(dict.fromkeys(name for name in names if name))


def contains_personal_data(text: str) -> bool:
    """Return whether `text` contains an e-mail address or a run of 6 or more digits outside slots."""
    return _PERSONAL_DATA.search(_PLACEHOLDER.sub(" ", text)) is not None


def mine_templates(
    examples: Iterable[Example],
    embed: EmbedFunction,
    per_intent: int,
    *,
    max_candidates: int = 32,
    near_duplicate_similarity: float = NEAR_DUPLICATE_SIMILARITY,
    seed: int = 0,
) -> dict[str, list[Template]]:
    """Pick up to `per_intent` representative agent replies for each intent and language.

    Replies are grouped by intent and language, and exact duplicates (after placeholder
    normalisation and whitespace collapsing) are merged and counted. The first pick of a group is
    its medoid: the reply with the highest count-weighted sum of cosine similarities to the
    group. Further picks follow in the same order of centrality, skipping replies whose similarity
    to an earlier pick is at least `near_duplicate_similarity`. Groups with more than
    `max_candidates` distinct replies are sampled with `seed` before embedding. Replies that
    contain an e-mail address or a long number (see `contains_personal_data`) are left out, because
    a template must not repeat one customer's order or phone number to another.

    `embed` maps a list of texts to an array of shape (len(texts), dim). Out-of-scope examples and
    examples without an intent or reply are skipped, so intents that never got a reply get no
    template. The returned lists hold the templates of the language with the most replies first,
    and within a language the most representative template first.
    """
    if per_intent < 1:
        raise ValueError(f"per_intent must be at least 1, got {per_intent}.")
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    personal = 0
    for example in examples:
        if not example.intent or example.intent == OUT_OF_SCOPE or not example.response.strip():
            continue
        reply = _WHITESPACE.sub(" ", normalize_placeholders(example.response)).strip()
        if contains_personal_data(reply):
            personal += 1
            continue
        groups[(example.intent, example.language)][reply] += 1
    if personal:
        logger.info("Left %d agent replies with an e-mail address or a long number out of template mining", personal)

    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[Template]] = defaultdict(list)
    for (intent, language), counts in sorted(groups.items()):
        replies = sorted(counts)
        if len(replies) > max_candidates:
            chosen = rng.choice(len(replies), size=max_candidates, replace=False)
            replies = [replies[index] for index in sorted(chosen)]
        weights = np.array([counts[reply] for reply in replies], dtype=np.float64)
        picks, support = _pick_representatives(replies, weights, embed, per_intent, near_duplicate_similarity)
        for index, count in zip(picks, support):
            text = replies[index]
            by_intent[intent].append(Template(intent, text, template_slots(text), language, count))
        logger.debug("Mined %d templates for intent %s (%s) from %d distinct replies", len(picks), intent, language, len(replies))

    # Order each intent's list by language size, keeping each language's templates in pick order.
    result: dict[str, list[Template]] = {}
    for intent, templates in sorted(by_intent.items()):
        language_size = Counter()
        for template in templates:
            language_size[template.language] += template.support
        result[intent] = sorted(templates, key=lambda template: -language_size[template.language])
    return result


def _pick_representatives(
    replies: Sequence[str],
    weights: np.ndarray,
    embed: EmbedFunction,
    per_intent: int,
    near_duplicate_similarity: float,
) -> tuple[list[int], list[int]]:
    """Return the indices of the picked replies and the support of each pick."""
    if len(replies) == 1:
        return [0], [int(weights[0])]
    vectors = np.asarray(embed(list(replies)), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(replies):
        raise DataError(
            f"The embedding function returned an array of shape {vectors.shape} for {len(replies)} replies; "
            "expected one row per reply."
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    similarity = unit @ unit.T
    centrality = similarity @ weights

    picks: list[int] = []
    # Stable sort, so equal centralities keep the alphabetical order of `replies`.
    for index in np.argsort(-centrality, kind="stable"):
        if len(picks) == per_intent:
            break
        if picks and similarity[index, picks].max() >= near_duplicate_similarity:
            continue
        picks.append(int(index))

    nearest_pick = np.argmax(similarity[:, picks], axis=1)
    support = [int(weights[nearest_pick == position].sum()) for position in range(len(picks))]
    return picks, support


def templates_to_json(templates: dict[str, list[Template]]) -> dict[str, list[dict[str, Any]]]:
    """Return templates as the JSON object stored in a model folder."""
    return {intent: [template.to_dict() for template in items] for intent, items in templates.items()}


def templates_from_json(values: dict[str, list[dict[str, Any]]]) -> dict[str, list[Template]]:
    """Rebuild templates from the JSON object written by `templates_to_json`."""
    return {str(intent): [Template.from_dict(item) for item in items] for intent, items in values.items()}
