"""Retrieval metrics and the min_score calibration rule."""

from __future__ import annotations

import pytest

from retrieval.evaluate import calibrate_min_score, evaluate_retrieval
from retrieval.index import KnowledgeIndex
from training.errors import DataError

QUESTIONS = [
    {"id": "q1", "question": "How long do international parcels take?", "gold_docs": ["en/shipping.md"]},
    {"id": "q2", "question": "When do I get my refund?", "gold_docs": ["en/returns.mdx"]},
    {"id": "q3", "question": "I forgot my password", "gold_docs": ["en/password.txt"], "kind": "in_scope"},
    {"id": "q4", "question": "What is the capital of Peru?", "gold_docs": [], "kind": "out_of_scope"},
]


def test_evaluate_metrics_range(sample_index: KnowledgeIndex) -> None:
    metrics = evaluate_retrieval(sample_index, QUESTIONS, k=3)
    assert metrics["in_scope"] == 3
    assert metrics["out_of_scope"] == 1
    for name in ("hit@1", "hit@3", "mrr", "in_scope_answered", "out_of_scope_rejected"):
        assert 0.0 <= metrics[name] <= 1.0, name


def test_evaluate_clear_questions_rank_first(sample_index: KnowledgeIndex) -> None:
    metrics = evaluate_retrieval(sample_index, QUESTIONS, k=3)
    ranks = {detail["id"]: detail["rank"] for detail in metrics["questions"]}
    assert ranks["q1"] == 1
    assert ranks["q3"] == 1


def test_evaluate_metrics_ordered(sample_index: KnowledgeIndex) -> None:
    metrics = evaluate_retrieval(sample_index, QUESTIONS, k=2)
    assert metrics["hit@2"] >= metrics["hit@1"]
    assert metrics["hit@1"] <= metrics["mrr"] <= metrics["hit@2"]


def test_evaluate_wrong_gold_scores_zero(sample_index: KnowledgeIndex) -> None:
    questions = [{"question": "How long do international parcels take?", "gold_docs": ["no/such.md"]}]
    metrics = evaluate_retrieval(sample_index, questions, k=3)
    assert metrics["hit@3"] == 0.0
    assert metrics["mrr"] == 0.0


def test_evaluate_score_lists(sample_index: KnowledgeIndex) -> None:
    metrics = evaluate_retrieval(sample_index, QUESTIONS)
    assert len(metrics["scores"]["in_scope"]) == 3
    assert len(metrics["scores"]["out_of_scope"]) == 1


@pytest.mark.parametrize(
    "question",
    [
        {"gold_docs": ["a.md"]},
        {"question": "  ", "gold_docs": ["a.md"]},
        {"question": "Hi", "gold_docs": "a.md"},
        {"question": "Hi", "gold_docs": [], "kind": "in_scope"},
        {"question": "Hi", "gold_docs": [], "kind": "chit_chat"},
    ],
)
def test_evaluate_invalid_question(sample_index: KnowledgeIndex, question: dict) -> None:
    with pytest.raises(DataError) as caught:
        evaluate_retrieval(sample_index, [question])
    assert "Question 1" in str(caught.value)


def test_evaluate_no_questions(sample_index: KnowledgeIndex) -> None:
    with pytest.raises(DataError):
        evaluate_retrieval(sample_index, [])


def test_calibrate_separable_scores() -> None:
    threshold = calibrate_min_score([0.7, 0.8, 0.9], [0.2, 0.3, 0.4])
    assert 0.4 < threshold < 0.7


def test_calibrate_picks_middle_of_ties() -> None:
    assert calibrate_min_score([0.8], [0.2]) == pytest.approx(0.5)


def _youden(threshold: float, inside: list[float], outside: list[float]) -> float:
    accepted_in = sum(score >= threshold for score in inside) / len(inside)
    accepted_out = sum(score >= threshold for score in outside) / len(outside)
    return accepted_in - accepted_out


def test_calibrate_overlapping_scores_optimal() -> None:
    inside = [0.45, 0.55, 0.6, 0.65, 0.7]
    outside = [0.3, 0.35, 0.5, 0.58]
    threshold = calibrate_min_score(inside, outside)
    best_on_grid = max(_youden(step / 1000, inside, outside) for step in range(1001))
    assert _youden(threshold, inside, outside) == pytest.approx(best_on_grid)
    assert 0.58 < threshold < 0.6


def test_calibrate_false_accept_limit() -> None:
    inside = [0.45, 0.55, 0.6, 0.65, 0.7]
    outside = [0.3, 0.35, 0.5, 0.58]
    threshold = calibrate_min_score(inside, outside, max_false_accept=0.0)
    assert threshold > 0.58


def test_calibrate_needs_both_kinds() -> None:
    with pytest.raises(DataError):
        calibrate_min_score([0.5], [])
