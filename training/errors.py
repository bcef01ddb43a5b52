"""The one exception family of the project.

Every error the project raises on purpose derives from `ChatbotError` and from the built-in
exception that fits, so callers can catch either.
"""


class ChatbotError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(ChatbotError, ValueError):
    """A configuration value is invalid; the message names the field, the value and the allowed range."""


class DataError(ChatbotError, ValueError):
    """Input data is unusable; the message names the file (and row or field) and the fix."""


class DataFileNotFoundError(ChatbotError, FileNotFoundError):
    """An input file or folder does not exist."""


class ArtifactError(ChatbotError, RuntimeError):
    """A trained model or index folder is missing a file, is corrupt, or does not match its runtime."""


class IndexMismatchError(ArtifactError):
    """An index is loaded with a different embedder than the one that built it."""


class MissingDependencyError(ChatbotError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""
