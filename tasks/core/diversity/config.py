"""Configuration of the diversity stage; it lives with every other stage config in ``tasks.core.config``."""

from tasks.core.config import DiversityConfig

__all__ = ["DiversityConfig"]
