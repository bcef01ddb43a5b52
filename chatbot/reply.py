"""The reply object that the dialogue manager returns and every front end renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Reply kinds, in the order the dialogue manager tries them.
HANDOFF = "handoff"
CLARIFY = "clarify"
TEMPLATE = "template"
RETRIEVAL = "retrieval"
FALLBACK = "fallback"
REPLY_KINDS = (HANDOFF, CLARIFY, TEMPLATE, RETRIEVAL, FALLBACK)


@dataclass(frozen=True)
class Source:
    """A knowledge-base article or past conversation that a reply is based on."""

    title: str
    path: str = ""
    url: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class Reply:
    """One bot turn and the diagnostics behind it.

    `confidence` is the calibrated intent probability (0 when no intent model ran), and `reason`
    is a short English sentence for operators that says why this kind of reply was chosen.
    """

    kind: str
    text: str
    intent: str = ""
    confidence: float = 0.0
    sources: tuple[Source, ...] = field(default_factory=tuple)
    reason: str = ""
    conversation_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)
