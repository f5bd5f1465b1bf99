"""The data root and its Delta tables.

Every table lives at ``<home>/<name>`` and is written with ``deltalake``; every write is a new
version. Steps hand each other a :class:`TableRef` (name, uri, version), never a frame, so a
Prefect result stays a few bytes and every number shown to a user can be traced to a version.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from tasks.core import schema
from tasks.core.errors import NotFoundError, TableError

DEFAULT_HOME = ".wellspring"


@dataclass(frozen=True)
class TableRef:
    """A pointer to one version of one table: what steps pass each other."""

    name: str
    uri: str
    version: int | None  # None: the table does not exist yet

    def __str__(self) -> str:
        return f"{self.name}@v{self.version}" if self.version is not None else f"{self.name}@(none)"


def resolve_home(home: str | os.PathLike[str] | None = None) -> str:
    """The data root: ``home`` if given, else ``$WELLSPRING_HOME``, else ``./.wellspring``."""
    chosen = os.fspath(home) if home is not None else os.environ.get("WELLSPRING_HOME", DEFAULT_HOME)
    if "://" in chosen:
        return chosen.rstrip("/")
    return str(Path(chosen).expanduser().resolve())


@dataclass(frozen=True)
class DataRoot:
    """The folder (or object-store prefix) that holds every Wellspring table."""

    home: str

    @classmethod
    def at(cls, home: str | os.PathLike[str] | None = None) -> DataRoot:
        root = cls(resolve_home(home))
        if "://" not in root.home:
            Path(root.home).mkdir(parents=True, exist_ok=True)
        return root

    @property
    def is_local(self) -> bool:
        return "://" not in self.home

    def uri(self, table: str) -> str:
        return f"{self.home}/{table}"

    def path(self, *parts: str) -> Path:
        """A local folder inside the data root (models, reports)."""
        if not self.is_local:
            raise TableError(f"{self.home} is not a local folder")
        return Path(self.home, *parts)

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(table))

    def ref(self, table: str) -> TableRef:
        """The latest version of ``table`` (``version=None`` when it does not exist yet)."""
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            return TableRef(table, uri, None)
        return TableRef(table, uri, DeltaTable(uri).version())

    def scan(self, table: str, version: int | None = None) -> pl.LazyFrame:
        """A lazy scan of ``table`` (at ``version``); an empty frame of the right schema if it is absent."""
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            if version is not None:
                raise NotFoundError(f"table {table} does not exist in {self.home}")
            return pl.LazyFrame(schema=schema.polars_schema(table))
        try:
            return pl.scan_delta(uri, version=version)
        except Exception as e:  # deltalake raises several types for a missing version
            if version is not None:
                raise NotFoundError(f"table {table} has no version {version}: {e}") from e
            raise

    def append(
        self,
        table: str,
        data: pa.Table | pa.RecordBatchReader | pl.DataFrame,
        metadata: Mapping[str, str] | None = None,
    ) -> TableRef:
        """Append rows as one commit (safe with concurrent appenders) and return the new version."""
        arrow: pa.Table | pa.RecordBatchReader
        arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
        if isinstance(arrow, pa.Table):
            arrow = schema.conform(arrow, table)
        write_deltalake(
            self.uri(table),
            arrow,
            mode="append",
            partition_by=schema.PARTITIONS.get(table),
            schema_mode="merge",
            commit_properties=_commit(metadata),
        )
        return self.ref(table)

    def insert_new(
        self, table: str, rows: pl.DataFrame, key: str, metadata: Mapping[str, str] | None = None
    ) -> TableRef:
        """Insert rows whose ``key`` is not yet in ``table`` (an idempotent merge), retrying conflicts."""
        arrow = schema.conform(rows.to_arrow(), table)
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            try:
                write_deltalake(uri, arrow.slice(0, 0), mode="append", partition_by=schema.PARTITIONS.get(table))
            except Exception:  # another writer created it first: fine, merge below
                if not DeltaTable.is_deltatable(uri):
                    raise
        for attempt in range(8):
            try:
                (
                    DeltaTable(uri)
                    .merge(
                        arrow,
                        predicate=f"t.{key} = s.{key}",
                        source_alias="s",
                        target_alias="t",
                        commit_properties=_commit(metadata),
                    )
                    .when_not_matched_insert_all()
                    .execute()
                )
                return self.ref(table)
            except CommitFailedError:
                time.sleep(0.05 * 2**attempt)
        raise TableError(f"could not commit to {table} after 8 attempts: another writer keeps winning")

    def history(self, table: str) -> list[dict[str, object]]:
        try:
            return DeltaTable(self.uri(table)).history()
        except TableNotFoundError as e:
            raise NotFoundError(f"table {table} does not exist in {self.home}") from e


def _commit(metadata: Mapping[str, str] | None) -> CommitProperties | None:
    return CommitProperties(custom_metadata=dict(metadata)) if metadata else None


def versions(refs: Iterable[TableRef]) -> dict[str, int | None]:
    """``{table: version}`` for a run record or a summary."""
    return {r.name: r.version for r in refs}
