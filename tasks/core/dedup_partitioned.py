"""Near-duplicate detection split for a cluster: signatures per shard, candidates per LSH band
partition, components merged across partitions; the same result as :func:`minhash.near_duplicates`.

Steps (each a function a mapped task can run on any worker; they talk through files in the run's
scratch folder ``<home>/scratch/<run_id>/near_dedup-p<P>``, never through one process's memory):

1. :func:`sign_shard`, per input shard: MinHash signatures of the shard's records
   (``sig-<shard>.parquet``) and their band hashes, split by *band partition*:
   ``partition = (band_hash XOR band * φ) mod P`` (``bands-<shard>-<partition>.parquet``). Every LSH
   bucket (a ``(band, band_hash)`` value) therefore lives in exactly one partition.
2. :func:`partition_candidates`, per partition: the buckets of that partition from every shard, plus
   the reservoir documents (the stored ``signatures`` index) sharing one of those buckets; candidate
   pairs exactly as ``near_duplicates`` makes them (all pairs of a bucket of at most
   ``MAX_BUCKET_PAIRS_SIZE`` members, else a star around the smallest ``doc_id``; never two reservoir
   documents), verified the same way (estimated Jaccard outside ``threshold ± margin``, exact Jaccard of
   the texts inside it). The signatures read are only those of the candidate pairs' documents.
   Kept pairs go to ``edges-<partition>.parquet``. A pair found in two partitions is verified twice,
   with the same outcome.
3. :func:`merge_components`: the connected components of all kept pairs (scipy), and one survivor per
   component by the ``near_duplicates`` rule (reservoir document first when ``reservoir_wins``, then
   highest ``p_human``, earliest ``created_at``, smallest ``doc_id``) -> ``clusters.parquet``. This step
   holds the kept pairs only, not signatures.
4. :func:`finalize_shard`, per shard: the similarity of each removed document to its survivor, the
   ``near_dup_of`` decisions and the survivors' rows of the ``signatures`` index (both idempotent).

Memory per worker is bounded by a shard's signatures (512 bytes a document at 128 permutations) or a
partition's band rows and candidate pairs. The scratch folder is local (the data root, or the state
folder of an ``s3://`` root), so on a cluster it must be a file system every worker mounts.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tasks.core import decisions, minhash
from tasks.core.config import MinHashConfig
from tasks.core.storage import DataRoot

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

STAGE: Final = "near_dedup"
EARLIER_STAGES: Final = ("quality", "pii", "exact_dedup")
"""Stages whose decisions remove a record before near dedup: a re-run reads the same input even when
some shards already recorded their ``near_dup_of`` decisions."""

_PHI: Final = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit golden ratio: spreads band numbers over the hash space
_EMPTY: Final = np.uint32((1 << 32) - 1)


@dataclass(frozen=True)
class ShardSigned:
    shard: int
    documents: int
    band_rows: int


@dataclass(frozen=True)
class PartitionCandidates:
    partition: int
    band_rows: int
    index_documents: int
    candidates: int
    kept: int


@dataclass(frozen=True)
class Components:
    edges: int
    clustered: int
    clusters: int


@dataclass(frozen=True)
class ShardFinalized:
    shard: int
    removed: int
    survivors: int


def scratch_folder(root: DataRoot, run_id: str, partitions: int) -> Path:
    """Where one run's near-dedup steps leave files for each other (per partition count, so a resumed
    run with another count never mixes the two layouts): under the data root, or under the state folder
    (``$WELLSPRING_STATE_DIR``) of an object-store root. Every worker must see that folder."""
    return root.path("scratch", run_id, f"{STAGE}-p{partitions}")


def clear_scratch(root: DataRoot, run_id: str) -> None:
    """Remove the run's scratch files (after the stage finished)."""
    shutil.rmtree(root.path("scratch", run_id), ignore_errors=True)


def band_partition(bands: npt.NDArray[np.integer], band_hashes: U64, partitions: int) -> npt.NDArray[np.int64]:
    """The partition of each ``(band, band_hash)`` bucket key, in ``[0, partitions)``."""
    with np.errstate(over="ignore"):
        mixed = np.asarray(band_hashes, dtype=np.uint64) ^ (np.asarray(bands, dtype=np.uint64) * _PHI)
    return (mixed % np.uint64(partitions)).astype(np.int64)


