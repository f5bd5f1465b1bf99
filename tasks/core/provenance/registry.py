"""The source registry: how far each source is trusted, from a shipped default plus the user's file.

The default (``sources.yaml`` next to this module) lists the 20 sources of the shared corpus. A file
``<data root>/sources.yaml`` with the same layout overrides entries field by field and adds new ones,
so ``fortunes: {trust: suspect}`` changes one level and keeps the notes. Both are validated on load;
a mistake raises :class:`~tasks.core.errors.ConfigError` naming the file and the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.core.errors import ConfigError
from tasks.core.storage import DataRoot

Trust = Literal["archival", "trusted", "neutral", "suspect", "synthetic"]
USER_FILE = "sources.yaml"


class SourceEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trust: Trust
    notes: str = ""
    domains: tuple[str, ...] = ()
    log_odds: float | None = Field(None, description="overrides the trust level's log-odds for this source")


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class SourceRegistry:
    """Source name -> entry, plus where each entry came from (for the evidence)."""

    entries: Mapping[str, SourceEntry]
    origins: Mapping[str, str]

    def domain_map(self) -> dict[str, str]:
        """Domain -> source name, for documents whose ``source`` is not listed."""
        return {d.lower(): name for name, entry in self.entries.items() for d in entry.domains}

    def log_odds(self, trust_log_odds: Mapping[str, float]) -> dict[str, float]:
        return {
            name: entry.log_odds if entry.log_odds is not None else trust_log_odds[entry.trust]
            for name, entry in self.entries.items()
        }


def _read(text: str, where: str) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"source registry {where} is not valid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"source registry {where}: expected a mapping with a 'sources' key, got {type(data).__name__}"
        )
    try:
        parsed = _RegistryFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"source registry {where}: {loc}: {first['msg']}") from e
    return parsed.sources


def _merge(
    base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]], where: str, origins: dict[str, str]
) -> None:
    for name, fields in extra.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"source registry {where}: sources.{name}: expected a mapping of fields")
        merged = {**base.get(name, {}), **fields}
        try:
            SourceEntry.model_validate(merged)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"source registry {where}: sources.{name}.{loc}: {first['msg']}") from e
        base[name] = merged
        origins[name] = where


def load_registry(root: DataRoot | str | Path | None = None, extra: str | Path | None = None) -> SourceRegistry:
    """The shipped registry, overridden by ``<root>/sources.yaml`` (if present) and then by ``extra``."""
    raw: dict[str, dict[str, Any]] = {}
    origins: dict[str, str] = {}
    default = resources.files("tasks.core.provenance").joinpath("sources.yaml")
    _merge(raw, _read(default.read_text(encoding="utf-8"), "(default)"), "default", origins)
    paths: list[Path] = []
    if root is not None:
        data_root = root if isinstance(root, DataRoot) else DataRoot.at(root)
        if data_root.has_state_dir and data_root.path(USER_FILE).is_file():
            paths.append(data_root.path(USER_FILE))
    if extra is not None:
        if not Path(extra).is_file():
            raise ConfigError(f"source registry {extra} does not exist")
        paths.append(Path(extra))
    for path in paths:
        _merge(raw, _read(path.read_text(encoding="utf-8"), str(path)), str(path), origins)
    entries = {name: SourceEntry.model_validate(fields) for name, fields in raw.items()}
    return SourceRegistry(entries, origins)
