"""Where a nightly run executes: in this process (the default) or on a Dask cluster.

Resolved from the flow's arguments, else the environment:

- ``WELLSPRING_DASK_ADDRESS``: an existing scheduler (``tcp://host:8786``);
- ``WELLSPRING_DASK_WORKERS``: start a local cluster of that many worker processes;
- ``WELLSPRING_SHARD_BYTES``: the bound on a shard's total input size (default 256 MiB);
- ``WELLSPRING_BAND_PARTITIONS``: LSH band partitions of the near-dedup step, at least (default: twice
  the local workers, or 8 on an existing scheduler); a run of many shards uses more, see
  :meth:`Execution.band_partitions`.

Neither an address nor workers: the single-process path, whose results the cluster path equals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tasks.core.errors import ConfigError
from tasks.core.shards import DEFAULT_SHARD_BYTES

ADDRESS_ENV = "WELLSPRING_DASK_ADDRESS"
WORKERS_ENV = "WELLSPRING_DASK_WORKERS"
SHARD_BYTES_ENV = "WELLSPRING_SHARD_BYTES"
PARTITIONS_ENV = "WELLSPRING_BAND_PARTITIONS"
SHARDS_PER_PARTITION = 4
"""A band partition holds the band rows of about this many shards' documents: what bounds the memory of
its task (at 1M documents in 2 partitions it peaked at 2.1 GB, against 0.9 GB for any per-shard task).
More partitions mean more scratch files (shards x partitions), so not one per shard."""


@dataclass(frozen=True)
class Execution:
    """How to run: ``address`` or ``workers`` (a Dask cluster) or neither (this process)."""

    address: str | None = None
    workers: int | None = None
    shard_bytes: int = DEFAULT_SHARD_BYTES
    partitions: int = 8

    @property
    def on_dask(self) -> bool:
        return self.address is not None or self.workers is not None

    def band_partitions(self, shards: int) -> int:
        """The band partitions of a run of ``shards`` shards: the configured number, or one per
        :data:`SHARDS_PER_PARTITION` shards when that is more. It depends on the shard plan alone, so a
        resumed run uses the same number."""
        return max(self.partitions, -(-shards // SHARDS_PER_PARTITION))


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"${name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"${name} must be at least 1, got {number}")
    return number


def resolve_execution(
    address: str | None = None,
    workers: int | None = None,
    shard_bytes: int | None = None,
    partitions: int | None = None,
) -> Execution:
    """The execution the arguments ask for, falling back on the environment (see the module doc)."""
    if address and workers:
        raise ConfigError("give either a Dask scheduler address or a number of local workers, not both")
    if not address and not workers:
        address = os.environ.get(ADDRESS_ENV, "").strip() or None
        workers = None if address else _int_env(WORKERS_ENV)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if address is not None and "://" not in address:
        raise ConfigError(f"a Dask scheduler address looks like tcp://host:8786, got {address!r}")
    shard_bytes = shard_bytes or _int_env(SHARD_BYTES_ENV) or DEFAULT_SHARD_BYTES
    partitions = partitions or _int_env(PARTITIONS_ENV) or (2 * workers if workers else 8)
    return Execution(address, workers, shard_bytes, partitions)
