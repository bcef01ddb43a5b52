"""Pick the torch device and dtype for training and serving."""

from __future__ import annotations

import logging

import torch

from training.errors import ConfigError

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def select_device(preference: str = "auto") -> torch.device:
    """Return CUDA when it is available and allowed by `preference`, else the CPU."""
    if preference not in DEVICE_CHOICES and not preference.startswith("cuda:"):
        raise ConfigError(f"Invalid device {preference!r}. Must be one of {', '.join(DEVICE_CHOICES)} or 'cuda:N'.")
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda" if preference == "auto" else preference)
    if preference != "auto":
        raise ConfigError(f"Device {preference!r} was requested but torch.cuda.is_available() is False. Use 'auto' or 'cpu'.")
    return torch.device("cpu")


def inference_dtype(device: torch.device) -> torch.dtype:
    """Return float16 on CUDA (half the memory, faster matmuls) and float32 on the CPU."""
    return torch.float16 if device.type == "cuda" else torch.float32
