"""Tests for the training config dataclass."""

from __future__ import annotations

import json

import pytest

from training.config import TrainConfig
from training.encoder import DEFAULT_ENCODER
from training.errors import ConfigError


def test_defaults_valid():
    config = TrainConfig()
    assert config.encoder == DEFAULT_ENCODER
    assert config.device == "auto"
    assert config.progress is True


def test_every_field_has_help():
    from dataclasses import fields

    missing = [item.name for item in fields(TrainConfig) if not item.metadata.get("help")]
    assert missing == []


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("encoder", ""),
        ("max_length", 4),
        ("max_length", 10_000),
        ("max_length", 64.0),
        ("lora_r", 0),
        ("lora_alpha", 0),
        ("lora_dropout", 1.0),
        ("lora_dropout", -0.1),
        ("target_modules", ()),
        ("target_modules", ("query", "")),
        ("target_modules", "query"),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("head_learning_rate", -1.0),
        ("new_token_learning_rate", 0.0),
        ("epochs", 0),
        ("epochs", True),
        ("min_steps", -1),
        ("batch_size", 0),
        ("weight_decay", 2.0),
        ("warmup_fraction", 1.0),
        ("classifier_dropout", 1.0),
        ("validation_fraction", 0.95),
        ("min_examples_for_validation", 1),
        ("seed", -1),
        ("target_precision", 0.0),
        ("target_precision", 1.5),
        ("min_threshold", -0.1),
        ("templates_per_intent", 0),
        ("template_candidates", 0),
        ("learn_new_characters", "yes"),
        ("max_new_characters", -1),
        ("device", "tpu"),
        ("progress", "no"),
    ],
)
def test_invalid_value_names_field(field_name, value):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{field_name: value})
    assert field_name in str(caught.value)
    assert repr(value) in str(caught.value) or str(value) in str(caught.value)


def test_error_gives_allowed_range():
    with pytest.raises(ConfigError, match=r"from 1 to 1000"):
        TrainConfig(epochs=0)


def test_candidates_below_templates_rejected():
    with pytest.raises(ConfigError, match="template_candidates"):
        TrainConfig(templates_per_intent=5, template_candidates=2)


def test_cuda_index_accepted():
    assert TrainConfig(device="cuda:1").device == "cuda:1"


def test_target_modules_list_becomes_tuple():
    config = TrainConfig(target_modules=["query", "value"])
    assert config.target_modules == ("query", "value")


def test_dict_round_trip():
    config = TrainConfig(epochs=3, target_modules=("query",), seed=7)
    restored = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config


def test_to_dict_json_serialisable():
    values = TrainConfig().to_dict()
    assert values["target_modules"] == list(TrainConfig().target_modules)
    assert json.loads(json.dumps(values)) == values


def test_from_dict_missing_keys_default():
    assert TrainConfig.from_dict({"epochs": 2}) == TrainConfig(epochs=2)


def test_from_dict_unknown_keys_named():
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({"epochs": 2, "epoch": 3, "lr": 0.1})
    assert "epoch, lr" in str(caught.value)


def test_from_dict_non_mapping_rejected():
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_dict(["epochs", 2])
