"""Language identification with py3langid, whose model ships inside the wheel (no downloads)."""

from __future__ import annotations

from collections.abc import Sequence

import py3langid


def identify(texts: Sequence[str], chars: int = 400) -> list[str]:
    """ISO 639-1 codes for ``texts``, judged on their first ``chars`` characters.

    A prefix keeps the cost per document flat (py3langid is linear in length and the prefix of
    a document is as telling as its whole for this model).
    """
    return [py3langid.classify(t[:chars])[0] for t in texts]
