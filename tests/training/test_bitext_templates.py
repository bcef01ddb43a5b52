"""Template mining on real Bitext agent replies with the real all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from training.data import Example
from training.encoder import DEFAULT_ENCODER, resolve_encoder
from training.model import mean_pool
from training.templates import mine_templates

pytestmark = pytest.mark.real_data

BITEXT = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "bitext_customer_support"
    / "Bitext_Sample_Customer_Support_Training_Dataset.shared90.csv"
)
INTENTS = ("cancel_order", "get_refund")
SNAKE_CASE_SLOT = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def bitext_examples() -> list[Example]:
    if not BITEXT.is_file():
        pytest.skip(f"Bitext data set not found at {BITEXT} (a folder shared/data beside the checkout)")
    with open(BITEXT, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["intent"] in INTENTS]
    return [Example(text=row["instruction"], intent=row["intent"], response=row["response"], language="en") for row in rows]


@pytest.fixture(scope="module")
def minilm_embed():
    folder = resolve_encoder(DEFAULT_ENCODER)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()

    @torch.inference_mode()
    def embed(texts: list[str]) -> np.ndarray:
        encoded = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        return mean_pool(model(**encoded).last_hidden_state, encoded["attention_mask"]).numpy()

    return embed


def test_bitext_templates_have_snake_case_slots(bitext_examples, minilm_embed):
    templates = mine_templates(bitext_examples, minilm_embed, per_intent=2, max_candidates=16)
    assert set(templates) == set(INTENTS)
    for intent in INTENTS:
        assert 1 <= len(templates[intent]) <= 2
        for template in templates[intent]:
            assert all(SNAKE_CASE_SLOT.match(slot) for slot in template.slots)
            assert re.search(r"\d{6,}", template.text) is None
            assert re.search(r"\{\{[^}]*[A-Z ][^}]*\}\}", template.text) is None


def test_bitext_medoid_is_typical_reply(bitext_examples, minilm_embed):
    templates = mine_templates(bitext_examples, minilm_embed, per_intent=1, max_candidates=16)
    refund = templates["get_refund"][0].text.lower()
    cancel = templates["cancel_order"][0].text.lower()
    assert "refund" in refund
    assert "cancel" in cancel
