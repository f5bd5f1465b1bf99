"""One small exception hierarchy for everything Wellspring raises on purpose.

The CLI turns a ``WellspringError`` into a one-line message and exit code 1; anything
else is a bug and keeps its traceback.
"""


class WellspringError(Exception):
    """Base class of every expected Wellspring failure."""


class ConfigError(WellspringError):
    """A configuration file or value is invalid."""


class SchemaError(WellspringError):
    """A frame or table does not have the columns or types a step needs."""


class InputError(WellspringError):
    """An input path cannot be read at all (missing, unreadable, nothing usable)."""


class TableError(WellspringError):
    """A Delta table is missing, at an unknown version, or cannot be written."""


class NotFoundError(WellspringError):
    """A document, run, build or version that was asked for does not exist."""
