"""Assemble a build: choose documents, write the folder atomically, record it in ``builds``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from tasks.core import reservoir
from tasks.core.build.card import croissant, dataset_card
from tasks.core.build.outputs import write_shards
from tasks.core.build.sampling import WORDS, BuildRefused, plan_counts, uniform_keys, weighted_sample, word_buckets
from tasks.core.checksums import sha256_file
from tasks.core.clean.normalize import dedup_key, doc_ids, normalized_text
from tasks.core.config import BuildConfig, DiversityConfig
from tasks.core.errors import InputError, WellspringError
from tasks.core.storage import DataRoot, TableRef

Metrics = Callable[[pl.DataFrame], dict[str, float]]
OPTIONAL = ("p_human", "cluster_id", "novelty")


def reservoir_candidates(root: DataRoot, version: int, with_words: bool = True) -> pl.DataFrame:
    """Active (not retracted, not purged) documents of a reservoir version with what sampling uses, but
    without their text: ``text_bytes`` (UTF-8 length) and, when ``with_words``, the word buckets rarity
    needs (:func:`~tasks.core.build.sampling.word_buckets`, computed as the scan streams).

    Texts are read again only for the chosen documents (:func:`reservoir_texts`), so memory follows
    the build, not the reservoir."""
    frame = root.scan("reservoir", version=version)
    names = frame.collect_schema().names()
    columns = ["doc_id", "source", "license", "lang", *(c for c in OPTIONAL if c in names)]
    derived = [pl.col("text").str.len_bytes().alias("text_bytes")]
    if with_words:
        derived.append(word_buckets(pl.col("text")).alias(WORDS))
    return (
        frame.filter(reservoir.ACTIVE & pl.col("text").is_not_null())
        .select(*columns, *derived)
        .collect(engine="streaming")  # no sort: sampling keys come from (seed, doc_id), so row order
        # never matters
        .with_columns(pl.lit("reservoir").alias("origin"))
    )


def reservoir_texts(root: DataRoot, version: int, doc_ids: pl.Series) -> pl.DataFrame:
    """``doc_id, text`` of ``doc_ids`` in a reservoir version: one streaming scan filtered on ``doc_id``
    (a semi-join), which decodes only those rows' texts, so only their texts are ever held."""
    # an ``is_in`` filter, not a semi-join, and no predicate on ``text``: either makes the reader decode
    # every text first (measured at 1M documents: +1.0 GB peak); a chosen document never has a null text
    found = (
        root.scan("reservoir", version=version)
        .filter(reservoir.ACTIVE & pl.col("doc_id").is_in(doc_ids.unique().implode()))
        .select("doc_id", "text")
        .collect(engine="streaming")
    )
    return found.filter(pl.col("text").is_not_null())


