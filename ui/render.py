"""Turn chat service replies into the Markdown that the chat window shows."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

from chatbot.reply import HANDOFF, Reply, Source
from ui.strings import UIStrings

# Customer text is shown in a chat window that renders Markdown, so the characters that start
# Markdown or HTML get a backslash, which CommonMark allows before any ASCII punctuation. Other
# characters stay as typed, so the history that Gradio's API returns stays readable. `$` is left
# alone because the chat window has LaTeX turned off.
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>&~|])")
# These only start a block (heading, list, quote, setext underline) at the beginning of a line.
_BLOCK_MARKUP = re.compile(r"^([#+=-])", re.MULTILINE)
_ORDERED_LIST_MARKER = re.compile(r"^(\d+)([.)])", re.MULTILINE)
# Leading spaces would turn a line into a code block, and a Markdown paragraph drops them anyway.
_LEADING_WHITESPACE = re.compile(r"^[ \t]+", re.MULTILINE)

# Characters kept as they are in a link target; the rest (spaces, brackets, quotes) are
# percent-encoded, so a URL cannot end the Markdown link early.
_URL_SAFE_CHARACTERS = ":/?#@!$&*+,;=%~-._"
_LINKABLE_SCHEMES = ("http", "https")

# A bare http(s) URL in reply text, made of the ASCII characters URLs allow. The chat window's autolinker
# would otherwise run a link on into the Chinese text that follows it with no space ("…/track查看物流").
# URLs already inside a Markdown link "](…)" or "<…>" are skipped.
_BARE_URL = re.compile(r"(?<![<(A-Za-z0-9_/])https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+")
# Punctuation that ends a sentence rather than the URL it follows.
_URL_TRAILING_PUNCTUATION = ".,;:!?'"


def escape_markdown(text: str) -> str:
    """Escape `text` so that the chat window shows it as typed, HTML tags and Markdown signs included.

    Leading spaces and tabs of each line are removed, because the rendered page would not show them.
    """
    text = _LEADING_WHITESPACE.sub("", text)
    text = _INLINE_MARKUP.sub(r"\\\1", text)
    text = _BLOCK_MARKUP.sub(r"\\\1", text)
    return _ORDERED_LIST_MARKER.sub(r"\1\\\2", text)


def render_reply(reply: Reply, strings: UIStrings, *, show_diagnostics: bool = False) -> str:
    """Render a bot reply as Markdown: its text, a handoff notice, its sources and diagnostics.

    The reply text is Markdown written by the project (templates, help articles), so it is shown
    as Markdown. Source titles are Markdown-escaped. The handoff notice and the diagnostics are
    HTML paragraphs, so the page CSS can style them, and Markdown is not parsed inside an HTML
    block, so they are HTML-escaped instead.
    """
    parts = [delimit_urls(reply.text)]

    if reply.kind == HANDOFF:
        parts.append(f'<p class="handoff-notice">{html.escape(strings.handoff_notice)}</p>')

    if reply.sources:
        lines = [f"**{escape_markdown(strings.sources_label)}**"]
        lines.extend(f"- {render_source(source, show_score=show_diagnostics)}" for source in reply.sources)
        parts.append("\n".join(lines))

    if show_diagnostics:
        parts.append(f'<p class="reply-diagnostics">{html.escape(describe_reply(reply))}</p>')

    return "\n\n".join(part for part in parts if part)


def delimit_urls(text: str) -> str:
    """Wrap each bare http(s) URL in `text` in angle brackets, so its link ends where the URL ends."""

    def wrap(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAILING_PUNCTUATION)
        return f"<{stripped}>{url[len(stripped):]}"

    return _BARE_URL.sub(wrap, text)


def render_source(source: Source, *, show_score: bool = False) -> str:
    """Render one source as a Markdown link to its URL, or as its title and path when it has no web URL."""
    title = escape_markdown(source.title or source.path or source.url or "?")
    target = _link_target(source.url)
    if target:
        text = f"[{title}]({target})"
    elif source.path and source.path != source.title:
        text = f"{title} ({escape_markdown(source.path)})"
    else:
        text = title
    if show_score:
        text += f" · {source.score:.2f}"
    return text


def describe_reply(reply: Reply) -> str:
    """Return the one-line operator summary of a reply: kind, intent, confidence and reason."""
    fields = [reply.kind]
    if reply.intent:
        fields.append(f"intent {reply.intent}")
    fields.append(f"confidence {reply.confidence:.2f}")
    if reply.reason:
        fields.append(reply.reason)
    return " · ".join(fields)


def _link_target(url: str) -> str:
    """Return `url` percent-encoded for a Markdown link, or '' unless it is an http(s) URL."""
    url = url.strip()
    if not url or urlsplit(url).scheme.lower() not in _LINKABLE_SCHEMES:
        return ""
    return quote(url, safe=_URL_SAFE_CHARACTERS)
