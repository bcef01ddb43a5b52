"""Tests for a training run with the tiny encoder: outputs, input errors and failure safety."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

import training.trainer
from training.config import TrainConfig
from training.data import OUT_OF_SCOPE, Example
from training.errors import DataError
from training.model_folder import METRICS
from training.registry import ModelRegistry
from training.trainer import train_intent_model


def test_run_promotes_version(trained_tiny):
    registry = ModelRegistry(trained_tiny.path.parent)
    assert trained_tiny.promoted
    assert registry.current() == trained_tiny.path
    assert registry.versions() == [trained_tiny.path]


def test_metrics_report_content(trained_tiny):
    metrics = json.loads((trained_tiny.path / METRICS).read_text(encoding="utf-8"))
    assert metrics == trained_tiny.metrics
    assert metrics["version"] == trained_tiny.path.name
    assert set(metrics["held_out"]) >= {"accuracy", "macro_f1", "per_intent", "per_language", "at_threshold"}
    assert set(metrics["held_out"]["per_language"]) == {"en", "zh-CN"}
    assert set(metrics["calibration"]) >= {"temperature", "threshold", "coverage", "precision", "ece_before", "ece_after"}
    assert metrics["data"]["held_out"] == metrics["held_out"]["examples"]
    assert metrics["templates"]["intents_with_templates"] == 3


def test_split_counts(trained_tiny, tiny_data):
    data = trained_tiny.metrics["data"]
    assert data["train"] + data["held_out"] == data["examples"] == len(tiny_data)
    assert data["per_language"] == dict(Counter(example.language for example in tiny_data))


def test_no_staging_left(trained_tiny):
    assert [path.name for path in trained_tiny.path.parent.iterdir() if path.name.startswith(".")] == []


def test_no_labels_raises(tiny_config, tmp_path):
    examples = [Example(text="where is my order"), Example(text="refund please")]
    with pytest.raises(DataError, match="intent label"):
        train_intent_model(examples, tiny_config, ModelRegistry(tmp_path))


def test_single_intent_raises(tiny_config, tmp_path):
    examples = [Example(text=f"refund {index}", intent="refund") for index in range(5)]
    examples += [Example(text=f"weather {index}", intent=OUT_OF_SCOPE) for index in range(5)]
    with pytest.raises(DataError, match="at least two intents"):
        train_intent_model(examples, tiny_config, ModelRegistry(tmp_path))


def test_failed_run_keeps_current(tiny_data, tiny_config, tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path)
    first = train_intent_model(tiny_data, tiny_config, registry)

    def failing_mine(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(training.trainer, "mine_templates", failing_mine)
    with pytest.raises(RuntimeError, match="injected failure"):
        train_intent_model(tiny_data, tiny_config, registry)
    assert registry.current() == first.path
    assert registry.versions() == [first.path]


def test_failed_save_leaves_nothing(tiny_data, tiny_config, tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path)
    original_save = training.trainer.save_model_folder

    def save_then_fail(folder, *args, **kwargs):
        original_save(folder, *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(training.trainer, "save_model_folder", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        train_intent_model(tiny_data, tiny_config, registry)
    assert registry.current() is None
    assert list(tmp_path.iterdir()) == []


def test_without_promote_keeps_current(tiny_data, tiny_config, tmp_path):
    registry = ModelRegistry(tmp_path)
    result = train_intent_model(tiny_data, tiny_config, registry, promote=False)
    assert not result.promoted
    assert result.path.is_dir()
    assert registry.current() is None


def test_small_intent_reported(tiny_data, tiny_config, tmp_path):
    examples = tiny_data + [
        Example(text="cancel my order", intent="cancel_order", response="Order {{Order Number}} is cancelled."),
        Example(text="cancel the order now", intent="cancel_order"),
    ]
    result = train_intent_model(examples, tiny_config, ModelRegistry(tmp_path), promote=False)
    assert result.metrics["data"]["intents_without_held_out"] == ["cancel_order"]
    assert any("cancel_order" in warning for warning in result.metrics["warnings"])


def test_unlabelled_rows_ignored(tiny_data, tiny_config, tmp_path):
    examples = tiny_data + [Example(text="an unlabelled message", response="an agent reply")]
    result = train_intent_model(examples, tiny_config, ModelRegistry(tmp_path), promote=False)
    assert result.metrics["data"]["examples"] == len(tiny_data)


def test_intent_without_reply_has_no_template(tiny_data, tiny_config, tmp_path):
    examples = [
        Example(text=example.text, intent=example.intent, language=example.language,
                response="" if example.intent == "refund" else example.response)
        for example in tiny_data
    ]
    result = train_intent_model(examples, tiny_config, ModelRegistry(tmp_path), promote=False)
    assert result.metrics["templates"]["intents_without_templates"] == ["refund"]


def test_same_data_same_hash(trained_tiny, tiny_data, tiny_config, tmp_path):
    result = train_intent_model(list(reversed(tiny_data)), tiny_config, ModelRegistry(tmp_path), promote=False)
    assert result.path.name.split("-")[2] == trained_tiny.path.name.split("-")[2]


def test_no_held_out_uses_default_threshold(tiny_data, tiny_config, tmp_path):
    examples = [example for example in tiny_data if example.language == "en"][::3]
    result = train_intent_model(examples, tiny_config, ModelRegistry(tmp_path), promote=False)
    calibration = result.metrics["calibration"]
    assert result.metrics["held_out"] is None
    assert calibration["calibrated"] is False
    assert calibration["threshold"] == max(tiny_config.min_threshold, tiny_config.target_precision)
    assert len(result.metrics["data"]["intents_without_held_out"]) == 4


def test_min_steps_adds_epochs(tiny_data, tiny_config, tmp_path):
    config = TrainConfig.from_dict({**tiny_config.to_dict(), "epochs": 1, "min_steps": 10})
    result = train_intent_model(tiny_data, config, ModelRegistry(tmp_path), promote=False)
    training = result.metrics["training"]
    steps_per_epoch = math.ceil(result.metrics["data"]["train"] / config.batch_size)
    assert training["epochs"] == math.ceil(10 / steps_per_epoch)
    assert training["steps"] == training["epochs"] * steps_per_epoch
