"""Tests for deduplication, the data hash and the stratified split."""

from __future__ import annotations

from collections import Counter

from training.data import Example
from training.split import data_sha256, deduplicate, stratified_split


def examples_of(counts: dict[str, int]) -> list[Example]:
    return [Example(text=f"{intent} message {number}", intent=intent) for intent, count in counts.items() for number in range(count)]


def test_split_is_stratified():
    split = stratified_split(examples_of({"a": 20, "b": 10}), fraction=0.2, min_examples=4, seed=1)
    assert Counter(example.intent for example in split.held_out) == {"a": 4, "b": 2}
    assert Counter(example.intent for example in split.train) == {"a": 16, "b": 8}


def test_split_is_seeded():
    examples = examples_of({"a": 20, "b": 10})
    first = stratified_split(examples, 0.2, 4, seed=3)
    second = stratified_split(examples, 0.2, 4, seed=3)
    other = stratified_split(examples, 0.2, 4, seed=4)
    assert first == second
    assert first.held_out != other.held_out


def test_small_intent_trains_only():
    split = stratified_split(examples_of({"a": 20, "b": 3}), fraction=0.2, min_examples=4, seed=1)
    assert split.intents_without_held_out == ["b"]
    assert Counter(example.intent for example in split.train)["b"] == 3


def test_split_keeps_one_training_example():
    split = stratified_split(examples_of({"a": 4}), fraction=0.9, min_examples=4, seed=1)
    assert len(split.train) == 1
    assert len(split.held_out) == 3


def test_zero_fraction_holds_out_nothing():
    split = stratified_split(examples_of({"a": 10, "b": 2}), fraction=0.0, min_examples=4, seed=1)
    assert split.held_out == []
    assert split.intents_without_held_out == []


def test_deduplicate_drops_repeats():
    examples = [
        Example(text="Where is my order?", intent="track_order"),
        Example(text="where is  my order?", intent="track_order"),
        Example(text="where is my order?", intent="delivery_delay"),
    ]
    kept, dropped, conflicting = deduplicate(examples)
    assert [example.intent for example in kept] == ["track_order", "delivery_delay"]
    assert dropped == 1
    assert conflicting == 1


def test_hash_ignores_order():
    examples = examples_of({"a": 3, "b": 2})
    assert data_sha256(examples) == data_sha256(list(reversed(examples)))


def test_hash_sees_label_change():
    examples = examples_of({"a": 3})
    changed = examples[:-1] + [Example(text=examples[-1].text, intent="b")]
    assert data_sha256(examples) != data_sha256(changed)
