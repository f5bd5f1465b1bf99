"""The data root and its Delta tables.

Every table lives at ``<home>/<name>`` and is written with ``deltalake``; every write is a new
version. Steps hand each other a :class:`TableRef` (name, uri, version), never a frame, so a
Prefect result stays a few bytes and every number shown to a user can be traced to a version.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.table import TableMerger

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
            if version is not None and self.is_local:
                missing = [f for f in DeltaTable(uri, version=version).file_uris() if not Path(f).exists()]
                if missing:
                    raise NotFoundError(
                        f"{table} version {version} is no longer readable: a purge or vacuum removed "
                        f"{len(missing)} of its files"
                    )
            return _with_known_columns(pl.scan_delta(uri, version=version), table)
        except NotFoundError:
            raise
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
            commit_properties=commit_properties(metadata),
            # Bounded row groups let streaming readers (the quality stage) hold one small group at a time.
            writer_properties=WriterProperties(max_row_group_size=16_384),
        )
        return self.ref(table)

    def insert_new(
        self, table: str, rows: pl.DataFrame, key: str, metadata: Mapping[str, str] | None = None
    ) -> TableRef:
        """Insert rows whose ``key`` is not yet in ``table`` (idempotent).

        Locally: under ``<home>/<table>.insert.lock``, read only the stored ``key`` column, anti-join,
        and append the rest. A Delta merge would scan and join every column of the whole table (at 1M
        reservoir rows: ~10x slower and ~3x the memory). The lock keeps concurrent inserters from both
        appending one key; object stores have no lock, so they keep the merge and its conflict retries.
        """
        predicate = f"t.{key} = s.{key}"
        if not self.is_local:
            return self.merge(table, rows, predicate, lambda m: m.when_not_matched_insert_all(), metadata)
        with self.lock(f"{table}.insert"):
            if not self.exists(table):  # the first insert creates the table (version 0), as before
                return self.merge(table, rows, predicate, lambda m: m.when_not_matched_insert_all(), metadata)
            stored = pl.scan_delta(self.uri(table)).select(key).collect()
            new = rows.join(stored, on=key, how="anti")
            return self.append(table, new, metadata) if new.height else self.ref(table)

    def merge(
        self,
        table: str,
        rows: pl.DataFrame,
        predicate: str,
        clauses: Callable[[TableMerger], TableMerger],
        metadata: Mapping[str, str] | None = None,
        attempts: int = 8,
    ) -> TableRef:
        """A Delta merge of ``rows`` (alias ``s``) into ``table`` (alias ``t``), creating the table if
        needed. Concurrent merges conflict; a conflicting commit is retried with exponential backoff,
        re-reading the table each time, so the outcome equals some serial order."""
        arrow = schema.conform(rows.to_arrow(), table)
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            try:
                DeltaTable.create(uri, arrow.schema, partition_by=schema.PARTITIONS.get(table))
            except Exception:  # another writer created it first: fine, merge below
                if not DeltaTable.is_deltatable(uri):
                    raise
        for attempt in range(attempts):
            try:
                merger = DeltaTable(uri).merge(
                    arrow,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    merge_schema=True,
                    commit_properties=commit_properties(metadata),
                )
                clauses(merger).execute()
                return self.ref(table)
            except CommitFailedError:
                time.sleep(0.05 * 2**attempt)
        raise TableError(f"could not commit to {table} after {attempts} attempts: another writer keeps winning")

    @contextlib.contextmanager
    def lock(self, name: str, timeout_s: float = 6 * 3600) -> Iterator[None]:
        """Hold ``<home>/<name>.lock`` so only one process at a time runs a step (e.g. a nightly run).

        Waits up to ``timeout_s`` for the holder; the OS frees the lock if the holder dies, so a
        crash never leaves a stale lock. Object-store roots rely on Delta's conflict retries instead.
        """
        if not self.is_local:
            yield
            return
        with open(self.path(f"{name}.lock"), "a+") as fh:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TableError(
                            f"another {name} run holds {fh.name} for more than {timeout_s:.0f} s; "
                            "wait for it or stop it"
                        ) from None
                    time.sleep(0.5)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def history(self, table: str) -> list[dict[str, Any]]:
        try:
            return DeltaTable(self.uri(table)).history()
        except TableNotFoundError as e:
            raise NotFoundError(f"table {table} does not exist in {self.home}") from e


def _with_known_columns(frame: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Add the schema's columns a table written by an older Wellspring lacks, as nulls."""
    if table not in schema.TABLES:
        return frame
    have = set(frame.collect_schema().names())
    missing = [f for f in schema.polars_schema(table).items() if f[0] not in have]
    return frame.with_columns(pl.lit(None, dtype=dtype).alias(name) for name, dtype in missing) if missing else frame


def commit_properties(metadata: Mapping[str, str] | None) -> CommitProperties | None:
    return CommitProperties(custom_metadata=dict(metadata)) if metadata else None


def versions(refs: Iterable[TableRef]) -> dict[str, int | None]:
    """``{table: version}`` for a run record or a summary."""
    return {r.name: r.version for r in refs}
