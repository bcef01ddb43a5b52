"""Prepare labelled examples for training: deduplicate, hash and split per intent."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable

from training.data import Example

logger = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DataSplit:
    """Training and held-out examples, and the intents too small to have a held-out part."""

    train: list[Example]
    held_out: list[Example]
    intents_without_held_out: list[str] = field(default_factory=list)


def data_sha256(examples: Iterable[Example]) -> str:
    """Return the hex SHA-256 of the examples, independent of their order."""
    lines = sorted(json.dumps(asdict(example), ensure_ascii=False, sort_keys=True) for example in examples)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def text_key(text: str) -> str:
    """Return the form of a message under which two messages count as duplicates."""
    return _WHITESPACE.sub(" ", text).strip().casefold()


def deduplicate(examples: list[Example]) -> tuple[list[Example], int, int]:
    """Drop repeated (message, intent) pairs, keeping the first of each.

    Returns the kept examples, the number dropped, and the number of messages that occur with
    more than one intent (kept, but they cap the reachable accuracy).
    """
    seen: set[tuple[str, str]] = set()
    intents_of_text: dict[str, set[str]] = defaultdict(set)
    kept = []
    for example in examples:
        key = text_key(example.text)
        intents_of_text[key].add(example.intent)
        if (key, example.intent) in seen:
            continue
        seen.add((key, example.intent))
        kept.append(example)
    conflicting = sum(1 for intents in intents_of_text.values() if len(intents) > 1)
    return kept, len(examples) - len(kept), conflicting


def stratified_split(examples: list[Example], fraction: float, min_examples: int, seed: int) -> DataSplit:
    """Hold out `fraction` of each intent's examples, chosen with `seed`.

    An intent with fewer than `min_examples` examples goes to training whole and is listed in
    `intents_without_held_out`. Every other intent keeps at least one training example and gives
    at least one held-out example.
    """
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)

    rng = random.Random(seed)
    train: list[Example] = []
    held_out: list[Example] = []
    too_small: list[str] = []
    for intent in sorted(by_intent):
        group = list(by_intent[intent])
        rng.shuffle(group)
        if fraction <= 0 or len(group) < min_examples:
            if fraction > 0:
                too_small.append(intent)
            train.extend(group)
            continue
        held_count = min(max(1, round(len(group) * fraction)), len(group) - 1)
        held_out.extend(group[:held_count])
        train.extend(group[held_count:])
    rng.shuffle(train)
    return DataSplit(train=train, held_out=held_out, intents_without_held_out=too_small)
