"""Map raw reader fields onto the canonical columns, validate them, and build Arrow batches.

Two ways in, with the same result: :meth:`BatchBuilder.add` takes one record (a field dict), and
:meth:`BatchBuilder.add_columns` a whole block read column-wise (Parquet batches, JSON Lines blocks).
The block path maps and validates with Arrow / Polars column operations; only building ``meta``
(a JSON object, merged from the declared ``meta`` and the unmapped fields) stays per row, and rows
that fail validation go through :meth:`~BatchBuilder.add` so their rejection is exactly the
per-record one. Blocks whose column types the fast path cannot reproduce exactly (numbers as
canonical columns, per-source field maps ...) go through :meth:`~BatchBuilder.add` row by row.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
import polars as pl
import pyarrow as pa

from tasks.core import schema
from tasks.core.clean.langid import identify
from tasks.core.clean.normalize import dedup_key_series, doc_ids, normalized_text_series
from tasks.core.config import FieldMap, IngestConfig
from tasks.core.ingest.items import Columns, Fields, Rejection, original_bytes

_SCALAR_COLUMNS = ("source", "url", "fetched_at", "created_at", "license", "lang")
_COLUMNS = ("position", "text", *_SCALAR_COLUMNS, "meta")
_FRAME_SCHEMA = {k: (pl.Int64 if k == "position" else pl.String) for k in _COLUMNS}
_DOMAIN = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?([^:/?#]+)"
# Python's ``str.strip()`` whitespace is Unicode White_Space plus U+001C..U+001F: a text is empty for
# the per-record check exactly when it matches this (checked against every code point in the tests).
_BLANK = r"^[\s\x1c-\x1f]*$"
_STRING_TYPES = (pa.string(), pa.large_string(), pa.null())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    for name in names:
        if name in fields and fields[name] is not None:
            return name, fields[name]
    return None, None


class BatchBuilder:
    """Collects validated records for one input file and turns them into ``raw`` table batches."""

    def __init__(self, cfg: IngestConfig, run_id: str, input_name: str, input_sha256: str, default_source: str):
        self.cfg = cfg
        self.run_id = run_id
        self.input_name = input_name
        self.record_prefix = input_sha256[:16]
        self.default_source = default_source
        self._columns: dict[str, list[Any]] = {}
        self._chunks: list[pl.DataFrame] = []
        self._chunk_rows = 0
        self.text_bytes = 0  # about: what the next flush holds, to flush long documents sooner
        self._reset()

    def _reset(self) -> None:
        self._columns = {name: [] for name in _COLUMNS}

    def __len__(self) -> int:
        return self._chunk_rows + len(self._columns["position"])

    def _seal(self) -> None:
        """Move the records added one by one into a chunk, so that a block can follow them in order."""
        if self._columns["position"]:
            self._append_chunk(pl.DataFrame(self._columns, schema=_FRAME_SCHEMA), counted=False)
            self._reset()

    def _append_chunk(self, chunk: pl.DataFrame, counted: bool = True) -> None:
        if chunk.height:
            self._chunks.append(chunk)
            self._chunk_rows += chunk.height
            if counted:
                self.text_bytes += int(chunk["text"].str.len_bytes().sum() or 0)

    def add(self, item: Fields) -> Rejection | None:
        """Validate one record and keep it, or return why it is rejected."""
        fields = item.fields
        fmap: FieldMap = self.cfg.field_map(_as_text(fields.get("source")) or self.default_source)
        text_key, text = _first(fields, fmap.text)
        problem = self._text_problem(text_key, text, fmap)
        if problem is not None:
            reason, message = problem
            return Rejection(item.position, reason, message, original_bytes(fields, self.cfg.quarantine_keep_bytes))
        used = {text_key}
        scalars = []
        try:
            for column in _SCALAR_COLUMNS:
                key, value = _first(fields, getattr(fmap, column))
                used.add(key)
                scalars.append(_as_text(value))
            meta = self._meta(fields, used)
        except orjson.JSONEncodeError as e:  # nesting deeper than orjson's 254 levels, or a key that is not UTF-8
            reason = "invalid_utf8" if "surrogates" in str(e) else "invalid_json"
            return Rejection(
                item.position,
                reason,
                f"a field cannot be stored as JSON: {e}",
                original_bytes(fields, self.cfg.quarantine_keep_bytes),
            )
        columns = self._columns
        columns["position"].append(item.position)
        columns["text"].append(text)
        self.text_bytes += len(text)
        for column, value in zip(_SCALAR_COLUMNS, scalars, strict=True):
            columns[column].append(value)
        if columns["source"][-1] is None:
            columns["source"][-1] = self.default_source
        columns["meta"].append(meta)
        return None

    def _text_problem(self, key: str | None, text: Any, fmap: FieldMap) -> tuple[str, str] | None:
        if key is None:
            return (
                "missing_text",
                f"record has no text field (looked for {', '.join(fmap.text)}); map it in ingest.fields.text",
            )
        if not isinstance(text, str):
            return "wrong_type", f"field {key!r} is a {type(text).__name__}, not a string"
        if not text.strip():
            return "empty_text", f"field {key!r} is empty"
        if "\x00" in text:
            return (
                "nul_bytes",
                f"field {key!r} contains NUL bytes; the input is probably binary or mis-encoded",
            )
        limit = self.cfg.max_record_bytes
        if len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            return "record_too_large", f"text is over ingest.max_record_bytes={limit}"
        return None

    @staticmethod
    def _meta(fields: dict[str, Any], used: set[str | None]) -> str | None:
        meta: dict[str, Any] = {}
        declared = fields.get("meta")
        if isinstance(declared, str):
            try:
                declared = orjson.loads(declared)
            except orjson.JSONDecodeError:
                declared = {"meta": declared}
        if isinstance(declared, dict):
            meta.update(declared)
        elif declared is not None:
            meta["meta"] = declared
        meta.update({k: v for k, v in fields.items() if k not in used and k != "meta" and v is not None})
        return orjson.dumps(meta, default=str, option=orjson.OPT_SORT_KEYS).decode() if meta else None

    def add_columns(self, block: Columns) -> list[Rejection]:
        """Validate and keep a block of records; the rejections, in position order."""
        table = block.table
        plan = self._column_plan(table.schema)
        if plan is None:  # the fast path could not reproduce the per-record result: go row by row
            self._seal()
            found = []
            for i in range(table.num_rows):
                rejection = self.add(Fields(block.first + i, block.fields(i)))
                if rejection is not None:
                    found.append(rejection)
            return found
        frame = pl.from_arrow(table.select(plan.present), rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        n = frame.height
        text = _coalesce(plan.groups["text"])
        problem = (
            text.is_null()
            | text.str.contains(_BLANK)
            | text.str.contains("\x00", literal=True)
            | (text.str.len_bytes() > self.cfg.max_record_bytes)
        )
        mapped = frame.select(
            (pl.int_range(block.first, block.first + n, dtype=pl.Int64)).alias("position"),
            text.alias("text"),
            *[_coalesce(plan.groups[c]).alias(c) for c in _SCALAR_COLUMNS],
            problem.alias("_problem"),
        ).with_columns(pl.col("source").fill_null(pl.lit(self.default_source)))
        metas = self._block_meta(table, frame, plan)
        flagged = mapped["_problem"].arg_true().to_list()
        mapped = mapped.drop("_problem").with_columns(pl.Series("meta", metas, dtype=pl.String))
        self._seal()
        rejections = []
        start = 0
        for i in [*flagged, n]:
            self._append_chunk(mapped.slice(start, i - start))
            start = i + 1
            if i < n:  # checked row by row: the exact rejection (or, if the vector check was too strict, the row)
                rejection = self.add(Fields(block.first + i, block.fields(i)))
                self._seal()
                if rejection is not None:
                    rejections.append(rejection)
        return rejections

    def _column_plan(self, schema_: pa.Schema) -> _Plan | None:
        """Which input columns feed which canonical column, or ``None`` when only the per-record path is exact."""
        cfg = self.cfg
        if cfg.sources:
            return None  # the field map depends on each record's source
        fmap = cfg.fields
        names = schema_.names
        if len(set(names)) != len(names):
            return None
        groups: dict[str, list[str]] = {}
        for column in ("text", *_SCALAR_COLUMNS):
            wanted: tuple[str, ...] = getattr(fmap, column)
            if "meta" in wanted:
                return None
            groups[column] = [n for n in wanted if n in names]
            if any(schema_.field(n).type not in _STRING_TYPES for n in groups[column]):
                return None  # the per-record path turns numbers etc. into text with str()
        mapped = [n for g in groups.values() for n in g]
        if len(set(mapped)) != len(mapped):
            return None  # one input field feeding two canonical columns
        extras = [n for n in names if n not in mapped and n != "meta"]
        present = [n for n in names if n in mapped]
        return _Plan(groups, extras, present)

    @staticmethod
    def _block_meta(table: pa.Table, frame: pl.DataFrame, plan: _Plan) -> list[str | None]:
        """``meta`` of every row, as :meth:`_meta` builds it: the declared ``meta`` merged with the fields
        no canonical column used (the unmapped ones, and mapped ones that lost to an earlier name)."""
        losers = []
        for group in plan.groups.values():
            for j, name in enumerate(group[1:], start=1):
                earlier = pl.any_horizontal([pl.col(n).is_not_null() for n in group[:j]])
                losers.append(name)
                frame = frame.with_columns(pl.when(earlier).then(pl.col(name)).alias(f"\x00{name}"))
        values = [table.column(n).to_pylist() for n in plan.extras]
        values += [frame[f"\x00{n}"].to_list() for n in losers]
        keys = [*plan.extras, *losers]
        declared = table.column("meta").to_pylist() if "meta" in table.column_names else [None] * table.num_rows
        meta = BatchBuilder._meta
        no_used: set[str | None] = set()
        return [
            meta({"meta": d, **dict(zip(keys, row, strict=True))}, no_used)
            for d, *row in zip(declared, *values, strict=True)
        ]

    def flush(self) -> pa.Table:
        """The collected records as one ``raw`` batch: normalised text, ``doc_id``, domain, language."""
        self._seal()
        frame = pl.concat(self._chunks, how="vertical", rechunk=False)
        self._chunks, self._chunk_rows, self.text_bytes = [], 0, 0
        text = normalized_text_series(frame["text"])
        frame = frame.with_columns(
            text.alias("text"),
            pl.col("url").str.extract(_DOMAIN, 1).str.to_lowercase().str.strip_prefix("www.").alias("domain"),
            doc_ids(dedup_key_series(text)).alias("doc_id"),
            (pl.lit(self.record_prefix + ":") + pl.col("position").cast(pl.String)).alias("record_id"),
            pl.lit(self.input_name).alias("input"),
            pl.lit(self.run_id).alias("run_id"),
        )
        frame = self._with_languages(frame)
        return schema.conform(frame.to_arrow(), "raw")

    def _with_languages(self, frame: pl.DataFrame) -> pl.DataFrame:
        mode = self.cfg.detect_language
        if mode == "never":
            return frame
        todo = frame.with_row_index("_i")
        if mode == "missing":
            todo = todo.filter(pl.col("lang").is_null())
        if todo.height == 0:
            return frame
        detected = identify(todo["text"].to_list(), self.cfg.langid_chars)
        langs = frame["lang"].to_list()
        for i, lang in zip(todo["_i"].to_list(), detected, strict=True):
            langs[i] = lang
        return frame.with_columns(pl.Series("lang", langs, dtype=pl.String))


class _Plan(NamedTuple):
    groups: dict[str, list[str]]  # canonical column -> the input columns that may feed it, in order
    extras: list[str]  # input columns no canonical column reads (they go to ``meta``)
    present: list[str]  # input columns the vector part reads


def _coalesce(names: list[str]) -> pl.Expr:
    """The first non-null of ``names`` (the per-record ``_first``), null when there is none."""
    if not names:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce([pl.col(n).cast(pl.String) for n in names])
