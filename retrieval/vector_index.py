"""FAISS indexes over unit-length vectors, where inner product equals cosine similarity.

faiss ships no type stubs, so its index objects are typed `Any`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import RetrievalConfig
from training.errors import ArtifactError, MissingDependencyError

logger = logging.getLogger(__name__)

METRIC = "inner_product"


def import_faiss() -> Any:
    """Import faiss, or raise MissingDependencyError with the pip command."""
    try:
        import faiss
    except ImportError as err:
        raise MissingDependencyError("The knowledge-base index needs FAISS. Run: pip install faiss-cpu") from err
    return faiss


def create_vector_index(vectors: np.ndarray, config: RetrievalConfig) -> Any:
    """Build a FAISS index over the rows of `vectors` (float32, unit length) with inner-product metric.

    "flat" searches exactly. "hnsw" builds an HNSW graph with `hnsw_m` links per node, which
    searches in roughly logarithmic time but may miss some true neighbours.
    """
    faiss = import_faiss()
    dimension = int(vectors.shape[1])
    if config.index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        index.hnsw.efSearch = config.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def search_vectors(index: Any, queries: np.ndarray, depth: int, ef_search: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the scores and row ids of the `depth` nearest rows for each query, best first.

    Missing neighbours (fewer rows than `depth`, or HNSW candidates running out) have id -1.
    """
    depth = max(1, min(depth, index.ntotal))
    if index.ntotal == 0:
        count = len(queries)
        return np.zeros((count, 0), dtype=np.float32), np.zeros((count, 0), dtype=np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if hasattr(index, "hnsw"):
        # efSearch is the candidate list size, so it must be at least the number of results asked
        # for. Passing it per call leaves the shared index unchanged, so concurrent searches are safe.
        parameters = import_faiss().SearchParametersHNSW(efSearch=max(ef_search, depth))
        return index.search(queries, depth, params=parameters)
    return index.search(queries, depth)


def write_vector_index(index: Any, path: Path) -> None:
    """Write a FAISS index to `path`."""
    import_faiss().write_index(index, str(path))


def read_vector_index(path: Path) -> Any:
    """Read a FAISS index from `path`, raising ArtifactError when it is missing or unreadable."""
    faiss = import_faiss()
    if not path.is_file():
        raise ArtifactError(f"Index file {path} not found. Rebuild the index with 'chatbot index'.")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ArtifactError(
            f"Index file {path} is corrupt or not a FAISS index ({first_line}). Rebuild the index with 'chatbot index'."
        ) from err
