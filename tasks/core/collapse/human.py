"""The human documents an experiment starts from, and their split into held-out, first inbox and fresh pool."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import zstandard

from tasks.core.errors import InputError

COLUMNS = ("text", "source")


def _read(path: Path) -> pl.DataFrame | None:
    name = path.name
    if name.endswith(".parquet"):
        return pl.read_parquet(path)
    if name.endswith(".json"):
        return pl.read_json(path)
    raw = path.read_bytes()
    if name.endswith(".jsonl.gz"):
        raw = gzip.decompress(raw)
    elif name.endswith(".jsonl.zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    elif not name.endswith(".jsonl"):
        return None
    return pl.read_ndjson(io.BytesIO(raw), ignore_errors=True, infer_schema_length=None)


def read_documents(paths: list[Path]) -> pl.DataFrame:
    """``text`` and ``source`` of the JSON Lines (plain, ``.gz``, ``.zst``), JSON-array and Parquet files
    in ``paths`` (files or folders; other files are skipped), exact copies and empty texts removed,
    in a deterministic order."""
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    frames = []
    for f in files:
        try:
            frame = _read(f)
        except Exception:  # a deliberately broken sample file: not a source of human text
            continue
        if frame is None or "text" not in frame.columns:
            continue
        source = pl.col("source").cast(pl.String) if "source" in frame.columns else pl.lit(f.stem)
        frames.append(frame.select(pl.col("text").cast(pl.String), source.alias("source")))
    if not frames:
        raise InputError(f"no readable documents with a text field in {', '.join(map(str, paths))}")
    docs = pl.concat(frames).filter(pl.col("text").str.strip_chars().str.len_chars() > 0)
    return docs.unique("text", keep="first").sort("text")


def read_corpus(path: Path, n: int, seed: int) -> pl.DataFrame:
    """``n`` documents (``text``, ``source``) sampled by seed from a corpus Parquet file."""
    if not path.is_file():
        raise InputError(f"corpus file {path} does not exist")
    docs = pl.read_parquet(path, columns=list(COLUMNS)).unique("text", keep="first").sort("text")
    return docs.sample(min(n, docs.height), seed=seed, shuffle=True) if n < docs.height else docs


@dataclass(frozen=True)
class HumanSplit:
    heldout: pl.DataFrame  # perplexity is measured on these
    initial: pl.DataFrame  # the first inbox: the reservoir generation 0 is built from
    fresh: list[pl.DataFrame]  # one batch of fresh human documents per later generation

    @property
    def all_texts(self) -> pl.Series:
        return pl.concat([self.heldout, self.initial, *self.fresh])["text"]


def split(docs: pl.DataFrame, heldout: int, initial: int, fresh: int, generations: int, seed: int) -> HumanSplit:
    """Shuffle ``docs`` by seed and cut them into disjoint parts; refuse when there are too few."""
    need = heldout + initial + fresh * generations
    if docs.height < need:
        raise InputError(
            f"the experiment needs {need} distinct human documents ({heldout} held out, {initial} initial, "
            f"{generations} x {fresh} fresh) but the input has {docs.height}; use fewer or a larger corpus"
        )
    shuffled = docs.select(COLUMNS).gather(np.random.default_rng(seed).permutation(docs.height))
    cut = heldout + initial
    return HumanSplit(
        heldout=shuffled.slice(0, heldout),
        initial=shuffled.slice(heldout, initial),
        fresh=[shuffled.slice(cut + g * fresh, fresh) for g in range(generations)],
    )
