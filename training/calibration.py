"""Temperature scaling and the confidence threshold for template replies.

Both are fit on the held-out split of a training run. Temperature scaling (Guo et al., "On
Calibration of Modern Neural Networks", ICML 2017) divides the logits by one scalar T chosen to
minimise the negative log-likelihood. It leaves the ranking unchanged and makes the softmax
probability a better estimate of how often the top intent is right.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from training.data import OUT_OF_SCOPE

logger = logging.getLogger(__name__)

# Temperatures outside this range mean the held-out split is degenerate (all right or all wrong).
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0
ECE_BINS = 15


@dataclass(frozen=True)
class CalibrationResult:
    """The numbers a training run stores in config.json and metrics.json.

    `coverage` is the fraction of held-out messages accepted with an intent at `threshold`,
    `precision` the fraction of those that were right, and `out_of_scope_accept_rate` the
    fraction of held-out out-of-scope messages that were wrongly accepted (None without any).
    `calibrated` is False when there was no held-out split; the measured fields are then None.
    """

    temperature: float
    threshold: float
    target_precision: float
    target_met: bool
    coverage: float | None
    precision: float | None
    out_of_scope_accept_rate: float | None
    nll_before: float | None
    nll_after: float | None
    ece_before: float | None
    ece_after: float | None
    held_out: int
    calibrated: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


def negative_log_likelihood(logits: np.ndarray, gold: np.ndarray, temperature: float = 1.0) -> float:
    """Return the mean negative log-likelihood of the gold label indices under softmax(logits / T)."""
    log_probs = log_softmax(logits / temperature, axis=1)
    return float(-log_probs[np.arange(len(gold)), gold].mean())


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Return the temperature T in [MIN_TEMPERATURE, MAX_TEMPERATURE] that minimises the held-out NLL.

    The NLL is convex in 1 / T, so a bounded scalar search on 1 / T finds the global minimum.
    """
    logits = np.asarray(logits, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.int64)
    if len(gold) == 0:
        return 1.0
    result = minimize_scalar(
        lambda inverse: negative_log_likelihood(logits, gold, 1.0 / inverse),
        bounds=(1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(1.0 / result.x)


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Return the expected calibration error of top-1 confidences over `bins` equal-width bins."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidences) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i contains the confidences in (edges[i], edges[i + 1]], and a confidence of 0 goes to bin 0.
    bin_index = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, bins - 1)
    error = 0.0
    for index in range(bins):
        members = bin_index == index
        if members.any():
            error += members.mean() * abs(confidences[members].mean() - correct[members].mean())
    return float(error)


def select_threshold(
    confidences: Sequence[float],
    predicted: Sequence[str],
    gold: Sequence[str],
    target_precision: float,
    min_threshold: float,
    out_of_scope_label: str = OUT_OF_SCOPE,
) -> tuple[float, bool]:
    """Return the confidence threshold for template replies and whether it meets `target_precision`.

    A held-out prediction is accepted at threshold t when its intent is not `out_of_scope_label`
    and its calibrated confidence is at least t. An accepted prediction is right when it equals the
    gold label, so a held-out out-of-scope message accepted with an in-scope intent counts as
    wrong. The threshold is the lowest confidence of an in-scope prediction, among those at or
    above `min_threshold`, at which the accepted predictions reach `target_precision`. Taking an
    observed confidence rather than anything lower keeps the threshold inside the measured range.
    When no confidence reaches the target, the threshold is 1.0, so almost nothing is accepted,
    and the second value is False.
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    in_scope = np.array([label != out_of_scope_label for label in predicted], dtype=bool)
    correct = np.array([p == g for p, g in zip(predicted, gold)], dtype=bool)
    candidate_confidences = confidences[in_scope]
    candidate_correct = correct[in_scope]

    # Sort descending, so accepting at the k-th confidence accepts exactly the first k + 1
    # candidates plus any later ties, which the unique-value pass below includes.
    order = np.argsort(-candidate_confidences, kind="stable")
    sorted_confidences = candidate_confidences[order]
    cumulative_correct = np.cumsum(candidate_correct[order])
    thresholds = np.unique(sorted_confidences[sorted_confidences >= min_threshold])
    for threshold in thresholds:
        accepted = int(np.searchsorted(-sorted_confidences, -threshold, side="right"))
        if accepted == 0:
            continue
        if cumulative_correct[accepted - 1] / accepted >= target_precision:
            return float(threshold), True
    return 1.0, False


def precision_coverage_at(
    confidences: Sequence[float],
    predicted: Sequence[str],
    gold: Sequence[str],
    threshold: float,
    out_of_scope_label: str = OUT_OF_SCOPE,
) -> tuple[float, float, float | None]:
    """Return (precision, coverage, out-of-scope accept rate) of accepting predictions at `threshold`.

    Precision is 1.0 when nothing is accepted, and the out-of-scope accept rate is None when the
    gold labels contain no out-of-scope message.
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    if len(confidences) == 0:
        return 1.0, 0.0, None
    accepted = np.array([label != out_of_scope_label for label in predicted], dtype=bool) & (confidences >= threshold)
    correct = np.array([p == g for p, g in zip(predicted, gold)], dtype=bool)
    gold_out_of_scope = np.array([label == out_of_scope_label for label in gold], dtype=bool)
    precision = float(correct[accepted].mean()) if accepted.any() else 1.0
    coverage = float(accepted.mean())
    out_of_scope_rate = float(accepted[gold_out_of_scope].mean()) if gold_out_of_scope.any() else None
    return precision, coverage, out_of_scope_rate


def calibrate(
    logits: np.ndarray,
    gold: Sequence[str],
    labels: Sequence[str],
    target_precision: float,
    min_threshold: float,
    out_of_scope_label: str = OUT_OF_SCOPE,
) -> CalibrationResult:
    """Fit the temperature and the threshold on held-out logits of shape (n, len(labels)).

    `gold` contains the held-out label names, each one of `labels`. With no held-out rows the
    temperature stays 1.0 and the threshold falls back to max(min_threshold, target_precision),
    because nothing can be measured; `calibrated` is then False.
    """
    logits = np.asarray(logits, dtype=np.float64)
    index_of = {label: index for index, label in enumerate(labels)}
    unknown = sorted(set(gold) - set(index_of))
    if unknown:
        raise ValueError(f"Held-out labels {unknown} are not among the model labels {list(labels)}.")

    if len(gold) == 0:
        # NOTE: an uncalibrated threshold only guesses that raw softmax confidence tracks precision.
        threshold = max(min_threshold, target_precision)
        logger.warning(
            "No held-out examples, so the confidence threshold is not calibrated; using %.2f. "
            "Give each intent at least a few more examples to calibrate it.",
            threshold,
        )
        return CalibrationResult(
            temperature=1.0,
            threshold=threshold,
            target_precision=target_precision,
            target_met=False,
            coverage=None,
            precision=None,
            out_of_scope_accept_rate=None,
            nll_before=None,
            nll_after=None,
            ece_before=None,
            ece_after=None,
            held_out=0,
            calibrated=False,
        )

    gold_index = np.array([index_of[label] for label in gold], dtype=np.int64)
    temperature = fit_temperature(logits, gold_index)
    before = softmax(logits, axis=1)
    after = softmax(logits / temperature, axis=1)
    predicted_index = after.argmax(axis=1)
    predicted = [labels[index] for index in predicted_index]
    correct = predicted_index == gold_index

    threshold, target_met = select_threshold(
        after.max(axis=1), predicted, gold, target_precision, min_threshold, out_of_scope_label
    )
    if not target_met:
        logger.warning(
            "No confidence threshold reaches precision %.2f on %d held-out examples; template replies are "
            "effectively disabled (threshold 1.0). Add examples or lower target_precision.",
            target_precision,
            len(gold),
        )
    precision, coverage, out_of_scope_rate = precision_coverage_at(
        after.max(axis=1), predicted, gold, threshold, out_of_scope_label
    )
    return CalibrationResult(
        temperature=temperature,
        threshold=threshold,
        target_precision=target_precision,
        target_met=target_met,
        coverage=coverage,
        precision=precision,
        out_of_scope_accept_rate=out_of_scope_rate,
        nll_before=negative_log_likelihood(logits, gold_index),
        nll_after=negative_log_likelihood(logits, gold_index, temperature),
        ece_before=expected_calibration_error(before.max(axis=1), correct),
        ece_after=expected_calibration_error(after.max(axis=1), correct),
        held_out=len(gold),
        calibrated=True,
    )