def _encode(sigs: U32) -> pl.Series:
    sigs = np.ascontiguousarray(sigs, dtype="<u4")
    return pl.Series("signature", [row.tobytes() for row in sigs], dtype=pl.Binary)


def _decode(column: pl.Series, num_perm: int) -> U32:
    if len(column) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(column.to_list()), dtype="<u4").reshape(len(column), num_perm).astype(np.uint32)


def _rank_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[pl.Expr]:
    """``p_human`` and ``created_at`` as ``near_duplicates`` reads them (nulls when absent)."""
    names = frame.collect_schema().names()
    return [
        (pl.col("p_human").cast(pl.Float64).fill_nan(None) if "p_human" in names else pl.lit(None, pl.Float64)).alias(
            "p_human"
        ),
        (pl.col("created_at").cast(pl.String) if "created_at" in names else pl.lit(None, pl.String)).alias(
            "created_at"
        ),
    ]


# ---------------------------------------------------------------------------------------------------
# 1. signatures per shard


def dedup_input(root: DataRoot, run_id: str, inputs: Sequence[str] | None = None) -> pl.LazyFrame:
    """The run's records near dedup considers (alive after the earlier stages), of ``inputs`` files."""
    raw = decisions.run_rows(root, "raw", run_id)
    if inputs is not None:
        raw = raw.filter(pl.col("input").is_in(list(inputs)))
    decided = (
        decisions.run_rows(root, "decisions", run_id).filter(pl.col("stage").is_in(EARLIER_STAGES)).select("record_id")
    )
    return raw.join(decided, on="record_id", how="anti").select("record_id", "doc_id", "text", "created_at")


