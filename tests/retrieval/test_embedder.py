"""Embedder: lazy loading, local-only resolution and normalised float32 output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder
from training.errors import ArtifactError, ConfigError


def test_embedder_constructor_does_not_load() -> None:
    embedder = Embedder()
    assert not embedder.is_loaded
    assert len(embedder.fingerprint) == 16
    assert not embedder.is_loaded


@pytest.mark.parametrize("batch_size", [0, -3, True, 2.5])
def test_embedder_invalid_batch_size(batch_size: object) -> None:
    with pytest.raises(ConfigError) as caught:
        Embedder(batch_size=batch_size)  # type: ignore[arg-type]
    assert "batch_size" in str(caught.value)


def test_embedder_encode_unit_float32(embedder: Embedder) -> None:
    vectors = embedder.encode(["How long does shipping take?", "退款需要多长时间？", ""])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedder_encode_empty_list(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, 384)


def test_embedder_encode_rejects_string(embedder: Embedder) -> None:
    with pytest.raises(TypeError):
        embedder.encode("one string")  # type: ignore[arg-type]


def test_embedder_properties(embedder: Embedder) -> None:
    assert embedder.dimension == 384
    assert embedder.max_seq_length == 256
    assert embedder.device == "cpu"
    assert embedder.tokenizer.tokenize("cancel") == ["cancel"]


def test_embedder_similar_texts_score_higher(embedder: Embedder) -> None:
    query, close, far = embedder.encode(
        ["How do I get my money back?", "Refunds go back to the original card.", "Our office dog is called Rex."]
    )
    assert float(query @ close) > float(query @ far)


def test_embedder_uncached_hub_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    embedder = Embedder("example-org/no-such-model-for-tests", device="cpu")
    with pytest.raises(ArtifactError) as caught:
        embedder.encode(["text"])
    message = str(caught.value)
    assert "example-org/no-such-model-for-tests" in message
    assert "local" in message


def test_embedder_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ArtifactError) as caught:
        Embedder(str(tmp_path), device="cpu").encode(["text"])
    assert str(tmp_path) in str(caught.value)


def test_embedder_tiny_model_dimension(tiny_model_dir: Path) -> None:
    tiny = Embedder(str(tiny_model_dir), device="cpu")
    assert tiny.dimension == 32
    assert tiny.encode(["hello"]).shape == (1, 32)


def test_embedder_dict_round_trip() -> None:
    embedder = Embedder("all-MiniLM-L6-v2", device="cpu", batch_size=8)
    assert Embedder.from_dict(embedder.to_dict()).to_dict() == embedder.to_dict()


def test_embedder_from_config() -> None:
    embedder = Embedder.from_config(RetrievalConfig(device="cpu", batch_size=16))
    assert embedder.to_dict()["batch_size"] == 16


def test_embedder_invalid_device() -> None:
    with pytest.raises(ConfigError) as caught:
        Embedder(device="gpu")
    assert "gpu" in str(caught.value)


def test_embedder_unknown_token_share(embedder: Embedder) -> None:
    assert embedder.unknown_token_share("where is my parcel") == 0.0
    assert embedder.unknown_token_share("我想退货，请问怎么办？") > 0.5
    assert embedder.unknown_token_share("") == 0.0
