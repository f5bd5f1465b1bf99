"""The reservoir on real Delta tables: commits, time travel, retraction, purge and a model check."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.core import pipeline, reservoir
from tasks.core.config import AdmissionConfig, IngestConfig
from tasks.core.errors import NotFoundError, WellspringError
from tasks.core.ingest import ingest_files
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
from tests.conftest import SAMPLE

DOCS = pl.read_ndjson(SAMPLE / "inbox" / "docs-a.jsonl")


def raw_rows(root: DataRoot, path: Path) -> tuple[str, pl.DataFrame]:
    run_id = pipeline.new_run_id()
    ingest_files(root, run_id, list_inputs([path]), IngestConfig())
    return run_id, root.scan("raw").filter(pl.col("run_id") == run_id).collect()


def test_commit_is_idempotent_and_reports_what_it_admitted(root: DataRoot) -> None:
    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    ref, admitted = reservoir.commit(root, run_id, rows, {"why": "test"})
    assert len(admitted) == rows.height == 428
    again_ref, again = reservoir.commit(root, "other-run", rows, {})
    assert again == set()
    assert root.scan("reservoir").collect().height == 428
    history = root.history("reservoir")
    assert history[0]["run_id"] == run_id and history[0]["why"] == "test"
    assert ref.version == again_ref.version == 1  # a re-run that adds nothing makes no new version


def test_time_travel_returns_the_exact_earlier_content(root: DataRoot, tmp_path: Path) -> None:
    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    reservoir.commit(root, run_id, rows.head(100), {})
    first = root.scan("reservoir").sort("doc_id").collect()
    reservoir.commit(root, run_id, rows.tail(200), {})
    reservoir.retract(root, "takedown", doc_ids=first["doc_id"].head(5).to_list())
    v, then = reservoir.snapshot(root, version=1)
    assert v == 1
    assert then.sort("doc_id").collect().equals(first)
    assert reservoir.stats(root, version=1)["documents"] == 100
    now = reservoir.stats(root)
    assert (now["documents"], now["retracted"]) == (295, 5)
    changes = reservoir.diff(root, 1, 3)
    assert (changes["added"], changes["retracted"]) == (200, 5)
    assert sum(changes["added_by_source"].values()) == 200


def test_as_of_picks_the_version_current_at_that_time(root: DataRoot) -> None:
    import datetime as dt

    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    reservoir.commit(root, run_id, rows.head(10), {})
    between = dt.datetime.now(dt.UTC)
    reservoir.commit(root, run_id, rows.tail(10), {})
    assert reservoir.stats(root, as_of=between)["documents"] == 10
    with pytest.raises(NotFoundError):
        reservoir.stats(root, as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_retraction_is_audited_and_purge_removes_the_text_bytes(root: DataRoot) -> None:
    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    reservoir.commit(root, run_id, rows, {})
    spam = rows.filter(pl.col("source") == "spamassassin")
    result = reservoir.retract(root, "licence withdrawn", source="spamassassin", by="tester")
    assert result["retracted"] == spam.height > 0
    audit = root.scan("retractions").collect()
    assert set(audit["doc_id"]) == set(spam["doc_id"]) and set(audit["by"]) == {"tester"}
    needle = spam["text"][0]
    reservoir.purge(root)
    stored = [pq.read_table(f).column("text").to_pylist() for f in (Path(root.home) / "reservoir").glob("*.parquet")]
    assert not any(needle == t for texts in stored for t in texts)
    assert reservoir.show(root, spam["doc_id"][0])["text"] is None
    assert root.scan("retractions").filter(pl.col("action") == "purge").collect().height == spam.height


def test_purge_refuses_while_a_pinned_build_needs_the_text(root: DataRoot) -> None:
    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    ref, _ = reservoir.commit(root, run_id, rows, {})
    root.append("builds", pl.DataFrame({"build_id": ["b1"], "reservoir_version": [ref.version]}))
    reservoir.retract(root, "takedown", doc_ids=[rows["doc_id"][0]])
    with pytest.raises(reservoir.RetractionRefused, match="pinned"):
        reservoir.purge(root)
    assert reservoir.purge(root, force=True)["purged"] == 1


def test_retraction_needs_a_reason_and_a_target(root: DataRoot) -> None:
    run_id, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    reservoir.commit(root, run_id, rows, {})
    with pytest.raises(WellspringError, match="reason"):
        reservoir.retract(root, " ", doc_ids=["x"])
    with pytest.raises(WellspringError, match="what to retract"):
        reservoir.retract(root, "why")
    assert reservoir.retract(root, "why", doc_ids=["nope"])["unknown_doc_ids"] == ["nope"]


def test_source_quota_keeps_the_room_for_the_earliest_documents(root: DataRoot) -> None:
    from tasks.core.admission import admission_drops

    _, rows = raw_rows(root, SAMPLE / "inbox" / "docs-a.jsonl")
    drops = admission_drops(rows, root.scan("reservoir"), AdmissionConfig(max_docs_per_source=5))
    kept = rows.join(drops, on="record_id", how="anti")
    assert kept.group_by("source").len()["len"].max() == 5
    assert set(drops["reason"]) == {"quota:source"}


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), st.lists(st.integers(0, 39), max_size=8)),
        st.tuples(st.just("retract"), st.lists(st.integers(0, 39), max_size=4)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_reservoir_equals_a_simple_model_under_admit_retract_rerun(ops, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    root = DataRoot.at(tmp_path_factory.mktemp("model"))
    docs = pl.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(40)],
            "doc_id": [f"d{i:02d}" for i in range(40)],
            "text": [f"text {i}" for i in range(40)],
            "source": ["s"] * 40,
            "run_id": ["x"] * 40,
        }
    )
    model: dict[str, bool] = {}  # doc_id -> retracted
    for op, ids in ops:
        chosen = [f"d{i:02d}" for i in ids]
        if op == "admit":
            for _ in range(2):  # every admit is re-run: a retry must change nothing
                reservoir.commit(root, "run", docs.filter(pl.col("doc_id").is_in(chosen)), {})
            for d in chosen:
                model.setdefault(d, False)
        elif root.exists("reservoir") and chosen:
            reservoir.retract(root, "because", doc_ids=chosen)
            for d in chosen:
                if d in model:
                    model[d] = True
    if not root.exists("reservoir"):
        assert model == {}
        return
    stored = root.scan("reservoir").select("doc_id", pl.col("retracted").fill_null(False)).collect()
    assert dict(stored.iter_rows()) == model
