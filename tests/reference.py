"""The nightly stages run directly on the core library: the reference flow-level tests compare against."""

from tasks.core.pipeline import curate_inbox

__all__ = ["curate_inbox"]
