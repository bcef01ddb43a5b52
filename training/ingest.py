"""Read transcript exports (CSV, TSV, JSON, JSON Lines) into normalised `Example` records.

Columns are matched by name against common aliases (`instruction`, `customer_message`, `text` ...) or set
explicitly. Rows that cannot be used go to a rejects file with their reason, so nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from training.data import Example, detect_language, write_examples
from training.encoder import file_sha256
from training.errors import ConfigError, DataError, DataFileNotFoundError

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson")

# Header names recognised for each field, most specific first. Matching ignores case, spaces and dashes.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("customer_message", "instruction", "utterance", "customer_text", "text", "message", "question", "query", "body"),
    "intent": ("intent", "label", "intent_name", "topic"),
    "response": ("agent_reply", "response", "agent_response", "answer", "reply", "agent_message"),
    "language": ("language", "lang", "locale"),
    "conversation_id": ("conversation_id", "ticket_id", "thread_id", "dialogue_id", "id"),
}



@dataclass
class IngestConfig:
    """Settings for reading exports. An empty column name means the column is found from the header."""

    text_column: str = field(default="", metadata={"help": "Column with the customer's message."})
    intent_column: str = field(default="", metadata={"help": "Column with the intent label (optional)."})
    response_column: str = field(default="", metadata={"help": "Column with the agent's reply (optional)."})
    language_column: str = field(default="", metadata={"help": "Column with a language tag such as en or zh-CN (optional)."})
    conversation_column: str = field(default="", metadata={"help": "Column with a conversation or ticket id (optional)."})
    encoding: str = field(default="utf-8", metadata={"help": "Text encoding of the export files."})
    drop_duplicates: bool = field(default=True, metadata={"help": "Reject rows whose text and intent repeat an earlier row."})

    def __post_init__(self) -> None:
        try:
            "".encode(self.encoding)
        except LookupError as err:
            raise ConfigError(f"Invalid ingest.encoding {self.encoding!r}: Python knows no such codec. Use e.g. 'utf-8' or 'cp1252'.") from err


@dataclass(frozen=True)
class Reject:
    """A row that was not imported, with where it came from and why."""

    file: str
    row: int
    reason: str
    record: dict[str, Any]


@dataclass
class IngestReport:
    """Summary of one ingest run: files read, examples written and rows rejected."""

    files: list[dict[str, Any]] = field(default_factory=list)
    examples: int = 0
    rejected: int = 0
    intents: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def resolve_columns(header: list[str], config: IngestConfig, source: Path) -> dict[str, str]:
    """Map each field to a header name, raising `DataError` when no customer-text column is found."""
    by_normalised = {_normalise_header(name): name for name in header}
    explicit = {
        "text": config.text_column,
        "intent": config.intent_column,
        "response": config.response_column,
        "language": config.language_column,
        "conversation_id": config.conversation_column,
    }
    mapping: dict[str, str] = {}
    for field_name, wanted in explicit.items():
        if wanted:
            if _normalise_header(wanted) not in by_normalised:
                raise DataError(
                    f"{source}: column {wanted!r} set for {field_name} is not in the header {header}. "
                    f"Fix the column name in the config or on the command line."
                )
            mapping[field_name] = by_normalised[_normalise_header(wanted)]
            continue
        for alias in COLUMN_ALIASES[field_name]:
            if alias in by_normalised and by_normalised[alias] not in mapping.values():
                mapping[field_name] = by_normalised[alias]
                break
    if "text" not in mapping:
        raise DataError(
            f"{source}: no column with the customer's message. Found columns {header}; expected one of "
            f"{list(COLUMN_ALIASES['text'])}. Rename the column or pass --text-column NAME "
            f"(and --intent-column / --response-column for the others)."
        )
    return mapping


def _read_text(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path} is empty. Export the conversations again, or remove the file from the input list.")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        guess = _guess_encoding(raw)
        hint = f" It looks like {guess}; re-export as UTF-8 or pass --encoding {guess}." if guess else " Re-export it as UTF-8 or pass --encoding NAME."
        raise DataError(f"{path} is not valid {encoding}: byte 0x{raw[err.start]:02x} at offset {err.start} cannot be decoded.{hint}") from err
    return text.lstrip("\ufeff")


def _guess_encoding(raw: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return ""
    match = from_bytes(raw[:200_000]).best()
    return match.encoding if match is not None else ""


def _iter_csv(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]] | list[str]]:
    """Yield the header, then (row number, record) pairs; row numbers count the header as row 1."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    # Quoting follows RFC 4180, with doubled quotes and newlines inside quoted fields. Only the delimiter is
    # sniffed, because csv.Sniffer guesses the quoting wrongly on files whose fields contain quotes.
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path} has no header row.") from None
    yield [name.strip() for name in header]
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield row_number, {"__error__": f"has {len(row)} fields but the header has {len(header)}", "__raw__": row}
            continue
        yield row_number, dict(zip(header, row))


