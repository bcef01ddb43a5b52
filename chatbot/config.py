"""The application config: one dataclass per component, read from a TOML file, overridden by flags.

A config file has one table per component (`[paths]`, `[ingest]`, `[train]`, `[retrieval]`, `[dialogue]`,
`[serve]`). Every key is optional; unknown tables or keys raise `ConfigError` naming them. Relative paths in a
file are resolved against the file's folder.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.config import RetrievalConfig
from training.config import TrainConfig
from training.errors import ConfigError
from training.ingest import IngestConfig

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
# The embedded default: a sample store's transcripts and knowledge base, written for this project.
DEFAULT_DATA_DIR = REPO_ROOT / "data" / "default"
# The config of the sample store, which 'chatbot demo' uses when given no --config.
DEMO_CONFIG = DEFAULT_DATA_DIR / "chatbot.toml"


@dataclass
class PathsConfig:
    """Locations of the inputs and of the build outputs."""

    transcripts: list[str] = field(
        default_factory=list,
        metadata={"help": "Transcript export files (CSV, TSV, JSON or JSONL) that 'chatbot ingest' reads when given no files."},
    )
    kb_dir: str = field(default="", metadata={"help": "Knowledge-base folder of Markdown articles, searched recursively. Sources are cited relative to it."})
    kb_subdir: str = field(
        default="",
        metadata={"help": "Sub-folder of kb_dir that holds the articles, when only part of kb_dir is the knowledge base. Empty: kb_dir itself."},
    )
    workdir: str = field(default=".chatbot", metadata={"help": "Folder for build outputs: ingested examples, models, index, reports."})
    questions: str = field(
        default="",
        metadata={"help": "Retrieval evaluation questions (JSON Lines with question and gold_docs) for 'chatbot evaluate'. Empty: skip."},
    )
    slot_values: str = field(
        default="",
        metadata={"help": "TOML file with a [slot_values] table of business constants used to fill templates. Empty: none."},
    )

    def __post_init__(self) -> None:
        if isinstance(self.transcripts, str):
            self.transcripts = [self.transcripts]
        if not self.workdir:
            raise ConfigError("Invalid paths.workdir ''. Set it to a folder path, e.g. '.chatbot'.")

    @property
    def workdir_path(self) -> Path:
        return Path(self.workdir)

    @property
    def examples_path(self) -> Path:
        return self.workdir_path / "ingested" / "examples.jsonl"

    @property
    def models_path(self) -> Path:
        return self.workdir_path / "models"

    @property
    def index_path(self) -> Path:
        return self.workdir_path / "index"

    @property
    def articles_path(self) -> Path:
        return Path(self.kb_dir) / self.kb_subdir if self.kb_subdir else Path(self.kb_dir)


@dataclass
class DialogueConfig:
    """Decisions of the dialogue manager."""

    intent_threshold: float | None = field(
        default=None,
        metadata={"help": "Confidence a predicted intent must reach for a template reply, 0-1. None: the threshold calibrated at training."},
    )
    retrieval_min_score: float | None = field(
        default=None,
        metadata={"help": "Cosine similarity a retrieved passage must reach to be used as an answer, 0-1. None: retrieval.min_score."},
    )
    past_answer_min_score: float = field(
        default=0.75,
        metadata={"help": "Cosine similarity a past customer question must reach before its agent reply is reused, 0-1. "
                          "Higher than the article threshold because the reply was written for that exact question."},
    )
    handoff_intents: list[str] = field(
        default_factory=lambda: ["contact_human_agent"],
        metadata={"help": "Intents that hand the conversation to a human when predicted with confidence."},
    )
    ask_for_slots: list[str] = field(
        default_factory=lambda: ["order_number", "email"],
        metadata={"help": "Template slots the bot asks the customer for when they are missing, instead of a generic phrase."},
    )
    max_unknown_token_share: float = field(
        default=0.5,
        metadata={"help": "Skip retrieval when more than this share (0-1) of the message's tokens are unknown to the embedder, "
                          "whose scores are then meaningless; e.g. Chinese text with the English-only default embedder."},
    )
    fallbacks_before_handoff: int = field(
        default=2, metadata={"help": "Consecutive fallback replies after which the conversation is handed to a human; 0 disables."}
    )
    topics: dict[str, list[str]] = field(
        default_factory=dict,
        metadata={"help": "Per language (en, zh-CN), the topics a fallback reply lists. Unset: English intent names."},
    )
    max_answer_chars: int = field(default=700, metadata={"help": "Longest retrieved passage shown as an answer, in characters."})
    max_history_turns: int = field(default=20, metadata={"help": "Turns kept in each conversation's state."})
    default_language: str = field(default="en", metadata={"help": "Language of bot messages when the customer's language is unknown: en or zh-CN."})

    def __post_init__(self) -> None:
        for name in ("intent_threshold", "retrieval_min_score", "past_answer_min_score", "max_unknown_token_share"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"Invalid dialogue.{name} {value!r}. Must be between 0 and 1, or unset to use the calibrated value.")
        if self.fallbacks_before_handoff < 0:
            raise ConfigError(f"Invalid dialogue.fallbacks_before_handoff {self.fallbacks_before_handoff!r}. Must be 0 or more.")
        if self.max_answer_chars < 80:
            raise ConfigError(f"Invalid dialogue.max_answer_chars {self.max_answer_chars!r}. Must be at least 80.")
        if self.max_history_turns < 1:
            raise ConfigError(f"Invalid dialogue.max_history_turns {self.max_history_turns!r}. Must be at least 1.")
        if self.default_language not in ("en", "zh-CN"):
            raise ConfigError(f"Invalid dialogue.default_language {self.default_language!r}. Must be 'en' or 'zh-CN'.")


@dataclass
class ServeConfig:
    """The chat server and the conversation store behind it."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address the server listens on. Use 0.0.0.0 only behind a reverse proxy."})
    port: int = field(default=7860, metadata={"help": "TCP port of the chat UI, 1-65535."})
    language: str = field(default="en", metadata={"help": "Language of the chat UI strings: en or zh-CN."})
    title: str = field(default="", metadata={"help": "Title shown above the chat. Empty: the UI's default title."})
    device: str = field(default="auto", metadata={"help": "Torch device for serving: auto (CUDA when available), cpu, cuda or cuda:N."})
    show_diagnostics: bool = field(default=False, metadata={"help": "Show each reply's kind, intent and confidence under it (for operators)."})
    concurrency_limit: int = field(
        default=4, metadata={"help": "Messages answered at the same time across all sessions; turns of one conversation always run in order."}
    )
    max_conversations: int = field(default=10_000, metadata={"help": "Conversations kept in memory; the least recently used are dropped first."})
    conversation_ttl_s: float = field(default=3600.0, metadata={"help": "Seconds of inactivity after which a conversation's state is dropped."})

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"Invalid serve.port {self.port!r}. Must be between 1 and 65535.")
        if self.language not in ("en", "zh-CN"):
            raise ConfigError(f"Invalid serve.language {self.language!r}. Must be 'en' or 'zh-CN'.")
        if self.concurrency_limit < 1:
            raise ConfigError(f"Invalid serve.concurrency_limit {self.concurrency_limit!r}. Must be at least 1.")
        if self.max_conversations < 1:
            raise ConfigError(f"Invalid serve.max_conversations {self.max_conversations!r}. Must be at least 1.")
        if self.conversation_ttl_s <= 0:
            raise ConfigError(f"Invalid serve.conversation_ttl_s {self.conversation_ttl_s!r}. Must be positive.")


