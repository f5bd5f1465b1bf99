"""How a run is placed: the execution settings and the band partitions a run of many shards gets."""

from __future__ import annotations

import pytest

from tasks.core.cluster import PARTITIONS_ENV, SHARDS_PER_PARTITION, WORKERS_ENV, resolve_execution
from tasks.core.errors import ConfigError


def test_band_partitions_grow_with_the_shards_so_a_partition_stays_a_few_shards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PARTITIONS_ENV, raising=False)
    execution = resolve_execution(workers=2)
    assert execution.partitions == 4  # twice the local workers
    assert execution.band_partitions(3) == 4  # a small run: the configured number
    assert execution.band_partitions(31) == 8  # 1M documents in 31 shards: a partition is at most 4 shards
    for shards in (1, 17, 100, 30_000):
        partitions = execution.band_partitions(shards)
        assert partitions >= 4 and partitions * SHARDS_PER_PARTITION >= shards
        assert partitions == execution.band_partitions(shards)  # the plan alone decides: a resume agrees


def test_execution_settings_come_from_the_environment_and_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKERS_ENV, "3")
    monkeypatch.setenv(PARTITIONS_ENV, "12")
    execution = resolve_execution()
    assert execution.on_dask and execution.workers == 3 and execution.band_partitions(10) == 12
    monkeypatch.setenv(PARTITIONS_ENV, "zero")
    with pytest.raises(ConfigError, match="WELLSPRING_BAND_PARTITIONS must be a whole number"):
        resolve_execution()
    with pytest.raises(ConfigError, match="not both"):
        resolve_execution(address="tcp://127.0.0.1:8786", workers=2)
