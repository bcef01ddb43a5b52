"""Fixtures of the retrieval tests: one real MiniLM embedder per session, small knowledge bases, a tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from retrieval.config import RetrievalConfig
from retrieval.documents import load_knowledge_base
from retrieval.embedder import Embedder
from retrieval.index import KnowledgeIndex, QAPair

SHIPPING_MD = """---
title: Shipping times
url: https://help.example.com/shipping
description: "How long delivery takes."
---

# Shipping times

Standard orders ship within two business days. Delivery inside the country takes three to five days.

## International delivery

International parcels take seven to fourteen days and may be held by customs.
"""

RETURNS_MD = """---
title: 'Returns and refunds'
---

import CtaBox from '@site/src/components/CtaBox';

You can return unworn items within 30 days of delivery.

<div class="browser"><img alt="Return form" src={useBaseUrl('img/return.png')} /></div>

## How refunds are paid

:::tip Keep your receipt
:::

Refunds go back to the original payment method within seven days after the warehouse receives the parcel.

```html
<form action="/returns">
# not a heading inside code
</form>
```
"""

PASSWORD_TXT = "Reset your password from the login page: click 'Forgot password' and follow the link in the email.\n"

REFUND_ZH_MD = """---
title: 退款政策
---

# 退款政策

我们在收到退货后七个工作日内办理退款。退款会退回到您的原支付方式！如果您使用信用卡付款，银行可能还需要三到五天入账？请保留快递单号；客服会用它查询包裹。

## 运费

质量问题导致的退货由我们承担运费。其他原因的退货运费由顾客承担。
"""

PAST_ANSWERS = [
    QAPair(
        "Can I change the delivery address after ordering?",
        "Yes, as long as the order has not shipped. Reply with the new address and we will update it.",
        "conversation en-0001",
    ),
    QAPair("我可以开发票吗？", "可以，请在订单页面点击“申请发票”。", "conversation zh-0002"),
]


def _write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _sample_kb_files() -> dict[str, str | bytes]:
    return {
        "en/shipping.md": SHIPPING_MD,
        "en/returns.mdx": RETURNS_MD,
        "en/password.txt": PASSWORD_TXT,
        "zh-CN/退款政策.md": REFUND_ZH_MD,
    }


@pytest.fixture(scope="session")
def write_files() -> Callable[[Path, dict[str, str | bytes]], Path]:
    """Function that writes {relative path: text or bytes} under a folder and returns the folder."""
    return _write_files


@pytest.fixture(scope="session")
def sample_kb_files() -> dict[str, str | bytes]:
    """The small English and Chinese knowledge base that the mechanics tests index, by relative path."""
    return _sample_kb_files()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 from the bundled package, on the CPU, loaded once per session."""
    return Embedder(device="cpu")


@pytest.fixture(scope="session")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with the sample knowledge base."""
    return _write_files(tmp_path_factory.mktemp("kb"), _sample_kb_files())


@pytest.fixture(scope="session")
def past_answers() -> list[QAPair]:
    """An English and a Chinese past answer."""
    return list(PAST_ANSWERS)


@pytest.fixture(scope="session")
def sample_index(embedder: Embedder, sample_kb: Path) -> KnowledgeIndex:
    """Flat index of the sample knowledge base and two past answers, built with the real MiniLM."""
    documents, rejects = load_knowledge_base(sample_kb)
    return KnowledgeIndex.build(documents, PAST_ANSWERS, embedder, RetrievalConfig(), rejects)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer BERT sentence-transformers model (dimension 32), built in-process."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from training.encoder import resolve_encoder

    root = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder("all-MiniLM-L6-v2"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    BertModel(config).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    model = SentenceTransformer(str(root / "hf"), device="cpu", local_files_only=True)
    model.max_seq_length = 256
    model.save(str(root / "st"))
    return root / "st"


@pytest.fixture(scope="session")
def plausible_kb(shared_data: Path) -> Path:
    """The Plausible Analytics help-centre data set (132 Docusaurus articles), or a skip when it is absent."""
    folder = shared_data / "kb_plausible_docs"
    if not (folder / "docs").is_dir():
        pytest.skip(f"Plausible knowledge base not found at {folder}")
    return folder
