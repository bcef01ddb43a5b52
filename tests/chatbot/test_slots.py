"""Tests for slot extraction and template filling."""

from __future__ import annotations

import pytest

from chatbot.slots import canonical_slot, extract_slots, fill_template, template_slot_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is order NW-482913?", "NW-482913"),
        ("how can I cancel purchase 113542617735902?", "113542617735902"),
        ("482913", "482913"),
        ("我的订单 NW-100200 还没到", "NW-100200"),
        ("订单LL-482193什么时候到", "LL-482193"),
    ],
)
def test_order_number_found(text, expected):
    assert extract_slots(text)["order_number"] == expected


def test_plain_number_not_order():
    assert "order_number" not in extract_slots("I bought 1000000 grains of rice")


def test_email_and_date_found():
    found = extract_slots("it was sent to jane.doe+shop@example.com on March 3rd, 2026")
    assert found["email"] == "jane.doe+shop@example.com"
    assert found["date"] == "March 3rd, 2026"


def test_email_inside_chinese_text():
    assert extract_slots("能发一份到tang.yu@example.com吗")["email"] == "tang.yu@example.com"


@pytest.mark.parametrize(("text", "expected"), [("我3月15日下的单", "3月15日"), ("我在2026-11-02下的单", "2026-11-02")])
def test_chinese_date_found(text, expected):
    assert extract_slots(text)["date"] == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Order Number", "order_number"), ("order_id_anonymized", "order_number"), ("Purchase ID Anonymized", "order_number"),
     ("customer email", "email"), ("support_email", "support_email"), ("Website Name", "website_name")],
)
def test_canonical_slot(name, expected):
    assert canonical_slot(name) == expected


def test_fill_template_values_and_missing():
    text = fill_template("Order {{order_number}} ships from {{ Store Name }}.", {"order_number": "NW-1"}, lambda slot: f"<{slot}>")
    assert text == "Order NW-1 ships from <store_name>."


def test_template_slot_names_ordered():
    assert template_slot_names("{{Order Number}} {{email}} {{order_number}}") == ["order_number", "email"]