def sign_shard(folder: Path, shard: int, rows: pl.DataFrame, cfg: MinHashConfig, partitions: int) -> ShardSigned:
    """Signatures of ``rows`` (``record_id``, ``doc_id``, ``text``, optional ``created_at``/``p_human``)
    and their band rows split by partition, written to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    sigs = minhash.signatures(rows.get_column("text").cast(pl.String), cfg)
    meta = rows.select(pl.col("record_id"), pl.col("doc_id").cast(pl.String), *_rank_columns(rows))
    meta.with_columns(_encode(sigs)).write_parquet(_tmp(folder / f"sig-{shard:05d}.parquet"))
    _publish(folder / f"sig-{shard:05d}.parquet")
    nonempty = np.flatnonzero((sigs != _EMPTY).any(axis=1))  # no shingle: never a candidate
    bands, rows_per_band = minhash.bands_rows(cfg)
    hashes = minhash.band_hashes(sigs[nonempty], bands, rows_per_band)
    band_numbers = np.tile(np.arange(bands, dtype=np.uint16), len(nonempty))
    flat = np.ascontiguousarray(hashes).reshape(-1)
    table = pl.DataFrame(
        {
            "doc_id": meta["doc_id"].gather(np.repeat(nonempty, bands)),
            "band": band_numbers,
            "band_hash": flat.view(np.int64),
            "partition": band_partition(band_numbers, flat, partitions),
        }
    )
    for (p,), part in table.partition_by("partition", as_dict=True).items():
        path = folder / f"bands-{shard:05d}-{int(p):04d}.parquet"
        part.drop("partition").write_parquet(_tmp(path))
        _publish(path)
    return ShardSigned(shard, meta.height, table.height)


def _tmp(path: Path) -> Path:
    return path.with_suffix(".tmp")


def _publish(path: Path) -> None:
    """Rename the finished temporary file into place: a retried or killed task never leaves half a file."""
    _tmp(path).replace(path)


def _signature_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("sig-*.parquet"))


def _scan(files: Sequence[Path], schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    if not files:
        return pl.LazyFrame(schema=schema)
    return pl.scan_parquet([str(f) for f in files])


_SIG_SCHEMA: Final[dict[str, pl.DataType]] = {
    "record_id": pl.String(),
    "doc_id": pl.String(),
    "p_human": pl.Float64(),
    "created_at": pl.String(),
    "signature": pl.Binary(),
}


def _batch_signatures(folder: Path) -> pl.LazyFrame:
    return _scan(_signature_files(folder), _SIG_SCHEMA)


def _among(doc_ids: pl.Series) -> pl.Expr:
    """``doc_id`` is one of ``doc_ids``: as a filter, Polars reads the other columns only for the matching
    rows of each file; a semi join reads every file whole first (0.7 GB against 0.14 GB for 31 shards of
    signatures). Every lookup in a run-wide table (signatures, the reservoir's index) goes through it."""
    return pl.col("doc_id").is_in(doc_ids.unique().implode())


# ---------------------------------------------------------------------------------------------------
# 2. candidates per band partition


def _check_index(index: pl.LazyFrame, cfg: MinHashConfig) -> bool:
    """Raise on signatures made with other hash parameters; True when the stored band hashes fit ``cfg``."""
    keys = index.select(pl.col("sketch").unique(), pl.col("banding").unique()).collect()
    sketches = keys["sketch"].drop_nulls().unique().to_list()
    bandings = keys["banding"].drop_nulls().unique().to_list()
    if sketches and sketches != [minhash.sketch_key(cfg)]:
        raise ValueError(f"index signatures were made with {sketches}, not {minhash.sketch_key(cfg)!r}")
    bands, rows = minhash.bands_rows(cfg)
    return bandings in ([], [f"{bands}x{rows}"])


def _index_band_rows(index: pl.LazyFrame, cfg: MinHashConfig, partition: int, partitions: int) -> pl.LazyFrame:
    """``doc_id, band, band_hash`` of the index documents in ``partition``'s buckets."""
    bands, rows = minhash.bands_rows(cfg)
    if _check_index(index, cfg):
        exploded = (
            index.select("doc_id", pl.col("band_hashes").list.head(bands).alias("band_hash"))
            .with_columns(pl.int_ranges(pl.col("band_hash").list.len(), dtype=pl.UInt16).alias("band"))
            .explode("band_hash", "band")
        )
    else:  # stored for another banding: recompute from the signatures, a batch at a time
        parts = []
        for batch in index.select("doc_id", "signature").collect_batches(chunk_size=50_000):
            hashes = minhash.band_hashes(_decode(batch["signature"], cfg.num_perm), bands, rows)
            parts.append(
                pl.DataFrame(
                    {
                        "doc_id": batch["doc_id"].gather(np.repeat(np.arange(batch.height), bands)),
                        "band": np.tile(np.arange(bands, dtype=np.uint16), batch.height),
                        "band_hash": np.ascontiguousarray(hashes).reshape(-1).view(np.int64),
                    }
                )
            )
        exploded = pl.concat(parts).lazy() if parts else pl.LazyFrame(schema=_BAND_SCHEMA)
    # The partition of a bucket, in Polars: same formula as band_partition, on the uint64 bits.
    mixed = (
        pl.col("band_hash")
        .cast(pl.UInt64, wrap_numerical=True)
        .xor(pl.col("band").cast(pl.UInt64) * pl.lit(int(_PHI), dtype=pl.UInt64))
    )
    return exploded.filter((mixed % partitions) == partition).select(
        "doc_id", pl.col("band").cast(pl.UInt16), "band_hash"
    )


_BAND_SCHEMA: Final[dict[str, pl.DataType]] = {"doc_id": pl.String(), "band": pl.UInt16(), "band_hash": pl.Int64()}


def _bucket_pairs(members: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs ``a < b`` (doc ids) of the buckets in ``members`` (``doc_id``, ``band``,
    ``band_hash``, ``in_index``), as ``near_duplicates`` forms them; no pair of two index documents."""
    sized = members.with_columns(pl.len().over("band", "band_hash").alias("size")).filter(pl.col("size") > 1)
    small = sized.filter(pl.col("size") <= minhash.MAX_BUCKET_PAIRS_SIZE).drop("size")
    pairs = small.join(small, on=["band", "band_hash"], suffix="_b").filter(pl.col("doc_id") < pl.col("doc_id_b"))
    large = sized.filter(pl.col("size") > minhash.MAX_BUCKET_PAIRS_SIZE).drop("size")
    centres = large.sort("doc_id").group_by("band", "band_hash").first()  # the smallest doc_id of each bucket
    stars = large.join(centres, on=["band", "band_hash"], suffix="_c").filter(pl.col("doc_id") != pl.col("doc_id_c"))
    edges = pl.concat(
        [
            pairs.select(
                pl.col("doc_id").alias("a"),
                pl.col("doc_id_b").alias("b"),
                pl.col("in_index").alias("a_index"),
                pl.col("in_index_b").alias("b_index"),
            ),
            stars.select(
                pl.min_horizontal("doc_id", "doc_id_c").alias("a"),
                pl.max_horizontal("doc_id", "doc_id_c").alias("b"),
                pl.when(pl.col("doc_id") < pl.col("doc_id_c"))
                .then("in_index")
                .otherwise("in_index_c")
                .alias("a_index"),
                pl.when(pl.col("doc_id") < pl.col("doc_id_c"))
                .then("in_index_c")
                .otherwise("in_index")
                .alias("b_index"),
            ),
        ]
    )
    return edges.unique(["a", "b"]).filter(~(pl.col("a_index") & pl.col("b_index"))).sort("a", "b")


def partition_candidates(
    texts: pl.LazyFrame,
    folder: Path,
    partition: int,
    partitions: int,
    cfg: MinHashConfig,
    index: pl.LazyFrame | None = None,
) -> PartitionCandidates:
    """Candidate pairs of one band partition, verified; the kept ones to ``edges-<partition>.parquet``.

    ``texts`` (``record_id``, ``text``) gives the texts of the pairs whose exact Jaccard decides
    (e.g. the run's ``raw`` rows); ``index`` is the reservoir's stored signatures, if any."""
    files = sorted(folder.glob(f"bands-*-{partition:04d}.parquet"))
    batch = _scan(files, _BAND_SCHEMA).with_columns(pl.lit(False).alias("in_index")).collect()
    index_rows = pl.DataFrame(schema={**_BAND_SCHEMA, "in_index": pl.Boolean()})
    if index is not None and batch.height:
        buckets = batch.select("band", "band_hash").unique()
        matched = (
            _index_band_rows(index, cfg, partition, partitions)
            # a filter before the join, on the streaming engine: the exploded index is never held whole
            .filter(pl.col("band_hash").is_in(buckets["band_hash"].unique().implode()))
            .join(buckets.lazy(), on=["band", "band_hash"], how="semi")
            .unique()
            .collect(engine="streaming")
        )
        # An index document that is also in the batch is ignored, as near_duplicates does.
        in_batch = _batch_signatures(folder).select("doc_id").filter(_among(matched["doc_id"])).collect()
        index_rows = matched.join(in_batch, on="doc_id", how="anti").with_columns(pl.lit(True).alias("in_index"))
    members = pl.concat([batch, index_rows.select(batch.columns)])
    pairs = _bucket_pairs(members)
    kept = _verify(texts, folder, pairs, cfg, index) if cfg.verify and pairs.height else pairs
    path = folder / f"edges-{partition:04d}.parquet"
    kept.select("a", "b").write_parquet(_tmp(path))
    _publish(path)
    return PartitionCandidates(partition, batch.height, index_rows["doc_id"].n_unique(), pairs.height, kept.height)


def _signatures_of(
    folder: Path, doc_ids: pl.Series, cfg: MinHashConfig, index: pl.LazyFrame | None
) -> tuple[pl.DataFrame, U32]:
    """``doc_id, record_id, in_index`` (one row per found document, sorted) and their signatures."""
    wanted = _among(doc_ids)
    batch = (
        _batch_signatures(folder)
        .filter(wanted)
        .select("doc_id", "record_id", pl.lit(False).alias("in_index"), "signature")
    )
    frames = [batch]
    if index is not None:
        frames.append(
            index.filter(wanted)
            .join(batch.select("doc_id"), on="doc_id", how="anti")
            .unique("doc_id", keep="first")
            .select("doc_id", pl.lit(None, pl.String).alias("record_id"), pl.lit(True).alias("in_index"), "signature")
        )
    found = pl.concat(frames).collect().sort("doc_id")
    return found.drop("signature"), _decode(found["signature"], cfg.num_perm)


def _rows(known: pl.DataFrame, ids: pl.Series) -> npt.NDArray[np.int64]:
    """Positions in ``known`` (sorted by ``doc_id``) of ``ids``."""
    return np.searchsorted(known["doc_id"].to_numpy(), ids.to_numpy()).astype(np.int64)


def _verify(
    texts: pl.LazyFrame,
    folder: Path,
    pairs: pl.DataFrame,
    cfg: MinHashConfig,
    index: pl.LazyFrame | None,
) -> pl.DataFrame:
    """The pairs ``near_duplicates`` keeps: ``Ĵ ≥ threshold``, except that inside ``threshold ± margin``
    a pair of two batch documents is decided by the exact Jaccard of their texts."""
    known, sigs = _signatures_of(folder, pl.concat([pairs["a"], pairs["b"]]), cfg, index)
    ia, ib = _rows(known, pairs["a"]), _rows(known, pairs["b"])
    estimate = np.empty(pairs.height, dtype=np.float64)
    block = 1 << 16
    for lo in range(0, pairs.height, block):
        estimate[lo : lo + block] = minhash.estimated_jaccard(sigs[ia[lo : lo + block]], sigs[ib[lo : lo + block]])
    keep = estimate >= cfg.threshold
    both_batch = ~(pairs["a_index"].to_numpy() | pairs["b_index"].to_numpy())
    unsure = np.flatnonzero((np.abs(estimate - cfg.threshold) < minhash.verify_margin(cfg)) & both_batch)
    if len(unsure):
        rows, inverse = np.unique(np.concatenate([ia[unsure], ib[unsure]]), return_inverse=True)
        record_ids = known["record_id"].gather(rows)
        found = (
            texts.filter(pl.col("record_id").is_in(record_ids.implode()))
            .select("record_id", pl.col("text").cast(pl.String))
            .unique("record_id")
            .collect()
        )
        ordered = pl.DataFrame({"record_id": record_ids}).join(found, on="record_id", how="left", maintain_order="left")
        exact = minhash.exact_jaccard(ordered["text"], inverse[: len(unsure)], inverse[len(unsure) :], cfg)
        keep[unsure] = exact >= cfg.threshold
    return pairs.filter(pl.Series(keep))


# ---------------------------------------------------------------------------------------------------
# 3. components across partitions


def merge_components(folder: Path, cfg: MinHashConfig, index: pl.LazyFrame | None = None) -> Components:
    """Connected components of every partition's kept pairs and their survivors -> ``clusters.parquet``
    (``doc_id``, ``cluster_id`` = the survivor's ``doc_id``, for the batch documents in a component)."""
    edges = _scan(sorted(folder.glob("edges-*.parquet")), {"a": pl.String(), "b": pl.String()}).unique().collect()
    nodes = pl.concat([edges["a"], edges["b"]]).unique().sort()
    n = len(nodes)
    if n:
        a, b = _position(nodes, edges["a"]), _position(nodes, edges["b"])
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
    else:
        labels = np.zeros(0, dtype=np.int64)
    wanted = _among(nodes)
    batch = _batch_signatures(folder).filter(wanted).select("doc_id", "p_human", "created_at")
    info = batch.with_columns(pl.lit(False).alias("in_index")).collect()
    if index is not None:
        stored = (
            index.filter(wanted)
            .join(info.lazy().select("doc_id"), on="doc_id", how="anti")
            .select("doc_id", *_rank_columns(index))
            .unique("doc_id", keep="first")
            .with_columns(pl.lit(True).alias("in_index"))
            .collect()
        )
        info = pl.concat([info, stored])
    members = pl.DataFrame({"doc_id": nodes, "label": pl.Series(labels, dtype=pl.Int64)}).join(info, on="doc_id")
    order, descending = minhash.survivor_order(cfg)
    survivors = (
        members.sort(order, descending=descending, nulls_last=True)
        .unique("label", keep="first", maintain_order=True)
        .select("label", pl.col("doc_id").alias("cluster_id"))
    )
    clusters = members.filter(~pl.col("in_index")).join(survivors, on="label").select("doc_id", "cluster_id")
    path = folder / "clusters.parquet"
    clusters.write_parquet(_tmp(path))
    _publish(path)
    return Components(edges.height, clusters.height, survivors.height)


def _position(sorted_ids: pl.Series, ids: pl.Series) -> npt.NDArray[np.int64]:
    return np.searchsorted(sorted_ids.to_numpy(), ids.to_numpy()).astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# 4. decisions and the signatures index, per shard


def shard_outcome(
    folder: Path, shard: int, cfg: MinHashConfig, index: pl.LazyFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(removed, kept)`` of one shard: removed rows as the ``near_dup_of`` decisions, and the kept
    documents' ``signatures`` rows."""
    own = pl.read_parquet(folder / f"sig-{shard:05d}.parquet")
    clusters = pl.scan_parquet(folder / "clusters.parquet").join(own.lazy().select("doc_id"), on="doc_id", how="semi")
    assigned = own.join(clusters.collect(), on="doc_id", how="left", maintain_order="left")
    removed = assigned.filter(pl.col("cluster_id").is_not_null() & (pl.col("cluster_id") != pl.col("doc_id")))
    known, survivor_sigs = _signatures_of(folder, removed["cluster_id"], cfg, index)
    similarity = (
        minhash.estimated_jaccard(
            _decode(removed["signature"], cfg.num_perm), survivor_sigs[_rows(known, removed["cluster_id"])]
        )
        if removed.height
        else np.zeros(0)
    )
    rows = removed.select(
        "record_id",
        "doc_id",
        pl.col("cluster_id").alias("dup_of"),
        pl.Series("score", similarity, dtype=pl.Float64),
        pl.lit("near_dup_of").alias("reason"),
        pl.format('{{"cluster_id":"{}"}}', pl.col("cluster_id")).alias("detail"),
    )
    kept = assigned.join(removed.select("doc_id"), on="doc_id", how="anti")
    stored = minhash.signature_rows(kept["doc_id"], _decode(kept["signature"], cfg.num_perm), cfg)
    return rows, stored


def finalize_shard(
    root: DataRoot, run_id: str, folder: Path, shard: int, cfg: MinHashConfig, index: pl.LazyFrame | None = None
) -> ShardFinalized:
    """Record the shard's ``near_dup_of`` decisions and store its survivors' signatures (both
    idempotent: a retried shard writes nothing twice)."""
    removed, kept = shard_outcome(folder, shard, cfg, index)
    recorded = decisions.run_rows(root, "decisions", run_id).filter(pl.col("stage") == STAGE).select("record_id")
    new = removed.lazy().join(recorded, on="record_id", how="anti").collect()
    decisions.record(root, run_id, STAGE, decisions.DROPPED, new)
    if kept.height:
        rows = kept.with_columns(pl.lit(run_id).alias("run_id"))
        root.insert_new("signatures", rows, key="doc_id", metadata={"run_id": run_id, "shard": str(shard)})
    return ShardFinalized(shard, removed.height, kept.height)


def reservoir_index(root: DataRoot) -> pl.LazyFrame | None:
    """The stored signatures of documents really in the reservoir (what the batch is compared with)."""
    if root.exists("signatures") and root.exists("reservoir"):
        return root.scan("signatures").join(root.scan("reservoir").select("doc_id"), on="doc_id", how="semi")
    return None


def run_texts(root: DataRoot, run_id: str) -> pl.LazyFrame:
    """``record_id, text`` of the run's records: where verification reads the texts it needs."""
    return decisions.run_rows(root, "raw", run_id).select("record_id", "text")


def near_duplicates_partitioned(
    shards: Sequence[pl.DataFrame],
    cfg: MinHashConfig,
    folder: Path,
    partitions: int,
    index: pl.LazyFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All four steps in this process over in-memory ``shards`` (``record_id``, ``doc_id``, ``text``,
    optional ``created_at``): ``(removed, kept)`` concatenated over the shards, as :func:`shard_outcome`.
    The reference the tests hold against :func:`minhash.near_duplicates`."""
    for i, rows in enumerate(shards):
        sign_shard(folder, i, rows, cfg, partitions)
    texts = pl.concat([s.select("record_id", pl.col("text").cast(pl.String)) for s in shards]).lazy()
    for p in range(partitions):
        partition_candidates(texts, folder, p, partitions, cfg, index)
    merge_components(folder, cfg, index)
    outcomes = [shard_outcome(folder, i, cfg, index) for i in range(len(shards))]
    return pl.concat([o[0] for o in outcomes]), pl.concat([o[1] for o in outcomes])
