"""Set-level diversity metrics on real text: each one moves the right way, and Vendi is the reference one."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from tasks.core.diversity import DiversityConfig, DiversityMetrics, DiversityModel, assign, fit_model, set_metrics
from tasks.core.diversity.metrics import cluster_entropy, mean_pairwise_cosine, vendi_score, vendi_score_from_kernel

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
CFG = DiversityConfig(
    lexical_tokens=15_000, compression_bytes=100_000, sample_size=200, top_k=100, svd_components=48, n_clusters=16
)
# metric -> +1 when a larger value means more diverse, -1 when smaller does
DIRECTION = {
    "distinct_1": 1,
    "distinct_2": 1,
    "distinct_3": 1,
    "compression_ratio": -1,
    "unigram_entropy": 1,
    "tail_mass": 1,
    "vocabulary_size": 1,
    "cluster_entropy": 1,
    "near_duplicate_rate": -1,
    "vendi_score": 1,
    "mean_pairwise_cosine": -1,
}
# Which metrics each comparison can move, and why the others are left out:
# - a uniform resample keeps the expected cosine of two distinct documents: the mean pairwise cosine only gains
#   P(same document) * (1 - cosine), about 1/57 here, which is within its sampling noise (Vendi does see copies);
# - generated text has no copies, so the near-duplicate rate is 0 on both sides;
# - gzip ratio is confounded by format: the human sources include dictionaries, changelogs and markup-heavy docs,
#   which compress better than the machine prose (2.9 vs 2.5 on the corpus), so it is not asserted against machine.
REDUNDANCY = [n for n in DIRECTION if n != "mean_pairwise_cosine"]
NO_COPIES = [n for n in DIRECTION if n != "near_duplicate_rate"]
NOT_FORMAT = [n for n in NO_COPIES if n != "compression_ratio"]


def human_texts() -> list[str]:
    rows = [json.loads(line) for line in (SAMPLE / "inbox" / "docs-a.jsonl").open()]
    with gzip.open(SAMPLE / "inbox" / "docs-b.jsonl.gz", "rt") as f:
        rows += [json.loads(line) for line in f]
    return [r["text"] for r in rows]


def machine_texts() -> list[str]:
    return [json.loads(line)["text"] for line in (SAMPLE / "machine.jsonl").open()]


def resampled(texts: list[str], share: float, seed: int = 1) -> list[str]:
    """As many documents as ``texts``, drawn with replacement from a random ``share`` of them."""
    rng = np.random.default_rng(seed)
    pool = rng.choice(len(texts), max(1, int(len(texts) * share)), replace=False)
    return [texts[i] for i in rng.choice(pool, len(texts))]


def ngram_model_texts(texts: list[str], docs: int, seed: int = 2) -> list[str]:
    """Documents sampled from a word bigram model fit on ``texts`` (whitespace tokens)."""
    rng = np.random.default_rng(seed)
    following: dict[str, list[str]] = defaultdict(list)
    starts = []
    for text in texts:
        words = text.split()
        if words:
            starts.append(words[0])
        for a, b in itertools.pairwise(words):
            following[a].append(b)
    out = []
    for _ in range(docs):
        word = starts[rng.integers(len(starts))]
        words = [word]
        for _ in range(int(rng.integers(20, 200))):
            nxt = following.get(word)
            word = nxt[rng.integers(len(nxt))] if nxt else starts[rng.integers(len(starts))]
            words.append(word)
        out.append(" ".join(words))
    return out


def first_copy_flags(texts: list[str]) -> pl.Series:
    """True for a document whose whitespace-normalised text appeared earlier in the set."""
    normalised = pl.Series(texts).str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return ~normalised.is_first_distinct()


def assert_more_diverse(more: DiversityMetrics, less: DiversityMetrics, metrics: list[str]) -> None:
    wrong = []
    for name in metrics:
        a, b = getattr(more, name), getattr(less, name)
        if not (a - b) * DIRECTION[name] > 0:
            wrong.append(f"{name}: {a} vs {b}")
    assert wrong == []


@pytest.fixture(scope="module")
def human() -> list[str]:
    return human_texts()


@pytest.fixture(scope="module")
def machine() -> list[str]:
    return machine_texts()


@pytest.fixture(scope="module")
def model(human: list[str], machine: list[str]) -> DiversityModel:
    """One shared representation and clustering for every set compared (fit on human and machine text)."""
    both = human + machine
    return fit_model(pl.DataFrame({"doc_id": [f"f{i}" for i in range(len(both))], "text": both}), CFG)


def measured(
    texts: list[str], model: DiversityModel, cfg: DiversityConfig = CFG, lexical_vendi: bool = False
) -> DiversityMetrics:
    """Metrics of ``texts`` with clusters from ``model``, exact-copy flags, and Vendi in the model's space."""
    frame = pl.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts})
    clusters = assign(frame, model)["cluster_id"]
    representation = None if lexical_vendi else model.representation
    return set_metrics(texts, cfg, clusters=clusters, near_dup=first_copy_flags(texts), representation=representation)


