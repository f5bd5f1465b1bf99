"""Metadata signals: source trust, dates against the cutoff, licence, creator, machine disclosures.

Each signal yields evidence entries ``{"signal", "value", "detail", "log_odds"}``. Dates are
correlated (a page fetched in 2019 was also created before 2019), so only the strongest date that
is credible and before the cutoff counts; the others are listed with ``log_odds`` 0.

Date rule. A value is read as a period (``"1611"`` = the whole year, ``"2006-12"`` = the month,
ISO timestamps and HTTP dates = the day). It is *before the cutoff* when the period ends before it,
*after* when it starts after it, and otherwise says nothing (``"2022"``). It is ignored, with
evidence saying why, when it is not a date, when its year is before ``min_year`` (1400 by default:
the shared corpus has genuine 1611 and 1623 publication years but also forged e-mail headers dated
year 0102; a pre-1400 date in scraped metadata is almost always a two-digit year or a parse error,
and a genuine manuscript date only loses one signal), when it lies after today (``as_of``), or, for
``created_at`` and meta dates, when it lies after the document's own ``fetched_at``; slack of
``date_slack_days`` covers time zones.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

from tasks.core.provenance.config import ProvenanceConfig
from tasks.core.provenance.registry import SourceRegistry

Evidence = dict[str, Any]

_ISO = re.compile(r"^\s*(-?\d{1,4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?\s*$")
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_HTTP = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3})[a-z]*[ -](\d{2,4})")
_DATE_KEY = re.compile(r"(?i)(date|created|published|modified|revised|updated|timestamp|issued)")
_CREATOR_KEYS = ("author", "creator", "byline", "dc.creator", "dc:creator", "artist", "president", "maintainer")
_GENERATOR_KEYS = ("html_generator", "generator", "creator_tool", "creatortool", "software", "producer", "tool")
_AI_FLAG_KEYS = (
    "ai_generated",
    "ai-generated",
    "aigenerated",
    "is_ai_generated",
    "generated_by_ai",
    "machine_generated",
    "synthetic",
    "llm_generated",
)
_C2PA_KEYS = ("c2pa", "digital_source_type", "digitalsourcetype", "iptc:digitalsourcetype", "content_credentials")
#: Names of text generators and LLM writing tools as they appear in generator tags and disclosures.
AI_GENERATORS = re.compile(
    r"(?i)(chat-?gpt|\bgpt-?(?:2|3|3\.5|4|4o|5|j|neo)\b|openai|\bclaude\b|anthropic|\bgemini\b|\bbard\b|\bllama\b|"
    r"mistral|mixtral|\bqwen|smollm|\bphi-[234]|\bfalcon-|deepseek|\bgrok\b|command-r|jasper ?ai|copy\.ai|"
    r"writesonic|\brytr\b|article ?forge|ai ?writer|wordtune|quillbot|language model|\bllm\b)"
)
SELF_DISCLOSURE = (
    r"(?i)\bas an ai(?: language model| assistant)?\b|\bI(?: am|'m) an? (?:ai|artificial intelligence|"
    r"(?:large )?language model)\b|\bI(?: am|'m) (?:SmolLM|ChatGPT|Claude)\b"
)
_TRUE = {"true", "yes", "1", "y"}


def parse_period(value: Any) -> tuple[dt.date, dt.date] | None:
    """A date-like value as the (first, last) day it can mean; ``None`` when it is not a date."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        m = _ISO.match(text)
        if m:
            year = int(m.group(1))
            if year < 1:
                return (dt.date.min, dt.date.min)
            if m.group(3):
                day = dt.date(year, int(m.group(2)), int(m.group(3)))
                return day, day
            if m.group(2):
                month = int(m.group(2))
                last = calendar.monthrange(year, month)[1]
                return dt.date(year, month, 1), dt.date(year, month, last)
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        h = _HTTP.search(text)
        if h and h.group(2).lower() in _MONTHS:
            year = int(h.group(3))
            year += 2000 if year < 50 else 1900 if year < 100 else 0
            day = dt.date(year, _MONTHS[h.group(2).lower()], int(h.group(1)))
            return day, day
    except ValueError:
        return None
    return None


