"""Versioned model storage: ``<home>/models/provenance/v<N>/{model.skops, metrics.json, manifest.json}``.

The model is written with skops and read back against a fixed allow-list of types
(``TRUSTED_TYPES``); the file's own ``get_untrusted_types`` answer is never used to decide what to
trust. The manifest records the file's sha256 and the feature spec; a file that no longer matches
its manifest, or that holds a type outside the allow-list, is refused with :class:`ModelFileError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from skops.io.exceptions import UntrustedTypesFoundException

from tasks.core.checksums import sha256_file
from tasks.core.errors import NotFoundError, WellspringError
from tasks.core.provenance.charlm import CharNgramCounts
from tasks.core.provenance.features import FEATURE_VERSION, FeatureSpec
from tasks.core.provenance.model import ProvenanceModel
from tasks.core.storage import DataRoot

MODEL_DIR = ("models", "provenance")
MODEL_FILE, METRICS_FILE, MANIFEST_FILE = "model.skops", "metrics.json", "manifest.json"

#: Every type a provenance model file may contain besides skops' own defaults (builtins, numpy arrays).
TRUSTED_TYPES: tuple[str, ...] = ("sklearn.linear_model._logistic.LogisticRegression",)
PARTS = ("classifier", "calibrator")
ARRAYS = ("charlm_counts", "charlm_center", "charlm_scale")


class ModelFileError(WellspringError):
    """A stored model is corrupt, tampered with, or holds types outside the allow-list."""


def _models(root: DataRoot) -> Path:
    return root.path(*MODEL_DIR)


def versions(root: DataRoot) -> list[int]:
    """Stored model versions (those with a manifest), ascending."""
    base = _models(root)
    if not base.is_dir():
        return []
    found = []
    for child in base.iterdir():
        m = re.fullmatch(r"v(\d+)", child.name)
        if m and (child / MANIFEST_FILE).is_file():
            found.append(int(m.group(1)))
    return sorted(found)


def save_model(root: DataRoot, model: ProvenanceModel, metrics: dict[str, Any]) -> int:
    """Store ``model`` as the next version and return it. The folder appears atomically (rename)."""
    base = _models(root)
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    try:
        model_path = staging / MODEL_FILE
        sio.dump(
            {
                "classifier": model.classifier,
                "calibrator": model.calibrator,
                # the character model as plain arrays: numpy arrays and floats need no allow-list entry
                "charlm_counts": model.human_chars.counts.astype(np.float32),  # integer counts < 2**24: exact
                "charlm_total": model.human_chars.total,
                "charlm_center": model.charlm_center,
                "charlm_scale": model.charlm_scale,
            },
            model_path,
            compression=zipfile.ZIP_DEFLATED,  # the count table is mostly zeros
        )
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        for _ in range(100):
            version = (max(versions(root), default=0)) + 1
            manifest = {
                "version": version,
                "kind": "provenance",
                "sha256": sha256_file(model_path),
                "feature_spec": model.spec.to_dict(),
                "sklearn": sklearn.__version__,
                "info": model.info,
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
            try:
                os.rename(staging, base / f"v{version}")
                return version
            except OSError:  # another writer took this version number first
                continue
        raise WellspringError(f"could not store a new model version under {base}")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_model(root: DataRoot, version: int | None = None) -> ProvenanceModel:
    """Version ``version`` (``None``: the latest); :class:`NotFoundError` if there is none."""
    stored = versions(root)
    if not stored:
        raise NotFoundError(
            f"no provenance model in {_models(root)}; train one with `wellspring provenance train --human F --machine F`"
        )
    if version is None:
        version = stored[-1]
    elif version not in stored:
        raise NotFoundError(f"provenance model v{version} does not exist; stored versions: {stored}")
    folder = _models(root) / f"v{version}"
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFileError(f"manifest of provenance model v{version} is unreadable: {e}") from e
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ModelFileError(f"provenance model v{version} has no {MODEL_FILE}")
    if sha256_file(model_path) != manifest.get("sha256"):
        raise ModelFileError(
            f"{model_path} does not match the sha256 in its manifest: it changed after it was saved; "
            "refusing to load it (retrain, or restore the original file)"
        )
    spec_dict = manifest.get("feature_spec", {})
    if spec_dict.get("version") != FEATURE_VERSION:
        raise ModelFileError(
            f"provenance model v{version} uses features v{spec_dict.get('version')}, this code computes "
            f"v{FEATURE_VERSION}; retrain it"
        )
    try:
        loaded = sio.load(model_path, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as e:
        raise ModelFileError(f"{model_path} holds types outside the allow-list, refusing to load it: {e}") from e
    except Exception as e:  # skops raises many types for a damaged archive
        raise ModelFileError(f"{model_path} is not a readable skops model: {e}") from e
    spec = FeatureSpec(**spec_dict)
    if (
        not isinstance(loaded, dict)
        or not all(isinstance(loaded.get(part), LogisticRegression) for part in PARTS)
        or not all(isinstance(loaded.get(part), np.ndarray) for part in ARRAYS)
        or not isinstance(loaded.get("charlm_total"), float)
        or loaded["charlm_counts"].shape != (1 << spec.charlm_bits,)
        or loaded["charlm_center"].shape != (2,)
        or loaded["charlm_scale"].shape != (2,)
    ):
        raise ModelFileError(f"{model_path} does not hold a provenance model")
    info = dict(manifest.get("info", {}))
    info["version"] = version
    human_chars = CharNgramCounts(loaded["charlm_counts"].astype(np.float64), loaded["charlm_total"])
    return ProvenanceModel(
        spec,
        loaded["classifier"],
        loaded["calibrator"],
        human_chars,
        loaded["charlm_center"],
        loaded["charlm_scale"],
        info,
    )


def load_metrics(root: DataRoot, version: int) -> dict[str, Any]:
    path = _models(root) / f"v{version}" / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
