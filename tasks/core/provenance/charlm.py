"""A character n-gram language model of *human* text, and two features of how a text sits in it.

Machine text tends to be more uniform than human text: its surprise under a model of human
writing varies less from passage to passage, and it rarely uses a character sequence that human
text makes unlikely. The model is a hashed character 1-5-gram count table (lower-cased UTF-8
bytes, ``2**bits`` slots) with recursive Dirichlet smoothing: ``p_k = (c(gram) + a * p_{k-1}) /
(c(context) + a)``, down to add-one on single bytes. Pure numpy, one pass over the text.

The two features (``features``):

- ``window_spread``: the standard deviation, across 128-character windows, of the mean log
  probability per character: how uneven the text's surprise is.
- ``rare_rate``: the share of characters the model gives probability below 1%.

The mean log probability itself (perplexity) is left out on purpose: it mostly says "looks like the
training sources", so it helped unseen man pages and hurt unseen spam mail (leave-one-out ROC-AUC
0.834 instead of 0.851 on ``source:spamassassin``; see ``benchmarks/provenance.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORDER = 5
_HASH_STEP = np.uint64(1_000_003)
_HASH_MIX = np.uint64(0x9E3779B97F4A7C15)
FEATURE_NAMES = ("window_spread", "rare_rate")
#: texts scored per pass: every character costs ~100 bytes of temporaries, so memory stays bounded
CHUNK = 1000


def _encode(texts: list[str], pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All texts as one byte stream (+1, so 0 is free for the padding that separates them).

    Returns the stream, the text index of every position, and a mask of real (non-padding) positions.
    """
    encoded = [np.frombuffer(t.lower().encode("utf-8", "replace"), dtype=np.uint8) for t in texts]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)
    stream = np.zeros(int(lengths.sum()) + pad * len(texts), dtype=np.uint64)
    starts = np.cumsum(np.r_[0, lengths[:-1] + pad]) + pad if len(texts) else np.zeros(0, np.int64)
    real = np.zeros(len(stream), dtype=bool)
    owner = np.repeat(np.arange(len(texts)), lengths + pad)
    for start, b in zip(starts, encoded, strict=True):
        stream[start : start + len(b)] = b.astype(np.uint64) + np.uint64(1)
        real[start : start + len(b)] = True
    return stream, owner, real


def _gram_slots(stream: np.ndarray, bits: int) -> list[np.ndarray]:
    """``slots[k - 1][i]``: the table slot of the k-gram ending at position ``i``, for k = 1..ORDER."""
    slots = []
    h = np.zeros(len(stream), dtype=np.uint64)
    shift = np.uint64(64 - bits)
    for k in range(1, ORDER + 1):
        back = np.zeros(len(stream), dtype=np.uint64)
        back[k - 1 :] = stream[: len(stream) - k + 1]
        h = h * _HASH_STEP + back + np.uint64(k)  # the order is part of the key: k-grams never share slots by design
        slots.append(((h * _HASH_MIX) >> shift).astype(np.int64))
    return slots


@dataclass
class CharNgramCounts:
    """Hashed character 1-5-gram counts of a set of texts."""

    counts: np.ndarray
    total: float

    @classmethod
    def of(cls, texts: list[str], bits: int) -> CharNgramCounts:
        stream, _, real = _encode(texts, ORDER - 1)
        counts = np.zeros(1 << bits, dtype=np.float64)
        for slot in _gram_slots(stream, bits):
            counts += np.bincount(slot[real], minlength=1 << bits)
        return cls(counts, float(real.sum()))

    def without(self, other: CharNgramCounts) -> CharNgramCounts:
        """These counts minus ``other``'s (a subset of the same texts): a model that did not see them."""
        return CharNgramCounts(self.counts - other.counts, self.total - other.total)

    def features(self, texts: list[str], window: int, smoothing: float, rare: float) -> np.ndarray:
        """``(len(texts), 2)``: window_spread and rare_rate of every text (0 for an empty text)."""
        parts = [self._features(texts[i : i + CHUNK], window, smoothing, rare) for i in range(0, len(texts), CHUNK)]
        return np.concatenate(parts) if parts else np.zeros((0, 2))

    def _features(self, texts: list[str], window: int, smoothing: float, rare: float) -> np.ndarray:
        n = len(texts)
        bits = int(np.log2(len(self.counts)))
        stream, owner, real = _encode(texts, ORDER - 1)
        slots = _gram_slots(stream, bits)
        p = (self.counts[slots[0]] + 1.0) / (self.total + 256.0)
        for k in range(1, ORDER):
            # the context of the (k+1)-gram ending at i is the k-gram ending at i - 1
            context = np.r_[0.0, self.counts[slots[k - 1]][:-1]]
            p = (self.counts[slots[k]] + smoothing * p) / (context + smoothing)
        logp = np.log(p[real])
        owner = owner[real]
        chars = np.bincount(owner, minlength=n).astype(np.float64)
        rare_rate = np.bincount(owner, (logp < np.log(rare)).astype(np.float64), minlength=n) / np.maximum(chars, 1)
        # window index of every character: position within its text // window, numbered across texts
        first = np.r_[0, np.cumsum(chars[:-1])].astype(np.int64)
        position = np.arange(len(owner)) - first[owner]
        windows_per_text = (chars.astype(np.int64) + window - 1) // window
        window_start = np.r_[0, np.cumsum(windows_per_text[:-1])].astype(np.int64)
        window_id = window_start[owner] + position // window
        total_windows = int(windows_per_text.sum())
        window_mean = np.bincount(window_id, logp, minlength=total_windows) / np.maximum(
            np.bincount(window_id, minlength=total_windows), 1
        )
        window_owner = np.repeat(np.arange(n), windows_per_text)
        per_text = np.maximum(windows_per_text, 1).astype(np.float64)
        m1 = np.bincount(window_owner, window_mean, minlength=n) / per_text
        m2 = np.bincount(window_owner, window_mean**2, minlength=n) / per_text
        spread = np.sqrt(np.maximum(m2 - m1**2, 0.0))
        return np.c_[spread, rare_rate]
