"""Checks that an index is built from unit vectors and loaded with the embedder and files it was built with."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import BUILD_FIELDS, RetrievalConfig
from retrieval.embedder import Embedder
from retrieval.index_files import INDEX_FILE, MANIFEST_FILE, REBUILD_HINT, RECORDS_FILE, REJECTS_FILE
from training.encoder import file_sha256
from training.errors import ArtifactError, IndexMismatchError

logger = logging.getLogger(__name__)

# Tolerance on vector norms; float32 rounding stays far below it.
_NORM_TOLERANCE = 1e-3


def check_vectors(vectors: np.ndarray, count: int, embedder: Embedder) -> None:
    """Raise ArtifactError unless `vectors` is a (count, dimension) float32 array of unit-length rows."""
    if vectors.ndim != 2 or vectors.shape[0] != count or vectors.dtype != np.float32:
        raise ArtifactError(
            f"Embedder {embedder.name} returned an array of shape {vectors.shape} and dtype {vectors.dtype}, "
            f"expected ({count}, dimension) float32."
        )
    norms = np.linalg.norm(vectors, axis=1)
    if count and not np.allclose(norms, 1.0, atol=_NORM_TOLERANCE):
        worst = float(norms[np.argmax(np.abs(norms - 1.0))])
        raise ArtifactError(
            f"Embedder {embedder.name} returned vectors that are not unit length (one has norm {worst:.4f}). "
            "Inner product equals cosine similarity only for normalised vectors; normalise them in encode()."
        )


def check_embedder(folder: Path, info: dict[str, Any], embedder: Embedder) -> None:
    """Raise IndexMismatchError unless `embedder` is the model recorded in index.json.

    Fingerprints (hashes of the weight file) decide when both are known, so the same model under
    another path or alias is accepted. Without fingerprints the names must match. The dimension
    must always match, and max_seq_length must still hold the longest chunk.
    """
    recorded = info.get("embedder")
    if not isinstance(recorded, dict) or not {"name", "fingerprint", "dimension"} <= set(recorded):
        raise ArtifactError(f"{folder / MANIFEST_FILE} has no complete 'embedder' record. {REBUILD_HINT}")
    recorded_text = f"{recorded['name']!r} (fingerprint {recorded['fingerprint'] or 'unknown'}"
    given_fingerprint = embedder.fingerprint
    if recorded["fingerprint"] and given_fingerprint:
        same_model = recorded["fingerprint"] == given_fingerprint
    else:
        same_model = recorded["name"] == embedder.name
    if not same_model:
        raise IndexMismatchError(
            f"Index {folder} was built with embedder {recorded_text}), but it is being loaded with "
            f"{embedder.name!r} (fingerprint {given_fingerprint or 'unknown'}). Load it with the recorded embedder "
            "or rebuild the index with 'chatbot index'."
        )
    if recorded["dimension"] != embedder.dimension:
        raise IndexMismatchError(
            f"Index {folder} contains vectors of dimension {recorded['dimension']} from embedder {recorded_text}), but "
            f"embedder {embedder.name!r} produces dimension {embedder.dimension}. {REBUILD_HINT}"
        )
    chunk_tokens = info.get("splitter", {}).get("chunk_tokens", 0)
    if embedder.max_seq_length < chunk_tokens:
        raise IndexMismatchError(
            f"Index {folder} has chunks of up to {chunk_tokens} tokens, but embedder {embedder.name!r} reads only "
            f"{embedder.max_seq_length} (max_seq_length). {REBUILD_HINT}"
        )
    if recorded["name"] != embedder.name:
        logger.info(
            "Index %s was built with %s, loading it with the same weights from %s", folder, recorded["name"], embedder.name
        )


def verify_checksums(folder: Path, info: dict[str, Any]) -> None:
    """Raise ArtifactError when a data file of the index is missing or differs from its SHA-256 in index.json."""
    files = info.get("files", {})
    for name in (INDEX_FILE, RECORDS_FILE, REJECTS_FILE):
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"Index file {path} not found. {REBUILD_HINT}")
        expected = files.get(name, {}).get("sha256")
        if expected is None:
            raise ArtifactError(f"{folder / MANIFEST_FILE} records no checksum for {name}. {REBUILD_HINT}")
        if file_sha256(path) != expected:
            raise ArtifactError(
                f"Index file {path} does not match the SHA-256 recorded in {MANIFEST_FILE}: it is corrupt or "
                f"comes from another build. {REBUILD_HINT}"
            )


def merge_search_settings(built: RetrievalConfig, requested: RetrievalConfig | None) -> RetrievalConfig:
    """Return `requested` with the build settings of `built`, warning about build settings that differ."""
    if requested is None:
        return built
    changed = [name for name in BUILD_FIELDS if name != "embedder" and getattr(requested, name) != getattr(built, name)]
    if changed:
        logger.warning(
            "Index was built with other %s than the config sets; the recorded values apply until it is rebuilt "
            "with 'chatbot index'",
            ", ".join(changed),
        )
    values = requested.to_dict()
    values.update(built.build_settings())
    return RetrievalConfig.from_dict(values)