def _sniff_delimiter(text: str) -> str:
    header_line = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header_line, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _iter_json(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]] | list[str]]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records: list[tuple[int, Any]] = []
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((line_number, json.loads(line)))
            except json.JSONDecodeError as err:
                records.append((line_number, {"__error__": f"invalid JSON ({err.msg})", "__raw__": line[:500]}))
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno} ({err.msg}).") from err
        items = _find_record_list(document)
        if items is None:
            raise DataError(f"{path}: expected a JSON array of objects, or an object with one array of objects (such as 'data' or 'tickets').")
        records = list(enumerate(items, start=1))
    header: list[str] = []
    for _, record in records:
        if isinstance(record, dict):
            header.extend(key for key in record if key not in header and not key.startswith("__"))
    yield header
    for number, record in records:
        if not isinstance(record, dict):
            yield number, {"__error__": f"expected a JSON object, got {type(record).__name__}", "__raw__": record}
        else:
            yield number, record


def _find_record_list(document: Any) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list) and value and isinstance(value[0], dict)]
        if len(lists) == 1:
            return lists[0]
    return None


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return re.sub(r"[ \t]+", " ", str(value).replace("\r\n", "\n")).strip()


def read_export(path: Path, config: IngestConfig) -> tuple[list[Example], list[Reject], dict[str, str]]:
    """Read one export file and return its examples, its rejected rows and the column mapping used."""
    if not path.is_file():
        raise DataFileNotFoundError(f"Export file {path} not found. Check the path passed to 'chatbot ingest'.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {suffix!r}. Export as one of {', '.join(SUPPORTED_SUFFIXES)}.")
    text = _read_text(path, config.encoding)
    rows = _iter_csv(path, text) if suffix in (".csv", ".tsv") else _iter_json(path, text)
    header = next(rows)
    mapping = resolve_columns(header, config, path)  # type: ignore[arg-type]

    examples: list[Example] = []
    rejects: list[Reject] = []
    for row_number, record in rows:  # type: ignore[misc]
        if "__error__" in record:
            rejects.append(Reject(str(path), row_number, f"row {record['__error__']}", {"raw": record["__raw__"]}))
            continue
        text_value = _clean(record.get(mapping["text"]))
        if not text_value:
            rejects.append(Reject(str(path), row_number, f"empty customer message in column {mapping['text']!r}", record))
            continue
        values = {name: _clean(record.get(column)) for name, column in mapping.items()}
        language = values.get("language") or detect_language(text_value)
        examples.append(
            Example(
                text=text_value,
                intent=values.get("intent", ""),
                response=values.get("response", ""),
                language=language,
                conversation_id=values.get("conversation_id", "") or f"{path.stem}:{row_number}",
                source=f"{path.name}:{row_number}",
            )
        )
    if not examples:
        raise DataError(f"{path}: none of its {len(rejects)} rows could be imported; the first reason: {rejects[0].reason if rejects else 'no rows'}.")
    return examples, rejects, mapping


def ingest(paths: Iterable[Path], output_dir: Path, config: IngestConfig | None = None) -> IngestReport:
    """Read every export, then write `examples.jsonl`, `rejects.jsonl` and `ingest.json` into `output_dir`.

    Files are read completely before anything is written, so a bad file leaves earlier output untouched.
    """
    config = config or IngestConfig()
    paths = list(paths)
    if not paths:
        raise DataError("No export files given. Pass one or more CSV, TSV, JSON or JSONL files to 'chatbot ingest'.")
    report = IngestReport()
    all_examples: list[Example] = []
    all_rejects: list[Reject] = []
    seen: dict[tuple[str, str], str] = {}
    for path in paths:
        examples, rejects, mapping = read_export(path, config)
        kept = 0
        for example in examples:
            key = (" ".join(example.text.lower().split()), example.intent)
            if config.drop_duplicates and key in seen:
                all_rejects.append(Reject(str(path), int(example.source.rsplit(":", 1)[1]), f"duplicate of {seen[key]}", asdict(example)))
                continue
            seen[key] = example.source
            all_examples.append(example)
            kept += 1
        all_rejects.extend(rejects)
        report.files.append({"path": str(path), "sha256": file_sha256(path), "columns": mapping, "examples": kept, "rejected": len(examples) - kept + len(rejects)})
        logger.info("Read %s: %d examples, %d rejected, columns %s", path, kept, len(examples) - kept + len(rejects), mapping)

    output_dir.mkdir(parents=True, exist_ok=True)
    report.examples = write_examples(output_dir / "examples.jsonl", all_examples)
    report.rejected = len(all_rejects)
    with open(output_dir / "rejects.jsonl", "w", encoding="utf-8") as handle:
        for reject in all_rejects:
            handle.write(json.dumps(asdict(reject), ensure_ascii=False, default=str) + "\n")
    for example in all_examples:
        report.intents[example.intent] = report.intents.get(example.intent, 0) + 1
        report.languages[example.language] = report.languages.get(example.language, 0) + 1
    (output_dir / "ingest.json").write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False), encoding="utf-8")
    logger.info("Wrote %d examples to %s and %d rejects to %s", report.examples, output_dir / "examples.jsonl", report.rejected, output_dir / "rejects.jsonl")
    return report

