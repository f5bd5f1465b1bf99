"""Inputs read from object storage: listing, content hashes and streamed reads of an s3:// inbox."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from tasks.core.config import IngestConfig
from tasks.core.errors import InputError
from tasks.core.ingest.driver import FileOutcome, read_items
from tasks.core.ingest.items import Columns, Fields
from tasks.core.ledger import InputFile, list_inputs, open_input
from tasks.core.storage import DataRoot
from tests.storage.conftest import S3Server

FILES = ("docs-a.jsonl", "docs-b.jsonl.gz", "docs-c.csv")


@pytest.fixture
def remote_inbox(s3_root: DataRoot, s3_server: S3Server, bucket: str, sample_inbox: Path) -> str:
    """``s3://<bucket>/inbox/`` holding three sample files, an exact copy of one under another
    name, and a hidden file."""
    client = s3_server.client()
    for name in FILES:
        client.upload_file(str(sample_inbox / name), bucket, f"inbox/{name}")
    client.upload_file(str(sample_inbox / FILES[0]), bucket, "inbox/sub/copy-of-a.jsonl")
    client.put_object(Bucket=bucket, Key="inbox/.hidden/skip.jsonl", Body=b'{"text": "not me"}\n')
    return f"s3://{bucket}/inbox/"


def test_a_remote_inbox_lists_like_the_same_local_files(remote_inbox: str, sample_inbox: Path, bucket: str) -> None:
    remote = list_inputs([remote_inbox])
    local = list_inputs([sample_inbox / name for name in FILES])
    assert [(f.sha256, f.size) for f in remote] == [(f.sha256, f.size) for f in local]
    assert [f.name for f in remote] == [f"s3://{bucket}/inbox/{name}" for name in FILES]  # the copy is listed once
    assert all(f.is_remote and f.path.name in FILES for f in remote)
    (single,) = list_inputs([f"s3://{bucket}/inbox/docs-c.csv"])
    assert single.sha256 == local[2].sha256


def test_remote_inputs_stream_the_same_bytes_and_records(remote_inbox: str, sample_inbox: Path) -> None:
    for source in list_inputs([remote_inbox]):
        seen: list[int] = []
        with open_input(source, on_read=seen.append) as fh:
            head = fh.read(100)
            fh.seek(0)
            data = fh.read()
        expected = (sample_inbox / source.path.name).read_bytes()
        assert data == expected and head == expected[:100] and sum(seen) >= len(expected)

    # What the ingest driver reads from such a stream: the same records as from the local file.
    remote_a = list_inputs([remote_inbox])[0]
    local_a = list_inputs([sample_inbox / FILES[0]])[0]
    cfg = IngestConfig()

    def records(source: InputFile, raw: BinaryIO) -> list[Fields]:
        items = list(read_items(source, cfg, FileOutcome(source), raw))
        assert not [i for i in items if isinstance(i, Columns)]
        return [i for i in items if isinstance(i, Fields)]

    with open_input(remote_a) as remote_raw, open_input(local_a) as local_raw:
        assert records(remote_a, remote_raw) == records(local_a, local_raw) != []


def test_a_missing_remote_input_is_a_clear_error(s3_root: DataRoot, bucket: str) -> None:
    with pytest.raises(InputError, match="does not exist"):
        list_inputs([f"s3://{bucket}/no-such-inbox/"])


def test_a_remote_inbox_ingests_like_the_same_local_files(
    remote_inbox: str, sample_inbox: Path, tmp_path: Path
) -> None:
    """The ingest driver end to end on the s3:// inbox (plain, gzip and CSV): the same raw rows as locally."""
    from tasks.core.ingest import ingest_files

    local_root, remote_root = DataRoot.at(tmp_path / "local"), DataRoot.at(tmp_path / "remote")
    local = ingest_files(local_root, "r1", list_inputs([sample_inbox / name for name in FILES]), IngestConfig())
    remote = ingest_files(remote_root, "r1", list_inputs([remote_inbox]), IngestConfig())
    assert remote.records == local.records > 0 and remote.quarantined == local.quarantined

    def rows(root: DataRoot) -> list[tuple[str, str]]:
        return sorted(root.scan("raw").select("doc_id", "text").collect().iter_rows())

    assert rows(remote_root) == rows(local_root)
