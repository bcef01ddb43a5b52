"""Records of the index: past answers, search hits and their JSON form in chunks.jsonl."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from retrieval.documents import Reject, detect_language
from retrieval.index_files import REBUILD_HINT
from retrieval.splitter import Chunk
from training.errors import ArtifactError

logger = logging.getLogger(__name__)

ARTICLE = "article"
PAST_ANSWER = "past_answer"
HIT_KINDS = (ARTICLE, PAST_ANSWER)


@dataclass(frozen=True)
class QAPair:
    """A past customer question and the agent reply that answered it.

    `source` names where it came from, such as "conversation en-0042".
    """

    question: str
    answer: str
    source: str = ""
    language: str = ""


@dataclass(frozen=True)
class Hit:
    """One search result, best first in a result list.

    For an article chunk, `text` is the chunk and `answer` is empty. For a past answer, `text` is
    the past question, `answer` the agent's reply, and `path` and `title` its source. `score` is
    the cosine similarity between the query and the embedded text.
    """

    kind: str
    text: str
    score: float
    path: str
    title: str
    url: str
    answer: str = ""
    heading: str = ""
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


def clean_qa_pairs(qa_pairs: Sequence[QAPair]) -> tuple[list[QAPair], list[Reject]]:
    """Strip past answers, reject those with an empty side and drop repeats of the same question and answer.

    Repeats are compared case-insensitively with whitespace collapsed. A missing language is guessed from the question.
    """
    pairs: list[QAPair] = []
    rejects: list[Reject] = []
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for number, pair in enumerate(qa_pairs, start=1):
        question, answer = pair.question.strip(), pair.answer.strip()
        source = pair.source or f"past answer {number}"
        if not question or not answer:
            rejects.append(Reject(source, "past answer with an empty question or answer"))
            continue
        key = (" ".join(question.lower().split()), " ".join(answer.lower().split()))
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        pairs.append(QAPair(question, answer, pair.source, pair.language or detect_language(question)))
    if duplicates:
        logger.info("Indexed %d duplicate past answers once each", duplicates)
    return pairs, rejects


def check_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Raise ArtifactError naming the line of the first record that lacks its kind's fields."""
    required = {ARTICLE: ("text", "path", "title"), PAST_ANSWER: ("question", "answer")}
    for number, record in enumerate(records, start=1):
        kind = record.get("kind")
        if kind not in required or any(not isinstance(record.get(name), str) for name in required[kind]):
            raise ArtifactError(
                f"{path}, line {number}: expected kind 'article' with text, path and title, or kind 'past_answer' "
                f"with question and answer. {REBUILD_HINT}"
            )


def chunk_record(chunk: Chunk) -> dict[str, Any]:
    """Return the chunks.jsonl record of an article chunk."""
    return {"kind": ARTICLE, **chunk.to_dict()}


def qa_record(pair: QAPair) -> dict[str, Any]:
    """Return the chunks.jsonl record of a past answer."""
    return {"kind": PAST_ANSWER, **asdict(pair)}


def chunk_from_record(record: dict[str, Any]) -> Chunk:
    """Rebuild an article chunk from its chunks.jsonl record."""
    return Chunk(
        text=record["text"],
        path=record["path"],
        title=record["title"],
        url=record.get("url", ""),
        language=record.get("language", ""),
        heading=record.get("heading", ""),
        start=int(record.get("start", 0)),
        prefix=record.get("prefix", ""),
    )


def qa_from_record(record: dict[str, Any]) -> QAPair:
    """Rebuild a past answer from its chunks.jsonl record."""
    return QAPair(record["question"], record["answer"], record.get("source", ""), record.get("language", ""))


def hit_from_record(record: dict[str, Any], score: float) -> Hit:
    """Return the search hit for a chunks.jsonl record and its similarity score."""
    if record["kind"] == ARTICLE:
        return Hit(
            kind=ARTICLE,
            text=record["text"],
            score=score,
            path=record["path"],
            title=record["title"],
            url=record.get("url", ""),
            heading=record.get("heading", ""),
            language=record.get("language", ""),
        )
    source = record.get("source", "")
    return Hit(
        kind=PAST_ANSWER,
        text=record["question"],
        score=score,
        path=source,
        title=source,
        url="",
        answer=record["answer"],
        language=record.get("language", ""),
    )
