"""Load a knowledge-base folder of Markdown, MDX and text articles into documents."""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from retrieval.markdown import clean_markdown, split_code_blocks, split_front_matter
from training.data import CHINESE, ENGLISH
from training.data import detect_language as detect_text_language
from training.errors import ConfigError, DataError, DataFileNotFoundError

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".md", ".mdx", ".markdown", ".txt")
MANIFEST_NAME = "manifest.csv"
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One knowledge-base article after cleaning.

    `path` is the POSIX path relative to the folder it was loaded against, `text` the cleaned
    Markdown (headings kept), and `language` a BCP 47 tag ("en" or "zh-CN").
    """

    text: str
    path: str
    title: str
    url: str = ""
    language: str = ENGLISH

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class Reject:
    """A file or record that was left out of the index, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class ManifestEntry:
    """Title and URL that a manifest.csv row sets for one article."""

    title: str = ""
    url: str = ""


def load_knowledge_base(
    folder: Path,
    relative_to: Path | None = None,
    *,
    base_url: str | None = None,
) -> tuple[list[Document], list[Reject]]:
    """Read every article under `folder` recursively and return the documents and the rejected files.

    Files ending in .md, .mdx, .markdown or .txt are read as UTF-8. Hidden files and folders are
    skipped. Paths are POSIX paths relative to `relative_to` (default `folder`), so a caller can
    make them match the paths in an evaluation set. Titles and URLs come from a manifest.csv
    (columns `path`, `title`, `url`, paths relative to the manifest's folder) in `folder` or else
    in `relative_to`, then from the front matter, then from the first `# ` heading or the file
    name. With `base_url`, an article without a URL gets `base_url` joined with its front-matter
    `slug` or its path without the suffix.

    Raises:
        DataFileNotFoundError: `folder` does not exist.
        DataError: `folder` is not a folder, the manifest is invalid, or no article could be read.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataFileNotFoundError(
            f"Knowledge-base folder {folder} not found. Pass --kb PATH or set kb_dir in the [retrieval] "
            "section of the config file to a folder of .md, .mdx, .markdown or .txt articles."
        )
    if not folder.is_dir():
        raise DataError(f"Knowledge-base path {folder} is a file, but a folder of articles was expected.")
    root = Path(relative_to) if relative_to is not None else folder
    if not folder.resolve().is_relative_to(root.resolve()):
        raise ConfigError(f"Invalid relative_to {root}: it must contain the knowledge-base folder {folder}.")

    manifest_path, manifest = _find_manifest(folder, root)
    # Paths are built from the folder walk without resolving each file, so a symlinked article
    # keeps the path where it appears in the knowledge base.
    folder_from_root = folder.resolve().relative_to(root.resolve())
    folder_from_manifest = folder.resolve().relative_to(manifest_path.parent.resolve()) if manifest_path else None
    documents: list[Document] = []
    rejects: list[Reject] = []
    for file_path in _article_files(folder):
        inside = file_path.relative_to(folder)
        relative = (folder_from_root / inside).as_posix()
        entry = ManifestEntry()
        if folder_from_manifest is not None:
            entry = manifest.get((folder_from_manifest / inside).as_posix(), ManifestEntry())
        result = _load_article(file_path, relative, entry, base_url)
        if isinstance(result, Reject):
            logger.warning("Skipping article %s: %s", relative, result.reason)
            rejects.append(result)
        else:
            documents.append(result)

    if not documents:
        examples = "; ".join(f"{reject.path}: {reject.reason}" for reject in rejects[:3])
        raise DataError(
            f"Knowledge-base folder {folder} contains no readable articles "
            f"({len(rejects)} rejected{': ' + examples if examples else ''}). "
            f"Add UTF-8 files ending in {', '.join(ARTICLE_SUFFIXES)}."
        )
    languages = sorted({document.language for document in documents})
    logger.info(
        "Loaded %d articles from %s (%s), rejected %d", len(documents), folder, ", ".join(languages), len(rejects)
    )
    return documents, rejects


def _article_files(folder: Path) -> list[Path]:
    found = []
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(ARTICLE_SUFFIXES):
                found.append(Path(directory) / name)
    return found


def _load_article(file_path: Path, relative: str, entry: ManifestEntry, base_url: str | None) -> Document | Reject:
    try:
        raw = file_path.read_bytes()
    except OSError as err:
        return Reject(relative, f"cannot be read ({err.strerror or err})")
    text, problem = _decode(raw)
    if text is None:
        return Reject(relative, problem)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return Reject(relative, "empty file")

    if file_path.suffix.lower() == ".txt":
        front_matter, body = {}, text.strip()
    else:
        front_matter, rest = split_front_matter(text)
        body = clean_markdown(rest)
    if not body.strip():
        return Reject(relative, "no text left after removing front matter and MDX/HTML markup")

    title = entry.title or front_matter.get("title", "") or _first_heading(body) or _title_from_name(file_path)
    url = entry.url or front_matter.get("url", "")
    if not url and base_url:
        slug = front_matter.get("slug") or relative.rsplit(".", 1)[0]
        url = base_url.rstrip("/") + "/" + slug.lstrip("/")
    language = front_matter.get("lang") or front_matter.get("language") or detect_language(body)
    return Document(text=body, path=relative, title=title.strip(), url=url.strip(), language=language)


def _decode(raw: bytes) -> tuple[str | None, str]:
    """Decode UTF-8 (with or without a byte-order mark) or BOM-marked UTF-16.

    Returns the text and "", or None and the reason the bytes are not text.
    """
    is_utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in raw and not is_utf16:
        return None, "contains NUL bytes, so it is binary, not text"
    try:
        return (raw.decode("utf-16") if is_utf16 else raw.decode("utf-8-sig")), ""
    except UnicodeDecodeError as err:
        return None, (
            f"not valid {'UTF-16' if is_utf16 else 'UTF-8'} (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            f"re-save it as UTF-8{_guess_encoding(raw)}"
        )


def _guess_encoding(raw: bytes) -> str:
    # The guess only goes into the message. Decoding with a guessed codec could garble Chinese text.
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return ""
    best = from_bytes(raw[:65536]).best()
    if best is None:
        return ""
    return f" (it looks like {best.encoding}: iconv -f {best.encoding} -t UTF-8)"


def detect_language(text: str) -> str:
    """Return the language of the prose of `text` by `training.data.detect_language`, ignoring code blocks."""
    prose = "\n".join(block.text for block in split_code_blocks(text) if not block.is_code)
    return detect_text_language(prose)


def _first_heading(text: str) -> str:
    match = _H1.search(text)
    return match.group(1) if match else ""


def _title_from_name(file_path: Path) -> str:
    return re.sub(r"[-_]+", " ", file_path.stem).strip() or file_path.name


def _find_manifest(folder: Path, root: Path) -> tuple[Path | None, dict[str, ManifestEntry]]:
    for candidate in (folder / MANIFEST_NAME, root / MANIFEST_NAME):
        if candidate.is_file():
            return candidate, read_manifest(candidate)
    return None, {}


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """Read a manifest.csv into a map from article path (relative to the manifest's folder) to title and URL.

    Raises:
        DataError: the file is not UTF-8 CSV, has no `path` column or neither a `title` nor a `url`
            column, or lists a path twice.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if "path" not in columns or not columns & {"title", "url"}:
                raise DataError(
                    f"{path}: expected a header with a 'path' column and a 'title' or 'url' column, "
                    f"got {', '.join(sorted(columns)) or 'no header'}. Fix the header or remove the file."
                )
            entries: dict[str, ManifestEntry] = {}
            for row_number, row in enumerate(reader, start=2):
                article = (row.get("path") or "").strip().removeprefix("./")
                if not article:
                    raise DataError(f"{path}, row {row_number}: empty 'path'. Fill it in or delete the row.")
                if article in entries:
                    raise DataError(f"{path}, row {row_number}: path {article!r} is listed twice. Keep one row.")
                entries[article] = ManifestEntry(
                    title=(row.get("title") or "").strip(), url=(row.get("url") or "").strip()
                )
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not valid UTF-8 (offset {err.start}). Re-save it as UTF-8.") from err
    except csv.Error as err:
        raise DataError(f"{path} is not valid CSV ({err}). Fix the file or remove it.") from err
    logger.info("Read titles and URLs of %d articles from %s", len(entries), path)
    return entries
