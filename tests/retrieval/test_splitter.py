"""Splitter invariants: chunk size, no empty chunks, exact slices, coverage, sentence ends, overlap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retrieval.documents import CHINESE, Document, load_knowledge_base
from retrieval.embedder import Embedder
from retrieval.markdown import split_code_blocks
from retrieval.markdown import split_sections
from retrieval.splitter import Chunk, TokenCounter, split_documents
from training.errors import ConfigError

CHINESE_SENTENCE_ENDS = ("。", "！", "？", "；")


def _long_chinese() -> str:
    sentences = []
    for number in range(40):
        mark = CHINESE_SENTENCE_ENDS[number % 4]
        sentences.append(f"第{number}条说明退款会在七个工作日内退回原支付方式并通知顾客{mark}")
    return "".join(sentences)


def _long_english() -> str:
    return " ".join(f"Sentence number {number} explains how refunds reach the original card." for number in range(60))


def _adversarial_documents() -> list[Document]:
    texts = {
        "unbroken.md": "x" * 3000,
        "url.md": "See https://example.com/" + "a1b2c3d4" * 300 + " for details.",
        "chinese.md": _long_chinese(),
        "chinese-no-marks.md": "退款说明" * 400,
        "code.md": "Intro.\n\n```python\n" + "\n".join(f"value_{n} = compute({n}, {n + 1})" for n in range(200)) + "\n```",
        "english.md": "# Refunds\n\n" + _long_english(),
        "emoji.md": "🙂 " * 500,
    }
    return [Document(text=text, path=path, title=path, language="en") for path, text in texts.items()]


def _documents(sample_kb: Path) -> list[Document]:
    documents, _ = load_knowledge_base(sample_kb)
    return documents + _adversarial_documents()


def _heading_lines(text: str) -> list[tuple[int, int]]:
    spans = []
    offset = 0
    for block in split_code_blocks(text):
        for line in block.text.split("\n"):
            if not block.is_code and re.match(r"^#{1,6}( |$)", line):
                spans.append((offset, offset + len(line)))
            offset += len(line) + 1
    return spans


@pytest.mark.parametrize(("chunk_tokens", "overlap"), [(64, 16), (200, 30), (256, 0)])
def test_split_chunks_fit_window(embedder: Embedder, sample_kb: Path, chunk_tokens: int, overlap: int) -> None:
    counter = TokenCounter(embedder.tokenizer)
    chunks = split_documents(_documents(sample_kb), embedder.tokenizer, chunk_tokens, overlap)
    lengths = [counter.input_length(chunk.embedding_text) for chunk in chunks]
    assert chunks
    assert max(lengths) <= chunk_tokens


def test_split_no_empty_chunks(embedder: Embedder, sample_kb: Path) -> None:
    chunks = split_documents(_documents(sample_kb), embedder.tokenizer, 64, 16)
    assert all(chunk.text.strip() for chunk in chunks)
    assert all(chunk.text == chunk.text.strip() for chunk in chunks)


def test_split_chunk_is_document_slice(embedder: Embedder, sample_kb: Path) -> None:
    documents = {document.path: document for document in _documents(sample_kb)}
    chunks = split_documents(documents.values(), embedder.tokenizer, 64, 16)
    mismatched = [
        chunk.path
        for chunk in chunks
        if documents[chunk.path].text[chunk.start : chunk.start + len(chunk.text)] != chunk.text
    ]
    assert mismatched == []


def test_split_chunks_cover_text(embedder: Embedder, sample_kb: Path) -> None:
    documents = _documents(sample_kb)
    chunks = split_documents(documents, embedder.tokenizer, 64, 16)
    for document in documents:
        covered = [False] * len(document.text)
        for chunk in (chunk for chunk in chunks if chunk.path == document.path):
            covered[chunk.start : chunk.start + len(chunk.text)] = [True] * len(chunk.text)
        for start, end in _heading_lines(document.text):
            covered[start:end] = [True] * (end - start)
        missing = [index for index, char in enumerate(document.text) if not covered[index] and not char.isspace()]
        assert missing == [], f"{document.path}: characters {missing[:10]} are in no chunk"


def test_split_chinese_at_sentence_ends(embedder: Embedder) -> None:
    text = _long_chinese()
    document = Document(text=text, path="zh.md", title="退款", language=CHINESE)
    chunks = split_documents([document], embedder.tokenizer, 48, 8)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith(CHINESE_SENTENCE_ENDS), chunk.text
        assert chunk.start == 0 or text[chunk.start - 1] in CHINESE_SENTENCE_ENDS, chunk.text


def test_split_chinese_round_trip(embedder: Embedder, sample_kb: Path) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    chinese = next(document for document in documents if document.language == CHINESE)
    chunks = split_documents([chinese], embedder.tokenizer, 200, 30)
    assert "我们在收到退货后七个工作日内办理退款。" in chunks[0].text
    assert all(chunk.language == CHINESE for chunk in chunks)
    assert chunks[0].prefix == "退款政策"


def test_split_overlap_shares_text(embedder: Embedder) -> None:
    document = Document(text=_long_english(), path="en.md", title="Refunds")
    chunks = split_documents([document], embedder.tokenizer, 64, 20)
    pairs = list(zip(chunks, chunks[1:]))
    assert pairs
    assert all(following.start < previous.start + len(previous.text) for previous, following in pairs)


def test_split_zero_overlap_disjoint(embedder: Embedder) -> None:
    document = Document(text=_long_english(), path="en.md", title="Refunds")
    chunks = split_documents([document], embedder.tokenizer, 64, 0)
    pairs = list(zip(chunks, chunks[1:]))
    assert pairs
    assert all(following.start >= previous.start + len(previous.text) for previous, following in pairs)


def test_split_heading_path_and_prefix(embedder: Embedder, sample_kb: Path) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    chunks = split_documents(documents, embedder.tokenizer, 200, 30)
    international = next(chunk for chunk in chunks if "customs" in chunk.text)
    assert international.heading == "Shipping times > International delivery"
    assert international.prefix == "Shipping times > International delivery"
    assert international.embedding_text.startswith("Shipping times > International delivery\n\nInternational")


def test_split_code_comment_not_heading(embedder: Embedder, sample_kb: Path) -> None:
    documents, _ = load_knowledge_base(sample_kb)
    chunks = split_documents(documents, embedder.tokenizer, 200, 30)
    code_chunk = next(chunk for chunk in chunks if "# not a heading inside code" in chunk.text)
    assert code_chunk.heading == "How refunds are paid"


def test_split_long_title_prefix_capped(embedder: Embedder) -> None:
    title = "Very long title " * 100
    document = Document(text=_long_english(), path="en.md", title=title)
    counter = TokenCounter(embedder.tokenizer)
    chunks = split_documents([document], embedder.tokenizer, 64, 8)
    assert all(counter.count(chunk.prefix) <= 32 for chunk in chunks)
    assert all(counter.input_length(chunk.embedding_text) <= 64 for chunk in chunks)


def test_split_window_overflow_rejected(embedder: Embedder) -> None:
    document = Document(text="Text.", path="a.md", title="A")
    with pytest.raises(ConfigError) as caught:
        split_documents([document], embedder.tokenizer, 300, 30, max_seq_length=256)
    message = str(caught.value)
    assert "300" in message
    assert "256" in message


@pytest.mark.parametrize("overlap", [64, 100, -1])
def test_split_invalid_overlap_rejected(embedder: Embedder, overlap: int) -> None:
    document = Document(text="Text.", path="a.md", title="A")
    with pytest.raises(ConfigError):
        split_documents([document], embedder.tokenizer, 64, overlap)


class _SuperAdditiveTokenizer:
    """Character tokenizer that spends an extra token on every "xy", so joined pieces cost more than their parts."""

    def tokenize(self, text: str) -> list[str]:
        return list(text) + ["<xy>"] * text.count("xy")

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 2


def test_split_super_additive_tokenizer_fits() -> None:
    tokenizer = _SuperAdditiveTokenizer()
    counter = TokenCounter(tokenizer)
    document = Document(text="xy" * 400, path="xy.md", title="T")
    chunks = split_documents([document], tokenizer, 40, 5)
    assert max(counter.input_length(chunk.embedding_text) for chunk in chunks) <= 40
    assert "".join(chunk.text for chunk in chunks if True).count("x") >= 400


def test_sections_drop_empty_and_track_levels() -> None:
    text = "Intro.\n\n# A\n\n## B\n\nUnder B.\n\n## C\n\n### D\nUnder D.\n\n# E\n"
    sections = split_sections(text)
    assert [(section.heading, section.text) for section in sections] == [
        ("", "Intro."),
        ("A > B", "Under B."),
        ("A > C > D", "Under D."),
    ]
    assert all(text[section.start : section.start + len(section.text)] == section.text for section in sections)


def test_chunk_embedding_text_without_prefix() -> None:
    chunk = Chunk(text="Body.", path="a.md", title="", url="", language="en", heading="", start=0)
    assert chunk.embedding_text == "Body."
