"""Tests for the evaluation report of intent predictions."""

from __future__ import annotations

import pytest

from training.data import OUT_OF_SCOPE
from training.metrics import evaluate_predictions


def test_scores_match_hand_count():
    gold = ["refund", "refund", "cancel_order", "cancel_order"]
    predicted = ["refund", "cancel_order", "cancel_order", "cancel_order"]
    report = evaluate_predictions(gold, predicted, [0.9, 0.6, 0.8, 0.7])
    assert report["examples"] == 4
    assert report["accuracy"] == pytest.approx(0.75)
    assert report["per_intent"]["refund"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert report["per_intent"]["cancel_order"]["precision"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert report["mean_confidence"] == pytest.approx(0.75)


def test_predicted_only_label_counts_in_macro():
    report = evaluate_predictions(["refund", "refund"], ["refund", "track_order"], [0.9, 0.9])
    assert report["per_intent"]["track_order"]["support"] == 0
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_threshold_section():
    gold = ["refund", "refund", OUT_OF_SCOPE, OUT_OF_SCOPE]
    predicted = ["refund", "cancel_order", "refund", OUT_OF_SCOPE]
    report = evaluate_predictions(gold, predicted, [0.9, 0.4, 0.8, 0.9], threshold=0.5)
    assert report["at_threshold"]["precision"] == pytest.approx(0.5)
    assert report["at_threshold"]["coverage"] == pytest.approx(0.5)
    assert report["at_threshold"]["out_of_scope_accept_rate"] == pytest.approx(0.5)


def test_no_threshold_section_by_default():
    assert "at_threshold" not in evaluate_predictions(["a"], ["a"], [1.0])


def test_length_mismatch_rejected():
    with pytest.raises(ValueError, match="same length"):
        evaluate_predictions(["a", "b"], ["a"], [1.0])


def test_empty_input_rejected():
    with pytest.raises(ValueError, match="zero predictions"):
        evaluate_predictions([], [], [])
