"""The `chatbot` command: ingest, train, index, evaluate, serve, chat and demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from training.errors import ChatbotError

logger = logging.getLogger("chatbot.cli")

# Gradio reads this when it is imported; analytics stay off unless the operator turns them on explicitly.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML config file, e.g. data/default/chatbot.toml (the sample store, which 'demo' uses by default). Default: built-in defaults.")
    parser.add_argument("--workdir", help="Folder for build outputs (models, index, reports). Overrides paths.workdir.")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="TABLE.KEY=VALUE", help="Override one config value, e.g. --set train.epochs=3. Repeatable.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="Log more: -v for debug messages of this project.")


def _add_serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="Address to listen on (serve.host). Default 127.0.0.1.")
    parser.add_argument("--port", type=int, help="TCP port (serve.port). Default 7860.")
    parser.add_argument("--language", choices=("en", "zh-CN"), help="Language of the chat UI strings (serve.language).")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (serve.device). Default auto: CUDA when available.")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per step."""
    parser = argparse.ArgumentParser(prog="chatbot", description="Turn help-desk transcripts into a customer-service chatbot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="Read transcript exports into normalised examples.")
    _add_common(ingest)
    ingest.add_argument("files", nargs="*", type=Path, help="CSV, TSV, JSON or JSONL exports. Default: paths.transcripts.")
    ingest.add_argument("--text-column", help="Column with the customer's message (ingest.text_column).")
    ingest.add_argument("--intent-column", help="Column with the intent label (ingest.intent_column).")
    ingest.add_argument("--response-column", help="Column with the agent's reply (ingest.response_column).")
    ingest.add_argument("--encoding", help="Text encoding of the files (ingest.encoding). Default utf-8.")

    train = commands.add_parser("train", help="Train the intent model on the ingested examples and make it current.")
    _add_common(train)
    train.add_argument("--epochs", type=int, help="Training epochs (train.epochs).")
    train.add_argument("--encoder", help="Encoder: a local folder or hub id (train.encoder). Default all-MiniLM-L6-v2 (bundled).")
    train.add_argument("--device", help="auto, cpu, cuda or cuda:N (train.device).")

    index = commands.add_parser("index", help="Build the knowledge-base index (articles and past answers).")
    _add_common(index)
    index.add_argument("--kb", type=Path, help="Knowledge-base folder of Markdown articles; sources are cited relative to it.")
    index.add_argument("--no-past-answers", action="store_true", help="Index articles only, not past answered questions.")

    evaluate = commands.add_parser("evaluate", help="Evaluate the current model and index; write a JSON report.")
    _add_common(evaluate)
    evaluate.add_argument("--data", type=Path, action="append", help="Labelled export to measure intent accuracy on. Repeatable.")
    evaluate.add_argument("--questions", type=Path, help="Retrieval questions (JSON Lines). Default: paths.questions.")

    serve = commands.add_parser("serve", help="Start the chat UI in the browser.")
    _add_common(serve)
    _add_serve_flags(serve)

    chat = commands.add_parser("chat", help="Chat with the bot in the terminal.")
    _add_common(chat)
    chat.add_argument("--device", help="auto, cpu, cuda or cuda:N (serve.device).")
    chat.add_argument("--json", action="store_true", help="Print each reply as a JSON object with its diagnostics.")

    demo = commands.add_parser("demo", help="Build whatever is missing (ingest, train, index), then serve.")
    _add_common(demo)
    _add_serve_flags(demo)
    demo.add_argument("--rebuild", action="store_true", help="Run every build step even when its output exists.")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from chatbot.config import parse_override

    tables: dict[str, dict[str, Any]] = {}
    for text in args.overrides:
        table, key, value = parse_override(text)
        tables.setdefault(table, {})[key] = value
    flags = {
        ("paths", "workdir"): getattr(args, "workdir", None),
        ("ingest", "text_column"): getattr(args, "text_column", None),
        ("ingest", "intent_column"): getattr(args, "intent_column", None),
        ("ingest", "response_column"): getattr(args, "response_column", None),
        ("ingest", "encoding"): getattr(args, "encoding", None),
        ("train", "epochs"): getattr(args, "epochs", None),
        ("train", "encoder"): getattr(args, "encoder", None),
        ("serve", "host"): getattr(args, "host", None),
        ("serve", "port"): getattr(args, "port", None),
        ("serve", "language"): getattr(args, "language", None),
    }
    if getattr(args, "kb", None) is not None:
        flags[("paths", "kb_dir")] = str(args.kb.resolve())
        flags[("paths", "kb_subdir")] = ""
    device = getattr(args, "device", None)
    if device is not None:
        table = "train" if args.command == "train" else "serve"
        flags[(table, "device")] = device
    for (table, key), value in flags.items():
        if value is not None:
            tables.setdefault(table, {})[key] = value
    return tables


def _configure_logging(verbosity: int) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in ("chatbot", "training", "retrieval", "ui"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity else logging.INFO)
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "transformers", "gradio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _cmd_ingest(args: argparse.Namespace, config: Any) -> int:
    from chatbot.pipeline import run_ingest

    report = run_ingest(config, args.files or None)
    print(f"Ingested {report['examples']} examples ({report['rejected']} rejected) into {config.paths.examples_path.parent}")
    print(f"Intents: {len([name for name in report['intents'] if name])}; languages: {report['languages']}")
    if report["rejected"]:
        print(f"Rejected rows and reasons: {config.paths.examples_path.parent / 'rejects.jsonl'}")
    return 0


def _cmd_train(args: argparse.Namespace, config: Any) -> int:
    from chatbot.pipeline import run_train

    started = time.perf_counter()
    path = run_train(config)
    metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    print(f"Trained {path} in {time.perf_counter() - started:.0f} s")
    print(_summarise_metrics(metrics))
    return 0


def _summarise_metrics(metrics: dict[str, Any]) -> str:
    held_out = metrics.get("held_out", metrics)
    parts = []
    for key in ("accuracy", "macro_f1"):
        if isinstance(held_out.get(key), (int, float)):
            parts.append(f"{key} {held_out[key]:.3f}")
    calibration = metrics.get("calibration", {})
    if isinstance(calibration.get("threshold"), (int, float)):
        parts.append(f"threshold {calibration['threshold']:.3f}")
    return "Held-out: " + (", ".join(parts) if parts else "see metrics.json")


def _cmd_index(args: argparse.Namespace, config: Any) -> int:
    from chatbot.pipeline import run_index

    started = time.perf_counter()
    path = run_index(config, include_past_answers=not args.no_past_answers)
    print(f"Built index {path} in {time.perf_counter() - started:.0f} s")
    return 0


def _cmd_evaluate(args: argparse.Namespace, config: Any) -> int:
    from chatbot.pipeline import run_evaluate

    report = run_evaluate(config, args.data, args.questions)
    if "intent" in report:
        print(f"Intent: accuracy {report['intent']['accuracy']:.3f}, macro-F1 {report['intent']['macro_f1']:.3f}")
    if "retrieval" in report:
        figures = {key: value for key, value in report["retrieval"].items() if isinstance(value, (int, float))}
        print("Retrieval: " + ", ".join(f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}" for key, value in figures.items()))
    print(f"Report: {report['report_path']}")
    return 0


def _cmd_serve(args: argparse.Namespace, config: Any) -> int:
    from chatbot.service import ChatService
    from ui.app import launch

    service = ChatService.from_config(config)
    launch(
        service,
        host=config.serve.host,
        port=config.serve.port,
        language=config.serve.language,
        title=config.serve.title or None,
        show_diagnostics=config.serve.show_diagnostics,
        concurrency_limit=config.serve.concurrency_limit,
    )
    return 0


def _cmd_chat(args: argparse.Namespace, config: Any) -> int:
    from chatbot.service import ChatService

    service = ChatService.from_config(config)
    conversation_id = service.new_conversation_id()
    print("Type a message and press Enter; an empty line or Ctrl-D ends the chat.")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            break
        if not line.strip():
            break
        reply = service.reply(conversation_id, line)
        if args.json:
            print(json.dumps(reply.to_dict(), ensure_ascii=False))
            continue
        print(f"bot> {reply.text}")
        for source in reply.sources:
            print(f"     source: {source.title} {source.url or source.path}")
        print(f"     [{reply.kind}{' ' + reply.intent if reply.intent else ''} {reply.confidence:.2f}] {reply.reason}")
    return 0


def _cmd_demo(args: argparse.Namespace, config: Any) -> int:
    from chatbot.pipeline import missing_steps, run_index, run_ingest, run_train

    steps = ["ingest", "train", "index"] if args.rebuild else missing_steps(config)
    actions: dict[str, Callable[[Any], Any]] = {"ingest": run_ingest, "train": run_train, "index": run_index}
    for step in steps:
        started = time.perf_counter()
        logger.info("demo: running %s", step)
        actions[step](config)
        logger.info("demo: %s done in %.0f s", step, time.perf_counter() - started)
    return _cmd_serve(args, config)


COMMANDS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "ingest": _cmd_ingest,
    "train": _cmd_train,
    "index": _cmd_index,
    "evaluate": _cmd_evaluate,
    "serve": _cmd_serve,
    "chat": _cmd_chat,
    "demo": _cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    """Run the `chatbot` command and return its exit status."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    # Model weights come from local folders only; a hub download would fail on offline machines anyway.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from chatbot.config import DEMO_CONFIG, load_config

        if args.command == "demo" and args.config is None:
            args.config = DEMO_CONFIG
        config = load_config(args.config, _overrides(args))
        return COMMANDS[args.command](args, config)
    except ChatbotError as err:
        logger.debug("Command %s failed", args.command, exc_info=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
