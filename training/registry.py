"""Versioned model folders under one root, and the `CURRENT` pointer to the one in use.

Layout of a registry root:

    <root>/20261204-201530-ab12cd34/   one complete model folder per training run
    <root>/.staging-…/                 a run still being written (removed when it fails)
    <root>/CURRENT                     the name of the version in use, one line

A version folder appears under its final name only once every file is written, and `CURRENT`
is replaced atomically with `os.replace`, so a reader sees either the old or the new version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from training.errors import ArtifactError

logger = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
STAGING_PREFIX = ".staging-"
# `YYYYmmdd-HHMMSS-<8 hex digits of the data hash>`, with `-N` appended when that name is taken.
VERSION_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}(-\d+)?$")


class ModelRegistry:
    """Versioned model folders under `root` and the pointer to the version in use."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.root)!r})"

    def new_version_path(self, data_hash: str = "") -> Path:
        """Return an unused path `<root>/<UTC time>-<data hash prefix>` for a new version (not created).

        `data_hash` is the hex SHA-256 of the training data. Without one, the prefix is 00000000.
        """
        prefix = (data_hash.lower() + "0" * 8)[:8]
        if not re.fullmatch(r"[0-9a-f]{8}", prefix):
            raise ValueError(f"Invalid data_hash {data_hash!r}: expected a hex digest.")
        name = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{prefix}"
        candidate = self.root / name
        suffix = 2
        while candidate.exists():
            candidate = self.root / f"{name}-{suffix}"
            suffix += 1
        return candidate

    @contextlib.contextmanager
    def staging(self, version_path: Path) -> Iterator[Path]:
        """Yield an empty staging folder inside the root, and rename it to `version_path` on success.

        When the body raises, the staging folder is removed and `version_path` is not created.
        """
        self._check_inside(version_path)
        if version_path.exists():
            raise ArtifactError(f"Model version {version_path} already exists. Choose a new one with new_version_path().")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version_path.name}-", dir=self.root))
        try:
            yield staging
            os.replace(staging, version_path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        logger.info("Saved model version %s", version_path)

    def promote(self, version_path: str | Path) -> None:
        """Point `CURRENT` at `version_path`, a complete version folder inside the root.

        The pointer is written to a temporary file and moved over `CURRENT` with `os.replace`, so
        readers never see a partial pointer.
        """
        version = Path(version_path)
        self._check_inside(version)
        if not VERSION_PATTERN.match(version.name) or not version.is_dir():
            raise ArtifactError(f"Cannot promote {version}: it is not a model version folder in {self.root}.")
        if not (version / "manifest.json").is_file():
            raise ArtifactError(f"Cannot promote {version}: it has no manifest.json, so it is incomplete.")
        handle, temporary = tempfile.mkstemp(prefix=f".{CURRENT_FILE}-", dir=self.root)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                output.write(version.name + "\n")
                output.flush()
                os.fsync(output.fileno())
            os.replace(temporary, self.root / CURRENT_FILE)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        logger.info("Promoted model version %s in %s", version.name, self.root)

    def current(self) -> Path | None:
        """Return the version folder that `CURRENT` names, or None when nothing was promoted yet.

        Raises `ArtifactError` when `CURRENT` names a folder that does not exist.
        """
        pointer = self.root / CURRENT_FILE
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not VERSION_PATTERN.match(name):
            raise ArtifactError(f"{pointer} contains {name!r}, which is not a version name. Promote a version again.")
        version = self.root / name
        if not version.is_dir():
            raise ArtifactError(
                f"{pointer} names version {name}, but {version} does not exist. Retrain with 'chatbot train' "
                "or promote one of the existing versions."
            )
        return version

    def versions(self) -> list[Path]:
        """Return the complete version folders, oldest first (staging folders are left out)."""
        if not self.root.is_dir():
            return []
        return sorted(path for path in self.root.iterdir() if path.is_dir() and VERSION_PATTERN.match(path.name))

    def _check_inside(self, version_path: Path) -> None:
        if Path(version_path).expanduser().resolve().parent != self.root.resolve():
            raise ArtifactError(f"Model version {version_path} must be a folder directly inside the registry root {self.root}.")
