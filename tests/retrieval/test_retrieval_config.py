"""RetrievalConfig validation and dict round trip."""

from __future__ import annotations

import pytest

from retrieval.config import RetrievalConfig
from training.errors import ConfigError


def test_config_defaults_valid() -> None:
    config = RetrievalConfig()
    assert config.chunk_overlap_tokens < config.chunk_tokens
    assert 0.0 < config.min_score < 1.0


@pytest.mark.parametrize(
    ("values", "field_name"),
    [
        ({"chunk_tokens": 8}, "chunk_tokens"),
        ({"chunk_tokens": 200.0}, "chunk_tokens"),
        ({"chunk_overlap_tokens": -1}, "chunk_overlap_tokens"),
        ({"top_k": 0}, "top_k"),
        ({"min_score": 1.5}, "min_score"),
        ({"min_score": "high"}, "min_score"),
        ({"batch_size": 0}, "batch_size"),
        ({"device": "gpu"}, "device"),
        ({"index_type": "ivf"}, "index_type"),
        ({"hnsw_m": 1}, "hnsw_m"),
        ({"embedder": " "}, "embedder"),
        ({"dedupe_articles": "yes"}, "dedupe_articles"),
    ],
)
def test_config_invalid_value_names_field(values: dict, field_name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RetrievalConfig(**values)
    assert field_name in str(caught.value)


@pytest.mark.parametrize("overlap", [200, 250])
def test_config_overlap_not_below_size(overlap: int) -> None:
    with pytest.raises(ConfigError) as caught:
        RetrievalConfig(chunk_tokens=200, chunk_overlap_tokens=overlap)
    message = str(caught.value)
    assert "chunk_overlap_tokens" in message
    assert "chunk_tokens (200)" in message


def test_config_dict_round_trip() -> None:
    config = RetrievalConfig(chunk_tokens=128, chunk_overlap_tokens=16, index_type="hnsw", min_score=0.6)
    assert RetrievalConfig.from_dict(config.to_dict()) == config


def test_config_from_dict_unknown_key() -> None:
    with pytest.raises(ConfigError) as caught:
        RetrievalConfig.from_dict({"chunk_size": 100})
    assert "chunk_size" in str(caught.value)


def test_config_from_dict_lenient_ignores_unknown() -> None:
    config = RetrievalConfig.from_dict({"top_k": 5, "future_setting": 1}, strict=False)
    assert config.top_k == 5


def test_config_device_cuda_index_accepted() -> None:
    assert RetrievalConfig(device="cuda:1").device == "cuda:1"
