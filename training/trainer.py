"""Train, calibrate and save an intent model as a new registry version."""

from __future__ import annotations

import logging
import math
import platform
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from training.model_folder import FORMAT_VERSION, save_model_folder
from training.calibration import CalibrationResult, calibrate
from training.config import TrainConfig
from training.data import OUT_OF_SCOPE, Example
from training.device import select_device
from training.encoder import encoder_fingerprint, resolve_encoder
from training.errors import ArtifactError, DataError
from training.metrics import evaluate_predictions
from training.model import IntentClassifier, build_classifier
from training.model_card import render_model_card
from training.registry import ModelRegistry
from training.artifact import IntentModel
from training.split import DataSplit, data_sha256, deduplicate, stratified_split
from training.templates import EmbedFunction, Template, mine_templates
from training.vocabulary import find_unknown_characters

logger = logging.getLogger(__name__)

# Batches per pool of examples sorted by length during training (see _length_bucketed_batches).
BUCKET_BATCHES = 8
# Batch size for inference passes during training (held-out logits, reply embeddings).
INFERENCE_BATCH_SIZE = 64
# Agent replies are embedded from their first 128 word pieces. The opening of a reply is enough to
# tell which replies are alike, and it costs half of the encoder's full 256-piece window.
REPLY_MAX_LENGTH = 128
# The saved folder is reloaded and must reproduce the in-memory probabilities within this margin.
# On the CPU they agree to within 1e-6, and the margin leaves room for float16 on CUDA (an estimate).
RELOAD_TOLERANCE = 0.02
RELOAD_CHECK_TEXTS = 64
# A character must occur in this many training messages to get a token of its own, so a single
# typing error does not add one.
NEW_CHARACTER_MIN_COUNT = 2
LIBRARIES = ("torch", "transformers", "peft", "sentence-transformers", "safetensors", "scikit-learn")


@dataclass(frozen=True)
class TrainResult:
    """The saved model version, its metrics.json content and whether it was promoted to CURRENT."""

    path: Path
    metrics: dict[str, Any]
    promoted: bool = False


