"""File helpers of the index folder: JSON Lines, library versions and a safe folder swap."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import uuid
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator

from training.jsonl import read_jsonl_objects
from training.errors import ArtifactError

logger = logging.getLogger(__name__)

REBUILD_HINT = "Rebuild the index with 'chatbot index'."
INDEX_FILE = "index.faiss"
RECORDS_FILE = "chunks.jsonl"
REJECTS_FILE = "rejects.jsonl"
MANIFEST_FILE = "index.json"
_VERSIONED_PACKAGES = (
    "support-chatbot",
    "faiss-cpu",
    "sentence-transformers",
    "transformers",
    "torch",
    "langchain-text-splitters",
    "numpy",
)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSON Lines with non-ASCII text kept readable, and return the count."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file of objects, raising ArtifactError that names the file and line."""
    if not path.is_file():
        raise ArtifactError(f"Index file {path} not found. {REBUILD_HINT}")
    return read_jsonl_objects(path, ArtifactError, REBUILD_HINT)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising ArtifactError that names the file when it is missing or invalid."""
    if not path.is_file():
        raise ArtifactError(f"Index file {path} not found. {REBUILD_HINT}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"Index file {path} is not valid JSON ({err}). {REBUILD_HINT}") from err
    if not isinstance(value, dict):
        raise ArtifactError(f"Index file {path} must contain a JSON object. {REBUILD_HINT}")
    return value


def library_versions() -> dict[str, str]:
    """Return the versions of Python and of the packages that shape an index ("" when not installed)."""
    versions = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = ""
    return versions


@contextmanager
def staged_folder(target: Path, *, marker: str) -> Iterator[Path]:
    """Yield an empty sibling folder of `target` and move it to `target` when the block succeeds.

    When the block raises, the staged folder is deleted and `target` stays as it was, so a failed
    save never damages a working index. An existing `target` is replaced only if it is empty or
    contains `marker`, which keeps a mistyped path from deleting an unrelated folder.

    NOTE: POSIX has no atomic swap of two non-empty folders, so there is a moment between the two
    renames when `target` does not exist. A reader that opens it then gets "not found" and can
    retry. The previous folder is restored if the second rename fails.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"Cannot write an index to {target}: it is a file. Choose a folder path.")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise ArtifactError(
            f"Cannot replace {target}: it is not empty and has no {marker}, so it is not an index folder. "
            "Choose a new or empty folder."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = target.parent / f".{target.name}.tmp-{token}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    backup = target.parent / f".{target.name}.old-{token}"
    had_target = target.exists()
    if had_target:
        os.replace(target, backup)
    try:
        os.replace(staging, target)
    except OSError:
        if had_target:
            os.replace(backup, target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if had_target:
        shutil.rmtree(backup, ignore_errors=True)
