"""A sentence-transformers embedder that loads its model on first use, from local files only."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.config import DEVICE_PATTERN, RetrievalConfig
from training.encoder import BUNDLED_ALIASES, DEFAULT_ENCODER, encoder_fingerprint, resolve_encoder
from training.errors import ArtifactError, ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


class Embedder:
    """Text embedder on a sentence-transformers model, returning L2-normalised float32 vectors.

    The constructor only checks its arguments. The model is loaded on the first call that needs
    it (`encode`, `dimension`, `max_seq_length`, `tokenizer`), in half precision on CUDA. Loading
    never downloads: `name_or_path` must be a local model folder, a bundled alias of
    all-MiniLM-L6-v2 or a hub id already in the local Hugging Face cache.
    """

    def __init__(self, name_or_path: str = DEFAULT_ENCODER, device: str = "auto", batch_size: int = 64) -> None:
        if not isinstance(name_or_path, str) or not name_or_path.strip():
            raise ConfigError(f"Invalid embedder {name_or_path!r}: expected a model folder or name.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"Invalid batch_size {batch_size!r}: expected a positive integer.")
        if not isinstance(device, str) or not DEVICE_PATTERN.match(device):
            raise ConfigError(f"Invalid device {device!r}. Must be auto, cpu, cuda or cuda:N.")
        self._name = name_or_path
        self._device_preference = device
        self._batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: RetrievalConfig) -> Embedder:
        """Create the embedder that `config` names."""
        return cls(config.embedder, device=config.device, batch_size=config.batch_size)

    def to_dict(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-serialisable dict."""
        return {"name_or_path": self._name, "device": self._device_preference, "batch_size": self._batch_size}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Embedder:
        """Create an embedder from a dict that `to_dict` returned."""
        return cls(**values)

    def __repr__(self) -> str:
        state = "loaded" if self._model is not None else "not loaded"
        return f"Embedder({self._name!r}, device={self._device_preference!r}, {state})"

    @property
    def name(self) -> str:
        """Model name or path as given to the constructor."""
        return self._name

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 of the model's weight file ('' when the model is not a local folder)."""
        if self._fingerprint is None:
            self._fingerprint = encoder_fingerprint(self._name)
        return self._fingerprint

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    @property
    def model(self) -> SentenceTransformer:
        """The loaded SentenceTransformer (loaded on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        model = self.model
        # sentence-transformers 5.x renamed get_sentence_embedding_dimension to get_embedding_dimension.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dimension = getter()
        if not dimension:
            raise ArtifactError(f"Embedder {self._name!r} does not report its embedding dimension.")
        return int(dimension)

    @property
    def max_seq_length(self) -> int:
        """Maximum input length in tokens (special tokens included); longer inputs are truncated."""
        length = self.model.max_seq_length
        if not length:
            raise ArtifactError(f"Embedder {self._name!r} does not report max_seq_length.")
        return int(length)

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer."""
        return self.model.tokenizer

    @property
    def device(self) -> str:
        """Torch device the model runs on, such as 'cpu' or 'cuda:0'."""
        return str(self.model.device)

    def unknown_token_share(self, text: str) -> float:
        """Return the share of `text`'s tokens that the tokenizer maps to its unknown token (0 when it has none).

        A high share means the embedder cannot read the text (all-MiniLM-L6-v2 maps most Han characters
        to [UNK]), so its similarity scores say nothing about meaning.
        """
        tokenizer = self.tokenizer
        unknown_id = getattr(tokenizer, "unk_token_id", None)
        if unknown_id is None:
            return 0.0
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 0.0
        return sum(token_id == unknown_id for token_id in ids) / len(ids)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Embed `texts` and return a float32 array of shape (len(texts), dimension) with unit-length rows.

        Inputs longer than `max_seq_length` tokens are truncated by the model. `progress` shows a
        progress bar over the batches.
        """
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError("Embedder.encode expects a list of strings.")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=progress,
        )
        # Rows are normalised again in float32 because float16 output on CUDA is normalised only to
        # half precision.
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def _load(self) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise MissingDependencyError(
                "The embedder needs sentence-transformers. Run: pip install 'sentence-transformers>=3.0'"
            ) from err
        from training.device import inference_dtype, select_device

        location = resolve_encoder(self._name)
        device = select_device(self._device_preference)
        started = time.perf_counter()
        try:
            model = SentenceTransformer(location, device=str(device), local_files_only=True)
        except (OSError, ValueError) as err:
            # transformers raises OSError for missing files and ValueError for a config.json without a model type.
            raise ArtifactError(self._not_found_message(location)) from err
        # float16 on CUDA and float32 (a no-op) on the CPU.
        # NOTE: the CUDA float16 path has not run in this project's tests, which use CPU-only machines.
        model = model.to(inference_dtype(device))
        model.eval()
        logger.info(
            "Loaded embedder %s on %s in %.1f s (max_seq_length %s)",
            self._name,
            device,
            time.perf_counter() - started,
            model.max_seq_length,
        )
        return model

    def _not_found_message(self, location: str) -> str:
        if Path(location).exists():
            return (
                f"Embedder folder {location} could not be loaded as a sentence-transformers model. Check that it "
                "contains modules.json or config.json and the model weights, or pass another folder."
            )
        return (
            f"Embedder {self._name!r} is neither a local folder nor in the local Hugging Face cache, and models "
            "are never downloaded at run time. Pass the path of a sentence-transformers model folder, or one of "
            f"the bundled names: {', '.join(sorted(BUNDLED_ALIASES))}."
        )
