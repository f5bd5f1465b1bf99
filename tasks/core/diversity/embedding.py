"""Optional representation: a local sentence-transformers model (the ``embeddings`` extra).

Nothing on the default path imports this module, and importing it loads nothing: the encoder
library is imported on first use, so the core stays importable without it. The model is loaded
with ``local_files_only=True``, so it must already be on disk; the pipeline never downloads.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from tasks.core.diversity.representation import DiversityError, Texts, as_series

EMBEDDING_BACKEND = "embedding"


class SentenceEmbedding:
    """Unit-norm sentence embeddings from a local sentence-transformers model."""

    backend = EMBEDDING_BACKEND

    def __init__(self, model: str, batch_size: int = 64, device: str = "cpu") -> None:
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self._encoder: Any = None

    def _load(self) -> Any:
        if self._encoder is None:
            try:
                module = importlib.import_module("sentence_transformers")
            except ImportError as e:
                raise DiversityError(
                    "the embedding backend needs the optional 'embeddings' extra (sentence-transformers)"
                ) from e
            try:
                self._encoder = module.SentenceTransformer(self.model, device=self.device, local_files_only=True)
            except OSError as e:
                raise DiversityError(f"embedding model {self.model} is not available locally: {e}") from e
        return self._encoder

    def fit(self, texts: Texts) -> SentenceEmbedding:
        """Nothing to learn: a pretrained encoder. Loads it so a missing model fails early."""
        self._load()
        return self

    def transform(self, texts: Texts) -> np.ndarray:
        vectors = self._load().encode(
            as_series(texts).to_list(),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
