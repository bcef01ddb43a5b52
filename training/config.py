"""Configuration of an intent-model training run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from training.device import DEVICE_CHOICES
from training.encoder import DEFAULT_ENCODER
from training.errors import ConfigError

# all-MiniLM-L6-v2 was trained on inputs of at most 256 word pieces, and BERT position embeddings
# stop at 512, so longer windows only cost time.
MAX_SEQUENCE_LENGTH = 512


@dataclass
class TrainConfig:
    """Hyperparameters of the LoRA intent classifier, its calibration and template mining.

    The defaults were tuned for all-MiniLM-L6-v2 on a few hundred to a few thousand short
    customer messages (tens of messages per intent). Every field is checked when the config is
    built, and a bad value raises `ConfigError` naming the field, the value and the allowed range.
    """

    encoder: str = field(
        default=DEFAULT_ENCODER,
        metadata={"help": "Base encoder: a local folder or a Hugging Face model id. The LoRA adapter is trained on top of it."},
    )
    max_length: int = field(
        default=64,
        metadata={"help": "Maximum length of a customer message in word pieces; longer messages are truncated."},
    )
    lora_r: int = field(default=16, metadata={"help": "Rank of the LoRA update matrices."})
    lora_alpha: int = field(
        default=32,
        metadata={"help": "LoRA scaling numerator: the update is scaled by lora_alpha / lora_r."},
    )
    lora_dropout: float = field(
        default=0.1,
        metadata={"help": "Dropout probability on the input of the LoRA matrices during training."},
    )
    target_modules: tuple[str, ...] = field(
        default=("query", "key", "value", "dense"),
        metadata={
            "help": "Names of the encoder's linear layers that get a LoRA adapter. For BERT models 'dense' matches "
            "the attention output and both feed-forward layers."
        },
    )
    learning_rate: float = field(
        default=2e-3,
        metadata={"help": "Peak AdamW learning rate of the LoRA weights."},
    )
    head_learning_rate: float = field(
        default=5e-3,
        metadata={"help": "Peak AdamW learning rate of the linear classification head."},
    )
    epochs: int = field(default=6, metadata={"help": "Number of passes over the training split."})
    min_steps: int = field(
        default=100,
        metadata={
            "help": "Minimum number of optimisation steps. A small training split runs more epochs than `epochs` to "
            "reach it, so the head and the new character embeddings get enough updates."
        },
    )
    batch_size: int = field(default=16, metadata={"help": "Number of messages per optimisation step."})
    weight_decay: float = field(
        default=0.01,
        metadata={"help": "AdamW decoupled weight decay, applied to the LoRA matrices and the head weights (not biases)."},
    )
    warmup_fraction: float = field(
        default=0.1,
        metadata={"help": "Fraction of the optimisation steps during which the learning rate ramps up linearly from 0."},
    )
    classifier_dropout: float = field(
        default=0.1,
        metadata={"help": "Dropout probability on the pooled embedding before the classification head, during training."},
    )
    validation_fraction: float = field(
        default=0.2,
        metadata={
            "help": "Fraction of each intent's examples held out from training. The held-out split calibrates the "
            "confidence threshold and produces metrics.json."
        },
    )
    min_examples_for_validation: int = field(
        default=4,
        metadata={
            "help": "Intents with fewer labelled examples than this are used for training only and get no held-out part."
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed for the split, the weight initialisation and the batch order."})
    target_precision: float = field(
        default=0.9,
        metadata={
            "help": "Precision that the intent predictions accepted for a template reply must reach on the held-out "
            "split. The confidence threshold is the lowest one that reaches it."
        },
    )
    min_threshold: float = field(
        default=0.3,
        metadata={"help": "Lower bound of the calibrated confidence threshold, whatever the held-out split allows."},
    )
    templates_per_intent: int = field(
        default=3,
        metadata={"help": "Maximum number of response templates mined for each intent and language."},
    )
    template_candidates: int = field(
        default=32,
        metadata={
            "help": "Maximum number of distinct agent replies embedded per intent and language when mining templates; "
            "larger groups are sampled with the seed."
        },
    )
    learn_new_characters: bool = field(
        default=True,
        metadata={
            "help": "Add the CJK characters of the training messages that the encoder's vocabulary lacks as new tokens "
            "and train their embeddings. all-MiniLM-L6-v2 knows about 250 CJK characters and reads the rest as [UNK]."
        },
    )
    new_token_learning_rate: float = field(
        default=1e-2,
        metadata={"help": "Peak AdamW learning rate of the embeddings of the characters added as new tokens."},
    )
    max_new_characters: int = field(
        default=4000,
        metadata={"help": "Maximum number of characters added as new tokens, the most frequent first."},
    )
    device: str = field(
        default="auto",
        metadata={"help": "Torch device: 'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'."},
    )
    progress: bool = field(default=True, metadata={"help": "Show tqdm progress bars for training and embedding."})

    def __post_init__(self) -> None:
        # from_dict and JSON give lists, and the dataclass stores a tuple so the config stays hashable.
        if isinstance(self.target_modules, (list, tuple)):
            self.target_modules = tuple(self.target_modules)
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.encoder, str) or not self.encoder.strip():
            raise ConfigError(f"Invalid encoder {self.encoder!r}: expected a local folder or a Hugging Face model id.")
        _check_int(self, "max_length", 8, MAX_SEQUENCE_LENGTH)

        _check_int(self, "lora_r", 1, 1024)
        _check_int(self, "lora_alpha", 1, 4096)
        _check_float(self, "lora_dropout", 0.0, 1.0, high_inclusive=False)
        names = self.target_modules
        if not isinstance(names, tuple) or not names or not all(isinstance(name, str) and name for name in names):
            raise ConfigError(
                f"Invalid target_modules {self.target_modules!r}: expected a non-empty list of layer names "
                "such as ['query', 'value']."
            )

        _check_float(self, "learning_rate", 0.0, 1.0, low_inclusive=False)
        _check_float(self, "head_learning_rate", 0.0, 1.0, low_inclusive=False)
        _check_int(self, "epochs", 1, 1000)
        _check_int(self, "min_steps", 0, 1_000_000)
        _check_int(self, "batch_size", 1, 4096)
        _check_float(self, "weight_decay", 0.0, 1.0)
        _check_float(self, "warmup_fraction", 0.0, 1.0, high_inclusive=False)
        _check_float(self, "classifier_dropout", 0.0, 1.0, high_inclusive=False)

        _check_float(self, "validation_fraction", 0.0, 0.9)
        _check_int(self, "min_examples_for_validation", 2, 1_000_000)
        _check_int(self, "seed", 0, 2**32 - 1)
        _check_float(self, "target_precision", 0.0, 1.0, low_inclusive=False)
        _check_float(self, "min_threshold", 0.0, 1.0)

        _check_int(self, "templates_per_intent", 1, 100)
        _check_int(self, "template_candidates", 1, 100_000)
        if self.template_candidates < self.templates_per_intent:
            raise ConfigError(
                f"Invalid template_candidates {self.template_candidates}: must be at least templates_per_intent "
                f"({self.templates_per_intent})."
            )

        if not isinstance(self.learn_new_characters, bool):
            raise ConfigError(f"Invalid learn_new_characters {self.learn_new_characters!r}: expected true or false.")
        _check_int(self, "max_new_characters", 0, 100_000)
        _check_float(self, "new_token_learning_rate", 0.0, 1.0, low_inclusive=False)

        if not isinstance(self.device, str) or (self.device not in DEVICE_CHOICES and not self.device.startswith("cuda:")):
            raise ConfigError(f"Invalid device {self.device!r}: must be one of {', '.join(DEVICE_CHOICES)} or 'cuda:N'.")
        if not isinstance(self.progress, bool):
            raise ConfigError(f"Invalid progress {self.progress!r}: expected true or false.")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-serialisable dict (tuples become lists)."""
        values = asdict(self)
        values["target_modules"] = list(self.target_modules)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a config from a dict such as `to_dict()` returns; missing keys keep their defaults.

        Raises `ConfigError` when the dict has keys that are not fields, naming them.
        """
        if not isinstance(values, dict):
            raise ConfigError(f"Invalid training config: expected a mapping of field names to values, got {type(values).__name__}.")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown training config keys: {', '.join(unknown)}. Valid keys are: {', '.join(sorted(known))}."
            )
        return cls(**values)


def _check_int(config: TrainConfig, name: str, low: int, high: int) -> None:
    value = getattr(config, name)
    # bool is a subclass of int, but `epochs: true` in a config file is a mistake.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"Invalid {name} {value!r}: must be an integer from {low} to {high}.")


def _check_float(
    config: TrainConfig,
    name: str,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    value = getattr(config, name)
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    above_low = is_number and (value >= low if low_inclusive else value > low)
    below_high = is_number and (value <= high if high_inclusive else value < high)
    if not (above_low and below_high):
        interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
        raise ConfigError(f"Invalid {name} {value!r}: must be a number in {interval}.")