def _meta_dict(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _entry(signal: str, value: Any, detail: str, log_odds: float) -> Evidence:
    return {"signal": signal, "value": value, "detail": detail, "log_odds": round(float(log_odds), 4)}


class DateJudge:
    """Classifies date values against the cutoff, today and the document's fetch date."""

    def __init__(self, cfg: ProvenanceConfig) -> None:
        self.cfg = cfg
        self.today = cfg.as_of or dt.datetime.now(dt.UTC).date()
        self.slack = dt.timedelta(days=cfg.date_slack_days)

    def judge(
        self, signal: str, value: Any, weight: float, fetched: tuple[dt.date, dt.date] | None
    ) -> tuple[Evidence, float, float]:
        """(evidence with log_odds 0, the log-odds it would add if it counts before the cutoff, after-cutoff weight)."""
        period = parse_period(value)
        cutoff = self.cfg.cutoff
        if period is None:
            return _entry(signal, value, "ignored: not a date", 0.0), 0.0, 0.0
        first, last = period
        if first.year < self.cfg.min_year:
            detail = f"ignored: year {first.year:04d} is before {self.cfg.min_year} (parse error or forged)"
            return _entry(signal, value, detail, 0.0), 0.0, 0.0
        if first > self.today + self.slack:
            return _entry(signal, value, f"ignored: in the future (after {self.today})", 0.0), 0.0, 0.0
        if fetched is not None and signal != "fetched_at" and first > fetched[1] + self.slack:
            return _entry(signal, value, f"ignored: after fetched_at {fetched[1]}", 0.0), 0.0, 0.0
        if last < cutoff:
            return _entry(signal, value, f"before {cutoff}", 0.0), weight, 0.0
        if first > cutoff:
            return _entry(signal, value, f"after {cutoff}", 0.0), 0.0, self.cfg.date_after_cutoff
        return _entry(signal, value, f"spans {cutoff}: no evidence", 0.0), 0.0, 0.0


def _dates(judge: DateJudge, created: Any, fetched: Any, meta: dict[str, Any], cfg: ProvenanceConfig) -> list[Evidence]:
    fetched_period = parse_period(fetched)
    if fetched_period is not None and (
        fetched_period[0].year < cfg.min_year or fetched_period[0] > judge.today + judge.slack
    ):
        fetched_period = None
    candidates: list[tuple[str, Any, float]] = []
    if created is not None and str(created).strip():
        candidates.append(("created_at", created, cfg.date_before_cutoff))
    if fetched is not None and str(fetched).strip():
        candidates.append(("fetched_at", fetched, cfg.fetched_before_cutoff))
    for key, value in meta.items():
        if isinstance(value, (str, int)) and not isinstance(value, bool) and _DATE_KEY.search(key):
            name = "http_last_modified" if key == "http_last_modified" else f"meta.{key}"
            candidates.append((name, value, cfg.modified_before_cutoff))
    judged = [judge.judge(name, value, weight, fetched_period) for name, value, weight in candidates]
    best = max(range(len(judged)), key=lambda i: judged[i][1], default=None)
    if best is not None and judged[best][1] > 0:
        for i, (entry, before, _) in enumerate(judged):
            if i == best:
                entry["log_odds"] = round(before, 4)
            elif before > 0:
                entry["detail"] += f" (counted once, via {judged[best][0]['signal']})"
    else:
        after = [i for i, (_, _, a) in enumerate(judged) if a != 0.0]
        if after:
            judged[after[0]][0]["log_odds"] = round(judged[after[0]][2], 4)
    return [entry for entry, _, _ in judged]


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE)