def with_texts(rows: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (in their order) with their ``text`` from ``texts``; an error if one is missing."""
    joined = rows.join(texts, on="doc_id", how="left", maintain_order="left")
    if joined["text"].null_count():
        raise WellspringError(
            f"{joined['text'].null_count()} chosen documents have no text in the pinned reservoir version "
            "(removed while the build ran?); run the build again"
        )
    return joined


def metrics_sample(frame: pl.DataFrame, seed: int, cfg: DiversityConfig | None = None) -> pl.DataFrame:
    """A uniform sample of ``frame`` (by a hash of ``doc_id`` and ``seed``) large enough for every
    sample-bounded diversity metric: at least ``2 * sample_size`` documents and ``16`` UTF-8 bytes per
    token of ``lexical_tokens`` (and twice ``compression_bytes``). The build and the reservoir are both
    measured on such a sample: the same estimators, without reading (or tokenising) every text.
    Sizes come from ``text`` or, for a pool without texts, ``text_bytes``."""
    cfg = cfg or DiversityConfig()
    wanted_bytes = max(16 * cfg.lexical_tokens, 2 * cfg.compression_bytes)
    size = pl.col("text").str.len_bytes() if "text" in frame.columns else pl.col("text_bytes")
    ordered = frame.sort(pl.col("doc_id").hash(seed=seed & 0xFFFF_FFFF_FFFF_FFFF), "doc_id")
    enough = ordered.select((size.cum_sum() < wanted_bytes).sum()).item() + 1
    return ordered.head(max(enough, 2 * cfg.sample_size))


def read_synthetic(path: Path) -> pl.DataFrame:
    """Synthetic documents from JSONL or Parquet with a ``text`` column; ``doc_id`` from the text."""
    if not path.is_file():
        raise InputError(f"--synthetic {path} does not exist")
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ndjson(path)
    except Exception as e:
        raise InputError(f"--synthetic {path} is not readable JSONL or Parquet: {e}") from e
    if "text" not in frame.columns:
        raise InputError(f"--synthetic {path} has no text column")
    texts = frame.select(normalized_text(pl.col("text").cast(pl.String)).alias("text")).filter(pl.col("text") != "")
    ids = doc_ids(texts.select(dedup_key(pl.col("text"))).to_series())
    return (
        texts.with_columns(ids, pl.lit(f"synthetic:{path.stem}").alias("source"), pl.lit("synthetic").alias("origin"))
        .unique("doc_id", keep="first", maintain_order=True)
        .sort("doc_id")
    )


def diversity_metrics(root: DataRoot) -> Metrics:
    """The diversity metrics a manifest records for a set of documents (sample-bounded), in the
    representation of the data root's latest diversity model so build and reservoir compare."""
    from tasks.core.diversity import latest_model, set_metrics

    model = latest_model(root)

    def measure(rows: pl.DataFrame) -> dict[str, float]:
        has_clusters = "cluster_id" in rows.columns and rows["cluster_id"].null_count() == 0
        found = set_metrics(
            rows["text"],
            DiversityConfig(),
            clusters=rows["cluster_id"] if has_clusters else None,
            representation=model.representation if model else None,
        ).to_dict()
        return {k: float(v) for k, v in found.items() if isinstance(v, int | float)}

    return measure


def build_dataset(
    root: DataRoot,
    name: str,
    cfg: BuildConfig,
    out: Path,
    synthetic: Path | None = None,
    metrics: Metrics | None = None,
) -> dict[str, Any]:
    """Draw a build from a pinned reservoir version into ``out`` (which must not exist yet).

    Writes shards, ``manifest.json``, ``README.md`` (dataset card) and ``croissant.json`` into a
    temporary sibling folder and renames it into place, so a refused or failed build leaves nothing.
    ``metrics`` measures the build and the reservoir (default: :func:`diversity_metrics`), each on
    a :func:`metrics_sample` (the metrics are sample-bounded anyway; ``documents`` is the whole count).

    Candidates are chosen without their texts; only the chosen documents' texts (and the metrics
    sample's) are read back from the pinned version, so peak memory follows the build's size.
    Returns the manifest.
    """
    if out.exists() and any(out.iterdir()):
        raise WellspringError(f"output folder {out} exists and is not empty; choose another --out")
    version = reservoir.resolve_version(root, cfg.reservoir_version)
    human_pool = reservoir_candidates(root, version, with_words=bool(cfg.rarity_boost))
    synthetic_pool = read_synthetic(synthetic) if synthetic is not None else pl.DataFrame()
    n_human, n_synth = plan_counts(cfg.size, human_pool.height, synthetic_pool.height, cfg)
    chosen = weighted_sample(human_pool, n_human, cfg)
    human_pool = human_pool.drop(WORDS, strict=False)
    if chosen.height < n_human:
        raise BuildRefused(
            f"the per-source cap ({cfg.max_source_share:.0%} of {cfg.size}) leaves only {chosen.height} of the "
            f"{n_human} human documents needed; raise --max-source-share or lower --size"
        )
    measure = metrics or diversity_metrics(root)
    pool_sample = metrics_sample(human_pool, cfg.seed) if measure is not None else human_pool.clear()
    texts = reservoir_texts(root, version, pl.concat([chosen["doc_id"], pool_sample["doc_id"]]))
    parts = [with_texts(chosen, texts)]
    if n_synth:
        parts.append(weighted_sample(synthetic_pool, n_synth, cfg, cap_column=None))
    rows = pl.concat(parts, how="diagonal_relaxed").drop("text_bytes", strict=False)
    rows = rows.with_columns(pl.Series("_k", uniform_keys(rows["doc_id"], cfg.seed + 1))).sort("_k").drop("_k")

    created = dt.datetime.now(dt.UTC)
    synthetic_hash = sha256_file(synthetic) if synthetic is not None else None
    content = orjson.dumps([cfg.config_hash(), version, synthetic_hash, name], option=orjson.OPT_SORT_KEYS)
    build_id = f"{name}-{created:%Y%m%dT%H%M%SZ}-{hashlib.sha256(content).hexdigest()[:6]}"
    staging = out.parent / f".{out.name}.partial-{build_id}"
    staging.mkdir(parents=True)
    try:
        shards = write_shards(rows, staging, cfg.shard_rows)
        manifest = _manifest(name, build_id, created, cfg, version, rows, shards, synthetic, synthetic_hash)
        if measure is not None:
            build_sample = metrics_sample(rows, cfg.seed)
            build_m, reservoir_m = measure(build_sample), measure(with_texts(pool_sample, texts))
            for found, whole in ((build_m, rows), (reservoir_m, human_pool)):
                if "documents" in found:  # measured on a uniform sample; the count is the whole set's
                    found["documents"] = whole.height
            manifest["diversity"] = {k: {"build": build_m[k], "reservoir": reservoir_m.get(k)} for k in build_m}
            manifest["diversity_sample"] = {"build": build_sample.height, "reservoir": pool_sample.height}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (staging / "README.md").write_text(dataset_card(manifest))
        (staging / "croissant.json").write_text(json.dumps(croissant(manifest), indent=2) + "\n")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # On object storage the finished folder is also published under the data root (manifest last),
    # so the build is found where its tables are; the local copy stays where it was written.
    record(root, manifest, root.publish(out, f"datasets/{build_id}"))
    return manifest


def _manifest(
    name: str,
    build_id: str,
    created: dt.datetime,
    cfg: BuildConfig,
    version: int,
    rows: pl.DataFrame,
    shards: list[dict[str, Any]],
    synthetic: Path | None,
    synthetic_hash: str | None,
) -> dict[str, Any]:
    def counts(column: str) -> dict[str, int]:
        if column not in rows.columns:
            return {}
        c = rows.group_by(column).len().sort(["len", column], descending=[True, False], nulls_last=True)
        return {("unknown" if k is None else str(k)): int(n) for k, n in c.iter_rows()}

    human = rows.filter(pl.col("origin") == "reservoir").height
    return {
        "build_id": build_id,
        "name": name,
        "created_at": created.isoformat(),
        "reservoir_version": version,
        "seed": cfg.seed,
        "config": cfg.model_dump(),
        "config_hash": cfg.config_hash(),
        "synthetic_input": {"path": str(synthetic), "sha256": synthetic_hash} if synthetic else None,
        "counts": {
            "documents": rows.height,
            "human": human,
            "synthetic": rows.height - human,
            "human_share": human / rows.height if rows.height else 0.0,
            "by_source": counts("source"),
            "by_cluster": counts("cluster_id"),
            "by_license": counts("license"),
            "by_language": counts("lang"),
        },
        "shards": shards,
    }


def record(root: DataRoot, manifest: dict[str, Any], out: Path | str) -> TableRef:
    """Append the build to the ``builds`` table (which pins its reservoir version against purges)."""
    row = {
        "build_id": manifest["build_id"],
        "name": manifest["name"],
        "created_at": dt.datetime.fromisoformat(manifest["created_at"]),
        "reservoir_version": manifest["reservoir_version"],
        "config_hash": manifest["config_hash"],
        "seed": manifest["seed"],
        "documents": manifest["counts"]["documents"],
        "human_share": manifest["counts"]["human_share"],
        "out_dir": out if isinstance(out, str) else str(out.resolve()),
        "manifest": json.dumps(manifest, sort_keys=True),
    }
    return root.append("builds", pl.DataFrame([row]), {"build_id": manifest["build_id"]})


def list_builds(root: DataRoot) -> list[dict[str, Any]]:
    if not root.exists("builds"):
        return []
    frame = root.scan("builds").drop("manifest").sort("created_at", descending=True).collect()
    return [{**r, "created_at": r["created_at"].isoformat()} for r in frame.to_dicts()]


def show_build(root: DataRoot, build_id: str) -> dict[str, Any]:
    from tasks.core.errors import NotFoundError

    if root.exists("builds"):
        found = root.scan("builds").filter(pl.col("build_id") == build_id).select("manifest", "out_dir").collect()
        if found.height:
            return {**json.loads(found["manifest"][0]), "out_dir": found["out_dir"][0]}
    raise NotFoundError(f"no build {build_id!r} in {root.home}; `wellspring builds list` shows them")
