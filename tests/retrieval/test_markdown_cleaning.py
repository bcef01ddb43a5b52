"""Front matter parsing and MDX/HTML cleaning of articles."""

from __future__ import annotations

from retrieval.markdown import clean_markdown, split_code_blocks, split_front_matter


def test_front_matter_quoted_and_plain_values() -> None:
    text = '---\ntitle: "Billing \\"FAQ\\""\nslug: /docs/\nsidebar_label: \'It\'\'s billing\'\n---\nBody'
    values, body = split_front_matter(text)
    assert values["title"] == 'Billing "FAQ"'
    assert values["slug"] == "/docs/"
    assert values["sidebar_label"] == "It's billing"
    assert body == "Body"


def test_front_matter_block_scalar() -> None:
    text = "---\ndescription: >-\n  First line\n  second line\ntags:\n  - a\n---\nBody"
    values, _ = split_front_matter(text)
    assert values["description"] == "First line second line"
    assert values["tags"] == ""


def test_front_matter_without_closing_line() -> None:
    text = "---\ntitle: Not closed\nBody"
    values, body = split_front_matter(text)
    assert values == {}
    assert body == text


def test_clean_removes_mdx_imports() -> None:
    text = "import useBaseUrl from '@docusaurus/useBaseUrl';\nimport {A, B} from './x';\n\nKeep this import advice."
    assert clean_markdown(text) == "Keep this import advice."


def test_clean_removes_head_block() -> None:
    text = '<head>\n  <script type="application/ld+json">{`\n  {"@type": "FAQPage"}\n  `}</script>\n</head>\n\n## Title\n\nText.'
    assert clean_markdown(text) == "## Title\n\nText."


def test_clean_strips_jsx_keeps_inner_text() -> None:
    text = '<div class="docs-card">\n<h3>Billing</h3>\n<p>Manage your plan.</p>\n</div>\n<CtaBox title="Try" link={useBaseUrl("/x")} />'
    cleaned = clean_markdown(text)
    assert "<" not in cleaned
    assert "Billing" in cleaned
    assert "Manage your plan." in cleaned


def test_clean_keeps_code_fences_verbatim() -> None:
    code = '```html\n<script async src="/js/script.js"></script>\n# not a heading\n  indented\n```'
    assert clean_markdown(f"Add this:\n\n{code}\n\nDone.") == f"Add this:\n\n{code}\n\nDone."


def test_clean_keeps_inline_code_with_tags() -> None:
    text = "Put the snippet in the `<head>` section, not in <b>the body</b>."
    assert clean_markdown(text) == "Put the snippet in the `<head>` section, not in the body."


def test_clean_admonition_keeps_title() -> None:
    text = ":::tip Using WordPress?\nInstall the plugin.\n:::\n\n:::note\nPlain note.\n:::\n\n:::tip[Not what you need?]\n:::"
    assert clean_markdown(text) == "Using WordPress?\nInstall the plugin.\n\nPlain note.\n\nNot what you need?"


def test_clean_images_and_relative_links() -> None:
    text = "See [billing](billing.md) and [our site](https://example.com).\n\n![Screenshot](/img/a.png)"
    assert clean_markdown(text) == "See billing and [our site](https://example.com)."


def test_clean_removes_html_comments() -> None:
    assert clean_markdown("Before <!-- hidden\nnote --> after") == "Before  after"


def test_clean_keeps_autolinks_and_placeholders() -> None:
    text = "Visit <https://plausible.io> or replace <example.com>."
    assert clean_markdown(text) == text


def test_clean_keeps_chinese_text() -> None:
    text = "# 退款政策\n\n我们在收到退货后七个工作日内办理退款。<br/>请保留快递单号；客服会用它查询包裹。"
    assert clean_markdown(text) == "# 退款政策\n\n我们在收到退货后七个工作日内办理退款。 请保留快递单号；客服会用它查询包裹。"


def test_code_blocks_unclosed_fence_runs_to_end() -> None:
    blocks = split_code_blocks("Intro\n```\ncode <b>\nmore")
    assert [block.is_code for block in blocks] == [False, True]
    assert blocks[1].text == "```\ncode <b>\nmore"


def test_code_blocks_longer_closing_fence() -> None:
    blocks = split_code_blocks("````\n```\ninner\n```\n````\nafter")
    assert [block.is_code for block in blocks] == [True, False]
    assert blocks[1].text == "after"
