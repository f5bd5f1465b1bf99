"""Object-storage settings from a Prefect ``Secret`` block, for data roots and inboxes on ``s3://``.

``tasks/core/storage.py`` reads the standard ``AWS_*`` environment variables and nothing else. Teams that
keep credentials in Prefect instead save them once as a ``Secret`` block holding a JSON object of those
variables::

    from prefect.blocks.system import Secret
    Secret(value={"AWS_ACCESS_KEY_ID": "...", "AWS_SECRET_ACCESS_KEY": "...", "AWS_REGION": "eu-west-1"}).save(
        "wellspring-s3"
    )

and name it with the flows' ``storage_block`` parameter (a deployment parameter) or
``$WELLSPRING_STORAGE_BLOCK``. At the start of the flow run its values are put into the run's environment,
where they take precedence over variables already set: naming a block is the more explicit choice. The
values are never logged, returned or written to an artifact; only the block's name and the variable names
are.
"""

from __future__ import annotations

import os
from typing import Any

from tasks.core.errors import ConfigError
from tasks.core.storage import S3_ENVIRONMENT

STORAGE_BLOCK_ENV = "WELLSPRING_STORAGE_BLOCK"


def apply_storage_block(name: str | None = None) -> list[str]:
    """Load the ``Secret`` block ``name`` (default ``$WELLSPRING_STORAGE_BLOCK``; neither: do nothing) into
    ``os.environ``; return the variable names it set. A missing block, a value that is not a JSON object, or
    a key outside :data:`~tasks.core.storage.S3_ENVIRONMENT` is a :class:`ConfigError` naming the block."""
    name = name or os.environ.get(STORAGE_BLOCK_ENV) or None
    if name is None:
        return []
    from prefect.blocks.system import Secret

    try:
        block: Any = Secret.load(name)  # sync_compatible: typed as a possible coroutine
    except ValueError as e:  # Prefect's answer for a block that does not exist
        raise ConfigError(f"storage block {name!r}: {str(e).splitlines()[0]}") from None
    value: Any = block.get()
    if not isinstance(value, dict):
        raise ConfigError(
            f"storage block {name!r} must hold a JSON object of AWS_* settings, got {type(value).__name__}"
        )
    unknown = sorted(set(value) - set(S3_ENVIRONMENT))
    if unknown:
        raise ConfigError(
            f"storage block {name!r}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(S3_ENVIRONMENT)}"
        )
    os.environ.update({key: str(v) for key, v in value.items()})
    print(f"object-storage settings from storage block {name!r}: {', '.join(sorted(value))}")  # names only
    return sorted(value)
