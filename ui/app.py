"""Build and launch the Gradio chat page that customers use.

Each browser session keeps its own conversation id in `gr.State` and its own history in the
`gr.Chatbot` value, so visitors never see each other's messages. No per-session data is kept in
module globals.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import gradio as gr

from training.errors import ConfigError
from ui.chat_handler import ChatService, forget_conversation, make_message_handler, start_new_conversation
from ui.config import DEFAULT_HOST, DEFAULT_PORT, UIConfig
from ui.render import escape_markdown
from ui.strings import DEFAULT_LANGUAGE, get_strings

logger = logging.getLogger(__name__)

# Name of the chat endpoint in Gradio's API (gradio_client calls it as "/chat").
CHAT_API_NAME = "chat"

# Element ids that the browser tests and custom CSS select on.
CHAT_WINDOW_ID = "chat-window"
MESSAGE_BOX_ID = "chat-message"
SEND_BUTTON_ID = "chat-send"
CLEAR_BUTTON_ID = "chat-clear"

# The theme uses system font stacks, so the page requests no web fonts. Gradio 6 turns a plain
# string into a bundled-font lookup, so the names are wrapped in gr.themes.Font, which adds no
# @font-face rule.
_SANS_FONTS = (
    "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
    "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
    "WenQuanYi Micro Hei", "sans-serif",
)
_MONO_FONTS = ("SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace")

_PAGE_CSS = """
.handoff-notice { border-left: 3px solid var(--color-accent); padding-left: 0.6em; font-weight: 600; }
.reply-diagnostics { font-size: var(--text-sm); color: var(--body-text-color-subdued); }
"""


def build_app(
    service: ChatService,
    *,
    language: str = DEFAULT_LANGUAGE,
    title: str | None = None,
    show_diagnostics: bool = False,
    max_message_chars: int = UIConfig.max_message_chars,
    concurrency_limit: int = UIConfig.concurrency_limit,
) -> gr.Blocks:
    """Build the chat page for `service` without starting a server.

    Theme, CSS and page language are launch options in Gradio 6, so the code that launches or
    mounts the returned Blocks must pass `page_options(language)`, as `launch()` does. Raises
    ConfigError for an invalid setting.
    """
    config = UIConfig(
        language=language,
        title=title,
        show_diagnostics=show_diagnostics,
        max_message_chars=max_message_chars,
        concurrency_limit=concurrency_limit,
    )
    strings = get_strings(config.language)
    page_title = config.title or strings.title
    handle_message = make_message_handler(service, strings, config)

    with gr.Blocks(title=page_title, analytics_enabled=False, fill_height=True) as demo:
        gr.Markdown(f"# {escape_markdown(page_title)}\n\n{escape_markdown(strings.description)}")
        chat_window = gr.Chatbot(
            label=strings.chat_label,
            elem_id=CHAT_WINDOW_ID,
            scale=1,
            height=520,
            layout="bubble",
            sanitize_html=True,
            render_markdown=True,
            # Prices such as "$5 to $10" must not turn into formulas.
            latex_delimiters=[],
            feedback_options=None,
            buttons=["copy"],
        )
        message_box = gr.Textbox(
            label=strings.message_label,
            placeholder=strings.placeholder,
            show_label=False,
            container=False,
            lines=1,
            max_lines=6,
            max_length=config.max_message_chars,
            autofocus=True,
            elem_id=MESSAGE_BOX_ID,
        )
        with gr.Row():
            send_button = gr.Button(strings.send_button, variant="primary", elem_id=SEND_BUTTON_ID)
            clear_button = gr.Button(strings.clear_button, variant="secondary", elem_id=CLEAR_BUTTON_ID)
        # None until the session sends its first message, so idle page views create no conversation.
        conversation_id = gr.State(None)

        chat_event: dict[str, Any] = {
            "fn": handle_message,
            "inputs": [message_box, chat_window, conversation_id],
            "outputs": [message_box, chat_window, conversation_id],
            "concurrency_limit": config.concurrency_limit,
            # One shared id, so Enter and the Send button count against the same limit.
            "concurrency_id": "chat-service",
        }
        message_box.submit(api_name=CHAT_API_NAME, **chat_event)
        send_button.click(api_visibility="private", **chat_event)
        clear_button.click(
            start_new_conversation,
            inputs=None,
            outputs=[message_box, chat_window, conversation_id],
            queue=False,
            api_visibility="private",
        )
        # The chat window's own trash button empties the history in the browser. The conversation
        # id is dropped with it, because the service would otherwise keep the context of messages
        # that the page no longer shows.
        chat_window.clear(
            forget_conversation, inputs=None, outputs=[conversation_id], queue=False, api_visibility="private"
        )

    return demo


def page_options(language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Return the theme, CSS and script arguments for `Blocks.launch` or `gr.mount_gradio_app`.

    The theme uses system fonts only, so the page loads no fonts from the internet, and the
    script sets the page's `lang` attribute so that browsers choose CJK fonts for Chinese.
    """
    strings = get_strings(language)
    theme = gr.themes.Default(
        font=[gr.themes.Font(name) for name in _SANS_FONTS],
        font_mono=[gr.themes.Font(name) for name in _MONO_FONTS],
    )
    set_lang = f"() => {{ document.documentElement.lang = {json.dumps(strings.html_lang)}; }}"
    return {"theme": theme, "css": _PAGE_CSS, "js": set_lang}


