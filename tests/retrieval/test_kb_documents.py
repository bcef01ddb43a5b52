"""Loading knowledge-base folders: paths, titles, languages and every way a load can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from retrieval.documents import CHINESE, ENGLISH, detect_language, load_knowledge_base
from training.errors import ConfigError, DataError, DataFileNotFoundError


def test_load_paths_titles_languages(sample_kb: Path) -> None:
    documents, rejects = load_knowledge_base(sample_kb)
    by_path = {document.path: document for document in documents}
    assert rejects == []
    assert sorted(by_path) == ["en/password.txt", "en/returns.mdx", "en/shipping.md", "zh-CN/退款政策.md"]
    assert by_path["en/shipping.md"].title == "Shipping times"
    assert by_path["en/shipping.md"].url == "https://help.example.com/shipping"
    assert by_path["en/returns.mdx"].title == "Returns and refunds"
    assert by_path["en/password.txt"].title == "password"
    assert by_path["zh-CN/退款政策.md"].language == CHINESE
    assert by_path["en/shipping.md"].language == ENGLISH


def test_load_strips_mdx_from_text(sample_kb: Path) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    returns = next(document for document in documents if document.path == "en/returns.mdx")
    assert "import CtaBox" not in returns.text
    assert "<div" not in returns.text
    assert "Keep your receipt" in returns.text
    assert "# not a heading inside code" in returns.text


def test_load_chinese_text_unchanged(sample_kb: Path, sample_kb_files: dict) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    chinese = next(document for document in documents if document.language == CHINESE)
    body = sample_kb_files["zh-CN/退款政策.md"].split("---\n", 2)[2].strip()
    assert chinese.text == body
    assert chinese.title == "退款政策"


def test_load_relative_to_parent(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path / "kb", {"docs/billing.md": "# Billing\n\nText."})
    documents, _ = load_knowledge_base(tmp_path / "kb" / "docs", relative_to=tmp_path / "kb")
    assert documents[0].path == "docs/billing.md"


def test_load_relative_to_outside_folder(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"kb/a.md": "Text.", "other/b.md": "Text."})
    with pytest.raises(ConfigError):
        load_knowledge_base(tmp_path / "kb", relative_to=tmp_path / "other")


def test_load_manifest_overrides_front_matter(tmp_path: Path, write_files: Callable) -> None:
    write_files(
        tmp_path,
        {
            "manifest.csv": "path,title,description,url\ndocs/a.md,Manifest title,,https://example.com/a\n",
            "docs/a.md": "---\ntitle: Front matter title\n---\nText.",
            "docs/b.md": "---\ntitle: Only front matter\n---\nText.",
        },
    )
    documents, _ = load_knowledge_base(tmp_path / "docs", relative_to=tmp_path)
    by_path = {document.path: document for document in documents}
    assert by_path["docs/a.md"].title == "Manifest title"
    assert by_path["docs/a.md"].url == "https://example.com/a"
    assert by_path["docs/b.md"].title == "Only front matter"


def test_load_manifest_without_path_column(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"manifest.csv": "file,title\na.md,A\n", "a.md": "Text."})
    with pytest.raises(DataError) as caught:
        load_knowledge_base(tmp_path)
    assert "manifest.csv" in str(caught.value)
    assert "'path'" in str(caught.value)


def test_load_manifest_duplicate_path(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"manifest.csv": "path,title,url\na.md,A,\na.md,B,\n", "a.md": "Text."})
    with pytest.raises(DataError) as caught:
        load_knowledge_base(tmp_path)
    assert "row 3" in str(caught.value)


def test_load_title_from_first_heading(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"guide.md": "Intro line.\n\n# Setting up the widget\n\nSteps."})
    documents, _ = load_knowledge_base(tmp_path)
    assert documents[0].title == "Setting up the widget"


def test_load_base_url_uses_slug_or_path(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"a/intro.md": "---\nslug: /start\n---\nText.", "a/faq.md": "Text."})
    documents, _ = load_knowledge_base(tmp_path, base_url="https://help.example.com/")
    by_path = {document.path: document for document in documents}
    assert by_path["a/intro.md"].url == "https://help.example.com/start"
    assert by_path["a/faq.md"].url == "https://help.example.com/a/faq"


def test_load_front_matter_language_wins(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"a.md": "---\nlang: zh-TW\n---\nEnglish words only."})
    documents, _ = load_knowledge_base(tmp_path)
    assert documents[0].language == "zh-TW"


def test_load_missing_folder_names_folder_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kb"
    with pytest.raises(DataFileNotFoundError) as caught:
        load_knowledge_base(missing)
    message = str(caught.value)
    assert str(missing) in message
    assert "--kb" in message
    assert "kb_dir" in message


def test_load_file_instead_of_folder(tmp_path: Path, write_files: Callable) -> None:
    file_path = write_files(tmp_path, {"a.md": "Text."}) / "a.md"
    with pytest.raises(DataError) as caught:
        load_knowledge_base(file_path)
    assert "is a file" in str(caught.value)


def test_load_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_knowledge_base(tmp_path)
    assert "no readable articles" in str(caught.value)


def test_load_only_rejected_files(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"empty.md": "", "blank.md": "   \n\n"})
    with pytest.raises(DataError) as caught:
        load_knowledge_base(tmp_path)
    assert "2 rejected" in str(caught.value)


def test_load_undecodable_file_rejected(tmp_path: Path, write_files: Callable, sample_kb_files: dict) -> None:
    files = dict(sample_kb_files)
    files["en/latin1.md"] = "Caf\u00e9 menu, cr\u00e8me br\u00fbl\u00e9e".encode("latin-1")
    write_files(tmp_path, files)
    documents, rejects = load_knowledge_base(tmp_path)
    assert len(documents) == 4
    assert [reject.path for reject in rejects] == ["en/latin1.md"]
    assert "not valid UTF-8" in rejects[0].reason


def test_load_gbk_file_rejected_with_hint(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"ok.md": "Text.", "gbk.md": ("我们在收到退货后七个工作日内办理退款。" * 5).encode("gbk")})
    _, rejects = load_knowledge_base(tmp_path)
    assert rejects[0].path == "gbk.md"
    assert "iconv" in rejects[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (b"---\ntitle: Only metadata\n---\nimport X from 'y';\n<div></div>\n", "no text left"),
    ],
)
def test_load_unusable_file_rejected(tmp_path: Path, write_files: Callable, content: bytes, reason: str) -> None:
    write_files(tmp_path, {"ok.md": "Text.", "bad.md": content})
    documents, rejects = load_knowledge_base(tmp_path)
    assert [document.path for document in documents] == ["ok.md"]
    assert rejects[0].path == "bad.md"
    assert reason in rejects[0].reason


def test_load_bom_and_crlf(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"a.md": "\ufeff---\r\ntitle: BOM\r\n---\r\nLine one.\r\nLine two.\r\n".encode("utf-8")})
    documents, _ = load_knowledge_base(tmp_path)
    assert documents[0].title == "BOM"
    assert documents[0].text == "Line one.\nLine two."


def test_load_utf16_with_bom(tmp_path: Path, write_files: Callable) -> None:
    write_files(tmp_path, {"a.txt": "退款政策说明。".encode("utf-16")})
    documents, _ = load_knowledge_base(tmp_path)
    assert documents[0].text == "退款政策说明。"


def test_load_skips_hidden_and_other_files(tmp_path: Path, write_files: Callable) -> None:
    write_files(
        tmp_path,
        {"a.md": "Text.", ".draft.md": "Hidden.", ".git/notes.md": "Hidden.", "logo.png": b"\x89PNG", "data.json": "{}"},
    )
    documents, rejects = load_knowledge_base(tmp_path)
    assert [document.path for document in documents] == ["a.md"]
    assert rejects == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("退款会退回到您的原支付方式。请在 Settings 页面点击 Refund 按钮。", CHINESE),
        ("Refunds go back to the original card. 中文 is supported too.", ENGLISH),
        ("```python\nprint('hello world, this is a long code sample')\n```\n\n请联系客服。", CHINESE),
        ("1234 5678", ENGLISH),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language
