"""The whole path on real components: the `chatbot` CLI ingests, trains and indexes, and the service answers.

These tests use the real all-MiniLM-L6-v2 model and real FAISS. The Bitext and Plausible tests read the public
data sets beside the checkout and skip when they are absent.
"""

from __future__ import annotations

import csv
import io
import json
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from chatbot.cli import main
from chatbot.config import DEMO_CONFIG, load_config
from chatbot.reply import RETRIEVAL, TEMPLATE
from chatbot.service import ChatService

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "default"
BITEXT_FILE = "bitext_customer_support/Bitext_Sample_Customer_Support_Training_Dataset.shared90.csv"
# Help-centre questions that no Bitext intent covers, with the Plausible article that answers each.
ARTICLE_QUESTIONS = (
    ("Can I embed the dashboard on my website?", "docs/embed-dashboard.md"),
    ("How do I import my data from Google Analytics?", "docs/google-analytics-import.md"),
)
TRAIN_ROWS_PER_INTENT = 40
TEST_ROWS_PER_INTENT = 25


def run_cli(*args: str) -> None:
    status = main(list(args))
    assert status == 0, f"chatbot {' '.join(args)} exited with {status}"


@pytest.fixture(scope="module")
def default_workdir(tmp_path_factory) -> Path:
    """The embedded default built by the CLI, as `chatbot demo` does before serving."""
    workdir = tmp_path_factory.mktemp("default")
    for step in ("ingest", "train", "index"):
        run_cli(step, "--config", str(DEMO_CONFIG), "--workdir", str(workdir))
    return workdir


@pytest.fixture(scope="module")
def default_service(default_workdir) -> ChatService:
    return ChatService.from_config(load_config(DEMO_CONFIG, {"paths": {"workdir": str(default_workdir)}}))


@pytest.mark.slow
def test_default_model_folder_complete(default_workdir):
    current = (default_workdir / "models" / "CURRENT").read_text().strip()
    folder = default_workdir / "models" / current
    for name in ("adapter_model.safetensors", "head.safetensors", "labels.json", "templates.json", "config.json", "metrics.json", "manifest.json"):
        assert (folder / name).is_file(), name


@pytest.mark.slow
def test_default_bot_answers(default_service):
    service = default_service
    conversation = service.new_conversation_id()
    reply = service.reply(conversation, "I want to return the shoes I bought, how do I do that?")
    assert reply.kind == TEMPLATE, reply.reason
    assert reply.intent == "return_item"
    assert "{{" not in reply.text


@pytest.mark.slow
def test_default_bot_cites_article(default_service):
    service = default_service
    questions = [json.loads(line) for line in (DEFAULT_DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    cited = 0
    in_scope = [row for row in questions if row["kind"] == "in_scope" and row["language"] == "en"]
    for row in in_scope:
        reply = service.reply(service.new_conversation_id(), row["question"])
        if reply.kind == RETRIEVAL and reply.sources[0].path in row["gold_docs"]:
            cited += 1
    assert cited >= len(in_scope) // 3, f"{cited} of {len(in_scope)} questions cited their article"


@pytest.mark.slow
def test_default_bot_chinese_round_trip(default_service):
    service = default_service
    reply = service.reply(service.new_conversation_id(), "我想退货，请问怎么办？")
    assert reply.text
    assert "\ufffd" not in reply.text
    assert "{{" not in reply.text


@pytest.mark.slow
def test_terminal_chat(default_workdir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("where is order LL-482913?\n\n"))
    run_cli("chat", "--config", str(DEMO_CONFIG), "--workdir", str(default_workdir))
    output = capsys.readouterr().out
    assert "bot> " in output
    assert "LL-482913" in output
    assert "[template track_order" in output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_served_chat_over_http(default_workdir):
    from gradio_client import Client

    port = free_port()
    command = [sys.executable, "-m", "chatbot", "serve", "--config", str(DEMO_CONFIG), "--workdir", str(default_workdir), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"chatbot serve exited: {server.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "chatbot serve did not listen within 120 s"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False, analytics_enabled=False)
        _, history = client.predict("How do I wash linen?", [], api_name="/chat")
        reply = str(history[-1]["content"])
        assert "40°C" in reply
        assert "help.larkspurloom.example/product-care" in reply
    finally:
        server.terminate()
        server.wait(timeout=30)


def bitext_split(shared_data: Path, tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    """Write a seeded slice of Bitext (40 rows per intent) as an export and return it with unseen test rows."""
    with open(shared_data / BITEXT_FILE, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_intent: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    rng = random.Random(13)
    train, test = [], []
    for intent in sorted(by_intent):
        group = by_intent[intent]
        rng.shuffle(group)
        train.extend(group[:TRAIN_ROWS_PER_INTENT])
        test.extend(group[TRAIN_ROWS_PER_INTENT : TRAIN_ROWS_PER_INTENT + TEST_ROWS_PER_INTENT])
    export = tmp_path / "bitext_slice.csv"
    with open(export, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(train)
    return export, test


@pytest.mark.slow
@pytest.mark.real_data
def test_bitext_and_plausible_path(shared_data, tmp_path):
    export, test_rows = bitext_split(shared_data, tmp_path)
    workdir = tmp_path / "work"
    run_cli("ingest", str(export), "--workdir", str(workdir))
    run_cli("train", "--workdir", str(workdir))
    run_cli("index", "--workdir", str(workdir), "--kb", str(shared_data / "kb_plausible_docs"))

    config = load_config(None, {"paths": {"workdir": str(workdir)}})
    service = ChatService.from_config(config)
    predictions = service.dialogue.intent_model.predict([row["instruction"] for row in test_rows])
    correct = sum(prediction.intent == row["intent"] for prediction, row in zip(predictions, test_rows))
    accuracy = correct / len(test_rows)
    assert accuracy >= 0.95, f"intent accuracy {accuracy:.3f} on {len(test_rows)} unseen Bitext rows"

    for question, article in ARTICLE_QUESTIONS:
        reply = service.reply(service.new_conversation_id(), question)
        assert reply.kind == RETRIEVAL, reply.reason
        assert reply.sources[0].path == article, reply.sources

    run_cli("evaluate", "--workdir", str(workdir), "--questions", str(shared_data / "kb_plausible_docs" / "questions_dev.jsonl"))
    reports = sorted((workdir / "reports").glob("evaluate-*.json"))
    assert reports, "chatbot evaluate wrote no report"
