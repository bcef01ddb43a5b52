"""Serve a trained intent model: load a model folder once, then predict calibrated intents."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from safetensors import SafetensorError
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from training.config import TrainConfig
from training.device import inference_dtype, select_device
from training.encoder import encoder_fingerprint, resolve_encoder
from training.errors import ArtifactError, ChatbotError
from training.model import IntentClassifier, drop_pooler, quiet_peft_deprecation
from training.model_folder import (
    CONFIG,
    FORMAT_VERSION,
    HEAD_WEIGHTS,
    LABELS,
    METRICS,
    RETRAIN_HINT,
    TEMPLATES,
    read_json,
    verify_folder,
)
from training.templates import Template, templates_from_json
from training.vocabulary import resize_embeddings

logger = logging.getLogger(__name__)

# Messages per forward pass when `predict` gets a long list, as `chatbot evaluate` passes.
PREDICT_BATCH_SIZE = 64
TOP_K = 3


@dataclass(frozen=True)
class IntentPrediction:
    """The top intent of one message, its calibrated confidence and the top-3 ranking."""

    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class IntentModel:
    """A loaded intent model: merged encoder, head, tokenizer, labels, templates and calibration.

    Build it with `IntentModel.load(path)`. The LoRA weights are merged into the encoder on load,
    so a prediction costs one plain encoder pass. `predict` and `logits` may be called from several
    threads, and the calls run one at a time.
    """

    def __init__(
        self,
        *,
        classifier: IntentClassifier,
        tokenizer: PreTrainedTokenizerBase,
        labels: list[str],
        templates: dict[str, list[Template]],
        config: TrainConfig,
        config_record: dict[str, Any],
        metrics: dict[str, Any],
        path: Path,
        device: torch.device,
    ) -> None:
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.labels = labels
        self.templates = templates
        self.config = config
        self.config_record = config_record
        self.metrics = metrics
        self.path = path
        self.version = path.name
        self.device = device
        calibration = config_record["calibration"]
        self.temperature = float(calibration["temperature"])
        self.threshold = float(calibration["threshold"])
        # A fast tokenizer sets its truncation and padding state on every call, and some tokenizers
        # releases raise "RuntimeError: Already borrowed" when two threads call one at once
        # (huggingface/tokenizers#537). The lock also keeps two forward passes off the same cores.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> IntentModel:
        """Load and verify the model folder at `path`.

        Raises `ArtifactError` when a file is missing, unlisted in the manifest or modified, when the
        folder was written in another format, or when the base encoder's weights differ from those
        the model was trained on. It never returns a model with untrained weights.
        """
        started = time.perf_counter()
        folder = Path(path).expanduser().resolve()
        verify_folder(folder)
        config_record = read_json(folder / CONFIG)
        config = _read_train_config(folder, config_record)
        labels = _read_labels(folder)
        templates = _read_templates(folder)
        metrics = read_json(folder / METRICS)
        _check_encoder(folder, config, config_record)

        torch_device = select_device(device)
        tokenizer = _load_tokenizer(folder)
        classifier = _load_classifier(folder, config, len(labels), len(tokenizer))
        # NOTE: the float16 CUDA path has not run in this project's CPU-only tests.
        classifier.to(device=torch_device, dtype=inference_dtype(torch_device))
        model = cls(
            classifier=classifier,
            tokenizer=tokenizer,
            labels=labels,
            templates=templates,
            config=config,
            config_record=config_record,
            metrics=metrics,
            path=folder,
            device=torch_device,
        )
        logger.info(
            "Loaded intent model %s (%d labels, threshold %.3f, temperature %.3f) on %s in %.1f s",
            model.version,
            len(labels),
            model.threshold,
            model.temperature,
            torch_device,
            time.perf_counter() - started,
        )
        return model

    @torch.inference_mode()
    def logits(self, texts: list[str]) -> torch.Tensor:
        """Return the uncalibrated float32 logits of shape (len(texts), len(labels)) on the CPU."""
        if not texts:
            return torch.empty((0, len(self.labels)))
        # Sorting by length keeps padding low when a long list is split into batches.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        outputs = torch.empty((len(texts), len(self.labels)))
        with self._lock:
            for start in range(0, len(order), PREDICT_BATCH_SIZE):
                batch_indices = order[start : start + PREDICT_BATCH_SIZE]
                encoded = self.tokenizer(
                    [texts[index] for index in batch_indices],
                    padding=True,
                    truncation=True,
                    max_length=self.config.max_length,
                    return_tensors="pt",
                ).to(self.device)
                batch_logits = self.classifier(**encoded)
                outputs[batch_indices] = batch_logits.float().cpu()
        return outputs

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        """Return the calibrated top intent and top-3 ranking of each message, in input order."""
        probabilities = torch.softmax(self.logits(texts) / self.temperature, dim=-1)
        k = min(TOP_K, len(self.labels))
        top_probabilities, top_indices = probabilities.topk(k, dim=-1)
        predictions = []
        for row_probabilities, row_indices in zip(top_probabilities.tolist(), top_indices.tolist()):
            ranking = tuple((self.labels[index], probability) for index, probability in zip(row_indices, row_probabilities))
            predictions.append(IntentPrediction(intent=ranking[0][0], confidence=ranking[0][1], ranking=ranking))
        return predictions


def _read_train_config(folder: Path, config_record: Any) -> TrainConfig:
    if not isinstance(config_record, dict):
        raise ArtifactError(f"{folder / CONFIG} is invalid: expected a JSON object. {RETRAIN_HINT}")
    if config_record.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{folder / CONFIG} has format_version {config_record.get('format_version')!r}, but this version of the "
            f"project reads format {FORMAT_VERSION}. {RETRAIN_HINT}"
        )
    try:
        calibration = config_record["calibration"]
        float(calibration["temperature"])
        float(calibration["threshold"])
        return TrainConfig.from_dict(config_record["train_config"])
    except (KeyError, TypeError, ValueError, ChatbotError) as err:
        raise ArtifactError(f"{folder / CONFIG} is invalid ({err}). {RETRAIN_HINT}") from err


def _read_labels(folder: Path) -> list[str]:
    record = read_json(folder / LABELS)
    labels = record.get("labels") if isinstance(record, dict) else None
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(label, str) and label for label in labels):
        raise ArtifactError(
            f"{folder / LABELS} is invalid: expected {{\"labels\": [...]}} with at least two non-empty names. {RETRAIN_HINT}"
        )
    if len(set(labels)) != len(labels):
        raise ArtifactError(f"{folder / LABELS} lists a label more than once. {RETRAIN_HINT}")
    return labels


def _read_templates(folder: Path) -> dict[str, list[Template]]:
    record = read_json(folder / TEMPLATES)
    try:
        return templates_from_json(record)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"{folder / TEMPLATES} is invalid ({err!r}). {RETRAIN_HINT}") from err


def _check_encoder(folder: Path, config: TrainConfig, config_record: dict[str, Any]) -> None:
    recorded = config_record.get("provenance", {}).get("encoder_fingerprint", "")
    current = encoder_fingerprint(config.encoder)
    if recorded and current and recorded != current:
        raise ArtifactError(
            f"Model {folder.name} was trained on encoder {config.encoder!r} with weights fingerprint {recorded}, but the "
            f"encoder found now has fingerprint {current}. Install the encoder the model was trained on, or retrain "
            "with 'chatbot train'."
        )
    if not recorded or not current:
        # NOTE: a hub id without a local copy cannot be fingerprinted before transformers downloads it.
        logger.warning("Cannot verify the weights of encoder %s for model %s: no fingerprint", config.encoder, folder.name)


def _load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as err:
        raise ArtifactError(f"The tokenizer files in {folder} cannot be loaded ({err}). {RETRAIN_HINT}") from err


def _load_classifier(folder: Path, config: TrainConfig, num_labels: int, vocabulary_size: int) -> IntentClassifier:
    encoder_path = resolve_encoder(config.encoder)
    try:
        base = drop_pooler(AutoModel.from_pretrained(encoder_path))
        # Characters added during training get their embeddings from the adapter's trainable tokens.
        resize_embeddings(base, vocabulary_size)
    except OSError as err:
        raise ArtifactError(
            f"Base encoder {config.encoder!r} of model {folder.name} cannot be loaded from {encoder_path} ({err}). "
            "Install it, or retrain with another encoder."
        ) from err
    try:
        with quiet_peft_deprecation():
            encoder = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
        head_state = load_file(str(folder / HEAD_WEIGHTS))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as err:
        raise ArtifactError(f"The weights in {folder} cannot be loaded ({err}). {RETRAIN_HINT}") from err

    classifier = IntentClassifier(encoder, num_labels)
    expected = {name: tuple(tensor.shape) for name, tensor in classifier.head.state_dict().items()}
    found = {name: tuple(tensor.shape) for name, tensor in head_state.items()}
    if found != expected:
        raise ArtifactError(
            f"{folder / HEAD_WEIGHTS} has tensors {found}, but {num_labels} labels and the encoder need {expected}. "
            f"{RETRAIN_HINT}"
        )
    classifier.head.load_state_dict(head_state)
    classifier.eval()
    return classifier
