"""The build steps behind the CLI: ingest, train, index, evaluate. Each reads and writes under the config's workdir."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chatbot.config import AppConfig
from training.data import OUT_OF_SCOPE, Example, read_examples
from training.errors import DataError, DataFileNotFoundError
from training.jsonl import read_jsonl_objects

logger = logging.getLogger(__name__)


def run_ingest(config: AppConfig, files: list[Path] | None = None) -> dict[str, Any]:
    """Read the transcript exports into `<workdir>/ingested/` and return the ingest report."""
    from training.ingest import ingest

    paths = files or [Path(item) for item in config.paths.transcripts]
    if not paths:
        raise DataError("No export files given. Pass CSV, TSV, JSON or JSONL files to 'chatbot ingest', or set paths.transcripts in the config.")
    report = ingest(paths, config.paths.examples_path.parent, config.ingest)
    return asdict(report)


def run_train(config: AppConfig) -> Path:
    """Train an intent model on the ingested examples, promote it, and return its version folder."""
    from training.registry import ModelRegistry
    from training.trainer import train_intent_model

    examples = read_examples(config.paths.examples_path)
    registry = ModelRegistry(config.paths.models_path)
    result = train_intent_model(examples, config.train, registry)
    config.save(result.path.parent / f"{result.path.name}.app-config.json")
    logger.info("Model %s is now current", result.path)
    return result.path


def past_answers(examples: list[Example]) -> list[Any]:
    """Turn ingested examples with an agent reply into question/answer pairs for the index."""
    from retrieval.index import QAPair

    pairs = []
    for example in examples:
        if example.response and example.intent != OUT_OF_SCOPE:
            pairs.append(QAPair(question=example.text, answer=example.response, source=f"conversation {example.conversation_id}"))
    return pairs


def run_index(config: AppConfig, *, include_past_answers: bool = True) -> Path:
    """Index the knowledge base (and past answered questions, when ingested) into `<workdir>/index/`."""
    from retrieval.documents import load_knowledge_base
    from retrieval.embedder import Embedder
    from retrieval.index import KnowledgeIndex

    if not config.paths.kb_dir:
        raise DataFileNotFoundError("No knowledge-base folder set. Pass --kb PATH with a folder of Markdown articles, or set paths.kb_dir in the config.")
    articles = config.paths.articles_path
    if not articles.is_dir():
        raise DataFileNotFoundError(
            f"Knowledge-base folder {articles} not found. Pass --kb PATH with a folder of Markdown articles, "
            "or set paths.kb_dir (and paths.kb_subdir) in the config."
        )
    documents, rejects = load_knowledge_base(articles, relative_to=Path(config.paths.kb_dir))
    pairs = []
    if include_past_answers and config.paths.examples_path.is_file():
        pairs = past_answers(read_examples(config.paths.examples_path))
    embedder = Embedder(config.retrieval.embedder, device=config.retrieval.device, batch_size=config.retrieval.batch_size)
    index = KnowledgeIndex.build(documents, pairs, embedder, config.retrieval, rejects=rejects)
    index.save(config.paths.index_path)
    logger.info("Indexed %d articles and %d past answers into %s (%d rejected)", len(documents), len(pairs), config.paths.index_path, len(rejects))
    return config.paths.index_path


def run_evaluate(config: AppConfig, data: list[Path] | None = None, questions: Path | None = None) -> dict[str, Any]:
    """Evaluate the current model on labelled exports and the index on retrieval questions; write a JSON report."""
    from training.artifact import IntentModel
    from training.ingest import read_export
    from training.metrics import evaluate_predictions
    from training.registry import ModelRegistry

    report: dict[str, Any] = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    current = ModelRegistry(config.paths.models_path).current()
    if current is not None:
        model = IntentModel.load(current, device=config.train.device)
        report["model"] = str(current)
        report["model_metrics"] = model.metrics
        if data:
            examples = [example for path in data for example in read_export(path, config.ingest)[0] if example.intent]
            if not examples:
                raise DataError(f"None of {[str(path) for path in data]} has labelled rows. Pass a file with an intent column.")
            predictions = model.predict([example.text for example in examples])
            report["intent"] = evaluate_predictions(
                [example.intent for example in examples],
                [prediction.intent for prediction in predictions],
                [prediction.confidence for prediction in predictions],
            )
    questions = questions or (Path(config.paths.questions) if config.paths.questions else None)
    if questions is not None and (config.paths.index_path / "index.json").exists():
        from retrieval.embedder import Embedder
        from retrieval.evaluate import evaluate_retrieval
        from retrieval.index import KnowledgeIndex

        index = KnowledgeIndex.load(config.paths.index_path, Embedder(config.retrieval.embedder, device=config.retrieval.device))
        report["retrieval"] = evaluate_retrieval(index, read_questions(questions))
    out = config.paths.workdir_path / "reports" / f"evaluate-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    report["report_path"] = str(out)
    logger.info("Wrote evaluation report %s", out)
    return report


def read_questions(path: Path) -> list[dict[str, Any]]:
    """Read retrieval questions (JSON Lines with `question` and `gold_docs`)."""
    if not path.is_file():
        raise DataFileNotFoundError(f"Questions file {path} not found. Fix --questions or paths.questions.")
    rows = read_jsonl_objects(path, DataError, "Fix the questions file.")
    for number, row in enumerate(rows, start=1):
        if "question" not in row:
            raise DataError(f"{path}, record {number}: expected a 'question' field.")
    return rows


def missing_steps(config: AppConfig) -> list[str]:
    """Return the build steps whose output is missing, in the order they must run."""
    from training.registry import ModelRegistry

    steps = []
    if not config.paths.examples_path.is_file():
        steps.append("ingest")
    if "ingest" in steps or ModelRegistry(config.paths.models_path).current() is None:
        steps.append("train")
    if "ingest" in steps or not (config.paths.index_path / "index.json").is_file():
        steps.append("index")
    return steps
