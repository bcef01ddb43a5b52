"""The intent-model folder: what a training run writes and what `IntentModel.load` checks.

A model folder contains:

- `adapter_model.safetensors`, `adapter_config.json`: the peft LoRA adapter of the encoder,
- `head.safetensors`: the linear head (`weight`, `bias`),
- `labels.json`: the label of each head output, in order,
- `templates.json`: the response templates of each intent,
- `config.json`: the resolved `TrainConfig`, provenance and the calibration numbers,
- `metrics.json`: the held-out evaluation report,
- the tokenizer files, so the folder needs nothing from outside apart from the base encoder weights,
- `README.md`: a generated model card,
- `manifest.json`: the SHA-256 of every other file, checked on load.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import PreTrainedTokenizerBase

from training.encoder import file_sha256
from training.errors import ArtifactError
from training.model import IntentClassifier
from training.templates import Template, templates_to_json

logger = logging.getLogger(__name__)

# Version of the folder layout. `IntentModel.load` rejects folders written with another one.
FORMAT_VERSION = 1

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
HEAD_WEIGHTS = "head.safetensors"
LABELS = "labels.json"
TEMPLATES = "templates.json"
CONFIG = "config.json"
METRICS = "metrics.json"
MODEL_CARD = "README.md"
MANIFEST = "manifest.json"
# Files every model folder must list in its manifest. The tokenizer files vary with the tokenizer,
# so the manifest lists them without a fixed name here.
REQUIRED_FILES = (ADAPTER_WEIGHTS, ADAPTER_CONFIG, HEAD_WEIGHTS, LABELS, TEMPLATES, CONFIG, METRICS, MODEL_CARD)
RETRAIN_HINT = "Retrain with 'chatbot train'."


def write_json(path: Path, value: Any) -> None:
    """Write `value` as indented UTF-8 JSON, rejecting NaN and infinity, which JSON does not allow."""
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def save_model_folder(
    folder: Path,
    classifier: IntentClassifier,
    tokenizer: PreTrainedTokenizerBase,
    labels: list[str],
    templates: dict[str, list[Template]],
    config_record: dict[str, Any],
    metrics: dict[str, Any],
    model_card: str,
) -> None:
    """Write every file of a model folder into the existing, empty `folder`, the manifest last.

    `classifier.encoder` must still be the peft-wrapped encoder, so that only the adapter is saved.
    """
    encoder = classifier.encoder
    # peft writes its own README.md card here; the project's card below replaces it.
    # Embeddings of added characters are saved as peft trainable tokens, so the full embedding
    # matrix stays out of the adapter.
    encoder.save_pretrained(str(folder), safe_serialization=True, save_embedding_layers=False)
    head_state = {name: tensor.detach().to("cpu", torch.float32).contiguous() for name, tensor in classifier.head.state_dict().items()}
    save_file(head_state, str(folder / HEAD_WEIGHTS), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(folder))
    write_json(folder / LABELS, {"labels": labels})
    write_json(folder / TEMPLATES, templates_to_json(templates))
    write_json(folder / CONFIG, config_record)
    write_json(folder / METRICS, metrics)
    (folder / MODEL_CARD).write_text(model_card, encoding="utf-8")

    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ArtifactError(f"Writing the model folder {folder} left out {', '.join(missing)}. The run is not promoted.")
    write_manifest(folder)
    # safetensors and tempfile.mkdtemp create owner-only files and folders. A chat service that
    # runs as another user than the trainer must still be able to read the model.
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    logger.info("Wrote model folder %s (%d labels)", folder, len(labels))


def write_manifest(folder: Path) -> dict[str, str]:
    """Write `manifest.json` with the SHA-256 of every other file in `folder` and return that mapping."""
    files = {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    write_json(folder / MANIFEST, {"format_version": FORMAT_VERSION, "files": files})
    return files


def verify_folder(folder: Path) -> dict[str, str]:
    """Check that `folder` is a complete model folder whose files match its manifest.

    Returns the manifest's mapping of file name to SHA-256. Raises `ArtifactError` naming the
    first missing, unlisted or modified file.
    """
    if not folder.is_dir():
        raise ArtifactError(f"Model folder {folder} not found. {RETRAIN_HINT}")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(
            f"Model folder {folder} has no {MANIFEST}, so it is incomplete or was not written by this project. {RETRAIN_HINT}"
        )
    manifest = read_json(manifest_path)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise ArtifactError(f"{manifest_path} is invalid: expected an object with a 'files' mapping. {RETRAIN_HINT}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_path} has format_version {manifest.get('format_version')!r}, but this version of the project "
            f"reads format {FORMAT_VERSION}. {RETRAIN_HINT}"
        )
    for name in REQUIRED_FILES:
        if name not in files:
            raise ArtifactError(f"{manifest_path} does not list the required file {name}. {RETRAIN_HINT}")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"Model file {path} is missing. {RETRAIN_HINT}")
        actual = file_sha256(path)
        if actual != expected:
            raise ArtifactError(
                f"Model file {path} is corrupt: its SHA-256 is {actual[:16]}…, the manifest expects {expected[:16]}…. "
                f"{RETRAIN_HINT}"
            )
    return files


def read_json(path: Path) -> Any:
    """Read a JSON file of a model folder, raising `ArtifactError` when it is missing or invalid."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ArtifactError(f"Model file {path} is missing. {RETRAIN_HINT}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"Model file {path} is not valid JSON ({err}). {RETRAIN_HINT}") from err
