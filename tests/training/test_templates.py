"""Tests for placeholder normalisation, slot extraction and template mining."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import OUT_OF_SCOPE, Example
from training.templates import (
    Template,
    mine_templates,
    normalize_placeholders,
    template_slots,
    templates_from_json,
    templates_to_json,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your order {{Order Number}} ships soon.", "Your order {{order_number}} ships soon."),
        ("Your order {{ order-number }} ships soon.", "Your order {{order_number}} ships soon."),
        ("{{OrderNumber}}", "{{order_number}}"),
        ("{{Purchase ID Anonymized}}", "{{purchase_id_anonymized}}"),
        ("{{number of days}}", "{{number_of_days}}"),
        ("{{order_number}}", "{{order_number}}"),
        ("{{Customer  Support__Phone}}", "{{customer_support_phone}}"),
        ("{{订单号}}", "{{订单号}}"),
        ("{{ }}", "{{ }}"),
        ("{single} braces stay", "{single} braces stay"),
        ("no placeholders", "no placeholders"),
    ],
)
def test_normalize_placeholders(text, expected):
    assert normalize_placeholders(text) == expected


def test_normalize_is_idempotent():
    once = normalize_placeholders("Call {{Customer Support Phone Number}} or {{Live Chat}}.")
    assert normalize_placeholders(once) == once


def test_slots_in_order_of_appearance():
    text = "Order {{Order Number}} ships to {{Delivery City}}; track {{order-number}} at {{Website Name}}."
    assert template_slots(text) == ("order_number", "delivery_city", "website_name")


def test_slots_empty_without_placeholders():
    assert template_slots("Thanks for waiting.") == ()


def keyword_embed(texts: list[str]) -> np.ndarray:
    """Embed texts as counts of a few keywords, so similarities are predictable."""
    keywords = ["refund", "card", "days", "sorry", "bank", "shipping", "退款", "银行"]
    return np.array([[text.lower().count(word) for word in keywords] + [0.01] for text in texts], dtype=float)


def example(intent: str, response: str, language: str = "en", text: str = "a message") -> Example:
    return Example(text=text, intent=intent, response=response, language=language)


def test_mining_picks_medoid_first():
    replies = [
        "We sent the refund to your card.",
        "The refund takes 5 days.",
        "Refund sent to your card, it takes days.",
        "Sorry, shipping is slow.",
    ]
    templates = mine_templates([example("refund", reply) for reply in replies], keyword_embed, per_intent=1)
    assert [template.text for template in templates["refund"]] == ["Refund sent to your card, it takes days."]


def test_mining_skips_near_duplicates():
    replies = [
        "We sent the refund to your card.",
        "We sent the refund to your card!",
        "Sorry, the bank needs days.",
    ]
    templates = mine_templates([example("refund", reply) for reply in replies], keyword_embed, per_intent=3)
    texts = [template.text for template in templates["refund"]]
    assert len(texts) == 2
    assert "Sorry, the bank needs days." in texts


def test_mining_counts_support():
    replies = ["Refund to your card."] * 3 + ["Refund to your card, sorry."] + ["The bank needs days."] * 2
    templates = mine_templates([example("refund", reply) for reply in replies], keyword_embed, per_intent=3)
    supports = {template.text: template.support for template in templates["refund"]}
    assert supports == {"Refund to your card.": 3, "Refund to your card, sorry.": 1, "The bank needs days.": 2}


def test_mining_groups_by_language():
    examples = [
        example("refund", "Refund to your card."),
        example("refund", "The refund reaches your card."),
        example("refund", "退款已退回银行卡。", language="zh-CN"),
    ]
    templates = mine_templates(examples, keyword_embed, per_intent=1)
    languages = [template.language for template in templates["refund"]]
    assert languages == ["en", "zh-CN"]
    assert templates["refund"][1].text == "退款已退回银行卡。"


def test_mining_normalises_slots():
    examples = [example("track_order", "Order {{Order Number}} ships from {{Warehouse City}}.")]
    template = mine_templates(examples, keyword_embed, per_intent=1)["track_order"][0]
    assert template.text == "Order {{order_number}} ships from {{warehouse_city}}."
    assert template.slots == ("order_number", "warehouse_city")


def test_mining_merges_duplicates_after_normalisation():
    examples = [
        example("track_order", "Order {{Order Number}}  ships."),
        example("track_order", "Order {{ order-number }} ships."),
    ]
    templates = mine_templates(examples, keyword_embed, per_intent=3)["track_order"]
    assert len(templates) == 1
    assert templates[0].support == 2


def test_mining_skips_out_of_scope_and_unlabelled():
    examples = [
        example(OUT_OF_SCOPE, "I can only help with orders."),
        example("", "Reply without a label."),
        example("refund", ""),
        example("cancel_order", "Your order is cancelled."),
    ]
    templates = mine_templates(examples, keyword_embed, per_intent=2)
    assert list(templates) == ["cancel_order"]


@pytest.mark.parametrize(
    "reply",
    [
        "Order 370795561790 is cancelled.",
        "We wrote to jane.doe@example.com about it.",
        "Call us on 555-123-4567.",
        "Your card 4111 1111 1111 1111 was refunded.",
    ],
)
def test_mining_skips_personal_data(reply):
    examples = [example("cancel_order", reply), example("cancel_order", "Order {{Order Number}} is cancelled.")]
    templates = mine_templates(examples, keyword_embed, per_intent=3)
    assert [template.text for template in templates["cancel_order"]] == ["Order {{order_number}} is cancelled."]


def test_mining_keeps_short_numbers():
    templates = mine_templates([example("refund", "Refunds take 5 to 10 days, call 2024.")], keyword_embed, per_intent=1)
    assert templates["refund"][0].text == "Refunds take 5 to 10 days, call 2024."


def test_mining_samples_large_groups():
    replies = [f"Refund number {index} to your card." for index in range(50)]
    calls: list[int] = []

    def counting_embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return keyword_embed(texts)

    mine_templates([example("refund", reply) for reply in replies], counting_embed, per_intent=2, max_candidates=10)
    assert calls == [10]


def test_mining_rejects_bad_embedding_shape():
    from training.errors import DataError

    examples = [example("refund", "Refund one."), example("refund", "Refund two.")]
    with pytest.raises(DataError, match="shape"):
        mine_templates(examples, lambda texts: np.zeros((1, 3)), per_intent=1)


def test_templates_json_round_trip():
    templates = {"refund": [Template("refund", "Refund {{amount}}.", ("amount",), "en", 3)]}
    assert templates_from_json(templates_to_json(templates)) == templates
