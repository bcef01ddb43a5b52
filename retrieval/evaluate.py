"""Measure retrieval quality on labelled questions and choose the answer threshold.

A question is a dict with `question`, `gold_docs` (article paths that answer it, as in
`Hit.path`) and optionally `id` and `kind` ("in_scope" or "out_of_scope"). Without `kind`, a
question with no gold documents counts as out of scope.
"""

from __future__ import annotations

import logging
import statistics
from typing import Any, Sequence

from retrieval.index import ARTICLE, KnowledgeIndex
from training.errors import DataError

logger = logging.getLogger(__name__)

IN_SCOPE = "in_scope"
OUT_OF_SCOPE = "out_of_scope"


def evaluate_retrieval(index: KnowledgeIndex, questions: Sequence[dict[str, Any]], k: int | None = None) -> dict[str, Any]:
    """Search every question and return retrieval metrics.

    In-scope questions are ranked against article hits only, `k` deep (default
    `index.config.top_k`). The returned dict contains:

    - `hit@1` and `hit@k`: share of in-scope questions with a gold article first, or among the first k.
    - `mrr`: mean reciprocal rank of the first gold article, counting 0 when none is in the top k.
    - `in_scope_answered`: share of in-scope questions whose top score, over all hit kinds as the
      dialogue manager sees it, is at least `min_score`.
    - `out_of_scope_rejected`: share of out-of-scope questions whose top score is below `min_score`.
    - `scores` and `score_summary`: the top scores by kind, for `calibrate_min_score`, and their
      minimum, median, mean and maximum.
    - `questions`: id, kind, gold rank (0 when missed), top score and top article of each question.
    """
    k = index.config.top_k if k is None else k
    threshold = index.config.min_score
    parsed = [_parse_question(number, item) for number, item in enumerate(questions, start=1)]
    if not parsed:
        raise DataError("No questions to evaluate. Pass at least one question with a 'question' field.")
    texts = [item["question"] for item in parsed]
    article_hits = index.search_batch(texts, k, kinds=[ARTICLE])
    top_hits = index.search_batch(texts, 1)

    details = []
    for item, articles, best in zip(parsed, article_hits, top_hits):
        # -1 is the lowest cosine similarity, for a question that returned no hit at all.
        top_score = best[0].score if best else -1.0
        rank = next((position for position, hit in enumerate(articles, start=1) if hit.path in item["gold"]), 0)
        details.append(
            {
                "id": item["id"],
                "kind": item["kind"],
                "rank": rank,
                "top_score": top_score,
                "top_path": articles[0].path if articles else "",
            }
        )

    in_scope = [detail for detail in details if detail["kind"] == IN_SCOPE]
    out_of_scope = [detail for detail in details if detail["kind"] == OUT_OF_SCOPE]
    in_scores = [detail["top_score"] for detail in in_scope]
    out_scores = [detail["top_score"] for detail in out_of_scope]
    reciprocal_ranks = [1.0 / detail["rank"] if detail["rank"] else 0.0 for detail in in_scope]
    metrics: dict[str, Any] = {
        "k": k,
        "min_score": threshold,
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "hit@1": _share(in_scope, lambda detail: detail["rank"] == 1),
        f"hit@{k}": _share(in_scope, lambda detail: detail["rank"] >= 1),
        "mrr": statistics.fmean(reciprocal_ranks) if reciprocal_ranks else None,
        "in_scope_answered": _share(in_scope, lambda detail: detail["top_score"] >= threshold),
        "out_of_scope_rejected": _share(out_of_scope, lambda detail: detail["top_score"] < threshold),
        "scores": {IN_SCOPE: in_scores, OUT_OF_SCOPE: out_scores},
        "score_summary": {IN_SCOPE: _summary(in_scores), OUT_OF_SCOPE: _summary(out_scores)},
        "questions": details,
    }
    logger.info(
        "Retrieval on %d in-scope and %d out-of-scope questions: hit@1 %s, hit@%d %s, MRR %s",
        len(in_scope),
        len(out_of_scope),
        _format(metrics["hit@1"]),
        k,
        _format(metrics[f"hit@{k}"]),
        _format(metrics["mrr"]),
    )
    return metrics


