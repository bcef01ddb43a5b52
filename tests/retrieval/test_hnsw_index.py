"""Approximate HNSW search checked against exact flat search, on seeded vectors and on a real index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.config import RetrievalConfig
from retrieval.documents import load_knowledge_base
from retrieval.embedder import Embedder
from retrieval.index import KnowledgeIndex
from retrieval.vector_index import create_vector_index, search_vectors


def _unit_vectors(count: int, dimension: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _recall(approximate: np.ndarray, exact: np.ndarray) -> float:
    found = sum(len(set(row_a) & set(row_e)) for row_a, row_e in zip(approximate, exact))
    return found / exact.size


def test_hnsw_recall_against_flat() -> None:
    database = _unit_vectors(5000, 64, seed=0)
    queries = _unit_vectors(200, 64, seed=1)
    flat = create_vector_index(database, RetrievalConfig(index_type="flat"))
    hnsw = create_vector_index(database, RetrievalConfig(index_type="hnsw"))
    _, exact = search_vectors(flat, queries, 10, ef_search=128)
    _, approximate = search_vectors(hnsw, queries, 10, ef_search=128)
    assert _recall(approximate, exact) >= 0.95


def test_hnsw_scores_are_inner_products() -> None:
    database = _unit_vectors(2000, 32, seed=2)
    queries = _unit_vectors(50, 32, seed=3)
    hnsw = create_vector_index(database, RetrievalConfig(index_type="hnsw"))
    scores, ids = search_vectors(hnsw, queries, 5, ef_search=64)
    expected = np.einsum("qd,qkd->qk", queries, database[ids])
    assert np.allclose(scores, expected, atol=1e-4)


def test_flat_exact_inner_product() -> None:
    database = _unit_vectors(300, 16, seed=4)
    queries = _unit_vectors(10, 16, seed=5)
    flat = create_vector_index(database, RetrievalConfig(index_type="flat"))
    scores, ids = search_vectors(flat, queries, 3, ef_search=16)
    brute = queries @ database.T
    assert np.array_equal(ids, np.argsort(-brute, axis=1)[:, :3])
    assert np.allclose(scores, np.sort(brute, axis=1)[:, ::-1][:, :3], atol=1e-5)


def test_search_depth_capped_at_size() -> None:
    database = _unit_vectors(3, 8, seed=6)
    flat = create_vector_index(database, RetrievalConfig())
    _, ids = search_vectors(flat, database[:1], 10, ef_search=16)
    assert ids.shape == (1, 3)


@pytest.fixture(scope="module")
def hnsw_index(embedder: Embedder, sample_kb: Path, past_answers: list) -> KnowledgeIndex:
    documents, rejects = load_knowledge_base(sample_kb)
    return KnowledgeIndex.build(documents, past_answers, embedder, RetrievalConfig(index_type="hnsw"), rejects)


def test_hnsw_index_matches_flat(hnsw_index: KnowledgeIndex, sample_index: KnowledgeIndex) -> None:
    for query in ["international delivery", "refund to my card", "forgot my password", "退款"]:
        assert [hit.path for hit in hnsw_index.search(query)] == [hit.path for hit in sample_index.search(query)]


def test_hnsw_index_round_trip(hnsw_index: KnowledgeIndex, embedder: Embedder, tmp_path: Path) -> None:
    loaded = KnowledgeIndex.load(hnsw_index.save(tmp_path / "hnsw"), embedder)
    assert loaded.config.index_type == "hnsw"
    assert [hit.path for hit in loaded.search("refund to my card")] == [
        hit.path for hit in hnsw_index.search("refund to my card")
    ]
