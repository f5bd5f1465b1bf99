"""Map raw reader fields onto the canonical columns, validate them, and build Arrow batches."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from tasks.core import schema
from tasks.core.clean.langid import identify
from tasks.core.clean.normalize import dedup_key, doc_ids, normalized_text
from tasks.core.config import FieldMap, IngestConfig
from tasks.core.ingest.items import Fields, Rejection

_SCALAR_COLUMNS = ("source", "url", "fetched_at", "created_at", "license", "lang")
_DOMAIN = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?([^:/?#]+)"


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
        self._reset()

    def _reset(self) -> None:
        self._columns = {name: [] for name in ("position", "text", *_SCALAR_COLUMNS, "meta")}

    def __len__(self) -> int:
        return len(self._columns["position"])

    def add(self, item: Fields) -> Rejection | None:
        """Validate one record and keep it, or return why it is rejected."""
        fields = item.fields
        fmap: FieldMap = self.cfg.field_map(_as_text(fields.get("source")) or self.default_source)
        text_key, text = _first(fields, fmap.text)
        problem = self._text_problem(text_key, text, fmap)
        if problem is not None:
            reason, message = problem
            return Rejection(
                item.position,
                reason,
                message,
                orjson.dumps(fields, default=str)[: self.cfg.quarantine_keep_bytes],
            )
        used = {text_key}
        columns = self._columns
        columns["position"].append(item.position)
        columns["text"].append(text)
        for column in _SCALAR_COLUMNS:
            key, value = _first(fields, getattr(fmap, column))
            used.add(key)
            columns[column].append(_as_text(value))
        if columns["source"][-1] is None:
            columns["source"][-1] = self.default_source
        columns["meta"].append(self._meta(fields, used))
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

    def flush(self) -> pa.Table:
        """The collected records as one ``raw`` batch: normalised text, ``doc_id``, domain, language."""
        frame = pl.DataFrame(
            self._columns, schema={k: (pl.Int64 if k == "position" else pl.String) for k in self._columns}
        )
        self._reset()
        frame = frame.with_columns(
            normalized_text(pl.col("text")).alias("text"),
            pl.col("url").str.extract(_DOMAIN, 1).str.to_lowercase().str.strip_prefix("www.").alias("domain"),
        )
        frame = frame.with_columns(
            doc_ids(frame.select(dedup_key(pl.col("text"))).to_series()).alias("doc_id"),
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
