"""MinHash near-dedup: bit-for-bit agreement with datasketch, LSH parameters, clusters and survivors."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.lsh import _optimal_param
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tasks.core.config import MinHashConfig
from tasks.core.errors import SchemaError
from tasks.core.minhash import (
    VERIFY_WEIGHTS,
    band_hashes,
    bands_rows,
    estimated_jaccard,
    exact_jaccard,
    near_duplicates,
    optimal_bands_rows,
    permutations,
    shingle_hash,
    shingle_hashes,
    shingles,
    signature_rows,
    signatures,
    sketch_key,
    verify_margin,
)

CORPUS = Path(os.environ.get("WELLSPRING_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))
CFG = MinHashConfig()

TRICKY = [
    "",
    "   \n\t ",
    "one",
    "two words",
    "Exactly five words right here",
    "Hello\u00a0World  foo\u3000bar\u2028baz\x85qux \u200bzero-width-is-not-space",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ İstanbul ǅemal ﬁne STRASSE straße",
    "emoji 🙂 and 漢字のテキスト mixed with ASCII, punctuation! and\r\nline\x0bbreaks\x0cform",
    "x" * 5000 + " long token " + "y" * 300,
]


def _words(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    return [rng.choice(vocab) for _ in range(n)]


def _doc(seed: int, n: int = 120) -> str:
    return " ".join(_words(seed, n))


def _edit(text: str, changes: int, seed: int) -> str:
    words = text.split()
    rng = random.Random(seed)
    for pos in rng.sample(range(len(words)), changes):
        words[pos] = f"edited{rng.randrange(10**6)}"
    return " ".join(words)


def _datasketch(text: str, cfg: MinHashConfig) -> MinHash:
    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=shingle_hash)
    for sh in shingles(text, cfg):
        m.update(sh)
    return m


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    path = CORPUS / "human.parquet"
    if not path.is_file():
        pytest.skip(f"shared corpus not found at {path}")
    frame = pl.read_parquet(path, columns=["id", "text", "created_at", "source"])
    return frame.sample(300, seed=11).rename({"id": "doc_id"})


# --- signatures ----------------------------------------------------------------------------------


def test_permutations_match_datasketch() -> None:
    for num_perm, seed in [(128, 1), (64, 7), (3, 0)]:
        a, b = permutations(num_perm, seed)
        expected = MinHash(num_perm=num_perm, seed=seed).permutations
        np.testing.assert_array_equal(np.array([a, b]), expected)


@pytest.mark.parametrize(
    "cfg",
    [CFG, MinHashConfig(shingle="char"), MinHashConfig(ngram=1, num_perm=64, seed=7), MinHashConfig(ngram=3)],
    ids=["word5", "char5", "word1-64perm", "word3"],
)
def test_signatures_equal_datasketch_on_tricky_text(cfg: MinHashConfig) -> None:
    sigs = signatures([*TRICKY, None], cfg)
    for text, sig in zip(TRICKY, sigs, strict=False):
        np.testing.assert_array_equal(sig, _datasketch(text, cfg).hashvalues, err_msg=repr(text[:60]))
    assert (sigs[-1] == np.iinfo(np.uint32).max).all()  # null text: an empty MinHash


@pytest.mark.corpus
@pytest.mark.parametrize("cfg", [CFG, MinHashConfig(shingle="char")], ids=["word5", "char5"])
def test_signatures_equal_datasketch_on_real_text(real: pl.DataFrame, cfg: MinHashConfig) -> None:
    texts = real["text"].to_list()[: 300 if cfg.shingle == "word" else 100]  # char shingles: slow reference
    sigs = signatures(texts, cfg)
    assert sigs.shape == (len(texts), cfg.num_perm) and sigs.dtype == np.uint32
    for text, sig in zip(texts, sigs, strict=True):
        m = _datasketch(text, cfg)
        np.testing.assert_array_equal(sig, m.hashvalues)
    hashes, offsets = shingle_hashes(real["text"][:40], cfg)
    for k, text in enumerate(texts[:40]):
        assert hashes[offsets[k] : offsets[k + 1]].tolist() == [shingle_hash(s) for s in shingles(text, cfg)]


@pytest.mark.corpus
def test_lean_minhash_round_trip(real: pl.DataFrame) -> None:
    texts = real["text"].to_list()[:20]
    sigs = signatures(texts, CFG)
    for k in range(len(texts) - 1):
        lean = LeanMinHash(seed=CFG.seed, hashvalues=sigs[k], scheme="affine32")
        buf = bytearray(lean.bytesize())
        lean.serialize(buf)
        back = LeanMinHash.deserialize(buf)
        assert back == LeanMinHash(_datasketch(texts[k], CFG))
        other = _datasketch(texts[k + 1], CFG)
        assert back.jaccard(other) == estimated_jaccard(sigs[k], sigs[k + 1])


def test_signatures_are_chunk_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.core.minhash as module

    texts = [_doc(i, 50 + i) for i in range(30)] + TRICKY
    whole = signatures(texts, CFG)
    monkeypatch.setattr(module, "_CHUNK_BYTES", 700)
    np.testing.assert_array_equal(signatures(texts, CFG), whole)


def test_normalisation_lowercases_and_collapses_whitespace() -> None:
    assert shingles("A  b\u00a0C\td\n\ne  F", CFG) == [("a", "b", "c", "d", "e"), ("b", "c", "d", "e", "f")]
    assert shingles("Hi  there", MinHashConfig(shingle="char", ngram=4)) == [
        tuple("hi t"),
        tuple("i th"),
        tuple(" the"),
        tuple("ther"),
        tuple("here"),
    ]
    assert shingles("short text", CFG) == [("short", "text")]
    assert shingles(" \n ", CFG) == []
    np.testing.assert_array_equal(signatures(["A  B c"], CFG), signatures(["a b\u3000C "], CFG))


# --- LSH -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_optimal_bands_rows_equals_datasketch(threshold: float) -> None:
    assert optimal_bands_rows(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)
    assert optimal_bands_rows(threshold, 64, 0.3, 0.7) == _optimal_param(threshold, 64, 0.3, 0.7)
    lsh = MinHashLSH(threshold, 128)
    assert optimal_bands_rows(threshold, 128) == (lsh.b, lsh.r)


def test_bands_rows_from_config() -> None:
    assert bands_rows(MinHashConfig(bands=16, rows=8)) == (16, 8)
    assert bands_rows(CFG) == _optimal_param(0.8, 128, *VERIFY_WEIGHTS) == (16, 8)
    assert bands_rows(MinHashConfig(verify=False)) == _optimal_param(0.8, 128, 0.5, 0.5) == (9, 13)


def test_band_hashes_agree_exactly_on_equal_bands() -> None:
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, (50, 128), dtype=np.uint32)
    sigs[1, :13] = sigs[0, :13]
    hashes = band_hashes(sigs, 9, 13)
    assert hashes.shape == (50, 9) and hashes.dtype == np.uint64
    assert hashes[0, 0] == hashes[1, 0]
    assert (hashes[0, 1:] != hashes[1, 1:]).all()
    assert len(np.unique(hashes[:, 0])) == 49


@pytest.mark.parametrize(
    "call",
    [
        lambda: band_hashes(np.zeros((2, 16), np.uint32), 5, 4),
        lambda: band_hashes(np.zeros((2, 16), np.uint64), 2, 4),
        lambda: optimal_bands_rows(1.0, 128),
        lambda: optimal_bands_rows(0.8, 128, 0.9, 0.9),
        lambda: signature_rows(["a"], np.zeros((2, 128), np.uint32), CFG),
        lambda: near_duplicates(pl.DataFrame({"doc_id": ["a"], "text": ["x"]}), {"threshold": 0.8}),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- near_duplicates -----------------------------------------------------------------------------


def _frame(texts: dict[str, str], **extra: list[object]) -> pl.DataFrame:
    return pl.DataFrame({"doc_id": list(texts), "text": list(texts.values()), **extra})


def test_exact_copy_edited_copy_and_unrelated() -> None:
    base = _doc(1, 300)
    docs = _frame(
        {
            "a": base,
            "b-copy": base,
            "c-edited": _edit(base, 3, seed=2),
            "d-unrelated": _doc(3, 300),
            "e-short": "the only short text",
        }
    )
    out = near_duplicates(docs, CFG)
    assert out.columns == ["doc_id", "cluster_id", "survivor", "near_dup_of", "similarity"]
    assert out["doc_id"].to_list() == docs["doc_id"].to_list()
    rows = {r["doc_id"]: r for r in out.to_dicts()}
    assert rows["a"] == {"doc_id": "a", "cluster_id": "a", "survivor": True, "near_dup_of": None, "similarity": None}
    assert rows["b-copy"]["near_dup_of"] == "a" and rows["b-copy"]["similarity"] == 1.0
    assert rows["c-edited"]["near_dup_of"] == "a" and 0.8 <= rows["c-edited"]["similarity"] < 1.0
    for doc in ("d-unrelated", "e-short"):
        assert rows[doc] == {
            "doc_id": doc,
            "cluster_id": None,
            "survivor": True,
            "near_dup_of": None,
            "similarity": None,
        }


@pytest.mark.corpus
def test_real_documents_copies_and_edits_are_found(real: pl.DataFrame) -> None:
    # 2 edited words in > 600 words change at most 10 of 600 shingles: J > 0.96, missed by LSH with p < 1e-4
    long_docs = real.filter(pl.col("text").str.extract_all(r"\S+").list.len() > 600).head(10)
    assert long_docs.height >= 3
    copies = long_docs.with_columns(
        doc_id=pl.col("doc_id") + "~copy", text=pl.col("text").str.replace(r"\s+", "\n", literal=False)
    )
    edited = long_docs.with_columns(
        doc_id=pl.col("doc_id") + "~edit",
        text=pl.col("text").map_elements(lambda t: _edit(t, 2, seed=len(t)), return_dtype=pl.String),
    )
    docs = pl.concat([real, copies, edited], how="vertical_relaxed")
    out = near_duplicates(docs.lazy(), CFG)
    removed = dict(out.filter(~pl.col("survivor")).select("doc_id", "near_dup_of").iter_rows())
    for original in long_docs["doc_id"]:
        assert removed.get(f"{original}~copy") == original or removed.get(original) == f"{original}~copy"
        assert f"{original}~edit" in removed or original in removed
    # no cluster joins two different sources' originals by accident
    originals = set(real["doc_id"])
    merged = out.filter(pl.col("doc_id").is_in(originals) & ~pl.col("survivor"))
    for row in merged.iter_rows(named=True):
        a = set(shingles(real.filter(pl.col("doc_id") == row["doc_id"])["text"][0], CFG))
        b = set(shingles(docs.filter(pl.col("doc_id") == row["near_dup_of"])["text"][0], CFG))
        assert len(a & b) / len(a | b) > 0.6


def test_survivor_rule_p_human_then_created_at_then_doc_id() -> None:
    base = _doc(5)
    docs = _frame(
        {"z": base, "y": base, "x": base, "w": base, "v": base},
        p_human=[0.9, 0.9, None, 0.2, float("nan")],
        created_at=["2001-01-01", "2000-06-01", "1990", None, "1980"],
    )
    out = near_duplicates(docs, CFG)
    assert out.filter(pl.col("survivor"))["doc_id"].to_list() == ["y"]
    assert set(out["cluster_id"]) == {"y"}
    no_rank = near_duplicates(docs.select("doc_id", "text"), CFG)
    assert no_rank.filter(pl.col("survivor"))["doc_id"].to_list() == ["v"]


def test_schema_errors() -> None:
    with pytest.raises(SchemaError, match="text"):
        near_duplicates(pl.DataFrame({"doc_id": ["a"]}), CFG)
    with pytest.raises(SchemaError, match="unique"):
        near_duplicates(_frame({"a": "x"}).vstack(_frame({"a": "y"})), CFG)
    with pytest.raises(SchemaError, match="signature"):
        near_duplicates(_frame({"a": "x"}), CFG, index=pl.DataFrame({"doc_id": ["r"]}))


def test_empty_batch() -> None:
    out = near_duplicates(pl.DataFrame(schema={"doc_id": pl.String, "text": pl.String}), CFG)
    assert out.height == 0 and out.columns == ["doc_id", "cluster_id", "survivor", "near_dup_of", "similarity"]


# --- incremental ---------------------------------------------------------------------------------


def _reservoir() -> tuple[pl.DataFrame, pl.DataFrame]:
    reservoir = _frame({f"r{i}": _doc(100 + i, 200) for i in range(20)})
    index = signature_rows(reservoir["doc_id"], signatures(reservoir["text"], CFG), CFG)
    return reservoir, index


def test_signature_rows_schema() -> None:
    _, index = _reservoir()
    bands, rows = bands_rows(CFG)
    assert dict(index.schema) == {
        "doc_id": pl.String,
        "sketch": pl.String,
        "banding": pl.String,
        "signature": pl.Binary,
        "band_hashes": pl.List(pl.Int64),
    }
    assert index["sketch"].unique().to_list() == [sketch_key(CFG)]
    assert index["banding"].unique().to_list() == [f"{bands}x{rows}"]
    assert index["signature"].bin.size().unique().to_list() == [4 * CFG.num_perm]
    assert index["band_hashes"].list.len().unique().to_list() == [bands]


def test_batch_near_copy_of_reservoir_doc_points_at_it(tmp_path: Path) -> None:
    reservoir, index = _reservoir()
    batch = _frame(
        {
            "new-copy-of-r3": _edit(reservoir["text"][3], 2, seed=9),
            "new-unrelated": _doc(999, 200),
            "new-twin-a": _doc(500, 200),
            "new-twin-b": _doc(500, 200),
        },
        p_human=[1.0, 0.5, 0.5, 0.5],
    )
    index.write_delta(tmp_path / "signatures")  # the index must survive a Delta round trip
    out = near_duplicates(batch, CFG, index=pl.scan_delta(str(tmp_path / "signatures")))
    rows = {r["doc_id"]: r for r in out.to_dicts()}
    assert rows["new-copy-of-r3"]["near_dup_of"] == "r3" and rows["new-copy-of-r3"]["cluster_id"] == "r3"
    assert not rows["new-copy-of-r3"]["survivor"]
    assert rows["new-unrelated"]["survivor"] and rows["new-unrelated"]["cluster_id"] is None
    assert rows["new-twin-b"]["near_dup_of"] == "new-twin-a"
    assert set(out["doc_id"]) == set(batch["doc_id"])  # reservoir documents are never reported

    keep_new = near_duplicates(batch, CFG.model_copy(update={"reservoir_wins": False}), index=index)
    assert keep_new.filter(pl.col("doc_id") == "new-copy-of-r3")["survivor"].item()


def test_index_with_other_banding_is_rebanded_and_other_sketch_refused() -> None:
    reservoir, _ = _reservoir()
    other_banding = MinHashConfig(bands=16, rows=8)
    index = signature_rows(reservoir["doc_id"], signatures(reservoir["text"], other_banding), other_banding)
    batch = _frame({"n": _edit(reservoir["text"][7], 1, seed=1)})
    assert near_duplicates(batch, CFG, index=index)["near_dup_of"].to_list() == ["r7"]
    other_seed = MinHashConfig(seed=2)
    index = signature_rows(reservoir["doc_id"], signatures(reservoir["text"], other_seed), other_seed)
    with pytest.raises(ValueError, match="seed=2"):
        near_duplicates(batch, CFG, index=index)


def test_signature_columns_are_storable_rows() -> None:
    docs = _frame({"a": _doc(1), "b": _doc(2)})
    out = near_duplicates(docs, CFG, signature_columns=True)
    expected = signature_rows(docs["doc_id"], signatures(docs["text"], CFG), CFG)
    assert_frame_equal(out.select(expected.columns), expected)


# --- properties ----------------------------------------------------------------------------------

_POOL = [_doc(1000 + i, 150) for i in range(6)]


@st.composite
def batches(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 14))
    texts, p_human, created = [], [], []
    for _ in range(n):
        base = _POOL[draw(st.integers(0, len(_POOL) - 1))]
        changes = draw(st.sampled_from([0, 0, 1, 2, 30]))
        texts.append(_edit(base, changes, seed=draw(st.integers(0, 3))) if changes else base)
        p_human.append(draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.9]))))
        created.append(draw(st.one_of(st.none(), st.sampled_from(["1999", "2005-03-01", "2010-01-01T00:00"]))))
    ids = draw(st.lists(st.text("abcdef0123", min_size=1, max_size=5), min_size=n, max_size=n, unique=True))
    return pl.DataFrame({"doc_id": ids, "text": texts, "p_human": p_human, "created_at": created})


_PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(batches())
def test_property_one_row_per_input_and_idempotent(docs: pl.DataFrame) -> None:
    out = near_duplicates(docs, CFG)
    assert out["doc_id"].to_list() == docs["doc_id"].to_list()
    removed = out.filter(~pl.col("survivor"))
    assert set(removed["near_dup_of"]) <= set(out.filter(pl.col("survivor"))["doc_id"])
    assert (removed["similarity"] > 0).all()
    survivors = docs.join(out.filter(pl.col("survivor")).select("doc_id"), on="doc_id", how="semi")
    again = near_duplicates(survivors, CFG)
    assert again["survivor"].all()


@_PROPERTY
@given(batches(), st.randoms(use_true_random=False))
def test_property_independent_of_input_order(docs: pl.DataFrame, rnd: random.Random) -> None:
    order = list(range(docs.height))
    rnd.shuffle(order)
    first = near_duplicates(docs, CFG).sort("doc_id")
    second = near_duplicates(docs[order], CFG).sort("doc_id")
    assert_frame_equal(first, second)


@_PROPERTY
@given(batches())
def test_property_survivor_is_best_of_its_cluster(docs: pl.DataFrame) -> None:
    out = near_duplicates(docs, CFG).join(docs, on="doc_id")
    for cluster in out.filter(pl.col("cluster_id").is_not_null()).partition_by("cluster_id"):
        best = min(
            cluster.iter_rows(named=True),
            key=lambda r: (
                r["p_human"] is None,
                -(r["p_human"] or 0.0),
                r["created_at"] is None,
                r["created_at"] or "",
                r["doc_id"],
            ),
        )
        assert cluster.filter(pl.col("survivor"))["doc_id"].to_list() == [best["doc_id"]]
        assert (cluster["cluster_id"] == best["doc_id"]).all()


# --- exact verification, streaming, threads --------------------------------------------------------


def _set_jaccard(a: str, b: str, cfg: MinHashConfig = CFG) -> float:
    sa, sb = set(shingles(a, cfg)), set(shingles(b, cfg))
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def test_exact_jaccard_equals_python_sets() -> None:
    texts = [_doc(1, 200), _edit(_doc(1, 200), 5, seed=1), _doc(2, 40), "", "one two", "one two three four five six"]
    left, right = np.array([0, 0, 2, 3, 4, 5, 1]), np.array([1, 2, 0, 3, 5, 4, 1])
    got = exact_jaccard(texts, left, right, CFG)
    want = [_set_jaccard(texts[a], texts[b]) if texts[a] or texts[b] else 0.0 for a, b in zip(left, right, strict=True)]
    np.testing.assert_allclose(got, want)
    assert exact_jaccard(texts, [], [], CFG).shape == (0,)
    with pytest.raises(ValueError):
        exact_jaccard(texts, [0], [len(texts)], CFG)


def test_borderline_pairs_are_decided_by_exact_jaccard() -> None:
    # 6 or 7 edits in 300 words put the exact J5 just above or below 0.8, inside the estimate's noise
    base = {f"b{s}": _doc(2000 + s, 300) for s in range(24)}
    edited = {f"e{s}": _edit(text, 6 + s % 2, seed=s) for s, text in enumerate(base.values())}
    out = near_duplicates(_frame(base | edited), CFG)
    removed = set(out.filter(~pl.col("survivor"))["doc_id"])
    truth = {s: _set_jaccard(base[f"b{s}"], edited[f"e{s}"]) for s in range(24)}
    assert {abs(j - 0.8) < verify_margin(CFG) for j in truth.values()} == {True}
    assert 0 < sum(j >= 0.8 for j in truth.values()) < 24
    assert {s for s in range(24) if {f"b{s}", f"e{s}"} & removed} == {s for s, j in truth.items() if j >= 0.8}


def test_chain_members_join_one_cluster() -> None:
    a = _doc(7, 400)
    b = _edit(a, 8, seed=1)
    c = _edit(b, 8, seed=2)
    out = near_duplicates(_frame({"a": a, "b": b, "c": c, "z": _doc(8, 400)}), CFG)
    assert _set_jaccard(a, b) >= 0.8 and _set_jaccard(b, c) >= 0.8 and _set_jaccard(a, c) < 0.8
    assert out["cluster_id"].to_list() == ["a", "a", "a", None]


@pytest.mark.corpus
def test_lazy_streaming_and_threads_give_the_same_result(
    real: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.core.minhash as module

    docs = pl.concat([real, real.head(40).with_columns(doc_id=pl.col("doc_id") + "~copy")])
    docs.write_parquet(tmp_path / "docs.parquet", row_group_size=50)
    expected = near_duplicates(docs, CFG)
    assert expected.filter(~pl.col("survivor")).height >= 40
    monkeypatch.setattr(module, "_CHUNK_DOCS", 17)  # many batches and chunks
    assert_frame_equal(near_duplicates(pl.scan_parquet(tmp_path / "docs.parquet"), CFG), expected)
    assert_frame_equal(near_duplicates(docs, CFG, workers=3), expected)
    with pytest.raises(ValueError, match="workers"):
        near_duplicates(docs, CFG, workers=0)
