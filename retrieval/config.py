"""Settings of the knowledge-base index: embedder, splitter, FAISS index and search."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from training.encoder import DEFAULT_ENCODER
from training.errors import ConfigError

logger = logging.getLogger(__name__)

INDEX_TYPES = ("flat", "hnsw")
# Mirrors the names that training.device.select_device accepts, checked here without importing torch.
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

# Settings that change the vectors or the chunks, so an index must be rebuilt when they change.
# The other fields only affect search and may differ between build and load.
BUILD_FIELDS = (
    "embedder",
    "chunk_tokens",
    "chunk_overlap_tokens",
    "index_type",
    "hnsw_m",
    "hnsw_ef_construction",
)


@dataclass
class RetrievalConfig:
    """Configuration of the knowledge-base index and its search.

    Values are checked when the object is built. `chunk_tokens` is checked against the embedder's
    `max_seq_length` later, in `KnowledgeIndex.build`, because only the loaded model reports it.
    """

    embedder: str = field(
        default=DEFAULT_ENCODER,
        metadata={"help": "Sentence-transformers model: a local folder or a bundled alias such as all-MiniLM-L6-v2."},
    )
    chunk_tokens: int = field(
        default=200,
        metadata={
            "help": "Maximum length of one embedded chunk in tokens, counting the title and heading prefix and "
            "the special tokens. Must not exceed the embedder's max_seq_length (256 for all-MiniLM-L6-v2)."
        },
    )
    chunk_overlap_tokens: int = field(
        default=30,
        metadata={"help": "Tokens that consecutive chunks of one section share. At least 0 and less than chunk_tokens."},
    )
    top_k: int = field(default=3, metadata={"help": "Number of hits a search returns (1 to 100)."})
    min_score: float = field(
        default=0.5,
        metadata={
            "help": "Minimum cosine similarity (-1 to 1) that a hit needs before the bot answers with it. The "
            "default suits all-MiniLM-L6-v2 on an English help centre; recalibrate it with "
            "retrieval.evaluate.calibrate_min_score for another embedder or knowledge base."
        },
    )
    batch_size: int = field(default=64, metadata={"help": "Texts per embedding batch (1 to 4096)."})
    device: str = field(default="auto", metadata={"help": "Torch device for the embedder: auto, cpu, cuda or cuda:N."})
    index_type: str = field(
        default="flat",
        metadata={"help": "FAISS index: 'flat' (exact inner product) or 'hnsw' (approximate, for large knowledge bases)."},
    )
    hnsw_m: int = field(default=32, metadata={"help": "HNSW graph degree (4 to 128); only used when index_type is 'hnsw'."})
    hnsw_ef_construction: int = field(
        default=200, metadata={"help": "HNSW candidate list size while building (8 to 2048)."}
    )
    hnsw_ef_search: int = field(default=128, metadata={"help": "HNSW candidate list size while searching (8 to 4096)."})
    dedupe_articles: bool = field(
        default=True,
        metadata={
            "help": "Return at most one hit per article and one per distinct past answer, so top_k hits "
            "cite top_k different sources."
        },
    )

    def __post_init__(self) -> None:
        if not isinstance(self.embedder, str) or not self.embedder.strip():
            raise ConfigError(f"Invalid embedder {self.embedder!r}: expected a model folder or name.")
        _check_int("chunk_tokens", self.chunk_tokens, 16, 8192)
        _check_int("chunk_overlap_tokens", self.chunk_overlap_tokens, 0, 8191)
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ConfigError(
                f"Invalid chunk_overlap_tokens {self.chunk_overlap_tokens}: must be less than "
                f"chunk_tokens ({self.chunk_tokens}), or consecutive chunks would repeat each other."
            )
        _check_int("top_k", self.top_k, 1, 100)
        _check_int("batch_size", self.batch_size, 1, 4096)
        _check_int("hnsw_m", self.hnsw_m, 4, 128)
        _check_int("hnsw_ef_construction", self.hnsw_ef_construction, 8, 2048)
        _check_int("hnsw_ef_search", self.hnsw_ef_search, 8, 4096)
        if isinstance(self.min_score, bool) or not isinstance(self.min_score, (int, float)):
            raise ConfigError(f"Invalid min_score {self.min_score!r}: expected a number from -1 to 1.")
        if not -1.0 <= self.min_score <= 1.0:
            raise ConfigError(f"Invalid min_score {self.min_score}: cosine similarity must be from -1 to 1.")
        self.min_score = float(self.min_score)
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise ConfigError(f"Invalid device {self.device!r}. Must be auto, cpu, cuda or cuda:N.")
        if self.index_type not in INDEX_TYPES:
            raise ConfigError(f"Invalid index_type {self.index_type!r}. Must be one of: {', '.join(INDEX_TYPES)}.")
        if not isinstance(self.dedupe_articles, bool):
            raise ConfigError(f"Invalid dedupe_articles {self.dedupe_articles!r}: expected true or false.")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, strict: bool = True) -> RetrievalConfig:
        """Build a config from a dict such as `to_dict` returns.

        Unknown keys raise `ConfigError` when `strict`, else they are logged and ignored, which lets
        an older version read an index.json that a newer one wrote.
        """
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise ConfigError(f"Unknown retrieval setting(s): {', '.join(unknown)}. Known settings: {', '.join(sorted(known))}.")
        if unknown:
            logger.warning("Ignoring unknown retrieval settings: %s", ", ".join(unknown))
        return cls(**{key: value for key, value in values.items() if key in known})

    def build_settings(self) -> dict[str, Any]:
        """Return the fields that an index must be rebuilt for when they change."""
        return {name: getattr(self, name) for name in BUILD_FIELDS}


def _check_int(name: str, value: Any, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"Invalid {name} {value!r}: expected an integer from {minimum} to {maximum}.")
    if not minimum <= value <= maximum:
        raise ConfigError(f"Invalid {name} {value}: must be from {minimum} to {maximum}.")
