"""The data root and its Delta tables.

Every table lives at ``<home>/<name>`` and is written with ``deltalake``; every write is a new
version. Steps hand each other a :class:`TableRef` (name, uri, version), never a frame, so a
Prefect result stays a few bytes and every number shown to a user can be traced to a version.

The data root is a local folder or an object-store URI (``s3://bucket/prefix``). For object
storage, every connection setting comes from the environment (:func:`storage_options`), never from
code, and what is not a Delta table (models, reports, locks) lives in a local state folder
(:data:`STATE_DIR_ENV`). Concurrent commits to S3 are safe: ``deltalake`` (>= 0.23) writes each
commit file with a conditional put (``If-None-Match: *``), so two writers can never both create
version N; the loser re-reads the log and retries (appends) or raises ``CommitFailedError``
(merges, which :meth:`DataRoot.merge` retries).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.table import TableMerger

from tasks.core import schema
from tasks.core.errors import ConfigError, NotFoundError, TableError

DEFAULT_HOME = ".wellspring"
#: A local (or shared, e.g. NFS) folder for the files an object-store data root cannot hold as Delta
#: tables: models, reports, lock files, ``failures.jsonl``. Unused for a local data root.
STATE_DIR_ENV = "WELLSPRING_STATE_DIR"
#: How often and for how long a storage request that fails (connection refused or reset, 5xx) is
#: retried before the step fails; unset means the client libraries' defaults (10 tries, 180 s).
RETRIES_ENV = "WELLSPRING_STORAGE_RETRIES"
RETRY_TIMEOUT_ENV = "WELLSPRING_STORAGE_RETRY_TIMEOUT_S"

# The standard variables of the AWS SDKs and of ``object_store`` (what deltalake and Polars use),
# passed through as they are. AWS_S3_ALLOW_UNSAFE_RENAME / AWS_CONDITIONAL_PUT /
# AWS_COPY_IF_NOT_EXISTS matter only for S3-compatible stores without conditional writes.
S3_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ALLOW_HTTP",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
    "AWS_CONDITIONAL_PUT",
    "AWS_COPY_IF_NOT_EXISTS",
)
_OBJECT_STORE_SCHEMES = ("s3", "s3a")
# The storage clients' own defaults, used for Wellspring's commit retries when the settings are unset.
_DEFAULT_RETRIES, _DEFAULT_RETRY_TIMEOUT_S = 10, 180.0

# Tables created on object storage forget the application-transaction ids of their commits (see
# :meth:`DataRoot.append`) after a week, so the ids do not pile up in every snapshot of the log.
_REMOTE_TABLE_CONFIGURATION = {"delta.setTransactionRetentionDuration": "interval 7 days"}

T = TypeVar("T")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def is_remote(uri: str | os.PathLike[str]) -> bool:
    """Whether ``uri`` names object storage (``scheme://...``) rather than a local path."""
    return "://" in os.fspath(uri)


def storage_options(uri: str | os.PathLike[str], engine: str = "deltalake") -> dict[str, Any] | None:
    """The connection options for ``uri``, read from the environment; ``None`` for a local path.

    The one place that knows how Wellspring reaches object storage: every ``deltalake`` call, every
    Polars ``scan_delta`` and every input opened from object storage takes its options from here.
    Credentials, region and endpoint are the standard ``AWS_*`` variables (:data:`S3_ENVIRONMENT`);
    retries are :data:`RETRIES_ENV` and :data:`RETRY_TIMEOUT_ENV`. ``engine="polars"`` spells the
    retry settings the way Polars wants them (integers, milliseconds); ``"deltalake"`` as strings.
    Nothing here is ever logged: the result holds secrets.
    """
    text = os.fspath(uri)
    if not is_remote(text):
        return None
    scheme = text.split("://", 1)[0].lower()
    if scheme not in _OBJECT_STORE_SCHEMES:
        raise ConfigError(f"{text}: only s3:// (and S3-compatible servers) is supported as object storage")
    options: dict[str, Any] = {k: os.environ[k] for k in S3_ENVIRONMENT if os.environ.get(k)}
    if "AWS_REGION" not in options and "AWS_DEFAULT_REGION" in options:
        options["AWS_REGION"] = options["AWS_DEFAULT_REGION"]
    retries, timeout = _retry_settings()
    if engine == "polars":
        if retries is not None:
            options["max_retries"] = retries
        if timeout is not None:
            options["retry_timeout_ms"] = int(timeout * 1000)
    else:
        if retries is not None:
            options["max_retries"] = str(retries)
        if timeout is not None:
            options["retry_timeout"] = f"{int(timeout * 1000)}ms"
    return options


def object_filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """A ``pyarrow`` filesystem for the object-store ``uri``, configured from :func:`storage_options`
    (the same settings as the tables), and the path of ``uri`` in it (``bucket/key``)."""
    options = storage_options(uri) or {}
    parts = urlsplit(uri)
    kwargs: dict[str, Any] = {}
    if options.get("AWS_ACCESS_KEY_ID") and options.get("AWS_SECRET_ACCESS_KEY"):
        kwargs.update(access_key=options["AWS_ACCESS_KEY_ID"], secret_key=options["AWS_SECRET_ACCESS_KEY"])
        if options.get("AWS_SESSION_TOKEN"):
            kwargs["session_token"] = options["AWS_SESSION_TOKEN"]
    if options.get("AWS_REGION"):
        kwargs["region"] = options["AWS_REGION"]
    endpoint = options.get("AWS_ENDPOINT_URL_S3") or options.get("AWS_ENDPOINT_URL")
    if endpoint:
        where = urlsplit(endpoint)
        if where.scheme == "http" and options.get("AWS_ALLOW_HTTP", "").lower() != "true":
            raise ConfigError(f"the endpoint {endpoint} is plain http: set AWS_ALLOW_HTTP=true to allow it")
        kwargs.update(endpoint_override=where.netloc, scheme=where.scheme or "https")
    if options.get("max_retries"):
        kwargs["retry_strategy"] = pafs.AwsStandardS3RetryStrategy(max_attempts=int(options["max_retries"]))
    return pafs.S3FileSystem(**kwargs), f"{parts.netloc}{parts.path}".rstrip("/")


def _retry_settings() -> tuple[int | None, float | None]:
    try:
        retries = int(os.environ[RETRIES_ENV]) if os.environ.get(RETRIES_ENV) else None
        timeout = float(os.environ[RETRY_TIMEOUT_ENV]) if os.environ.get(RETRY_TIMEOUT_ENV) else None
    except ValueError as e:
        raise ConfigError(f"{RETRIES_ENV} must be an integer and {RETRY_TIMEOUT_ENV} a number of seconds: {e}") from e
    return retries, timeout


@dataclass(frozen=True)
class DataRoot:
    """The folder (or object-store prefix) that holds every Wellspring table."""

    home: str

    @classmethod
    def at(cls, home: str | os.PathLike[str] | None = None) -> DataRoot:
        root = cls(resolve_home(home))
        if root.is_local:
            Path(root.home).mkdir(parents=True, exist_ok=True)
        else:
            storage_options(root.home)  # an unsupported scheme fails here, not at the first write
        return root

    @property
    def is_local(self) -> bool:
        return not is_remote(self.home)

    @property
    def options(self) -> dict[str, Any] | None:
        """The ``deltalake`` storage options of this root (``None`` when it is a local folder)."""
        return storage_options(self.home)

    def uri(self, table: str) -> str:
        return f"{self.home}/{table}"

    @property
    def has_state_dir(self) -> bool:
        """Whether :meth:`path` works: always for a local root, with :data:`STATE_DIR_ENV` set otherwise."""
        return self.is_local or bool(os.environ.get(STATE_DIR_ENV))

    def state_dir(self) -> Path:
        """The local folder for what is not a Delta table: the data root itself when it is local;
        for object storage ``$WELLSPRING_STATE_DIR/<scheme>/<bucket>/<prefix>`` (created), so one
        state folder can serve several data roots. Raises :class:`ConfigError` naming the setting
        when it is not set."""
        if self.is_local:
            return Path(self.home)
        chosen = os.environ.get(STATE_DIR_ENV)
        if not chosen:
            raise ConfigError(
                f"the data root {self.home} is object storage; models, reports and locks need a local folder: "
                f"set {STATE_DIR_ENV} to one (on a cluster, a folder every worker shares)"
            )
        scheme, rest = self.home.split("://", 1)
        parts = [p for p in rest.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ConfigError(f"the data root {self.home} has '.' or '..' in its path")
        folder = Path(chosen).expanduser().resolve().joinpath(scheme, *parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def path(self, *parts: str) -> Path:
        """A local path for models, reports and locks: inside the data root when it is a local
        folder, inside :meth:`state_dir` when it is object storage."""
        return self.state_dir().joinpath(*parts)

    @property
    def _new_table_configuration(self) -> dict[str, str | None] | None:
        return None if self.is_local else dict(_REMOTE_TABLE_CONFIGURATION)

    def table(self, table: str, version: int | None = None) -> DeltaTable:
        """The ``deltalake`` handle of ``table`` (at ``version``), with this root's storage options."""
        return DeltaTable(self.uri(table), version=version, storage_options=self.options)

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(table), storage_options=self.options)

    def ref(self, table: str) -> TableRef:
        """The latest version of ``table`` (``version=None`` when it does not exist yet)."""
        uri = self.uri(table)
        if not self.exists(table):
            return TableRef(table, uri, None)
        return TableRef(table, uri, self.table(table).version())

    def scan(self, table: str, version: int | None = None) -> pl.LazyFrame:
        """A lazy scan of ``table`` (at ``version``); an empty frame of the right schema if it is absent."""
        uri = self.uri(table)
        if not self.exists(table):
            if version is not None:
                raise NotFoundError(f"table {table} does not exist in {self.home}")
            return pl.LazyFrame(schema=schema.polars_schema(table))
        try:
            if version is not None and self.is_local:
                missing = [f for f in self.table(table, version).file_uris() if not Path(f).exists()]
                if missing:
                    raise NotFoundError(
                        f"{table} version {version} is no longer readable: a purge or vacuum removed "
                        f"{len(missing)} of its files"
                    )
            return _with_known_columns(self._scan_delta(uri, version), table)
        except NotFoundError:
            raise
        except Exception as e:  # deltalake raises several types for a missing version
            if version is not None:
                raise NotFoundError(f"table {table} has no version {version}: {e}") from e
            raise

    def _scan_delta(self, uri: str, version: int | None = None) -> pl.LazyFrame:
        """``pl.scan_delta`` with this root's storage options (Polars spells the retry settings its way)."""
        options = storage_options(uri, engine="polars")
        return (
            pl.scan_delta(uri, version=version, storage_options=options)
            if options
            else pl.scan_delta(uri, version=version)
        )

    def append(
        self,
        table: str,
        data: pa.Table | pa.RecordBatchReader | pl.DataFrame,
        metadata: Mapping[str, str] | None = None,
    ) -> TableRef:
        """Append rows as one commit (safe with concurrent appenders) and return the new version.

        On object storage a commit that fails on a network error is retried (:meth:`_retrying`). The
        commit carries a Delta application transaction with a fresh id, so a retry first asks the
        table whether the failed attempt landed after all (its answer was lost) and never appends
        the rows twice. A streamed ``RecordBatchReader`` cannot be replayed and is written once.
        """
        arrow: pa.Table | pa.RecordBatchReader
        arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
        if isinstance(arrow, pa.Table):
            arrow = schema.conform(arrow, table)
        app_id = f"wellspring-append-{uuid.uuid4()}" if not self.is_local else None

        def write() -> None:
            write_deltalake(
                self.uri(table),
                arrow,
                mode="append",
                partition_by=schema.PARTITIONS.get(table),
                schema_mode="merge",
                commit_properties=commit_properties(metadata, app_id),
                storage_options=self.options,
                configuration=self._new_table_configuration,
                # Bounded row groups let streaming readers (the quality stage) hold one small group at a time.
                writer_properties=WriterProperties(max_row_group_size=16_384),
            )

        def landed() -> bool:
            return app_id is not None and self.exists(table) and self.table(table).transaction_version(app_id) == 1

        replayable = isinstance(arrow, pa.Table)
        self._retrying(f"append to {table}", write, landed if replayable else None, attempts=None if replayable else 1)
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
            stored = self._scan_delta(self.uri(table)).select(key).collect()
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
        re-reading the table each time, so the outcome equals some serial order. ``clauses`` must be
        idempotent (insert if absent, set values): on object storage a merge that fails on a network
        error is redone."""
        arrow = schema.conform(rows.to_arrow(), table)
        uri = self.uri(table)

        def create() -> None:
            if self.exists(table):
                return
            try:
                DeltaTable.create(
                    uri,
                    arrow.schema,
                    partition_by=schema.PARTITIONS.get(table),
                    configuration=self._new_table_configuration,
                    storage_options=self.options,
                )
            except Exception:  # another writer created it first: fine, merge below
                if not self.exists(table):
                    raise

        def execute() -> None:
            merger = self.table(table).merge(
                arrow,
                predicate=predicate,
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                commit_properties=commit_properties(metadata),
            )
            clauses(merger).execute()

        self._retrying(f"create {table}", create)
        for attempt in range(attempts):
            try:
                # The clauses Wellspring merges with are idempotent (insert if absent, set values),
                # so redoing a merge whose commit answer was lost changes nothing.
                self._retrying(f"merge into {table}", execute)
                return self.ref(table)
            except CommitFailedError:
                time.sleep(0.05 * 2**attempt)
        raise TableError(f"could not commit to {table} after {attempts} attempts: another writer keeps winning")

    def _retrying(
        self,
        what: str,
        write: Callable[[], T],
        landed: Callable[[], bool] | None = None,
        attempts: int | None = None,
    ) -> T | None:
        """``write()``, retried on object storage when it fails on a storage error (connection
        refused or reset, timeout, 5xx), with exponential backoff within :data:`RETRIES_ENV` attempts
        and :data:`RETRY_TIMEOUT_ENV` seconds.

        The storage clients retry plain reads and writes themselves, but never a Delta commit: it is
        a conditional put, and after a lost answer nobody knows whether it landed. ``landed()``
        answers that before each retry (``None`` is returned when it did). A local root runs
        ``write()`` once, as before. Gives up with a :class:`TableError` naming the settings.
        """
        if self.is_local:
            return write()
        retries, timeout = _retry_settings()
        tries = attempts if attempts is not None else 1 + (retries if retries is not None else _DEFAULT_RETRIES)
        deadline = time.monotonic() + (timeout if timeout is not None else _DEFAULT_RETRY_TIMEOUT_S)
        delay = 0.2
        for attempt in range(1, tries + 1):
            try:
                return write()
            except OSError as e:  # deltalake's object-store errors
                error = e
            except CommitFailedError:
                # On a retry, the commit we conflict with can be our own earlier attempt whose answer was lost
                # (the landed() check before this attempt may itself have hit the outage).
                if attempt > 1 and landed is not None and landed():
                    return None
                raise
            if attempt == tries or time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            with contextlib.suppress(OSError):
                if landed is not None and landed():
                    return None
        raise TableError(
            f"could not {what} in {self.home} after {attempt} attempt(s): the object store did not answer "
            f"({RETRIES_ENV} / {RETRY_TIMEOUT_ENV} set how long to keep trying): {_plain(error)}"
        ) from error

    @contextlib.contextmanager
    def lock(self, name: str, timeout_s: float = 6 * 3600) -> Iterator[None]:
        """Hold ``<home>/<name>.lock`` so only one process at a time runs a step (e.g. a nightly run).

        Waits up to ``timeout_s`` for the holder; the OS frees the lock if the holder dies, so a
        crash never leaves a stale lock. For an object-store root the lock file is in the state
        folder (:data:`STATE_DIR_ENV`): it serialises the runs that share that folder, and Delta's
        conditional commits keep any others consistent.
        """
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

    def publish(self, folder: Path, name: str) -> str:
        """Copy the finished local ``folder`` (e.g. a build) to ``<home>/<name>/`` and return where
        it is. On object storage ``manifest.json`` is uploaded last, so whoever finds the manifest
        finds every file it lists; a local root keeps the folder where it is."""
        if self.is_local:
            return str(folder.resolve())
        target = self.uri(name.strip("/"))
        fs, base = object_filesystem(target)
        files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: (p.name == "manifest.json", p))
        for path in files:
            key = f"{base}/{path.relative_to(folder).as_posix()}"
            self._retrying(f"upload {key}", lambda path=path, key=key: _upload(fs, path, key))  # type: ignore[misc]
        return target

    def history(self, table: str) -> list[dict[str, Any]]:
        try:
            return self.table(table).history()
        except TableNotFoundError as e:
            raise NotFoundError(f"table {table} does not exist in {self.home}") from e


def _upload(fs: pafs.FileSystem, path: Path, key: str) -> None:
    with open(path, "rb") as source, fs.open_output_stream(key) as sink:
        while block := source.read(1 << 22):
            sink.write(block)


def _plain(error: Exception) -> str:
    """deltalake's multi-line, colour-coded error chain as one plain line."""
    return " ".join(_ANSI.sub("", str(error)).replace("↳", ":").split())


def _with_known_columns(frame: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Add the schema's columns a table written by an older Wellspring lacks, as nulls."""
    if table not in schema.TABLES:
        return frame
    have = set(frame.collect_schema().names())
    missing = [f for f in schema.polars_schema(table).items() if f[0] not in have]
    return frame.with_columns(pl.lit(None, dtype=dtype).alias(name) for name, dtype in missing) if missing else frame


def commit_properties(metadata: Mapping[str, str] | None, app_id: str | None = None) -> CommitProperties | None:
    """Delta commit properties: ``metadata`` in the commit info, and an application transaction
    ``app_id`` (version 1) that lets a retry tell whether this very commit already landed."""
    if not metadata and app_id is None:
        return None
    transactions = [Transaction(app_id, 1)] if app_id is not None else None
    return CommitProperties(custom_metadata=dict(metadata) if metadata else None, app_transactions=transactions)


def versions(refs: Iterable[TableRef]) -> dict[str, int | None]:
    """``{table: version}`` for a run record or a summary."""
    return {r.name: r.version for r in refs}
