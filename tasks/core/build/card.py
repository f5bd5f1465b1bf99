"""The dataset card (Hugging Face format, datasheet-style body) and the Croissant JSON-LD file."""

from __future__ import annotations

from typing import Any

import yaml


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M" if n < 10_000_000 else "10M<n<100M"


def dataset_card(manifest: dict[str, Any]) -> str:
    """``README.md`` for a build: YAML front matter in the dataset-card format, then a datasheet."""
    counts = manifest["counts"]
    synthetic = counts["synthetic"]
    front = {
        "pretty_name": manifest["name"],
        "license": sorted(counts["by_license"]) or ["unknown"],
        "language": sorted(k for k in counts["by_language"] if k != "unknown") or ["unknown"],
        "language_creators": ["found"] + (["machine-generated"] if synthetic else []),
        "annotations_creators": ["no-annotation"],
        "multilinguality": ["multilingual" if len(counts["by_language"]) > 1 else "monolingual"],
        "size_categories": [_size_category(counts["documents"])],
        "source_datasets": sorted(counts["by_source"]),
        "task_categories": ["text-generation"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data-*.parquet"}]}],
    }
    metrics = manifest.get("diversity", {})
    metric_rows = "\n".join(
        f"| {k} | {v.get('build')} | {v.get('reservoir')} |" for k, v in metrics.items() if isinstance(v, dict)
    )
    sources = "\n".join(f"| {s} | {n} |" for s, n in counts["by_source"].items())
    sample = manifest.get("diversity_sample")
    sampled = (
        f"\nMeasured on uniform samples of {sample['build']} build and {sample['reservoir']} reservoir documents "
        "(`documents` counts the whole sets).\n"
        if sample
        else ""
    )
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---

# {manifest["name"]}

A training set built by Wellspring from reservoir version **{manifest["reservoir_version"]}**
(build `{manifest["build_id"]}`, seed {manifest["seed"]}, config hash `{manifest["config_hash"]}`).
Rebuild it byte for byte with the same reservoir version, config and seed; check it with
`wellspring builds verify <this folder>`.

## Composition

- Documents: {counts["documents"]} ({counts["human"]} from the human-data reservoir, {synthetic} synthetic).
- Human share: {counts["human_share"]:.3f} (required minimum {manifest["config"]["min_human"]}).
- Shards: {len(manifest["shards"])} Parquet files (zstd), columns `doc_id`, `text`, `source`, `p_human`,
  `cluster_id`, `license`, `lang`, `origin` (`reservoir` or `synthetic`).

| source | documents |
| --- | ---: |
{sources}

## Diversity (this build vs the reservoir version it was drawn from)

| metric | build | reservoir |
| --- | ---: | ---: |
{metric_rows}
{sampled}
## Motivation

Built to train language models on verified human text with the rare topics and lexical tails kept,
so that models trained on it resist collapse (see the Wellspring README for the sampling rules).

## Collection process

Documents were scraped or supplied as files, cleaned (HTML extraction, Unicode normalisation,
quality rules), deduplicated (exact and MinHash near-duplicates), scored for provenance (`p_human`,
how likely the text is human-written) and admitted to the reservoir by policy. Every decision is
recorded and can be replayed with `wellspring explain DOC_ID`.

## Preprocessing and sampling

Sampling weights: `p_human ** {manifest["config"]["p_human_power"]}`, cluster-balanced with temperature
{manifest["config"]["cluster_temperature"]}, novelty boost {manifest["config"]["novelty_boost"]}; per-source
cap {manifest["config"]["max_source_share"]}; retracted documents excluded.

## Known limitations

- `p_human` comes from metadata and a text classifier; both can be wrong (a classifier can be fooled,
  metadata can lie).
- Texts may contain personal data (e.g. e-mail addresses in mailing-list archives) and offensive language.
- Licences are per document (`license` column); respect each one.

## Maintenance

Documents retracted from the reservoir after this build are listed by `wellspring reservoir diff`;
later builds exclude them.
"""


def croissant(manifest: dict[str, Any]) -> dict[str, Any]:
    """A Croissant 1.0 JSON-LD description with the responsible-AI (RAI) fields the build knows.

    The ``@context`` is the standard Croissant 1.0 one, inline and complete: mlcroissant warns about
    every standard key it lacks."""
    counts = manifest["counts"]
    context = {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "equivalentProperty": "cr:equivalentProperty",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
    }
    files = [
        {
            "@type": "cr:FileObject",
            "@id": shard["file"],
            "name": shard["file"],
            "contentUrl": shard["file"],
            "encodingFormat": "application/x-parquet",
            "sha256": shard["sha256"],
        }
        for shard in manifest["shards"]
    ]
    field_types = {
        "doc_id": "sc:Text",
        "text": "sc:Text",
        "source": "sc:Text",
        "p_human": "sc:Float",
        "cluster_id": "sc:Integer",
        "license": "sc:Text",
        "lang": "sc:Text",
        "origin": "sc:Text",
    }
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"documents/{name}",
            "name": name,
            "dataType": dtype,
            "source": {"fileSet": {"@id": "shards"}, "extract": {"column": name}},
        }
        for name, dtype in field_types.items()
    ]
    return {
        "@context": context,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": manifest["name"],
        "description": (
            f"Training set of {counts['documents']} documents drawn by Wellspring from human-data reservoir "
            f"version {manifest['reservoir_version']} (human share {counts['human_share']:.3f})."
        ),
        "license": sorted(counts["by_license"]) or ["unknown"],
        "url": "https://example.invalid/wellspring/" + manifest["build_id"],
        "version": "1.0.0",
        "datePublished": manifest["created_at"][:10],
        "citeAs": f"Wellspring build {manifest['build_id']}",
        "distribution": [
            *files,
            {
                "@type": "cr:FileSet",
                "@id": "shards",
                "name": "shards",
                "encodingFormat": "application/x-parquet",
                "includes": "data-*.parquet",
            },
        ],
        "recordSet": [{"@type": "cr:RecordSet", "@id": "documents", "name": "documents", "field": fields}],
        "rai:dataCollection": (
            "Scraped and supplied files ingested by Wellspring nightly runs; cleaned, deduplicated (exact and "
            "MinHash), scored for provenance and admitted to a versioned reservoir by policy."
        ),
        "rai:dataCollectionType": ["Web Scraping", "Secondary Data Analysis"],
        "rai:dataPreprocessingProtocol": [
            "HTML to text (trafilatura), Unicode NFC normalisation, language identification (py3langid)",
            "Gopher/C4-style quality rules, exact and MinHash near-duplicate removal",
            "Provenance scoring (p_human) and cluster-balanced, tail-preserving weighted sampling",
        ],
        "rai:dataUseCases": ["Language-model pre-training or fine-tuning on verified human text"],
        "rai:dataLimitations": [
            "p_human comes from metadata and a text classifier, both of which can be wrong",
            f"{counts['synthetic']} documents are synthetic (origin = synthetic)",
        ],
        "rai:dataBiases": [
            "The make-up follows the sources admitted to the reservoir; per-source counts are in the dataset card",
        ],
        "rai:personalSensitiveInformation": [
            "Texts can contain personal data such as names and e-mail addresses in mailing-list archives",
        ],
        "rai:dataSocialImpact": "Intended to reduce model collapse by keeping human data and rare content.",
        "rai:hasSyntheticData": counts["synthetic"] > 0,
    }
