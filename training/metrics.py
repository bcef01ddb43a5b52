"""Evaluation metrics of intent predictions, shared by training and `chatbot evaluate`."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from training.calibration import expected_calibration_error, precision_coverage_at
from training.data import OUT_OF_SCOPE


def evaluate_predictions(
    gold: Sequence[str],
    predicted: Sequence[str],
    confidences: Sequence[float],
    *,
    threshold: float | None = None,
    out_of_scope_label: str = OUT_OF_SCOPE,
) -> dict[str, Any]:
    """Return accuracy, macro-F1, per-intent scores and confidence statistics of top-1 predictions.

    Macro-F1 averages over every label that occurs in `gold` or `predicted`, as scikit-learn does,
    so predicting a label that never occurs in `gold` lowers it. With `threshold`, the result also
    has `at_threshold`: the precision and coverage of accepting in-scope predictions whose
    confidence is at least `threshold` (see `training.calibration.select_threshold`).
    """
    if not len(gold) == len(predicted) == len(confidences):
        raise ValueError(
            f"gold, predicted and confidences must have the same length, got {len(gold)}, {len(predicted)} "
            f"and {len(confidences)}."
        )
    if len(gold) == 0:
        raise ValueError("Cannot evaluate zero predictions: gold is empty.")

    gold = [str(label) for label in gold]
    predicted = [str(label) for label in predicted]
    confidence_array = np.asarray(confidences, dtype=np.float64)
    labels = sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    per_intent = {
        label: {
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, label in enumerate(labels)
    }
    correct = np.array([g == p for g, p in zip(gold, predicted)], dtype=bool)
    result: dict[str, Any] = {
        "examples": len(gold),
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "mean_confidence": float(confidence_array.mean()),
        "ece": expected_calibration_error(confidence_array, correct),
        "per_intent": per_intent,
    }
    if threshold is not None:
        at_precision, coverage, out_of_scope_rate = precision_coverage_at(
            confidence_array, predicted, gold, threshold, out_of_scope_label
        )
        result["at_threshold"] = {
            "threshold": float(threshold),
            "precision": at_precision,
            "coverage": coverage,
            "out_of_scope_accept_rate": out_of_scope_rate,
        }
    return result
