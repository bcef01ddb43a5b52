"""Training with the real all-MiniLM-L6-v2 on a small English and Chinese data set."""

from __future__ import annotations

import pytest

from training.artifact import IntentModel
from training.config import TrainConfig
from training.data import OUT_OF_SCOPE, Example
from training.registry import ModelRegistry
from training.trainer import TrainResult, train_intent_model

pytestmark = pytest.mark.slow

MESSAGES = {
    "track_order": {
        "en": [
            "Where is my order?",
            "Can you track my package?",
            "My parcel hasn't arrived yet, where is it?",
            "I want to know the status of my delivery",
            "Has my order shipped?",
            "Tracking number for order 5512 please",
            "When will my package get here?",
            "The shipment seems stuck, can you check?",
        ],
        "zh-CN": ["我的订单到哪了", "帮我查一下物流", "快递怎么还没到", "订单发货了吗", "查询包裹物流信息", "我的包裹在哪里"],
    },
    "refund": {
        "en": [
            "I want my money back",
            "How do I get a refund?",
            "Please refund my purchase",
            "When will I receive my refund?",
            "I returned the item, where is the refund?",
            "Refund the charge on my card",
            "Can I get reimbursed for this order?",
            "The refund still hasn't shown up",
        ],
        "zh-CN": ["我要退款", "退款什么时候到账", "申请退款", "钱什么时候退给我", "退款还没收到", "怎么办理退款"],
    },
    "reset_password": {
        "en": [
            "I forgot my password",
            "How do I reset my password?",
            "The password reset link doesn't work",
            "I can't log in, need a new password",
            "Change my account password",
            "My password is not accepted anymore",
            "Send me a password reset email",
            "Locked out of my account, forgot password",
        ],
        "zh-CN": ["忘记密码了", "怎么重置密码", "密码错误登录不了", "修改登录密码", "重置密码的邮件没收到", "找回密码"],
    },
    "cancel_order": {
        "en": [
            "Cancel my order",
            "I want to cancel the purchase I just made",
            "Please cancel order 7781",
            "How can I cancel an order?",
            "I ordered by mistake, cancel it",
            "Stop my order before it ships",
            "I changed my mind, cancel the order",
            "Can the order still be cancelled?",
        ],
        "zh-CN": ["取消订单", "我想取消刚下的单", "订单不要了帮我取消", "怎么取消订单", "下错单了要取消", "还没发货能取消吗"],
    },
    OUT_OF_SCOPE: {
        "en": [
            "What's the weather like tomorrow?",
            "Tell me a joke",
            "Who won the game last night?",
            "What is the capital of Australia?",
            "Recommend a good movie",
            "How tall is Mount Everest?",
        ],
        "zh-CN": ["今天天气怎么样", "讲个笑话", "推荐一部电影"],
    },
}
REPLIES = {
    "track_order": {"en": "Your order {{Order Number}} is on its way.", "zh-CN": "您的订单 {{Order Number}} 正在配送中。"},
    "refund": {"en": "Your refund of {{Refund Amount}} is being processed.", "zh-CN": "退款 {{Refund Amount}} 正在处理。"},
    "reset_password": {"en": "We sent a reset link to {{Email}}.", "zh-CN": "重置链接已发送到 {{Email}}。"},
    "cancel_order": {"en": "Order {{Order Number}} is cancelled.", "zh-CN": "订单 {{Order Number}} 已取消。"},
}
PROBES = [
    ("where is my parcel right now", "track_order"),
    ("I'd like a refund for my order", "refund"),
    ("I can't remember my password", "reset_password"),
    ("please cancel the order I placed", "cancel_order"),
    ("我的快递到哪了", "track_order"),
    ("我想退款", "refund"),
    ("忘记登录密码", "reset_password"),
    ("帮我取消订单", "cancel_order"),
]


@pytest.fixture(scope="session")
def trained_minilm(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    examples = [
        Example(text=text, intent=intent, language=language, response=REPLIES.get(intent, {}).get(language, ""))
        for intent, by_language in MESSAGES.items()
        for language, texts in by_language.items()
        for text in texts
    ]
    config = TrainConfig(device="cpu", progress=False)
    return train_intent_model(examples, config, ModelRegistry(tmp_path_factory.mktemp("minilm-models")))


@pytest.fixture(scope="session")
def minilm_model(trained_minilm: TrainResult) -> IntentModel:
    return IntentModel.load(trained_minilm.path, device="cpu")


@pytest.mark.parametrize(("text", "intent"), PROBES)
def test_real_encoder_predicts_intent(minilm_model, text, intent):
    assert minilm_model.predict([text])[0].intent == intent


def test_real_encoder_templates_per_language(minilm_model):
    model = minilm_model
    languages = [template.language for template in model.templates["refund"]]
    assert languages == ["en", "zh-CN"]
    assert model.templates["refund"][0].slots == ("refund_amount",)


def test_real_encoder_learned_chinese_characters(trained_minilm):
    assert trained_minilm.metrics["training"]["new_characters"] > 20
