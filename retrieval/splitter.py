"""Split documents into chunks that fit the embedder's window, by Markdown section and then by sentence.

Each section under a Markdown heading is split with langchain's RecursiveCharacterTextSplitter,
which tries paragraph breaks, line breaks, Chinese and Latin sentence ends, clause marks, spaces
and finally single characters, measuring length in tokens of the embedder's tokenizer.

The chunk text is an exact slice of the document text: `document.text[start:start + len(text)]`
equals `chunk.text`, so chunks can be displayed with their formatting and traced back to the
article. For that reason the sections are cut here instead of by langchain's
MarkdownHeaderTextSplitter (langchain-text-splitters 1.1), which strips every line and rejoins
lines with "  \\n", so its output cannot be mapped back to the source.

What gets embedded is `Chunk.embedding_text`: the title and heading path, a blank line, then the
chunk text. `chunk_tokens` bounds that whole input including the tokenizer's special tokens, so
the embedder never truncates a chunk.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Protocol

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.documents import Document
from retrieval.markdown import HEADING_SEPARATOR, split_sections
from training.errors import ConfigError

logger = logging.getLogger(__name__)

# Tried in order: paragraphs, lines, sentence ends (Chinese full-width marks first, then Latin
# marks followed by a space), clause marks, spaces, and single characters as the last resort.
# The separator stays at the end of the piece before it, so a Chinese sentence keeps its "。".
SEPARATORS = (
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    ". ",
    "! ",
    "? ",
    "; ",
    "，",
    "、",
    ", ",
    " ",
    "",
)
PREFIX_SEPARATOR = "\n\n"


class Tokenizer(Protocol):
    """The part of a Hugging Face tokenizer that the splitter uses.

    A callable tokenizer is called with `add_special_tokens=False, verbose=False` instead of
    `tokenize`, so both count the same tokens.
    """

    def tokenize(self, text: str) -> list[str]: ...

    def num_special_tokens_to_add(self, pair: bool = False) -> int: ...


@dataclass(frozen=True)
class Chunk:
    """A slice of one document that is embedded as one vector.

    `heading` is the path of Markdown headings above the slice, joined with " > ", and `start`
    the character offset of `text` in `Document.text`. `prefix` is the title and heading line
    embedded before the text.
    """

    text: str
    path: str
    title: str
    url: str
    language: str
    heading: str
    start: int
    prefix: str = ""

    @property
    def embedding_text(self) -> str:
        """Text given to the embedder: the prefix, a blank line and the chunk text."""
        return f"{self.prefix}{PREFIX_SEPARATOR}{self.text}" if self.prefix else self.text

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


def split_documents(
    documents: Iterable[Document],
    tokenizer: Tokenizer,
    chunk_tokens: int,
    chunk_overlap_tokens: int,
    *,
    max_seq_length: int | None = None,
) -> list[Chunk]:
    """Split documents into chunks whose `embedding_text` is at most `chunk_tokens` tokens long.

    The count includes the tokenizer's special tokens. When `max_seq_length` is given, a larger
    `chunk_tokens` raises `ConfigError`, because the embedder would truncate such chunks. Chunks
    are never empty and never contain only whitespace.
    """
    if chunk_tokens < 1 or not 0 <= chunk_overlap_tokens < chunk_tokens:
        raise ConfigError(
            f"Invalid chunk sizes: chunk_tokens {chunk_tokens} must be positive and chunk_overlap_tokens "
            f"{chunk_overlap_tokens} must be from 0 to {chunk_tokens - 1}."
        )
    if max_seq_length is not None and chunk_tokens > max_seq_length:
        raise ConfigError(
            f"Invalid chunk_tokens {chunk_tokens}: the embedder reads at most {max_seq_length} tokens "
            f"(max_seq_length), so longer chunks would be truncated. Set chunk_tokens to {max_seq_length} or less."
        )
    counter = TokenCounter(tokenizer)
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(_split_document(document, counter, chunk_tokens, chunk_overlap_tokens))
    logger.debug("Split documents into %d chunks of at most %d tokens", len(chunks), chunk_tokens)
    return chunks


class TokenCounter:
    """Token lengths under one tokenizer, memoised because the splitter measures the same pieces often."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.special_tokens = int(tokenizer.num_special_tokens_to_add(pair=False))
        self.count = lru_cache(maxsize=65536)(self._count)
        # Text splitters by (chunk size, overlap), since sections with equal prefixes share them.
        self.splitters: dict[tuple[int, int], RecursiveCharacterTextSplitter] = {}

    def _count(self, text: str) -> int:
        if callable(self.tokenizer):
            # verbose=False keeps transformers from warning about sections longer than the model's
            # maximum length, which is expected here because they are measured before splitting.
            encoding = self.tokenizer(text, add_special_tokens=False, verbose=False)
            return len(encoding["input_ids"])
        return len(self.tokenizer.tokenize(text))

    def input_length(self, text: str) -> int:
        """Return the number of tokens the embedder receives for `text`, special tokens included."""
        return self.count(text) + self.special_tokens


