"""Versioned storage of diversity models in the data root.

A model lives at ``<home>/models/diversity/v<N>/``: ``model.skops`` (the sklearn estimators and
arrays, written with skops, never pickle) and ``manifest.json`` (where it came from: reservoir
version and size, config, backend, the file's sha256, library versions). Versions count up from 1;
a new version is written to a temporary folder and renamed into place, so a reader never sees half
a model and two writers never share a number.

Loading refuses a model unless (1) the file's sha256 matches the manifest, (2) skops finds only
the types in :data:`TRUSTED_TYPES` (plus skops' own defaults) - the list is pinned here and never
taken from the file - and (3) the loaded object has exactly the expected structure and classes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from tasks.core.checksums import sha256_file
from tasks.core.diversity.config import DiversityConfig
from tasks.core.diversity.model import DiversityModel, ModelInfo, fit_model
from tasks.core.diversity.representation import HASHING_BACKEND, DiversityError, HashedTfidfSvd, Representation
from tasks.core.errors import NotFoundError, WellspringError
from tasks.core.storage import DataRoot

MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"

# Pinned here, never read from a model file.
TRUSTED_TYPES: list[str] = [
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.decomposition._truncated_svd.TruncatedSVD",
    "sklearn.cluster._kmeans.MiniBatchKMeans",
]

_STATE_KEYS = {"representation", "kmeans", "cluster_counts", "reference", "reference_ids", "neighbours"}
_REPRESENTATION_TYPES = {
    "vectorizer": HashingVectorizer,
    "tfidf": TfidfTransformer,
    "svd": TruncatedSVD,
    "columns": np.ndarray,
    "max_chars": (int, type(None)),
    "batch_size": int,
}
_VERSION_DIR = re.compile(r"^v(\d+)$")


class ModelIntegrityError(WellspringError):
    """A stored model was modified, or holds types or structure the loader does not trust."""


def models_dir(root: DataRoot) -> Path:
    return root.path("models", "diversity")


def model_versions(root: DataRoot) -> list[int]:
    """Stored model versions, oldest first."""
    base = models_dir(root)
    if not base.is_dir():
        return []
    found = [int(m.group(1)) for p in base.iterdir() if (m := _VERSION_DIR.match(p.name))]
    return sorted(v for v in found if (base / f"v{v}" / MANIFEST_FILE).is_file())


def _state(model: DiversityModel) -> dict[str, Any]:
    representation: dict[str, Any] | None = None
    if isinstance(model.representation, HashedTfidfSvd):
        representation = model.representation.state()
    elif model.info.backend == HASHING_BACKEND:
        raise DiversityError(f"cannot store a {type(model.representation).__name__} as {HASHING_BACKEND}")
    return {
        "representation": representation,
        "kmeans": model.kmeans,
        "cluster_counts": model.cluster_counts,
        "reference": model.reference,
        "reference_ids": model.reference_ids,
        "neighbours": model.neighbours,
    }


def save_model(root: DataRoot, model: DiversityModel) -> DiversityModel:
    """Store ``model`` as the next version; return it with ``info.version`` set."""
    base = models_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    import skops  # imported here: skops pulls in pandas and scipy.stats (~3 s), which most callers never need
    import skops.io as sio

    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    try:
        sio.dump(_state(model), staging / MODEL_FILE)
        for _ in range(100):
            version = max(model_versions(root), default=0) + 1
            stored = model.with_info(version=version)
            manifest = {
                **dataclasses.asdict(stored.info),
                "file": MODEL_FILE,
                "sha256": sha256_file(staging / MODEL_FILE),
                "libraries": {"scikit-learn": sklearn.__version__, "skops": skops.__version__, "numpy": np.__version__},
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            try:
                os.rename(staging, base / f"v{version}")
            except OSError:  # another writer took this number
                continue
            return stored
        raise DiversityError(f"could not allocate a model version in {base}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_manifest(root: DataRoot, version: int | None = None) -> dict[str, Any]:
    """The manifest of model ``version`` (default: the latest)."""
    versions = model_versions(root)
    if not versions:
        raise NotFoundError(f"no diversity model in {models_dir(root)}; fit one first")
    chosen = versions[-1] if version is None else version
    path = models_dir(root) / f"v{chosen}" / MANIFEST_FILE
    if not path.is_file():
        raise NotFoundError(f"diversity model v{chosen} does not exist (stored: {versions})")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelIntegrityError(f"{path} is not valid JSON: {e}") from e
    return manifest


def load_model(root: DataRoot, version: int | None = None) -> DiversityModel:
    """Load model ``version`` (default: the latest), refusing anything modified or untrusted."""
    manifest = read_manifest(root, version)
    folder = models_dir(root) / f"v{manifest.get('version')}"
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelIntegrityError(f"{path} is missing")
    if sha256_file(path) != manifest.get("sha256"):
        raise ModelIntegrityError(f"{path} does not match the sha256 in its manifest; refusing to load it")
    import skops.io as sio  # see save_model
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        state = sio.load(path, trusted=TRUSTED_TYPES)
    except UntrustedTypesFoundException as e:
        raise ModelIntegrityError(f"{path} holds types outside the trusted list: {e}") from e
    except Exception as e:  # skops raises several types for a corrupt file
        raise ModelIntegrityError(f"{path} cannot be read as a skops file: {e}") from e
    _check_structure(state, path)
    info_fields = {f.name for f in dataclasses.fields(ModelInfo)}
    info = ModelInfo(**{k: v for k, v in manifest.items() if k in info_fields})
    representation = _representation(state["representation"], info)
    return DiversityModel(
        representation=representation,
        kmeans=state["kmeans"],
        cluster_counts=np.asarray(state["cluster_counts"], dtype=np.int64),
        reference=np.asarray(state["reference"], dtype=np.float32),
        reference_ids=np.asarray(state["reference_ids"]).astype(str),
        neighbours=int(state["neighbours"]),
        info=info,
    )


def _check_structure(state: Any, path: Path) -> None:
    def wrong(what: str) -> ModelIntegrityError:
        return ModelIntegrityError(f"{path} does not have the structure of a diversity model: {what}")

    if not isinstance(state, dict) or set(state) != _STATE_KEYS:
        raise wrong(f"keys {sorted(state) if isinstance(state, dict) else type(state).__name__}")
    if type(state["kmeans"]) is not MiniBatchKMeans:
        raise wrong(f"kmeans is a {type(state['kmeans']).__name__}")
    for key in ("cluster_counts", "reference", "reference_ids"):
        if not isinstance(state[key], np.ndarray):
            raise wrong(f"{key} is a {type(state[key]).__name__}")
    if not isinstance(state["neighbours"], int):
        raise wrong("neighbours is not an int")
    rep = state["representation"]
    if rep is None:
        return
    if not isinstance(rep, dict) or set(rep) != set(_REPRESENTATION_TYPES):
        raise wrong("representation keys")
    for key, expected in _REPRESENTATION_TYPES.items():
        if isinstance(expected, tuple):
            if not isinstance(rep[key], expected):
                raise wrong(f"representation {key} is a {type(rep[key]).__name__}")
        elif type(rep[key]) is not expected:
            raise wrong(f"representation {key} is a {type(rep[key]).__name__}")


def _representation(state: dict[str, Any] | None, info: ModelInfo) -> Representation:
    if info.backend == HASHING_BACKEND:
        if state is None:
            raise ModelIntegrityError(f"model v{info.version} declares {HASHING_BACKEND} but stores no representation")
        return HashedTfidfSvd.from_state(state)
    if info.embedding_model is None:
        raise ModelIntegrityError(f"model v{info.version} has backend {info.backend} and no embedding_model")
    from tasks.core.diversity.embedding import SentenceEmbedding

    return SentenceEmbedding(info.embedding_model)


def latest_model(root: DataRoot) -> DiversityModel | None:
    """The latest stored model, or None when there is none."""
    return load_model(root) if model_versions(root) else None


def fit_reservoir(root: DataRoot, cfg: DiversityConfig, version: int | None = None) -> DiversityModel:
    """Fit a model on reservoir ``version`` (default: latest) and store it as the next model version."""
    ref = root.ref("reservoir")
    chosen = ref.version if version is None else version
    if chosen is None:
        raise NotFoundError(f"the reservoir in {root.home} is empty; nothing to fit a diversity model on")
    docs = root.scan("reservoir", version=chosen).select("doc_id", "text").sort("doc_id")  # row order must not matter
    return save_model(root, fit_model(docs, cfg, reservoir_version=chosen))
