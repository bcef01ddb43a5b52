"""Tests for temperature scaling and the confidence threshold on synthetic logits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from training.calibration import (
    calibrate,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    precision_coverage_at,
    select_threshold,
)
from training.data import OUT_OF_SCOPE

LABELS = ["cancel_order", "refund", "track_order", OUT_OF_SCOPE]


def overconfident_logits(seed: int = 0, rows: int = 600, accuracy: float = 0.7, scale: float = 8.0):
    """Return logits whose argmax is right `accuracy` of the time but whose softmax is near 1, and the gold indices."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, len(LABELS), size=rows)
    predicted = np.where(rng.random(rows) < accuracy, gold, (gold + rng.integers(1, len(LABELS), size=rows)) % len(LABELS))
    logits = rng.normal(0.0, 0.5, size=(rows, len(LABELS)))
    logits[np.arange(rows), predicted] += 1.0 + rng.random(rows)
    return logits * scale, gold


def test_temperature_above_one_for_overconfident():
    logits, gold = overconfident_logits()
    assert fit_temperature(logits, gold) > 1.5


def test_temperature_lowers_nll():
    logits, gold = overconfident_logits()
    temperature = fit_temperature(logits, gold)
    assert negative_log_likelihood(logits, gold, temperature) < negative_log_likelihood(logits, gold)


def test_temperature_is_nll_minimum():
    logits, gold = overconfident_logits()
    temperature = fit_temperature(logits, gold)
    best = negative_log_likelihood(logits, gold, temperature)
    for factor in (0.8, 0.95, 1.05, 1.25):
        assert best <= negative_log_likelihood(logits, gold, temperature * factor) + 1e-9


def test_temperature_of_empty_set_is_one():
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0


def test_ece_zero_when_calibrated():
    confidences = np.array([0.75] * 4)
    correct = np.array([1, 1, 1, 0])
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.0)


def test_ece_of_overconfident_model():
    confidences = np.array([0.95] * 10)
    correct = np.array([1] * 5 + [0] * 5)
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.45)


def test_threshold_meets_target_precision():
    logits, gold_index = overconfident_logits(accuracy=0.75)
    probabilities = softmax(logits / fit_temperature(logits, gold_index), axis=1)
    predicted = [LABELS[index] for index in probabilities.argmax(axis=1)]
    gold = [LABELS[index] for index in gold_index]
    confidences = probabilities.max(axis=1)

    threshold, met = select_threshold(confidences, predicted, gold, target_precision=0.9, min_threshold=0.2)
    precision, coverage, _ = precision_coverage_at(confidences, predicted, gold, threshold)
    assert met
    assert precision >= 0.9
    assert coverage > 0.0


def test_threshold_is_lowest_reaching_target():
    confidences = [0.95, 0.9, 0.8, 0.7, 0.6]
    predicted = ["refund"] * 5
    gold = ["refund", "refund", "refund", "cancel_order", "refund"]
    threshold, met = select_threshold(confidences, predicted, gold, target_precision=0.75, min_threshold=0.1)
    assert met
    assert threshold == pytest.approx(0.6)


def test_threshold_skips_levels_below_target():
    confidences = [0.95, 0.9, 0.8, 0.7]
    predicted = ["refund"] * 4
    gold = ["refund", "refund", "cancel_order", "cancel_order"]
    threshold, met = select_threshold(confidences, predicted, gold, target_precision=0.9, min_threshold=0.1)
    assert met
    assert threshold == pytest.approx(0.9)


def test_threshold_never_below_minimum():
    confidences = [0.5, 0.4, 0.3]
    predicted = ["refund"] * 3
    threshold, met = select_threshold(confidences, predicted, predicted, target_precision=0.9, min_threshold=0.45)
    assert met
    assert threshold == pytest.approx(0.5)


def test_threshold_without_confidence_above_minimum():
    threshold, met = select_threshold([0.3, 0.2], ["refund"] * 2, ["refund"] * 2, target_precision=0.9, min_threshold=0.45)
    assert not met
    assert threshold == 1.0


def test_threshold_unreachable_disables_templates():
    confidences = [0.9, 0.8]
    threshold, met = select_threshold(confidences, ["refund", "refund"], ["cancel_order", "cancel_order"], 0.9, 0.1)
    assert not met
    assert threshold == 1.0


def test_accepted_out_of_scope_counts_wrong():
    confidences = [0.99, 0.9, 0.8]
    predicted = ["refund", "refund", "refund"]
    gold = [OUT_OF_SCOPE, "refund", "refund"]
    threshold, met = select_threshold(confidences, predicted, gold, target_precision=0.9, min_threshold=0.1)
    assert not met
    assert threshold == 1.0


def test_predicted_out_of_scope_never_accepted():
    confidences = [0.99, 0.9]
    predicted = [OUT_OF_SCOPE, "refund"]
    gold = ["refund", "refund"]
    precision, coverage, out_of_scope_rate = precision_coverage_at(confidences, predicted, gold, 0.5)
    assert precision == 1.0
    assert coverage == 0.5
    assert out_of_scope_rate is None


def test_calibrate_reports_numbers():
    logits, gold_index = overconfident_logits(accuracy=0.8)
    gold = [LABELS[index] for index in gold_index]
    result = calibrate(logits, gold, LABELS, target_precision=0.9, min_threshold=0.3)
    assert result.calibrated
    assert result.target_met
    assert result.precision >= 0.9
    assert result.threshold >= 0.3
    assert result.nll_after < result.nll_before
    assert result.ece_after < result.ece_before
    assert 0.0 <= result.out_of_scope_accept_rate <= 1.0
    assert result.held_out == len(gold)


def test_calibrate_without_held_out():
    result = calibrate(np.zeros((0, len(LABELS))), [], LABELS, target_precision=0.9, min_threshold=0.3)
    assert not result.calibrated
    assert result.temperature == 1.0
    assert result.threshold == 0.9
    assert result.precision is None


def test_calibrate_rejects_unknown_gold_label():
    with pytest.raises(ValueError, match="not among the model labels"):
        calibrate(np.zeros((1, len(LABELS))), ["unknown_intent"], LABELS, 0.9, 0.3)
