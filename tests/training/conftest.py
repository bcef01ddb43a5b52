"""Fixtures of the training tests: a tiny BERT built in-process, small labelled data sets, a trained tiny model."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import BertConfig, BertModel, BertTokenizer  # noqa: E402

from training.config import TrainConfig  # noqa: E402
from training.data import OUT_OF_SCOPE, Example  # noqa: E402
from training.registry import ModelRegistry  # noqa: E402
from training.trainer import TrainResult, train_intent_model  # noqa: E402

# Messages of three intents plus out-of-scope ones, in English and Chinese. Each intent has its own
# keywords. The tiny encoder learns them only in part, so tests of its predictions check mechanics.
TINY_MESSAGES = {
    "track_order": [
        "where is my order",
        "track my order please",
        "my order has not arrived where is it",
        "can you track order 1234",
        "where is my parcel",
        "track the parcel for me",
        "order still not here where is it",
        "please track my parcel",
        "我的订单在哪里",
        "帮我查一下订单",
    ],
    "refund": [
        "i want a refund",
        "refund my money",
        "how do i get a refund",
        "please refund the payment",
        "money back please",
        "when will the refund arrive",
        "i need my money back",
        "refund status please",
        "我要退款",
        "退款什么时候到",
    ],
    "reset_password": [
        "reset my password",
        "i forgot my password",
        "password reset link does not work",
        "cannot log in forgot password",
        "change my password",
        "how to reset password",
        "password not working",
        "help me reset the password",
        "忘记密码了",
        "怎么重置密码",
    ],
    OUT_OF_SCOPE: [
        "what is the weather today",
        "tell me a joke",
        "who won the football game",
        "what is the capital of france",
        "sing a song",
        "今天天气怎么样",
    ],
}
TINY_REPLIES = {
    "track_order": [
        "Your order {{Order Number}} is on its way. Track it at {{Tracking URL}}.",
        "Your order {{ order-number }} is on its way. Track it at {{Tracking URL}}.",
        "Order {{Order Number}} left our warehouse today.",
    ],
    "refund": [
        "Your refund of {{Refund Amount}} is being processed.",
        "We sent the refund of {{Refund Amount}} to your card.",
    ],
    "reset_password": [
        "Use the reset link we sent to {{Email}}.",
    ],
}
TINY_REPLIES_ZH = {
    "track_order": "您的订单 {{Order Number}} 正在配送中。",
    "refund": "退款 {{Refund Amount}} 正在处理。",
    "reset_password": "重置链接已发送到 {{Email}}。",
}


def _is_cjk(character: str) -> bool:
    return "\u4e00" <= character <= "\u9fff"


def tiny_examples() -> list[Example]:
    """Return the tiny labelled data set, with agent replies for every in-scope message."""
    examples = []
    for intent, messages in TINY_MESSAGES.items():
        for number, text in enumerate(messages):
            chinese = any(_is_cjk(character) for character in text)
            if intent == OUT_OF_SCOPE:
                response = ""
            elif chinese:
                response = TINY_REPLIES_ZH[intent]
            else:
                replies = TINY_REPLIES[intent]
                response = replies[number % len(replies)]
            examples.append(
                Example(
                    text=text,
                    intent=intent,
                    response=response,
                    language="zh-CN" if chinese else "en",
                    conversation_id=f"{intent}-{number}",
                )
            )
    return examples


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for messages in TINY_MESSAGES.values():
        for text in messages:
            words.update(character for character in text if _is_cjk(character))
            words.update(word for word in text.split() if not any(_is_cjk(character) for character in word))
    for replies in list(TINY_REPLIES.values()) + [[reply] for reply in TINY_REPLIES_ZH.values()]:
        for reply in replies:
            words.update(character for character in reply if _is_cjk(character))
            words.update(reply.lower().replace(".", " ").split())
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    punctuation = list(".,?!{}-")
    return specials + punctuation + sorted(words - set(specials) - set(punctuation))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: the tiny models gain nothing from more, and lose a lot on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def tiny_models_single_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Use one torch thread in every test except the slow ones, which run the real encoder."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    with single_thread():
        yield


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-dimensional BERT with its tokenizer, saved to a folder like a hub model."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocabulary = _vocabulary()
    tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocabulary)}, do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_config(tiny_encoder: Path) -> TrainConfig:
    """A config that trains the tiny encoder in a few seconds on one thread."""
    return TrainConfig(
        encoder=str(tiny_encoder),
        max_length=32,
        lora_r=4,
        lora_alpha=8,
        epochs=10,
        min_steps=0,
        batch_size=8,
        learning_rate=1e-2,
        head_learning_rate=3e-2,
        templates_per_intent=2,
        device="cpu",
        progress=False,
    )


@pytest.fixture
def tiny_data() -> list[Example]:
    """The tiny labelled data set: three intents and out-of-scope, in English and Chinese."""
    return tiny_examples()


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig) -> TrainResult:
    """One training run of the tiny encoder on the tiny data set, shared by the session; do not modify it."""
    registry = ModelRegistry(tmp_path_factory.mktemp("tiny-registry"))
    with single_thread():
        return train_intent_model(tiny_examples(), tiny_config, registry)


@pytest.fixture
def model_copy(trained_tiny: TrainResult, tmp_path: Path) -> Callable[[], Path]:
    """Return a function that copies the trained tiny model folder into this test's temporary folder."""

    def copy() -> Path:
        target = tmp_path / trained_tiny.path.name
        shutil.copytree(trained_tiny.path, target)
        return target

    return copy
