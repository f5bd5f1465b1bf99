"""The ``wellspring`` policy's data path: a scraped inbox through the real nightly stages, then a build.

Each generation writes one JSON Lines file into a fresh inbox folder: fresh human documents and the
previous generation's samples, shuffled together, every record with exactly the same fields
(``text`` and ``source``; a synthetic record's ``source`` is drawn from the human records' sources; no
record has an id, URL, licence or date). Only the text can give a synthetic document away. The
inbox then goes through the nightly stages in the order of ``flows.nightly.curate`` (ingest, quality
rules, personal data, exact dedup, near dedup, provenance when the pipeline has that stage,
diversity, admission, commit) on a private data root, and :func:`~tasks.core.build.assemble.build_dataset`
draws the next training set from the reservoir with the default build rules.

Because the simulation knows which texts it generated, it measures what the pipeline let through: the
**leak rate** (synthetic records of the inbox admitted to the reservoir) and the synthetic share of
each build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tasks.core import decisions
from tasks.core.build.assemble import build_dataset
from tasks.core.clean.normalize import dedup_key, doc_ids, normalized_text
from tasks.core.config import BuildConfig, NightlyConfig
from tasks.core.pipeline import curate_inbox
from tasks.core.storage import DataRoot


def text_doc_ids(texts: list[str]) -> list[str]:
    """The ``doc_id`` ingest gives each text (xxh3-128 of its dedup key)."""
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    keys = frame.select(dedup_key(normalized_text(pl.col("text")))).to_series()
    return doc_ids(keys).to_list()


@dataclass
class GenerationRun:
    generation: int
    summary: dict[str, object]
    synthetic_written: int
    synthetic_admitted: int
    build: pl.DataFrame  # doc_id, text, source, synthetic (bool), origin_generation, origin_index
    build_id: str

    @property
    def leak_rate(self) -> float | None:
        return self.synthetic_admitted / self.synthetic_written if self.synthetic_written else None

    @property
    def build_synthetic_share(self) -> float:
        if self.build.height == 0:
            return 0.0
        return float(self.build.select(pl.col("synthetic").cast(pl.Float64).mean()).item())


@dataclass
class CurationLoop:
    """A private data root that one experiment's inboxes go through, generation by generation."""

    workdir: Path
    nightly: NightlyConfig
    seed: int = 0
    synthetic_ids: dict[str, tuple[int, int]] = field(default_factory=dict)  # doc_id -> (generation, index)
    human_ids: set[str] = field(default_factory=set)

    @property
    def root(self) -> DataRoot:
        return DataRoot.at(self.workdir / "home")

    def step(
        self,
        generation: int,
        human: pl.DataFrame,
        synthetic: list[str],
        size: int,
        synthetic_generation: int | None = None,
    ) -> GenerationRun:
        """Curate one inbox (``human``: text, source; ``synthetic`` texts of ``synthetic_generation``),
        then build ``size`` documents from the reservoir for the next model."""
        rng = np.random.default_rng([self.seed, generation])
        human_texts = human["text"].to_list()
        self.human_ids.update(text_doc_ids(human_texts))
        if synthetic:
            assert synthetic_generation is not None
            ids = text_doc_ids(synthetic)
            for i, d in enumerate(ids):
                if d not in self.human_ids:
                    self.synthetic_ids.setdefault(d, (synthetic_generation, i))
            own = {d for d in ids if self.synthetic_ids.get(d, (None,))[0] == synthetic_generation}
        else:
            own = set()
        sources = human["source"].to_list()
        fake_sources = [sources[i] for i in rng.integers(0, len(sources), len(synthetic))] if sources else []
        records = [{"text": t, "source": s} for t, s in zip(human_texts, sources, strict=True)]
        records += [{"text": t, "source": s} for t, s in zip(synthetic, fake_sources, strict=True)]
        order = rng.permutation(len(records))
        inbox = self.workdir / "inboxes" / f"gen-{generation:02d}"
        inbox.mkdir(parents=True, exist_ok=True)
        with (inbox / "scraped.jsonl").open("w") as f:
            for i in order:
                f.write(json.dumps(records[i], ensure_ascii=False) + "\n")
        summary = curate_inbox(self.root, inbox, self.nightly)
        admitted = (
            decisions.run_rows(self.root, "decisions", str(summary["run_id"]))
            .filter(pl.col("verdict") == decisions.ADMITTED)
            .select("doc_id")
            .collect()["doc_id"]
        )
        leaked = int(admitted.is_in(list(own)).sum()) if own else 0
        build, build_id = self._build(generation, size)
        return GenerationRun(generation, summary, len(synthetic), leaked, build, build_id)

    def _build(self, generation: int, size: int) -> tuple[pl.DataFrame, str]:
        name = f"gen-{generation:02d}"
        out = self.root.path("datasets", name)
        manifest = build_dataset(self.root, name, BuildConfig(size=size, seed=self.seed + generation), out)
        rows = pl.read_parquet(sorted(out.glob("data-*.parquet"))).select("doc_id", "text", "source")
        origin = pl.DataFrame(
            {
                "doc_id": list(self.synthetic_ids),
                "origin_generation": [g for g, _ in self.synthetic_ids.values()],
                "origin_index": [i for _, i in self.synthetic_ids.values()],
            },
            schema={"doc_id": pl.String, "origin_generation": pl.Int64, "origin_index": pl.Int64},
        )
        rows = rows.join(origin, on="doc_id", how="left", maintain_order="left").with_columns(
            pl.col("origin_generation").is_not_null().alias("synthetic")
        )
        return rows, str(manifest["build_id"])
