"""The normalised training record that ingest writes and training reads."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable

from training.errors import DataError, DataFileNotFoundError
from training.jsonl import read_jsonl_objects

ENGLISH = "en"
CHINESE = "zh-CN"
# Han ideographs (CJK Unified Ideographs and Extension A) and Latin letters, the two scripts the language guess compares.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
# Share of Han characters among Han plus Latin letters from which a text counts as Chinese. One Han character
# carries about as much as a short English word, so Chinese text with English product names or order numbers
# still counts as Chinese, while English text quoting a few Chinese words does not.
CHINESE_SHARE = 0.3

# Label of customer messages that the bot must not answer with a template. Training treats it as a
# class of its own and the dialogue manager turns it into a fallback.
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Example:
    """One customer turn with its intent and the agent reply that answered it.

    `intent` is empty for unlabelled exports, `response` is empty when no agent reply followed,
    and `language` is a BCP 47 tag such as "en" or "zh-CN" ("" when unknown).
    """

    text: str
    intent: str = ""
    response: str = ""
    language: str = ""
    conversation_id: str = ""
    source: str = ""


def write_examples(path: Path, examples: Iterable[Example]) -> int:
    """Write examples as JSON Lines (UTF-8, one object a line) and return how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_examples(path: Path) -> list[Example]:
    """Read examples written by `write_examples`, raising `DataError` on the first bad line."""
    if not path.is_file():
        raise DataFileNotFoundError(f"Examples file {path} not found. Run 'chatbot ingest' first.")
    known = {field.name for field in fields(Example)}
    examples = []
    for number, record in enumerate(read_jsonl_objects(path, DataError, "Re-run 'chatbot ingest'."), start=1):
        if not record.get("text"):
            raise DataError(f"{path}, record {number}: expected a non-empty 'text' field. Re-run 'chatbot ingest'.")
        examples.append(Example(**{key: str(value) for key, value in record.items() if key in known}))
    if not examples:
        raise DataError(f"{path} contains no examples. Check the export passed to 'chatbot ingest'.")
    return examples


def detect_language(text: str) -> str:
    """Return "zh-CN" when Han characters make up at least CHINESE_SHARE of the Han and Latin letters, else "en".

    Ingest, retrieval and the dialogue manager all use this rule, so a message and the passages it is
    compared with are labelled alike.
    """
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    if han and han >= CHINESE_SHARE * (han + latin):
        return CHINESE
    return ENGLISH
