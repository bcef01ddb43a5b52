"""The knowledge index: article chunks and past answers, embedded and searchable with FAISS.

An index folder contains:

- `index.faiss`: the FAISS index, one vector per record of chunks.jsonl, in the same order.
- `chunks.jsonl`: one record per vector, an article chunk or a past answered question.
- `rejects.jsonl`: files and past answers left out, with the reason.
- `index.json`: embedder name, fingerprint, dimension and max_seq_length, the metric, the
  normalisation, splitter and index settings, counts, creation time, library versions and the
  SHA-256 of the other three files. A FAISS file does not know which model made its vectors,
  so `load` checks this record against the embedder it is given.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from retrieval.config import RetrievalConfig
from retrieval.documents import Document, Reject
from retrieval.embedder import Embedder
from retrieval.index_checks import check_embedder, check_vectors, merge_search_settings, verify_checksums
from retrieval.index_files import (
    INDEX_FILE,
    MANIFEST_FILE,
    REBUILD_HINT,
    RECORDS_FILE,
    REJECTS_FILE,
    library_versions,
    read_json,
    read_jsonl,
    staged_folder,
    write_jsonl,
)
from retrieval.records import (
    ARTICLE,
    HIT_KINDS,
    PAST_ANSWER,
    Hit,
    QAPair,
    check_records,
    chunk_from_record,
    chunk_record,
    clean_qa_pairs,
    hit_from_record,
    qa_from_record,
    qa_record,
)
from retrieval.splitter import SEPARATORS, Chunk, split_documents
from retrieval.vector_index import (
    METRIC,
    create_vector_index,
    read_vector_index,
    search_vectors,
    write_vector_index,
)
from training.encoder import file_sha256
from training.errors import ArtifactError, ConfigError, DataError

logger = logging.getLogger(__name__)

# Names that callers import from here, although the classes live in retrieval.records.
__all__ = ["ARTICLE", "HIT_KINDS", "INDEX_FILES", "PAST_ANSWER", "Hit", "KnowledgeIndex", "QAPair"]

FORMAT_VERSION = 1
INDEX_FILES = (INDEX_FILE, RECORDS_FILE, REJECTS_FILE, MANIFEST_FILE)


@dataclass(eq=False)
class KnowledgeIndex:
    """Searchable vectors of article chunks and past answers, with the records that describe them.

    Build one with `build` or `load`. Searching is safe from several threads at once.
    """

    embedder: Embedder
    config: RetrievalConfig
    records: list[dict[str, Any]]
    vectors: Any = field(repr=False)
    rejects: list[Reject] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of indexed vectors (chunks plus past answers)."""
        return int(self.vectors.ntotal)

    @property
    def chunks(self) -> list[Chunk]:
        """Indexed article chunks, in index order."""
        return [chunk_from_record(record) for record in self.records if record["kind"] == ARTICLE]

    @property
    def qa_pairs(self) -> list[QAPair]:
        """Indexed past answers, in index order."""
        return [qa_from_record(record) for record in self.records if record["kind"] == PAST_ANSWER]

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        qa_pairs: Sequence[QAPair],
        embedder: Embedder,
        config: RetrievalConfig,
        rejects: Iterable[Reject] = (),
        *,
        progress: bool = True,
    ) -> KnowledgeIndex:
        """Split, embed and index the documents and past answers.

        `rejects` from `load_knowledge_base` are kept so that `save` writes them to rejects.jsonl.
        Past answers with an empty question or answer are rejected, and exact duplicates are
        indexed once. With `progress`, embedding more than one batch shows a progress bar.

        Raises:
            ConfigError: `config.chunk_tokens` exceeds the embedder's max_seq_length.
            DataError: there is nothing to index.
        """
        started = time.perf_counter()
        if config.embedder != embedder.name:
            logger.warning(
                "Config names embedder %s, but the index is built with %s and index.json records that one",
                config.embedder,
                embedder.name,
            )
        all_rejects = list(rejects)
        chunks = split_documents(
            documents,
            embedder.tokenizer,
            config.chunk_tokens,
            config.chunk_overlap_tokens,
            max_seq_length=embedder.max_seq_length,
        )
        pairs, qa_rejects = clean_qa_pairs(qa_pairs)
        all_rejects.extend(qa_rejects)
        if not chunks and not pairs:
            raise DataError(
                f"Nothing to index: {len(documents)} documents gave no chunks and {len(qa_pairs)} past answers were "
                "all rejected. Check the knowledge-base folder and the transcripts."
            )

        records = [chunk_record(chunk) for chunk in chunks] + [qa_record(pair) for pair in pairs]
        texts = [chunk.embedding_text for chunk in chunks] + [pair.question for pair in pairs]
        logger.info(
            "Embedding %d chunks of %d documents and %d past answers with %s",
            len(chunks),
            len(documents),
            len(pairs),
            embedder.name,
        )
        vectors = embedder.encode(texts, progress=progress and len(texts) > config.batch_size)
        check_vectors(vectors, len(texts), embedder)
        vector_index = create_vector_index(vectors, config)

        elapsed = time.perf_counter() - started
        info = _describe(embedder, config, documents, chunks, pairs, all_rejects, elapsed)
        logger.info("Built a %s index of %d vectors in %.1f s", config.index_type, vector_index.ntotal, elapsed)
        return cls(embedder=embedder, config=config, records=records, vectors=vector_index, rejects=all_rejects, info=info)

    def save(self, folder: Path) -> Path:
        """Write the index folder and return its path.

        The files are written to a temporary sibling folder that replaces `folder` only when all
        of them are complete, so a failed save leaves an existing index untouched.
        """
        folder = Path(folder)
        with staged_folder(folder, marker=MANIFEST_FILE) as staging:
            write_vector_index(self.vectors, staging / INDEX_FILE)
            write_jsonl(staging / RECORDS_FILE, self.records)
            write_jsonl(staging / REJECTS_FILE, (reject.to_dict() for reject in self.rejects))
            info = dict(self.info)
            info["files"] = {
                name: {"sha256": file_sha256(staging / name)} for name in (INDEX_FILE, RECORDS_FILE, REJECTS_FILE)
            }
            _write_manifest(staging / MANIFEST_FILE, info)
        self.info = info
        logger.info("Saved index of %d vectors to %s", self.size, folder)
        return folder

    @classmethod
    def load(cls, folder: Path, embedder: Embedder, config: RetrievalConfig | None = None) -> KnowledgeIndex:
        """Load an index folder that `save` wrote, for search with `embedder`.

        The build settings (chunking, index type) come from index.json. Search settings (top_k,
        min_score, hnsw_ef_search, dedupe_articles) come from `config` when it is given.

        Raises:
            ArtifactError: the folder or a file is missing, corrupt, or does not match index.json.
            IndexMismatchError: `embedder` is not the model that built the index.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ArtifactError(f"Index folder {folder} not found. Build it with 'chatbot index'.")
        info = read_json(folder / MANIFEST_FILE)
        if info.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"{folder / MANIFEST_FILE} has format_version {info.get('format_version')!r}, but this version reads "
                f"{FORMAT_VERSION}. {REBUILD_HINT}"
            )
        if info.get("metric") != METRIC or info.get("normalized") is not True:
            raise ArtifactError(
                f"{folder / MANIFEST_FILE} records metric {info.get('metric')!r} and normalized "
                f"{info.get('normalized')!r}, but search needs {METRIC!r} over normalised vectors. {REBUILD_HINT}"
            )
        check_embedder(folder, info, embedder)
        verify_checksums(folder, info)

        vector_index = read_vector_index(folder / INDEX_FILE)
        records = read_jsonl(folder / RECORDS_FILE)
        rejects = [
            Reject(str(item.get("path", "")), str(item.get("reason", ""))) for item in read_jsonl(folder / REJECTS_FILE)
        ]
        recorded = info["embedder"]
        if vector_index.ntotal != len(records) or vector_index.d != recorded["dimension"]:
            raise ArtifactError(
                f"{folder / INDEX_FILE} contains {vector_index.ntotal} vectors of dimension {vector_index.d}, but "
                f"{RECORDS_FILE} has {len(records)} records and index.json dimension {recorded['dimension']}. {REBUILD_HINT}"
            )
        check_records(folder / RECORDS_FILE, records)

        try:
            built = RetrievalConfig.from_dict(info.get("config", {}), strict=False)
        except ConfigError as err:
            raise ArtifactError(f"{folder / MANIFEST_FILE} records an invalid config: {err} {REBUILD_HINT}") from err
        effective = merge_search_settings(built, config)
        logger.info("Loaded index of %d vectors from %s", vector_index.ntotal, folder)
        return cls(embedder=embedder, config=effective, records=records, vectors=vector_index, rejects=rejects, info=info)

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        kinds: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[Hit]:
        """Return up to `k` (default `config.top_k`) hits for `query`, best first.

        `kinds` keeps only "article" or "past_answer" hits. `min_score` drops hits below that
        cosine similarity; pass `index.config.min_score` to keep only hits good enough to answer
        with. With `config.dedupe_articles`, each article and each distinct past answer appears
        at most once, represented by its best-scoring vector.
        """
        return self.search_batch([query], k, kinds=kinds, min_score=min_score)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int | None = None,
        *,
        kinds: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[list[Hit]]:
        """Run `search` for several queries with one embedding batch."""
        k = self.config.top_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"Invalid k {k!r}: expected a positive integer.")
        wanted = set(kinds) if kinds is not None else set(HIT_KINDS)
        unknown = wanted - set(HIT_KINDS)
        if unknown:
            raise ConfigError(f"Invalid kinds {sorted(unknown)}. Must be among: {', '.join(HIT_KINDS)}.")

        results: list[list[Hit]] = [[] for _ in queries]
        positions = [number for number, query in enumerate(queries) if query and query.strip()]
        if not positions or self.size == 0:
            return results
        vectors = self.embedder.encode([queries[number] for number in positions])

        # Deduplication and kind filtering drop candidates, so the search reads deeper than k and
        # retries deeper still when too few hits remain.
        depth = min(self.size, max(4 * k, k + 16))
        pending = list(range(len(positions)))
        while pending:
            scores, ids = search_vectors(self.vectors, vectors[pending], depth, self.config.hnsw_ef_search)
            unfinished = []
            for row, item in enumerate(pending):
                hits = self._collect_hits(scores[row], ids[row], k, wanted, min_score)
                results[positions[item]] = hits
                below_threshold = min_score is not None and scores[row][-1] < min_score
                if len(hits) < k and depth < self.size and not below_threshold:
                    unfinished.append(item)
            pending = unfinished
            depth = min(self.size, depth * 4)
        for hits in results:
            logger.debug("Search returned %d hits, top score %.3f", len(hits), hits[0].score if hits else float("nan"))
        return results

    def _collect_hits(
        self, scores: np.ndarray, ids: np.ndarray, k: int, kinds: set[str], min_score: float | None
    ) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[tuple[str, str]] = set()
        for score, row in zip(scores, ids):
            if row < 0:
                continue
            if min_score is not None and score < min_score:
                break
            record = self.records[int(row)]
            if record["kind"] not in kinds:
                continue
            if self.config.dedupe_articles:
                key = (ARTICLE, record["path"]) if record["kind"] == ARTICLE else (PAST_ANSWER, record["answer"].strip().lower())
                if key in seen:
                    continue
                seen.add(key)
            hits.append(hit_from_record(record, float(score)))
            if len(hits) == k:
                break
        return hits


def _describe(
    embedder: Embedder,
    config: RetrievalConfig,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    pairs: Sequence[QAPair],
    rejects: Sequence[Reject],
    build_seconds: float,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": {
            "name": embedder.name,
            "fingerprint": embedder.fingerprint,
            "dimension": embedder.dimension,
            "max_seq_length": embedder.max_seq_length,
        },
        "metric": METRIC,
        "normalized": True,
        "index_type": config.index_type,
        "splitter": {
            "splitter": "langchain_text_splitters.RecursiveCharacterTextSplitter within Markdown sections",
            "chunk_tokens": config.chunk_tokens,
            "chunk_overlap_tokens": config.chunk_overlap_tokens,
            "length_unit": "embedder tokens, special tokens and title prefix included",
            "separators": list(SEPARATORS),
            "keep_separator": "end",
        },
        "config": config.to_dict(),
        "counts": {
            "documents": len(documents),
            "chunks": len(chunks),
            "past_answers": len(pairs),
            "rejects": len(rejects),
            "vectors": len(chunks) + len(pairs),
            "languages": dict(Counter(chunk.language for chunk in chunks)),
        },
        "build_seconds": round(build_seconds, 2),
        "versions": library_versions(),
    }


def _write_manifest(path: Path, info: dict[str, Any]) -> None:
    path.write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