def train_intent_model(
    examples: Sequence[Example],
    config: TrainConfig,
    registry: ModelRegistry,
    *,
    promote: bool = True,
) -> TrainResult:
    """Train an intent model on labelled examples and save it as a new version in `registry`.

    The run holds out `config.validation_fraction` of each intent and trains the LoRA adapter and
    head on the rest. It fits the temperature and confidence threshold on the held-out part, and
    mines response templates from the agent replies. It then writes the model folder with its
    evaluation report and reloads it to check that it reproduces the trained model. Only then,
    and only when `promote` is true, does `CURRENT` point at it. Any exception leaves no new
    version and `CURRENT` unchanged.

    Raises `DataError` when no example has an intent or fewer than two in-scope intents remain.
    """
    started = time.perf_counter()
    warnings: list[str] = []
    labelled = _labelled_examples(examples, warnings)
    data_hash = data_sha256(labelled)
    split = stratified_split(labelled, config.validation_fraction, config.min_examples_for_validation, config.seed)
    if split.intents_without_held_out:
        warnings.append(
            f"{len(split.intents_without_held_out)} intents have fewer than {config.min_examples_for_validation} "
            f"examples and were used for training only: {', '.join(split.intents_without_held_out)}."
        )
    labels = sorted({example.intent for example in labelled})
    logger.info(
        "Training intent model on %d examples (%d held out), %d labels, data %s",
        len(split.train),
        len(split.held_out),
        len(labels),
        data_hash[:8],
    )
    for warning in warnings:
        logger.warning("%s", warning)

    device = select_device(config.device)
    torch.manual_seed(config.seed)
    encoder_path = resolve_encoder(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    new_characters = []
    if config.learn_new_characters:
        new_characters = find_unknown_characters(
            [example.text for example in split.train], tokenizer, NEW_CHARACTER_MIN_COUNT, config.max_new_characters
        )
    classifier = build_classifier(encoder_path, config, len(labels), tokenizer, new_characters).to(device)

    fit_started = time.perf_counter()
    training_stats = _fit(classifier, tokenizer, split.train, labels, config, device)
    training_stats["new_characters"] = len(new_characters)
    training_stats["fit_seconds"] = round(time.perf_counter() - fit_started, 1)
    held_out_texts = [example.text for example in split.held_out]
    held_out_gold = [example.intent for example in split.held_out]
    held_out_logits = _logits(classifier, tokenizer, held_out_texts, config.max_length, device, config.progress)
    calibration = calibrate(held_out_logits, held_out_gold, labels, config.target_precision, config.min_threshold)
    held_out_metrics = _held_out_metrics(held_out_logits, split.held_out, labels, calibration)

    mining_started = time.perf_counter()
    templates = mine_templates(
        labelled,
        _reply_embedder(classifier, tokenizer, device, config.progress),
        config.templates_per_intent,
        max_candidates=config.template_candidates,
        seed=config.seed,
    )
    training_stats["template_seconds"] = round(time.perf_counter() - mining_started, 1)
    without_templates = [label for label in labels if label != OUT_OF_SCOPE and label not in templates]
    if without_templates:
        warnings.append(
            f"{len(without_templates)} intents have no agent reply and get no template: {', '.join(without_templates)}."
        )
        logger.warning("%s", warnings[-1])

    version_path = registry.new_version_path(data_hash)
    config_record = _config_record(config, labels, labelled, split, data_hash, calibration)
    training_stats.update(device=str(device), seconds=round(time.perf_counter() - started, 1))
    metrics = {
        "format_version": FORMAT_VERSION,
        "version": version_path.name,
        "held_out": held_out_metrics,
        "calibration": calibration.to_dict(),
        "training": training_stats,
        "data": config_record["data"],
        "templates": _template_summary(templates, without_templates),
        "warnings": warnings,
    }
    card = render_model_card(version_path.name, config_record, metrics, labels, templates)
    check_texts = (held_out_texts or [example.text for example in split.train])[:RELOAD_CHECK_TEXTS]
    check_probabilities = _probabilities(classifier, tokenizer, check_texts, config, device, calibration.temperature)

    with registry.staging(version_path) as staging:
        classifier.encoder.peft_config["default"].base_model_name_or_path = config.encoder
        save_model_folder(staging, classifier, tokenizer, labels, templates, config_record, metrics, card)
        _check_reload(staging, check_texts, check_probabilities, config.device)
    if promote:
        registry.promote(version_path)
    logger.info(
        "Intent model %s: held-out accuracy %s, threshold %.3f, %.0f s",
        version_path.name,
        "n/a" if held_out_metrics is None else f"{held_out_metrics['accuracy']:.3f}",
        calibration.threshold,
        time.perf_counter() - started,
    )
    return TrainResult(path=version_path, metrics=metrics, promoted=promote)


def _labelled_examples(examples: Sequence[Example], warnings: list[str]) -> list[Example]:
    """Return the deduplicated examples that have an intent and a non-blank message."""
    labelled = [example for example in examples if example.intent.strip() and example.text.strip()]
    skipped = len(examples) - len(labelled)
    if not labelled:
        raise DataError(
            f"None of the {len(examples)} examples has an intent label, so there is nothing to train on. "
            "Export the conversations with their intent (or category) column, or label them first."
        )
    if skipped:
        logger.info("Skipped %d examples without an intent or message", skipped)
    labelled, duplicates, conflicting = deduplicate(labelled)
    if duplicates:
        logger.info("Dropped %d duplicate (message, intent) pairs", duplicates)
    if conflicting:
        warnings.append(f"{conflicting} messages occur with more than one intent; check their labels.")
    in_scope = sorted({example.intent for example in labelled} - {OUT_OF_SCOPE})
    if len(in_scope) < 2:
        raise DataError(
            f"Training needs at least two intents besides {OUT_OF_SCOPE!r}, but the examples have "
            f"{len(in_scope)}: {in_scope}. Add examples of more intents."
        )
    return labelled


def _fit(
    classifier: IntentClassifier,
    tokenizer: PreTrainedTokenizerBase,
    train: list[Example],
    labels: list[str],
    config: TrainConfig,
    device: torch.device,
) -> dict[str, Any]:
    """Optimise the LoRA weights and the head with AdamW and a linear warm-up and decay schedule."""
    label_index = {label: index for index, label in enumerate(labels)}
    encoded = tokenizer([example.text for example in train], truncation=True, max_length=config.max_length)
    targets = torch.tensor([label_index[example.intent] for example in train])
    lengths = [len(input_ids) for input_ids in encoded["input_ids"]]

    lora_parameters = []
    token_parameters = []
    for name, parameter in classifier.encoder.named_parameters():
        if parameter.requires_grad:
            (token_parameters if "trainable_tokens" in name else lora_parameters).append(parameter)
    groups = [
        {"params": lora_parameters, "lr": config.learning_rate, "weight_decay": config.weight_decay},
        {"params": [classifier.head.weight], "lr": config.head_learning_rate, "weight_decay": config.weight_decay},
        {"params": [classifier.head.bias], "lr": config.head_learning_rate, "weight_decay": 0.0},
    ]
    if token_parameters:
        groups.append({"params": token_parameters, "lr": config.new_token_learning_rate, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    if epochs > config.epochs:
        logger.info("Running %d epochs instead of %d to reach min_steps=%d", epochs, config.epochs, config.min_steps)
    total_steps = steps_per_epoch * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, round(config.warmup_fraction * total_steps), total_steps)
    generator = torch.Generator().manual_seed(config.seed)
    loss_function = torch.nn.CrossEntropyLoss()

    classifier.train()
    epoch_losses = []
    with tqdm(total=total_steps, desc="Training intent model", unit="step", disable=not config.progress) as bar:
        for epoch in range(epochs):
            loss_sum = 0.0
            for indices in _length_bucketed_batches(lengths, config.batch_size, generator):
                batch = tokenizer.pad(
                    {key: [values[index] for index in indices] for key, values in encoded.items()},
                    return_tensors="pt",
                ).to(device)
                loss = loss_function(classifier(**batch), targets[indices].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += loss.item() * len(indices)
                bar.update(1)
            epoch_losses.append(loss_sum / len(train))
            bar.set_postfix(loss=f"{epoch_losses[-1]:.3f}")
            logger.debug("Epoch %d/%d: mean training loss %.4f", epoch + 1, epochs, epoch_losses[-1])
    classifier.eval()
    return {"epochs": epochs, "steps": total_steps, "loss_per_epoch": [round(loss, 5) for loss in epoch_losses]}


def _length_bucketed_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Return the example indices of one epoch, batched into batches of messages of similar length.

    The examples are shuffled, cut into pools of BUCKET_BATCHES batches, sorted by length within a
    pool, and the resulting batches are shuffled again. Batches stay random, but pad far less than
    fully random ones, which cuts the cost of an epoch.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool_size = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), pool_size):
        pool = sorted(order[start : start + pool_size], key=lambda index: lengths[index])
        batches.extend(pool[offset : offset + batch_size] for offset in range(0, len(pool), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[index] for index in shuffled]


def _tokenized_batches(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    device: torch.device,
    description: str,
    *,
    disable: bool,
) -> Iterator[Any]:
    """Yield padded, truncated batches of INFERENCE_BATCH_SIZE texts on `device`, with a progress bar."""
    for start in tqdm(range(0, len(texts), INFERENCE_BATCH_SIZE), desc=description, unit="batch", disable=disable, leave=False):
        yield tokenizer(
            texts[start : start + INFERENCE_BATCH_SIZE], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(device)


@torch.inference_mode()
def _logits(
    classifier: IntentClassifier,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    device: torch.device,
    progress: bool,
) -> np.ndarray:
    """Return float64 logits of shape (len(texts), num_labels) from the model as trained (LoRA not merged)."""
    classifier.eval()
    rows = []
    for batch in _tokenized_batches(tokenizer, texts, max_length, device, "Scoring held-out messages", disable=not progress):
        rows.append(classifier(**batch).double().cpu().numpy())
    if not rows:
        return np.zeros((0, classifier.head.out_features))
    return np.concatenate(rows)


def _probabilities(
    classifier: IntentClassifier,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    config: TrainConfig,
    device: torch.device,
    temperature: float,
) -> np.ndarray:
    logits = _logits(classifier, tokenizer, texts, config.max_length, device, progress=False)
    scaled = logits / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _held_out_metrics(
    logits: np.ndarray,
    held_out: list[Example],
    labels: list[str],
    calibration: CalibrationResult,
) -> dict[str, Any] | None:
    """Return `evaluate_predictions` on the held-out split plus accuracy per language, or None without one."""
    if not held_out:
        return None
    scaled = logits / calibration.temperature
    probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = [labels[index] for index in probabilities.argmax(axis=1)]
    gold = [example.intent for example in held_out]
    result = evaluate_predictions(gold, predicted, probabilities.max(axis=1).tolist(), threshold=calibration.threshold)

    per_language: dict[str, dict[str, float]] = {}
    languages = Counter(example.language for example in held_out)
    for language in sorted(languages):
        correct = sum(
            1 for example, label in zip(held_out, predicted) if example.language == language and example.intent == label
        )
        per_language[language or "unknown"] = {"examples": languages[language], "accuracy": correct / languages[language]}
    result["per_language"] = per_language
    return result


def _reply_embedder(
    classifier: IntentClassifier,
    tokenizer: PreTrainedTokenizerBase,
    device: torch.device,
    progress: bool,
) -> EmbedFunction:
    """Return a function that embeds agent replies with the base encoder (adapter disabled)."""
    max_length = min(REPLY_MAX_LENGTH, tokenizer.model_max_length)

    @torch.inference_mode()
    def embed(texts: list[str]) -> np.ndarray:
        vectors = []
        with classifier.encoder.disable_adapter():
            disable = not progress or len(texts) <= INFERENCE_BATCH_SIZE
            for batch in _tokenized_batches(tokenizer, texts, max_length, device, "Embedding agent replies", disable=disable):
                vectors.append(classifier.embed(**batch).float().cpu().numpy())
        return np.concatenate(vectors)

    return embed


def _config_record(
    config: TrainConfig,
    labels: list[str],
    labelled: list[Example],
    split: DataSplit,
    data_hash: str,
    calibration: CalibrationResult,
) -> dict[str, Any]:
    """Return the content of config.json: resolved config, provenance, data counts and calibration."""
    return {
        "format_version": FORMAT_VERSION,
        "train_config": config.to_dict(),
        "labels": labels,
        "provenance": {
            "base_model": config.encoder,
            "encoder_fingerprint": encoder_fingerprint(config.encoder),
            "data_sha256": data_hash,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "libraries": {name: _version(name) for name in LIBRARIES},
            "python": platform.python_version(),
        },
        "data": {
            "examples": len(labelled),
            "train": len(split.train),
            "held_out": len(split.held_out),
            "per_intent": dict(sorted(Counter(example.intent for example in labelled).items())),
            "per_language": dict(sorted(Counter(example.language or "unknown" for example in labelled).items())),
            "intents_without_held_out": split.intents_without_held_out,
        },
        "calibration": {
            "temperature": calibration.temperature,
            "threshold": calibration.threshold,
            "target_precision": calibration.target_precision,
            "target_met": calibration.target_met,
            "calibrated": calibration.calibrated,
        },
    }


def _template_summary(templates: dict[str, list[Template]], without_templates: list[str]) -> dict[str, Any]:
    return {
        "count": sum(len(items) for items in templates.values()),
        "intents_with_templates": len(templates),
        "intents_without_templates": without_templates,
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _check_reload(folder: Path, texts: list[str], expected: np.ndarray, device: str) -> None:
    """Load the written folder and compare its probabilities with the in-memory model's."""
    model = IntentModel.load(folder, device=device)
    reloaded = torch.softmax(model.logits(texts).double() / model.temperature, dim=-1).numpy()
    difference = float(np.abs(reloaded - expected).max()) if len(texts) else 0.0
    if difference > RELOAD_TOLERANCE:
        raise ArtifactError(
            f"The saved model in {folder} does not reproduce the trained model: probabilities differ by up to "
            f"{difference:.4f} (tolerance {RELOAD_TOLERANCE}). The run is not saved; report this as a bug."
        )
    logger.debug("Reloaded %s: probabilities within %.2e of the trained model", folder.name, difference)
