"""Fixtures of the UI tests: a fake chat service and chat UIs launched on 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import uuid
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

import ui  # noqa: F401  (turns Gradio analytics off before gradio is imported)
from chatbot.reply import FALLBACK, HANDOFF, RETRIEVAL, Reply, Source

class FakeChatService:
    """Stand-in for `chatbot.service` whose replies name the conversation id they were given.

    A message containing "boom" raises, "human" gets a handoff reply, "ship" or "发货" gets a
    retrieval reply with one source, and anything else gets a fallback reply.
    """

    shipping_source = Source(
        title="Shipping times", path="kb/shipping.md", url="https://help.example.com/shipping", score=0.82
    )
    shipping_source_zh = Source(
        title="配送时间", path="kb/zh/shipping.md", url="https://help.example.com/zh/shipping", score=0.79
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        # A random prefix keeps ids unique across the services of one test session.
        self._prefix = uuid.uuid4().hex[:6]
        self.calls: list[tuple[str, str]] = []

    def new_conversation_id(self) -> str:
        with self._lock:
            return f"conv-{self._prefix}-{next(self._counter)}"

    def reply(self, conversation_id: str, message: str) -> Reply:
        with self._lock:
            self.calls.append((conversation_id, message))
        if "boom" in message:
            raise RuntimeError(f"fake service failure on {message!r}")
        if "human" in message:
            return Reply(
                kind=HANDOFF,
                text=f"I am passing you to a colleague. Conversation {conversation_id}.",
                reason="customer asked for a human",
                conversation_id=conversation_id,
            )
        if "发货" in message:
            return Reply(
                kind=RETRIEVAL,
                text=self.zh_shipping_answer(conversation_id),
                intent="shipping",
                confidence=0.91,
                sources=(self.shipping_source_zh,),
                conversation_id=conversation_id,
            )
        if "ship" in message:
            return Reply(
                kind=RETRIEVAL,
                text=f"Orders ship within 2 working days. Conversation {conversation_id}.",
                intent="shipping",
                confidence=0.87,
                reason="top passage score 0.82",
                sources=(self.shipping_source,),
                conversation_id=conversation_id,
            )
        return Reply(
            kind=FALLBACK,
            text=f"Could you tell me more? Conversation {conversation_id}.",
            conversation_id=conversation_id,
        )

    @staticmethod
    def zh_shipping_answer(conversation_id: str) -> str:
        return f"您好！订单会在 2 个工作日内发货，快递一般需要 3 到 5 天。会话 {conversation_id}。"

    def messages_of(self, conversation_id: str) -> list[str]:
        with self._lock:
            return [message for call_id, message in self.calls if call_id == conversation_id]


@dataclass
class RunningApp:
    url: str
    service: FakeChatService


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch_app(language: str, **options) -> tuple[RunningApp, object]:
    from ui.app import launch

    service = FakeChatService()
    demo = launch(service, host="127.0.0.1", port=find_free_port(), language=language, block=False, **options)
    return RunningApp(url=demo.local_url, service=service), demo


@pytest.fixture
def fake_service() -> FakeChatService:
    return FakeChatService()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return find_free_port()


@pytest.fixture(scope="session")
def en_app():
    """An English chat UI, shared by the tests of the session."""
    app, demo = _launch_app("en")
    yield app
    demo.close()


@pytest.fixture(scope="session")
def zh_app():
    """A Simplified Chinese chat UI with the diagnostics line on."""
    app, demo = _launch_app("zh-CN", show_diagnostics=True)
    yield app
    demo.close()
