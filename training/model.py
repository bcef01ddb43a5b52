"""The intent classifier: a transformer encoder, mean pooling and a linear head.

all-MiniLM-L6-v2 was trained to produce sentence embeddings by averaging its token states, and
its [CLS] pooler layer was never trained, so the head reads the attention-masked mean of the last
hidden states.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase

from training.config import TrainConfig
from training.errors import ConfigError
from training.vocabulary import add_character_tokens

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet_peft_deprecation() -> Iterator[None]:
    """Hide the FutureWarning that peft 0.21 triggers on every adapter it wraps or loads.

    TODO: remove once peft reads `is_activation_checkpointing` instead of `is_gradient_checkpointing`,
    which transformers 5 deprecates; the warning does not concern this project's code.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def mean_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token states of shape (batch, tokens, dim) over the tokens where the mask is 1."""
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
    summed = (hidden_states * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


class IntentClassifier(nn.Module):
    """Encoder (plain or wrapped by peft), mean pooling, dropout and a linear head over the labels."""

    def __init__(self, encoder: PreTrainedModel | PeftModel, num_labels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def embed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the mean-pooled sentence embeddings of shape (batch, hidden_size)."""
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        outputs = self.encoder(**inputs)
        return mean_pool(outputs.last_hidden_state, attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the logits of shape (batch, num_labels)."""
        pooled = self.embed(input_ids, attention_mask, token_type_ids)
        return self.head(self.dropout(pooled))


def lora_config(config: TrainConfig, new_token_ids: list[int]) -> LoraConfig:
    """Return the peft LoRA config, with trainable embeddings for `new_token_ids` when there are any."""
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        bias="none",
        trainable_token_indices=list(new_token_ids) or None,
    )


def drop_pooler(encoder: PreTrainedModel) -> PreTrainedModel:
    """Remove BERT's [CLS] pooler, which mean pooling never reads, and return the encoder.

    Loading with the pooler and dropping it afterwards avoids the unused-weights report that
    `add_pooling_layer=False` makes transformers print, and keeps LoRA's `dense` target off it.
    """
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None
    return encoder


def build_classifier(
    encoder_path: str,
    config: TrainConfig,
    num_labels: int,
    tokenizer: PreTrainedTokenizerBase,
    new_characters: list[str],
) -> IntentClassifier:
    """Load the base encoder from `encoder_path`, wrap it with a fresh LoRA adapter and add a head.

    `new_characters` are added to `tokenizer` as tokens with trainable embeddings. Only the LoRA
    matrices, those embeddings and the head are trainable. The base weights stay frozen.
    """
    base = drop_pooler(AutoModel.from_pretrained(encoder_path))
    new_token_ids = add_character_tokens(tokenizer, base, new_characters)
    try:
        with quiet_peft_deprecation():
            encoder = get_peft_model(base, lora_config(config, new_token_ids))
    except ValueError as err:
        # peft raises ValueError when none of target_modules matches a layer of the encoder.
        raise ConfigError(
            f"Invalid target_modules {list(config.target_modules)} for encoder {config.encoder!r}: {err}"
        ) from err
    classifier = IntentClassifier(encoder, num_labels, config.classifier_dropout)
    trainable = sum(parameter.numel() for parameter in classifier.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in classifier.parameters())
    logger.info("Built intent classifier: %d trainable of %d parameters, %d labels", trainable, total, num_labels)
    return classifier
