"""Tests for the model folder: exact file set, save/load round trip, and loading damaged folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from training.artifact import IntentModel, IntentPrediction
from training.config import TrainConfig
from training.encoder import encoder_fingerprint
from training.errors import ArtifactError
from training.model import build_classifier
from training.model_folder import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    CONFIG,
    FORMAT_VERSION,
    HEAD_WEIGHTS,
    LABELS,
    MANIFEST,
    METRICS,
    MODEL_CARD,
    TEMPLATES,
    save_model_folder,
    write_manifest,
)
from training.templates import Template

TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json"}
EXPECTED_FILES = {
    ADAPTER_WEIGHTS,
    ADAPTER_CONFIG,
    HEAD_WEIGHTS,
    LABELS,
    TEMPLATES,
    CONFIG,
    METRICS,
    MODEL_CARD,
    MANIFEST,
} | TOKENIZER_FILES
PROBE_TEXTS = ["where is my order", "i want a refund", "我要退款", "龍龍 order", "tell me a joke", ""]


def saved_round_trip_model(encoder: Path, config: TrainConfig, folder: Path):
    """Build a classifier with non-zero LoRA and new-token weights, save it, and return it with its tokenizer."""
    labels = ["refund", "reset_password", "track_order"]
    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    torch.manual_seed(1)
    classifier = build_classifier(str(encoder), config, len(labels), tokenizer, ["龍"])
    with torch.no_grad():
        for name, parameter in classifier.named_parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter) * 0.5)
    classifier.eval()
    record = {
        "format_version": FORMAT_VERSION,
        "train_config": config.to_dict(),
        "provenance": {"encoder_fingerprint": encoder_fingerprint(config.encoder)},
        "calibration": {"temperature": 2.0, "threshold": 0.5},
    }
    templates = {"refund": [Template("refund", "Refund of {{amount}} sent.", ("amount",), "en", 2)]}
    folder.mkdir()
    save_model_folder(folder, classifier, tokenizer, labels, templates, record, {"accuracy": 1.0}, "# card\n")
    return classifier, tokenizer, labels


def rewrite_json(path: Path, change) -> None:
    """Apply `change` to a JSON file of a model folder, then make the manifest match again."""
    value = json.loads(path.read_text(encoding="utf-8"))
    change(value)
    path.write_text(json.dumps(value), encoding="utf-8")
    write_manifest(path.parent)


def test_round_trip_equal_logits(tiny_encoder, tiny_config, tmp_path):
    folder = tmp_path / "model"
    classifier, tokenizer, labels = saved_round_trip_model(tiny_encoder, tiny_config, folder)
    encoded = tokenizer(PROBE_TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = classifier(**encoded)

    model = IntentModel.load(folder, device="cpu")
    assert torch.allclose(model.logits(PROBE_TEXTS), expected, atol=1e-5)
    assert model.labels == labels


def test_round_trip_uses_new_token(tiny_encoder, tiny_config, tmp_path):
    folder = tmp_path / "model"
    saved_round_trip_model(tiny_encoder, tiny_config, folder)
    model = IntentModel.load(folder, device="cpu")
    assert model.tokenizer.convert_tokens_to_ids("龍") != model.tokenizer.unk_token_id
    assert not torch.allclose(model.logits(["龍"]), model.logits(["[UNK]"]))


def test_round_trip_exact_file_set(tiny_encoder, tiny_config, tmp_path):
    folder = tmp_path / "model"
    saved_round_trip_model(tiny_encoder, tiny_config, folder)
    assert {path.name for path in folder.iterdir()} == EXPECTED_FILES


def test_predict_calibrated_top_three(tiny_encoder, tiny_config, tmp_path):
    folder = tmp_path / "model"
    saved_round_trip_model(tiny_encoder, tiny_config, folder)
    model = IntentModel.load(folder, device="cpu")
    predictions = model.predict(PROBE_TEXTS)
    expected = torch.softmax(model.logits(PROBE_TEXTS) / 2.0, dim=-1)

    assert len(predictions) == len(PROBE_TEXTS)
    for prediction, row in zip(predictions, expected):
        assert isinstance(prediction, IntentPrediction)
        assert len(prediction.ranking) == 3
        assert prediction.ranking[0] == (prediction.intent, prediction.confidence)
        assert prediction.confidence == pytest.approx(float(row.max()), abs=1e-6)
        assert [score for _, score in prediction.ranking] == sorted((score for _, score in prediction.ranking), reverse=True)


def test_predict_empty_list(model_copy):
    assert IntentModel.load(model_copy(), device="cpu").predict([]) == []


def test_predict_batch_matches_single(model_copy):
    model = IntentModel.load(model_copy(), device="cpu")
    texts = [f"where is my order {'please ' * count}" for count in range(70)]
    batched = model.logits(texts)
    single = torch.cat([model.logits([text]) for text in texts[:3]])
    assert torch.allclose(batched[:3], single, atol=1e-5)


def test_predict_from_many_threads(model_copy):
    from concurrent.futures import ThreadPoolExecutor

    model = IntentModel.load(model_copy(), device="cpu")
    texts = [f"where is my order {number}" for number in range(40)]
    expected = [prediction.intent for prediction in model.predict(texts)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda text: model.predict([text])[0].intent, texts))
    assert results == expected


def test_trained_folder_exact_file_set(trained_tiny):
    assert {path.name for path in trained_tiny.path.iterdir()} == EXPECTED_FILES


def test_trained_folder_readable_by_others(trained_tiny):
    assert trained_tiny.path.stat().st_mode & 0o055 == 0o055
    for path in trained_tiny.path.iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path.name


def test_manifest_lists_every_file(trained_tiny):
    manifest = json.loads((trained_tiny.path / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == EXPECTED_FILES - {MANIFEST}
    assert manifest["format_version"] == FORMAT_VERSION


def test_config_records_provenance(trained_tiny, tiny_config):
    record = json.loads((trained_tiny.path / CONFIG).read_text(encoding="utf-8"))
    provenance = record["provenance"]
    assert provenance["base_model"] == tiny_config.encoder
    assert provenance["encoder_fingerprint"] == encoder_fingerprint(tiny_config.encoder)
    assert len(provenance["data_sha256"]) == 64
    assert set(provenance["libraries"]) >= {"torch", "transformers", "peft", "sentence-transformers"}
    assert provenance["created_at"].endswith("+00:00")
    assert TrainConfig.from_dict(record["train_config"]) == tiny_config
    assert set(record["calibration"]) >= {"temperature", "threshold"}


def test_adapter_config_names_base_model(trained_tiny, tiny_config):
    adapter = json.loads((trained_tiny.path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    assert adapter["base_model_name_or_path"] == tiny_config.encoder
    assert adapter["r"] == tiny_config.lora_r


def test_model_card_content(trained_tiny):
    card = (trained_tiny.path / MODEL_CARD).read_text(encoding="utf-8")
    record = json.loads((trained_tiny.path / CONFIG).read_text(encoding="utf-8"))
    assert record["provenance"]["data_sha256"] in card
    assert "confidence threshold" in card
    assert "`track_order`" in card


def test_loaded_attributes(model_copy, trained_tiny):
    folder = model_copy()
    model = IntentModel.load(folder, device="cpu")
    assert model.version == folder.name
    assert model.path == folder.resolve()
    assert model.labels == ["out_of_scope", "refund", "reset_password", "track_order"]
    assert model.threshold == trained_tiny.metrics["calibration"]["threshold"]
    assert model.temperature == trained_tiny.metrics["calibration"]["temperature"]
    assert model.metrics == trained_tiny.metrics
    assert set(model.templates) == {"refund", "reset_password", "track_order"}
    assert isinstance(model.config, TrainConfig)


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_missing_file_raises(model_copy, name):
    folder = model_copy()
    (folder / name).unlink()
    with pytest.raises(ArtifactError, match="chatbot train") as caught:
        IntentModel.load(folder, device="cpu")
    assert name in str(caught.value)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(ArtifactError, match="not found"):
        IntentModel.load(tmp_path / "absent")


@pytest.mark.parametrize("name", [ADAPTER_WEIGHTS, HEAD_WEIGHTS])
def test_corrupt_safetensors_raises(model_copy, name):
    folder = model_copy()
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt") as caught:
        IntentModel.load(folder, device="cpu")
    assert name in str(caught.value)


def test_truncated_safetensors_with_matching_manifest(model_copy):
    folder = model_copy()
    path = folder / ADAPTER_WEIGHTS
    path.write_bytes(path.read_bytes()[:100])
    write_manifest(folder)
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        IntentModel.load(folder, device="cpu")


def test_tampered_json_raises(model_copy):
    folder = model_copy()
    labels = json.loads((folder / LABELS).read_text(encoding="utf-8"))
    labels["labels"].reverse()
    (folder / LABELS).write_text(json.dumps(labels), encoding="utf-8")
    with pytest.raises(ArtifactError, match="corrupt") as caught:
        IntentModel.load(folder, device="cpu")
    assert LABELS in str(caught.value)


def test_invalid_json_with_matching_manifest(model_copy):
    folder = model_copy()
    (folder / TEMPLATES).write_text("{not json", encoding="utf-8")
    write_manifest(folder)
    with pytest.raises(ArtifactError, match="not valid JSON"):
        IntentModel.load(folder, device="cpu")


def test_label_count_mismatch_raises(model_copy):
    folder = model_copy()
    rewrite_json(folder / LABELS, lambda value: value["labels"].append("extra_intent"))
    with pytest.raises(ArtifactError, match=HEAD_WEIGHTS):
        IntentModel.load(folder, device="cpu")


def test_fingerprint_mismatch_names_both(model_copy, tiny_config):
    folder = model_copy()
    rewrite_json(folder / CONFIG, lambda value: value["provenance"].update(encoder_fingerprint="0123456789abcdef"))
    with pytest.raises(ArtifactError) as caught:
        IntentModel.load(folder, device="cpu")
    assert "0123456789abcdef" in str(caught.value)
    assert encoder_fingerprint(tiny_config.encoder) in str(caught.value)


def test_other_format_version_raises(model_copy):
    folder = model_copy()
    rewrite_json(folder / CONFIG, lambda value: value.update(format_version=99))
    with pytest.raises(ArtifactError, match="format_version 99"):
        IntentModel.load(folder, device="cpu")


def test_invalid_train_config_raises(model_copy):
    folder = model_copy()
    rewrite_json(folder / CONFIG, lambda value: value["train_config"].update(epochs=0))
    with pytest.raises(ArtifactError, match="epochs"):
        IntentModel.load(folder, device="cpu")


def test_manifest_missing_required_entry(model_copy):
    folder = model_copy()
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    del manifest["files"][METRICS]
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArtifactError, match=METRICS):
        IntentModel.load(folder, device="cpu")