def _disclosures(meta: dict[str, Any], cfg: ProvenanceConfig) -> list[Evidence]:
    out: list[Evidence] = []
    lowered = {str(k).lower(): v for k, v in meta.items()}
    for key in _GENERATOR_KEYS:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            hit = AI_GENERATORS.search(value)
            signal = f"meta.{key}"
            if hit:
                out.append(_entry(signal, value, f"names a text generator ({hit.group(0)})", cfg.disclosed_machine))
            else:
                out.append(_entry(signal, value, "not a known text generator", 0.0))
    for key in _AI_FLAG_KEYS:
        if key in lowered:
            value = lowered[key]
            if _truthy(value):
                out.append(_entry(f"meta.{key}", value, "declares machine generation", cfg.disclosed_machine))
            else:
                out.append(_entry(f"meta.{key}", value, "declares no machine generation (not verifiable)", 0.0))
    for key in _C2PA_KEYS:
        if key in lowered:
            blob = orjson.dumps(lowered[key]).decode().lower()
            if "compositewithtrainedalgorithmicmedia" in blob:
                out.append(
                    _entry(f"meta.{key}", "compositeWithTrainedAlgorithmicMedia", "partly AI", cfg.partly_machine)
                )
            elif "trainedalgorithmicmedia" in blob:
                out.append(_entry(f"meta.{key}", "trainedAlgorithmicMedia", "AI-generated", cfg.disclosed_machine))
            else:
                out.append(_entry(f"meta.{key}", blob[:80], "no AI source type declared", 0.0))
    for key in _CREATOR_KEYS:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            hit = AI_GENERATORS.search(value)
            if hit:
                out.append(
                    _entry(f"meta.{key}", value, f"creator is a text generator ({hit.group(0)})", cfg.disclosed_machine)
                )
            else:
                out.append(_entry(f"meta.{key}", value, "declared creator", cfg.declared_creator))
            break
    return out


def metadata_frame(docs: pl.DataFrame, cfg: ProvenanceConfig, registry: SourceRegistry) -> pl.DataFrame:
    """Columns ``_source_entry``/``_source_lo`` (vectorised lookups) and ``_self_disclosure`` for ``docs``."""
    domain_map = registry.domain_map()
    names = list(registry.entries)
    host = (
        pl.coalesce(pl.col("domain"), pl.col("url").str.extract(r"^[a-zA-Z][\w+.-]*://([^/:?#]+)"))
        .str.to_lowercase()
        .str.strip_prefix("www.")
    )
    by_domain = host.replace_strict(
        {**{k.removeprefix("www."): v for k, v in domain_map.items()}}, default=None, return_dtype=pl.String
    )
    entry = pl.when(pl.col("source").is_in(names)).then(pl.col("source")).otherwise(by_domain)
    lo = registry.log_odds(cfg.trust_log_odds)
    return docs.select(
        entry.alias("_source_entry"),
        entry.replace_strict(lo, default=None, return_dtype=pl.Float64).alias("_source_lo"),
        pl.col("text").fill_null("").str.extract(f"({SELF_DISCLOSURE})").alias("_self_disclosure"),
    )


def metadata_evidence(docs: pl.DataFrame, cfg: ProvenanceConfig, registry: SourceRegistry) -> list[list[Evidence]]:
    """Per document, the evidence entries of every metadata signal (classifier and prior excluded)."""
    looked_up = metadata_frame(docs, cfg, registry)
    judge = DateJudge(cfg)
    out: list[list[Evidence]] = []
    columns: Iterable[tuple[Any, ...]] = zip(
        docs["source"],
        looked_up["_source_entry"],
        looked_up["_source_lo"],
        docs["created_at"],
        docs["fetched_at"],
        docs["license"],
        docs["meta"],
        looked_up["_self_disclosure"],
        strict=True,
    )
    for source, entry_name, source_lo, created, fetched, licence, raw_meta, disclosure in columns:
        meta = _meta_dict(raw_meta)
        evidence: list[Evidence] = []
        if entry_name is not None:
            entry = registry.entries[entry_name]
            how = "" if entry_name == source else f" (matched by domain as {entry_name})"
            evidence.append(_entry("source", source or entry_name, f"{entry.trust} source{how}", source_lo))
        elif source is not None:
            evidence.append(_entry("source", source, "not in the source registry", cfg.unknown_source))
        evidence += _dates(judge, created, fetched, meta, cfg)
        if licence is not None and str(licence).strip():
            evidence.append(_entry("license", licence, "licence declared", cfg.declared_license))
        evidence += _disclosures(meta, cfg)
        if disclosure is not None:
            evidence.append(_entry("text_disclosure", disclosure, "the text says it is an AI", cfg.self_disclosure))
        out.append(evidence)
    return out