def _split_document(document: Document, counter: TokenCounter, chunk_tokens: int, overlap: int) -> list[Chunk]:
    chunks = []
    for section in split_sections(document.text):
        prefix = _prefix(document.title, section.heading, counter, chunk_tokens)
        budget = _body_budget(prefix, counter, chunk_tokens)
        fits = _fits_function(prefix, counter, chunk_tokens)
        pieces = _text_splitter(counter, budget, min(overlap, budget // 2)).split_text(section.text)
        for piece, piece_start in zip(pieces, locate_pieces(section.text, pieces)):
            part_end = piece_start
            for part in _enforce_fit(piece, fits):
                # Parts of one piece follow each other with only whitespace between them.
                part_start = section.text.index(part, part_end)
                part_end = part_start + len(part)
                chunks.append(
                    Chunk(
                        text=part,
                        path=document.path,
                        title=document.title,
                        url=document.url,
                        language=document.language,
                        heading=section.heading,
                        start=section.start + part_start,
                        prefix=prefix,
                    )
                )
    return chunks


def locate_pieces(text: str, pieces: list[str]) -> list[int]:
    """Return the offset in `text` of each piece that a text splitter cut from it, in order.

    langchain's splitters return strings without offsets, and a piece can occur several times
    (repeated code lines, periodic strings), so a plain `find` can pick the wrong copy. The
    splitter guarantees three things. The first piece starts at the first non-whitespace
    character. Each later piece starts after the previous piece's start, and at most
    whitespace lies between the previous piece's end and its start. The last piece ends at the
    last non-whitespace character. This function keeps every offset that is consistent with all
    earlier pieces, then walks back from the end. The result is exact whenever the text allows
    only one placement.
    """
    if not pieces:
        return []
    # next_content[i] is the first non-whitespace offset at or after i (len(text) if none).
    next_content = [len(text)] * (len(text) + 1)
    for index in range(len(text) - 1, -1, -1):
        next_content[index] = index if not text[index].isspace() else next_content[index + 1]

    def best_predecessor(starts: list[int], previous_piece: str, start: int) -> int | None:
        # The latest earlier start reaches furthest, so it alone decides whether `start` can follow.
        position = bisect_left(starts, start) - 1
        if position < 0 or start > next_content[starts[position] + len(previous_piece)]:
            return None
        return starts[position]

    feasible: list[list[int]] = []
    for number, piece in enumerate(pieces):
        if number == 0:
            lower = upper = next_content[0]
        else:
            lower = feasible[-1][0] + 1
            upper = next_content[feasible[-1][-1] + len(pieces[number - 1])]
        candidates = []
        position = text.find(piece, lower)
        while 0 <= position <= upper:
            if number == 0 or best_predecessor(feasible[-1], pieces[number - 1], position) is not None:
                candidates.append(position)
            position = text.find(piece, position + 1)
        if not candidates:
            raise RuntimeError(f"Piece {number} of a section was not found in order; this is a bug in retrieval.splitter.")
        feasible.append(candidates)

    content_end = len(text.rstrip())
    ending = [start for start in feasible[-1] if start + len(pieces[-1]) == content_end]
    offsets = [ending[0] if ending else feasible[-1][-1]]
    for number in range(len(pieces) - 2, -1, -1):
        predecessor = best_predecessor(feasible[number], pieces[number], offsets[-1])
        if predecessor is None:
            raise RuntimeError("Splitter pieces could not be placed in order; this is a bug in retrieval.splitter.")
        offsets.append(predecessor)
    offsets.reverse()
    return offsets


def _prefix(title: str, heading: str, counter: TokenCounter, chunk_tokens: int) -> str:
    # A heading equal to the title, usually the top heading, is not repeated.
    parts = [title.strip()] if title.strip() else []
    for name in heading.split(HEADING_SEPARATOR) if heading else []:
        if name and name not in parts:
            parts.append(name)
    prefix = HEADING_SEPARATOR.join(parts)
    # A prefix may take at most half the window, so every chunk keeps room for its own text.
    limit = chunk_tokens // 2
    if counter.count(prefix + PREFIX_SEPARATOR) <= limit:
        return prefix
    return _longest_prefix_within(prefix, lambda candidate: counter.count(candidate + PREFIX_SEPARATOR) <= limit)


def _body_budget(prefix: str, counter: TokenCounter, chunk_tokens: int) -> int:
    used = counter.special_tokens + (counter.count(prefix + PREFIX_SEPARATOR) if prefix else 0)
    return max(1, chunk_tokens - used)


def _fits_function(prefix: str, counter: TokenCounter, chunk_tokens: int) -> Callable[[str], bool]:
    def fits(text: str) -> bool:
        embedded = f"{prefix}{PREFIX_SEPARATOR}{text}" if prefix else text
        return counter.input_length(embedded) <= chunk_tokens

    return fits


def _text_splitter(counter: TokenCounter, budget: int, overlap: int) -> RecursiveCharacterTextSplitter:
    key = (budget, overlap)
    if key not in counter.splitters:
        counter.splitters[key] = RecursiveCharacterTextSplitter(
            separators=list(SEPARATORS),
            keep_separator="end",
            chunk_size=budget,
            chunk_overlap=overlap,
            length_function=counter.count,
            strip_whitespace=True,
        )
    return counter.splitters[key]


def _enforce_fit(piece: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut `piece` into parts that fit, for the rare pieces that the recursive splitter leaves too long.

    The recursive splitter adds up the token counts of the pieces it merges, but a WordPiece or BPE
    tokenizer can need more tokens for a joined string than for its parts, for example where a
    cut fell inside a word. Parts cut here do not overlap.
    """
    if fits(piece):
        return [piece]
    parts = []
    rest = piece
    while rest:
        if fits(rest):
            parts.append(rest)
            break
        head = _longest_prefix_within(rest, fits)
        cut = _last_break(head)
        part = head[:cut].rstrip()
        if not fits(part):
            # Token counts are not monotonic in length (a WordPiece word over 100 characters is one
            # [UNK] token), so a shorter cut can need more tokens than the prefix that fitted.
            cut, part = len(head), head
        parts.append(part)
        rest = rest[cut:].lstrip()
    logger.debug("Cut an over-long piece of %d characters into %d parts", len(piece), len(parts))
    return [part for part in parts if part.strip()]


def _longest_prefix_within(text: str, fits: Callable[[str], bool]) -> str:
    """Return a prefix of `text` that `fits` accepts, found by binary search over its length.

    It is the longest such prefix when token counts grow with length. The result has at least one
    character, even when `fits` rejects that.
    """
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _last_break(head: str) -> int:
    # Prefer to end at a sentence end or a space in the second half of the prefix; else cut where it is.
    for separator in SEPARATORS[:-1]:
        position = head.rfind(separator)
        if position >= len(head) // 2:
            return position + len(separator)
    return len(head)