def launch(
    service: ChatService,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    language: str = DEFAULT_LANGUAGE,
    title: str | None = None,
    block: bool = True,
    show_diagnostics: bool = False,
    max_message_chars: int = UIConfig.max_message_chars,
    concurrency_limit: int = UIConfig.concurrency_limit,
) -> gr.Blocks:
    """Start the chat UI web server and return the running Blocks.

    With `block=True` this call serves until Ctrl+C and then stops the server. With `block=False`
    it returns at once, and the caller stops the server with `.close()`. Share links, the run
    history kept in the browser, the monitoring page and the MCP server are all off. Raises
    ConfigError for an invalid setting or when the port cannot be bound.
    """
    config = UIConfig(
        host=host,
        port=port,
        language=language,
        title=title,
        show_diagnostics=show_diagnostics,
        max_message_chars=max_message_chars,
        concurrency_limit=concurrency_limit,
    )
    if not config.is_loopback:
        logger.warning(
            "The chat UI listens on %s, so other machines can reach it. It has no login, so put it behind "
            "a reverse proxy that terminates TLS, or use host 127.0.0.1.",
            config.host,
        )

    demo = build_app(
        service,
        language=config.language,
        title=config.title,
        show_diagnostics=config.show_diagnostics,
        max_message_chars=config.max_message_chars,
        concurrency_limit=config.concurrency_limit,
    )
    try:
        _start_server(demo, config)
    except OSError as err:
        raise ConfigError(
            f"The chat UI could not listen on {config.host}:{config.port}: {err}. Stop the program that "
            "uses this port, or set ui.port to a free port."
        ) from err
    logger.info("Chat UI running on %s (language %s)", demo.local_url, config.language)

    if block:
        _serve_until_interrupted(demo)
    return demo


def _start_server(demo: gr.Blocks, config: UIConfig) -> None:
    demo.launch(
        server_name=config.host,
        server_port=config.port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        show_error=False,
        footer_links=[],
        # The run history would store customer messages in the browser's local storage, where the
        # next user of a shared computer could read them.
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        ssr_mode=False,
        # The page has no file inputs, so uploads to Gradio's upload route are capped at 1 kB and
        # cannot fill the disk.
        max_file_size="1kb",
        **page_options(config.language),
    )


def _serve_until_interrupted(demo: gr.Blocks) -> None:
    try:
        while demo.is_running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        logger.info("Stopping the chat UI")
    finally:
        demo.close()