@dataclass
class AppConfig:
    """Every knob of the product, one table per component."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    dialogue: DialogueConfig = field(default_factory=DialogueConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved config as plain data, one dict per table."""
        return {table.name: dataclasses.asdict(getattr(self, table.name)) for table in dataclasses.fields(self)}

    def save(self, path: Path) -> None:
        """Write the resolved config as JSON beside a run's output."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")


_PATH_KEYS = {"transcripts", "kb_dir", "workdir", "questions", "slot_values"}


def _build_table(cls: type, name: str, values: dict[str, Any]) -> Any:
    known = {item.name for item in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"Unknown key(s) {unknown} in [{name}]. Known keys: {sorted(known)}.")
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(f"Invalid value in [{name}]: {err}.") from err


def _resolve_paths(table: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = dict(table)
    for key in _PATH_KEYS & set(table):
        value = table[key]
        if isinstance(value, list):
            resolved[key] = [str((base / item).resolve()) if item else item for item in value]
        elif isinstance(value, str) and value:
            resolved[key] = str((base / value).resolve())
    return resolved


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse `table.key=value`, reading the value as TOML (so 3, 0.5, true and [..] keep their type)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"Invalid override {text!r}. Expected TABLE.KEY=VALUE, e.g. train.epochs=3.")
    dotted, raw = text.split("=", 1)
    table, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return table, key.strip(), value


def render_reference() -> str:
    """Return a Markdown reference of every config table and key, with its default and help text."""
    lines = [
        "# Configuration reference",
        "",
        "Every key of the TOML config file, by table, with its default. Relative paths in a config file are resolved",
        "against the file's folder. This page is generated from the config dataclasses, and a test checks that it",
        "matches them. Regenerate it with:",
        "",
        "```bash",
        "python -c 'from chatbot.config import render_reference; print(render_reference(), end=\"\")' > docs/configuration.md",
        "```",
    ]
    for table in dataclasses.fields(AppConfig):
        cls = table.default_factory  # type: ignore[misc]
        lines += ["", f"## [{table.name}]", "", f"{(cls.__doc__ or '').strip().splitlines()[0]}", "", "| key | default | meaning |", "|---|---|---|"]
        defaults = cls()
        for item in dataclasses.fields(cls):
            default = getattr(defaults, item.name)
            if isinstance(default, str):
                default = default.replace(str(REPO_ROOT) + "/", "")
            literal = json.dumps(list(default) if isinstance(default, tuple) else default, ensure_ascii=False)
            meaning = item.metadata.get("help", "").replace("|", "\\|")
            lines.append(f"| `{item.name}` | `{literal}` | {meaning} |")
    return "\n".join(lines) + "\n"


def read_toml(path: Path, missing_hint: str) -> dict[str, Any]:
    """Parse a TOML file, raising `ConfigError` that names the file (with `missing_hint` when it does not exist)."""
    if not path.is_file():
        raise ConfigError(f"{path} not found. {missing_hint}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err}). Fix the file and try again.") from err


def load_config(path: Path | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> AppConfig:
    """Build an `AppConfig` from defaults, then the TOML file at `path`, then `overrides` (table -> key -> value)."""
    tables: dict[str, dict[str, Any]] = {}
    if path is not None:
        document = read_toml(path, "Pass an existing file to --config, or leave it out to use the defaults.")
        for table, values in document.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: top-level key {table!r} must be a table like [{table}].")
            tables[table] = _resolve_paths(values, path.parent) if table == "paths" else dict(values)
    for table, values in (overrides or {}).items():
        tables.setdefault(table, {}).update(values)

    known = {item.name: item for item in dataclasses.fields(AppConfig)}
    unknown = sorted(set(tables) - set(known))
    if unknown:
        raise ConfigError(f"Unknown config table(s) {unknown}. Known tables: {sorted(known)}.")
    built = {}
    for name, item in known.items():
        cls = item.default_factory  # type: ignore[misc]
        built[name] = _build_table(cls, name, tables.get(name, {}))  # type: ignore[arg-type]
    config = AppConfig(**built)
    logger.debug("Resolved config: %s", config.to_dict())
    return config
