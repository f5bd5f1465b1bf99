"""Configuration of provenance scoring; it lives with every other stage config in ``tasks.core.config``."""

from tasks.core.config import ProvenanceConfig

__all__ = ["ProvenanceConfig"]