# --- Vendi and cosine against the reference definition ---------------------------------------------


def reference_vendi(x: np.ndarray) -> float:
    k = x @ x.T
    w = np.linalg.eigvalsh(k / len(x))
    w = w[w > 1e-12]
    return float(np.exp(-(w * np.log(w)).sum()))


def test_vendi_of_identical_items_is_one_and_of_orthogonal_items_is_n() -> None:
    same = np.tile(np.array([[0.6, 0.8, 0.0]]), (7, 1))
    assert vendi_score(same) == pytest.approx(1.0)
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)
    assert vendi_score(np.eye(12)[:4]) == pytest.approx(4.0)  # n < d
    # two items at cosine s: eigenvalues (1 ± s) / 2
    s = 0.5
    two = np.array([[1.0, 0.0], [s, np.sqrt(1 - s * s)]])
    p = np.array([(1 + s) / 2, (1 - s) / 2])
    assert vendi_score(two) == pytest.approx(float(np.exp(-(p * np.log(p)).sum())))
    # k groups of identical items, groups orthogonal: Vendi = k
    groups = np.repeat(np.eye(3), 4, axis=0)
    assert vendi_score(groups) == pytest.approx(3.0)


def test_vendi_matches_the_reference_on_random_unit_vectors_both_ways_round() -> None:
    rng = np.random.default_rng(0)
    for n, d in ((50, 8), (8, 50), (30, 30)):
        x = rng.normal(size=(n, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        assert vendi_score(x) == pytest.approx(reference_vendi(x), rel=1e-9)
        assert vendi_score(sp.csr_matrix(x)) == pytest.approx(reference_vendi(x), rel=1e-9)
        assert vendi_score_from_kernel(x @ x.T) == pytest.approx(reference_vendi(x), rel=1e-9)
        brute = (x @ x.T)[~np.eye(n, dtype=bool)].mean()
        assert mean_pairwise_cosine(x) == pytest.approx(brute)
        assert mean_pairwise_cosine(sp.csr_matrix(x)) == pytest.approx(brute)


def test_cluster_entropy_is_one_for_an_even_spread_and_zero_for_one_cluster() -> None:
    assert cluster_entropy(np.arange(8) % 4, 4) == pytest.approx(1.0)
    assert cluster_entropy([3] * 10, 4) == 0.0
    assert 0 < cluster_entropy([0, 0, 0, 1], 4) < cluster_entropy([0, 1, 2, 3], 4)


# --- every metric moves the right way on real text -------------------------------------------------


def test_human_text_is_more_diverse_than_itself_resampled_from_five_percent(
    human: list[str], model: DiversityModel
) -> None:
    copies = resampled(human, 0.05)
    assert_more_diverse(measured(human, model), measured(copies, model), REDUNDANCY)
    # the lexical kernel (no representation given) sees it too
    more, less = measured(human, model, lexical_vendi=True), measured(copies, model, lexical_vendi=True)
    assert_more_diverse(more, less, ["vendi_score"])


def test_human_text_is_more_diverse_than_machine_text_of_the_same_size(
    human: list[str], machine: list[str], model: DiversityModel
) -> None:
    h, m = measured(human, model), measured(machine, model)
    assert h.tokens == m.tokens == CFG.lexical_tokens  # the same amount of text
    assert_more_diverse(h, m, NOT_FORMAT)


def test_human_text_is_more_diverse_than_a_bigram_model_fit_on_a_small_slice(
    human: list[str], model: DiversityModel
) -> None:
    generated = ngram_model_texts(human[:40], docs=400)
    h, g = measured(human, model), measured(generated, model)
    assert h.tokens == g.tokens == CFG.lexical_tokens
    assert_more_diverse(h, g, NO_COPIES)


def test_metrics_are_deterministic_for_a_seed_and_the_sample_depends_on_it(human: list[str]) -> None:
    flags = first_copy_flags(human)
    a = set_metrics(human, CFG, clusters=np.arange(len(human)) % 5, near_dup=flags)
    b = set_metrics(pl.Series(human), CFG, clusters=pl.Series(np.arange(len(human)) % 5), near_dup=flags)
    assert a == b
    other = set_metrics(human, CFG.model_copy(update={"seed": 7}))
    assert other.vendi_score != a.vendi_score
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()
    assert list(a.to_dict()) == DiversityMetrics.names()


def test_token_budget_bounds_the_lexical_sample_and_small_sets_use_everything(human: list[str]) -> None:
    small = set_metrics(human[:3], CFG)
    assert 0 < small.tokens < CFG.lexical_tokens
    assert small.sample_documents == 3
    assert set_metrics(human, CFG).sample_documents == CFG.sample_size


def test_empty_and_degenerate_sets() -> None:
    empty = set_metrics([], CFG)
    assert (empty.documents, empty.tokens, empty.vendi_score, empty.mean_pairwise_cosine) == (0, 0, 0.0, None)
    blank = set_metrics(["", None, "   "], CFG, clusters=[0, 0, 0], near_dup=[False, True, True])
    assert blank.tokens == 0 and blank.vendi_score == 0.0 and blank.cluster_entropy == 0.0
    assert blank.near_duplicate_rate == pytest.approx(2 / 3)
    one = set_metrics(["alpha beta gamma alpha beta gamma"], CFG)
    assert one.distinct_1 == 0.5 and one.vendi_score == pytest.approx(1.0) and one.mean_pairwise_cosine is None
    with pytest.raises(ValueError, match="clusters has 2 values for 3 texts"):
        set_metrics(["a", "b", "c"], CFG, clusters=[1, 2])


# --- the shared corpus (skipped when absent) --------------------------------------------------------


@pytest.mark.corpus
def test_corpus_human_is_more_diverse_than_machine_resampled_and_bigram_text(corpus: Path) -> None:
    cfg = CFG.model_copy(update={"lexical_tokens": 40_000, "compression_bytes": 250_000, "sample_size": 300})
    human = (
        pl.scan_parquet(corpus / "human.parquet")
        .filter(pl.col("lang") == "en")
        .select("text")
        .collect()
        .sample(2_500, seed=3)["text"]
        .to_list()
    )
    machine = pl.read_parquet(corpus / "machine.parquet", columns=["text"])["text"].to_list()
    both = human + machine
    model = fit_model(pl.DataFrame({"doc_id": [f"f{i}" for i in range(len(both))], "text": both}), cfg)
    h = measured(human, model, cfg)
    assert_more_diverse(h, measured(resampled(human, 0.05), model, cfg), REDUNDANCY)
    assert_more_diverse(h, measured(ngram_model_texts(human[:100], docs=2_000), model, cfg), NO_COPIES)
    assert_more_diverse(h, measured(machine, model, cfg), NOT_FORMAT)
