"""The chat UI driven through Gradio's own Python client, without a browser."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time

import gradio as gr
import pytest
from gradio_client import Client

from training.errors import ConfigError
from ui.app import CHAT_API_NAME, build_app, launch
from ui.strings import get_strings

CHAT_ENDPOINT = f"/{CHAT_API_NAME}"


def _client(url: str) -> Client:
    # Each Client has its own Gradio session, like a separate browser tab.
    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def _texts(history, role: str) -> list[str]:
    texts = []
    for message in history:
        if message["role"] != role:
            continue
        content = message["content"]
        parts = content if isinstance(content, list) else [{"text": content}]
        texts.append("".join(part.get("text", "") for part in parts))
    return texts


def test_build_app_returns_blocks():
    demo = build_app(object(), language="zh-CN")
    assert isinstance(demo, gr.Blocks)
    assert demo.analytics_enabled is False


def test_build_app_page_title():
    demo = build_app(object(), title="Acme help")
    assert demo.title == "Acme help"


def test_build_app_invalid_language():
    with pytest.raises(ConfigError, match="en, zh-CN"):
        build_app(object(), language="xx")


def test_launch_invalid_port():
    with pytest.raises(ConfigError, match="ui.port"):
        launch(object(), port=0, block=False)


def test_launch_port_in_use(fake_service):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            launch(fake_service, port=port, block=False)


def test_launch_caps_uploads(en_app):
    httpx = pytest.importorskip("httpx")
    response = httpx.post(f"{en_app.url}gradio_api/upload", files={"files": ("big.txt", b"x" * 5000)})
    assert response.status_code == 413


def test_client_reply_round_trip(en_app):
    client = _client(en_app.url)
    message_box, history = client.predict("when will my order ship?", [], api_name=CHAT_ENDPOINT)
    assert message_box == ""
    assert _texts(history, "user") == ["when will my order ship?"]
    bot_text = _texts(history, "assistant")[0]
    assert bot_text.startswith("Orders ship within 2 working days.")
    assert "[Shipping times](https://help.example.com/shipping)" in bot_text


def test_client_sessions_isolated(en_app):
    alice, bob = _client(en_app.url), _client(en_app.url)
    _, alice_history = alice.predict("alice asks about shipping", [], api_name=CHAT_ENDPOINT)
    _, bob_history = bob.predict("bob has a question", [], api_name=CHAT_ENDPOINT)
    _, alice_history = alice.predict("alice again", alice_history, api_name=CHAT_ENDPOINT)

    alice_ids = {call_id for call_id, message in en_app.service.calls if message.startswith("alice")}
    bob_ids = {call_id for call_id, message in en_app.service.calls if message.startswith("bob")}
    assert len(alice_ids) == 1
    assert len(bob_ids) == 1
    assert alice_ids != bob_ids
    assert "bob has a question" not in _texts(alice_history, "user")
    assert _texts(bob_history, "user") == ["bob has a question"]


def test_client_service_error(en_app, caplog):
    client = _client(en_app.url)
    with caplog.at_level(logging.INFO, logger="ui"):
        _, history = client.predict("boom secret-order-4711", [], api_name=CHAT_ENDPOINT)
    assert _texts(history, "assistant") == [get_strings("en").error_message]

    conversation_id = next(call_id for call_id, message in en_app.service.calls if message.startswith("boom"))
    error_lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(conversation_id in line for line in error_lines)
    assert all("secret-order-4711" not in record.getMessage() for record in caplog.records if record.levelno >= logging.INFO)

    _, history = client.predict("and now about shipping", history, api_name=CHAT_ENDPOINT)
    assert _texts(history, "assistant")[-1].startswith("Orders ship within 2 working days.")
    assert en_app.service.messages_of(conversation_id) == ["boom secret-order-4711", "and now about shipping"]


@pytest.mark.parametrize("message", ["", "   \n "])
def test_client_empty_message(en_app, message):
    calls_before = len(en_app.service.calls)
    message_box, history = _client(en_app.url).predict(message, [], api_name=CHAT_ENDPOINT)
    assert history == []
    assert message_box == ""
    assert len(en_app.service.calls) == calls_before


def test_client_message_too_long(en_app):
    calls_before = len(en_app.service.calls)
    too_long = "x" * 2001
    message_box, history = _client(en_app.url).predict(too_long, [], api_name=CHAT_ENDPOINT)
    assert history == []
    assert message_box == too_long
    assert len(en_app.service.calls) == calls_before


def test_client_zh_round_trip(zh_app):
    message = "请问我的订单什么时候发货？"
    _, history = _client(zh_app.url).predict(message, [], api_name=CHAT_ENDPOINT)
    conversation_id = next(call_id for call_id, sent in zh_app.service.calls if sent == message)
    assert _texts(history, "user") == ["请问我的订单什么时候发货？"]
    assert _texts(history, "assistant")[0].startswith(zh_app.service.zh_shipping_answer(conversation_id))


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "", "None"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def test_launch_offline_first_reply_fast(monkeypatch, fake_service, free_port):
    """Launching and chatting connect to loopback addresses only, so no analytics or version check is sent."""
    contacted: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    # The hooks record every host and reject all but loopback, so a regression fails here without
    # sending anything off the machine.
    def recording_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            contacted.append(str(address[0]))
            if not _is_loopback(str(address[0])):
                raise OSError(f"test blocked a connection to {address[0]}")
        return real_connect(sock, address)

    def recording_getaddrinfo(host, *args, **kwargs):
        contacted.append(str(host))
        if not _is_loopback(str(host)):
            raise socket.gaierror(f"test blocked a lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)

    started = time.perf_counter()
    demo = launch(fake_service, port=free_port, block=False)
    try:
        launched = time.perf_counter()
        _, history = _client(demo.local_url).predict("does it ship today?", [], api_name=CHAT_ENDPOINT)
        answered = time.perf_counter()
    finally:
        demo.close()

    assert _texts(history, "assistant")
    assert contacted, "the socket hooks recorded nothing, so this test checks nothing"
    assert [host for host in contacted if not _is_loopback(host)] == []
    # The fake service returns at once, so these bound the UI's own start-up and first-turn cost.
    assert launched - started < 10
    assert answered - launched < 5
