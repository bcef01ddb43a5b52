"""Read JSON Lines files of objects with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.errors import ChatbotError


def read_jsonl_objects(path: Path, error: type[ChatbotError], hint: str) -> list[dict[str, Any]]:
    """Return the JSON objects of `path`, one per non-empty line.

    A line that is not valid JSON, or not an object, raises `error` with the file, the line number
    and `hint` (what the reader should do about it).
    """
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise error(f"{path}, line {line_number}: invalid JSON ({err.msg}). {hint}") from err
            if not isinstance(record, dict):
                raise error(f"{path}, line {line_number}: expected a JSON object, got {type(record).__name__}. {hint}")
            records.append(record)
    return records
