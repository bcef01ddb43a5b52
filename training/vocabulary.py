"""New tokens for CJK characters that the encoder's vocabulary lacks.

all-MiniLM-L6-v2 uses the bert-base-uncased vocabulary, which has about 250 CJK characters, so
most Chinese text reaches the model as [UNK]. Training adds the frequent missing characters as
tokens and learns their embeddings with peft's trainable tokens, stored in the adapter.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Iterable

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# The code point ranges that BERT's basic tokenizer splits into single characters (CJK Unified
# Ideographs, its extensions A to E, and the compatibility ideographs).
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk_character(character: str) -> bool:
    """Return whether `character` is a CJK ideograph that BERT tokenizers treat as a word of its own."""
    code = ord(character)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def find_unknown_characters(
    texts: Iterable[str],
    tokenizer: PreTrainedTokenizerBase,
    min_count: int,
    max_characters: int,
) -> list[str]:
    """Return the CJK characters that `tokenizer` maps to its unknown token, most frequent first.

    A character counts once per message, must occur in at least `min_count` messages, and at most
    `max_characters` characters are returned. Ties keep the order of first occurrence.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({character for character in text if is_cjk_character(character)})
    vocabulary = tokenizer.get_vocab()
    unknown = [
        character
        for character, count in counts.most_common()
        if count >= min_count and character not in vocabulary and character.lower() not in vocabulary
    ]
    return unknown[:max_characters]


def add_character_tokens(
    tokenizer: PreTrainedTokenizerBase,
    encoder: PreTrainedModel,
    characters: list[str],
) -> list[int]:
    """Add `characters` as tokens and grow the encoder's embedding matrix to match.

    Each new embedding row starts as a copy of the unknown token's row, so before training the
    encoder reads these characters exactly as it read them before (as [UNK]). Returns the token ids
    of the new characters.
    """
    if not characters:
        return []
    added = tokenizer.add_tokens(characters)
    if added != len(characters):
        raise ValueError(f"Expected to add {len(characters)} tokens to the tokenizer, but it added {added}.")
    resize_embeddings(encoder, len(tokenizer))
    token_ids = tokenizer.convert_tokens_to_ids(characters)
    embeddings = encoder.get_input_embeddings().weight
    with torch.no_grad():
        embeddings[token_ids] = embeddings[tokenizer.unk_token_id].clone()
    logger.info("Added %d CJK characters as new tokens with trainable embeddings", len(characters))
    return list(token_ids)


def resize_embeddings(encoder: PreTrainedModel, vocabulary_size: int) -> None:
    """Grow the encoder's input embeddings to `vocabulary_size` rows when the tokenizer has more tokens."""
    if encoder.get_input_embeddings().num_embeddings < vocabulary_size:
        # The new rows are overwritten by the caller or by the adapter's trainable tokens, so the
        # costly mean-and-covariance initialisation is skipped.
        encoder.resize_token_embeddings(vocabulary_size, mean_resizing=False)
