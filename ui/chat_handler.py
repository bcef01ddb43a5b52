"""The Gradio event functions that pass customer messages to the chat service."""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable, Protocol

import gradio as gr

from chatbot.reply import Reply
from ui.config import UIConfig
from ui.render import escape_markdown, render_reply
from ui.strings import UIStrings

logger = logging.getLogger(__name__)

ChatHistory = list[dict[str, Any]]


class ChatService(Protocol):
    """The chat service contract that the UI relies on (implemented by `chatbot.service`)."""

    def new_conversation_id(self) -> str: ...

    def reply(self, conversation_id: str, message: str) -> Reply: ...


def make_message_handler(
    service: ChatService, strings: UIStrings, config: UIConfig
) -> Callable[[str | None, ChatHistory | None, str | None], tuple[str, ChatHistory, str | None]]:
    """Return the Gradio event function that sends one customer message to the service.

    The function takes and returns (message box text, chat history, conversation id). It creates
    the conversation id on the session's first message.
    """

    def handle_message(
        message: str | None, history: ChatHistory | None, conversation_id: str | None
    ) -> tuple[str, ChatHistory, str | None]:
        history = list(history or [])
        message = message or ""
        if not message.strip():
            gr.Warning(strings.empty_message, title=strings.notice_title)
            return "", history, conversation_id
        if len(message) > config.max_message_chars:
            gr.Warning(
                strings.message_too_long.format(max_chars=config.max_message_chars), title=strings.notice_title
            )
            return message, history, conversation_id

        history.append({"role": "user", "content": escape_markdown(message)})
        started = time.perf_counter()
        # Every exception is caught, because the UI is the last layer before the customer. The
        # customer gets the localized error message, and the session stays usable.
        try:
            if not conversation_id:
                conversation_id = service.new_conversation_id()
            reply = service.reply(conversation_id, message)
            content = render_reply(reply, strings, show_diagnostics=config.show_diagnostics)
        except Exception as err:  # noqa: BLE001
            log_service_error(err, conversation_id)
            history.append({"role": "assistant", "content": escape_markdown(strings.error_message)})
            return "", history, conversation_id

        logger.debug(
            "Conversation %s: %s reply shown after %.0f ms",
            conversation_id,
            reply.kind,
            (time.perf_counter() - started) * 1000,
        )
        history.append({"role": "assistant", "content": content})
        return "", history, conversation_id

    return handle_message


def start_new_conversation() -> tuple[str, ChatHistory, None]:
    """Empty the message box and the history, and drop the conversation id.

    The session's next message then gets a new conversation id from the service.
    """
    return "", [], None


def forget_conversation() -> None:
    """Drop the conversation id after the chat window's own clear button emptied the history."""
    return None


def log_service_error(err: Exception, conversation_id: str | None) -> None:
    """Log a failed turn without the customer's text.

    The ERROR line names the exception type and the line that raised it, because exception
    messages may quote the customer message. The full traceback goes to DEBUG.
    """
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else "unknown location"
    logger.error(
        "Chat service failed on conversation %s with %s at %s. The customer was shown the error message.",
        conversation_id or "(none)",
        type(err).__name__,
        where,
    )
    logger.debug("Traceback of the failed turn on conversation %s", conversation_id, exc_info=err)