def calibrate_min_score(
    in_scope_scores: Sequence[float],
    out_of_scope_scores: Sequence[float],
    *,
    max_false_accept: float = 1.0,
) -> float:
    """Pick the answer threshold that best separates in-scope from out-of-scope top scores.

    Candidates are the midpoints between consecutive distinct scores. The rule maximises Youden's J,
    the share of in-scope questions at or above the threshold minus the share of out-of-scope
    questions at or above it. J weighs both error kinds equally however unbalanced the two lists
    are, which matters because evaluation sets usually have few out-of-scope questions. Among
    equally good thresholds the middle one is chosen, for the widest margin on both sides.
    `max_false_accept` first discards thresholds that let a larger share of out-of-scope
    questions through, for deployments where a wrong answer costs more than a handoff.

    NOTE: with a few dozen questions, a single question can shift the result by several
    hundredths. Check it on held-out questions before changing a default.
    """
    if not in_scope_scores or not out_of_scope_scores:
        raise DataError(
            f"Calibration needs both kinds of scores, got {len(in_scope_scores)} in-scope and "
            f"{len(out_of_scope_scores)} out-of-scope. Add questions of the missing kind."
        )
    if not 0.0 <= max_false_accept <= 1.0:
        raise DataError(f"Invalid max_false_accept {max_false_accept}: must be from 0 to 1.")
    values = sorted(set(in_scope_scores) | set(out_of_scope_scores))
    candidates = [values[0] - 1e-6] + [(low + high) / 2 for low, high in zip(values, values[1:])] + [values[-1] + 1e-6]

    best_value = float("-inf")
    best: list[float] = []
    for threshold in candidates:
        accepted_in = sum(score >= threshold for score in in_scope_scores) / len(in_scope_scores)
        accepted_out = sum(score >= threshold for score in out_of_scope_scores) / len(out_of_scope_scores)
        if accepted_out > max_false_accept:
            continue
        value = accepted_in - accepted_out
        if value > best_value + 1e-12:
            best_value, best = value, [threshold]
        elif abs(value - best_value) <= 1e-12:
            best.append(threshold)
    # The highest candidate accepts nothing, so it always passes the false-accept limit.
    return best[len(best) // 2]


def _parse_question(number: int, item: dict[str, Any]) -> dict[str, Any]:
    question = item.get("question") if isinstance(item, dict) else None
    if not isinstance(question, str) or not question.strip():
        raise DataError(f"Question {number}: expected a dict with a non-empty 'question' string, got {item!r}.")
    gold = item.get("gold_docs") or []
    if isinstance(gold, str) or not all(isinstance(path, str) for path in gold):
        raise DataError(f"Question {number}: 'gold_docs' must be a list of article paths, got {gold!r}.")
    kind = item.get("kind") or (IN_SCOPE if gold else OUT_OF_SCOPE)
    if kind not in (IN_SCOPE, OUT_OF_SCOPE):
        raise DataError(f"Question {number}: invalid kind {kind!r}. Must be {IN_SCOPE!r} or {OUT_OF_SCOPE!r}.")
    if kind == IN_SCOPE and not gold:
        raise DataError(f"Question {number}: in-scope questions need at least one path in 'gold_docs'.")
    return {"id": str(item.get("id", number)), "question": question, "gold": set(gold), "kind": kind}


def _share(items: list[dict[str, Any]], condition: Any) -> float | None:
    if not items:
        return None
    return sum(1 for item in items if condition(item)) / len(items)


def _summary(scores: list[float]) -> dict[str, float] | None:
    if not scores:
        return None
    return {
        "min": min(scores),
        "median": statistics.median(scores),
        "mean": statistics.fmean(scores),
        "max": max(scores),
    }


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
