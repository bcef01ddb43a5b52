import html
import re

import pytest

from chatbot.reply import FALLBACK, HANDOFF, RETRIEVAL, Reply, Source
from ui.render import delimit_urls, describe_reply, escape_markdown, render_reply, render_source
from ui.strings import get_strings

EN = get_strings("en")

TRICKY_TEXTS = [
    "order #123 costs $5 to $10, not *cheap*",
    "<b>bold?</b> <script>alert(1)</script>",
    "snake_case_name and [link](http://example.com) and `code` and ![img](x.png)",
    "价格是多少？*注意* 【订单】 100% 退款 <b>吗</b>",
    "back\\slash & ampersand &amp; | pipe ~~struck~~",
    "# heading",
    "> quoted",
    "- item",
    "+ item",
    "1. first",
    "2) second",
    "---",
    "***",
    "a | b\n--|--\nc | d",
    "Title\n===",
]


def _render_markdown(text: str) -> str:
    """Render with markdown-it's default preset (CommonMark plus tables and strikethrough) as plain text."""
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("default").render(text)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_escape_markdown_renders_literally(text):
    rendered_lines = _render_markdown(escape_markdown(text)).split("\n")
    assert rendered_lines == text.split("\n")


def test_escape_markdown_drops_indent():
    assert escape_markdown("    code?\n\tmore") == "code?\nmore"


def test_escape_markdown_keeps_plain_text():
    assert escape_markdown("Where is my order? It's late, again.") == "Where is my order? It's late, again."


def test_escape_markdown_keeps_cjk():
    assert escape_markdown("您好，请问多久发货") == "您好，请问多久发货"


def test_render_source_links_url():
    source = Source(title="Shipping times", path="kb/shipping.md", url="https://help.example.com/shipping")
    assert render_source(source) == "[Shipping times](https://help.example.com/shipping)"


def test_render_source_encodes_url():
    source = Source(title="Returns", url="https://help.example.com/returns (EU)")
    assert render_source(source) == "[Returns](https://help.example.com/returns%20%28EU%29)"


def test_render_source_path_without_url():
    source = Source(title="Returns", path="kb/returns.md")
    assert render_source(source) == "Returns (kb/returns.md)"


def test_render_source_rejects_script_url():
    source = Source(title="Click", url="javascript:alert(1)")
    assert "javascript" not in render_source(source)


def test_render_source_title_escaped():
    source = Source(title="Fees [EU]", url="https://help.example.com/fees")
    assert render_source(source).startswith("[Fees \\[EU\\]](")


def test_render_source_score_shown():
    source = Source(title="Fees", url="https://help.example.com/fees", score=0.734)
    assert render_source(source, show_score=True).endswith("· 0.73")


def test_render_reply_retrieval_sources():
    reply = Reply(kind=RETRIEVAL, text="Orders ship in 2 days.", sources=(Source("Shipping", url="https://x.test/s"),))
    rendered = render_reply(reply, EN)
    assert rendered.startswith("Orders ship in 2 days.")
    assert "**Sources**" in rendered
    assert "- [Shipping](https://x.test/s)" in rendered


def test_render_reply_no_sources_section():
    rendered = render_reply(Reply(kind=FALLBACK, text="Could you rephrase?"), EN)
    assert rendered == "Could you rephrase?"


def test_render_reply_handoff_notice():
    rendered = render_reply(Reply(kind=HANDOFF, text="One moment."), EN)
    assert f'<p class="handoff-notice">{EN.handoff_notice}</p>' in rendered


def test_render_reply_no_notice_otherwise():
    rendered = render_reply(Reply(kind=RETRIEVAL, text="One moment."), EN)
    assert "handoff-notice" not in rendered


def test_render_reply_diagnostics_off():
    rendered = render_reply(Reply(kind=RETRIEVAL, text="Hi", confidence=0.5), EN)
    assert "reply-diagnostics" not in rendered


def test_render_reply_diagnostics_escaped():
    reply = Reply(kind=RETRIEVAL, text="Hi", intent="shipping", confidence=0.5, reason="score <0.9>")
    rendered = render_reply(reply, EN, show_diagnostics=True)
    assert '<p class="reply-diagnostics">retrieval · intent shipping · confidence 0.50 · score &lt;0.9&gt;</p>' in rendered


def test_describe_reply_without_intent():
    assert describe_reply(Reply(kind=FALLBACK, text="?")) == "fallback · confidence 0.00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("可以在https://shop.example/track查看物流。", "可以在<https://shop.example/track>查看物流。"),
        ("Follow it at https://shop.example/track; it updates daily.", "Follow it at <https://shop.example/track>; it updates daily."),
        ("See https://shop.example/returns.", "See <https://shop.example/returns>."),
        ("See [returns](https://shop.example/returns) or <https://shop.example/a>.", "See [returns](https://shop.example/returns) or <https://shop.example/a>."),
        ("No link here.", "No link here."),
    ],
)
def test_delimit_urls(text, expected):
    assert delimit_urls(text) == expected
