"""Settings of the chat UI and its web server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from training.errors import ConfigError
from ui.strings import DEFAULT_LANGUAGE, normalize_language

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


@dataclass
class UIConfig:
    """Settings of the chat UI. `launch()` and `build_app()` take the same names as keyword arguments."""

    host: str = field(
        default=DEFAULT_HOST,
        metadata={
            "help": "Address the web server listens on. 127.0.0.1 serves only this machine (put a reverse "
            "proxy in front); 0.0.0.0 serves every network interface."
        },
    )
    port: int = field(default=DEFAULT_PORT, metadata={"help": "TCP port of the web server, 1 to 65535."})
    language: str = field(
        default=DEFAULT_LANGUAGE,
        metadata={"help": "Language of the page text, one of ui.strings.SUPPORTED_LANGUAGES ('en', 'zh-CN')."},
    )
    title: str | None = field(
        default=None,
        metadata={"help": "Page heading and browser tab title. None uses the default title of the language."},
    )
    show_diagnostics: bool = field(
        default=False,
        metadata={"help": "Show the reply kind, intent, confidence and reason under each bot reply, for operators."},
    )
    max_message_chars: int = field(
        default=2000,
        metadata={"help": "Maximum length of a customer message, in characters, 1 to 100000."},
    )
    concurrency_limit: int = field(
        default=1,
        metadata={
            "help": "Maximum number of messages passed to the chat service at the same time, 1 to 64. "
            "Raise it only when the service is thread-safe."
        },
    )

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError(
                f"Invalid ui.host {self.host!r}. Must be a host name or IP address such as 127.0.0.1."
            )
        _check_int_range("ui.port", self.port, 1, 65535)
        self.language = normalize_language(self.language)
        if self.title is not None and not self.title.strip():
            raise ConfigError(
                f"Invalid ui.title {self.title!r}. Must be a non-empty string, or None for the default title."
            )
        _check_int_range("ui.max_message_chars", self.max_message_chars, 1, 100_000)
        _check_int_range("ui.concurrency_limit", self.concurrency_limit, 1, 64)

    @property
    def is_loopback(self) -> bool:
        """Whether `host` accepts connections from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _check_int_range(name: str, value: object, low: int, high: int) -> None:
    # bool is a subclass of int, so `port: true` in a config file would pass a plain isinstance check.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"Invalid {name} {value!r}. Must be an integer from {low} to {high}.")
