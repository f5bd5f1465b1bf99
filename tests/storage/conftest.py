"""A real S3-compatible server (moto, a separate process on 127.0.0.1) and data roots on it.

Every connection setting reaches Wellspring the way it would in production: through the standard
``AWS_*`` environment variables, set per test with ``monkeypatch``; nothing is passed in code.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tasks.core import pipeline
from tasks.core.storage import RETRIES_ENV, RETRY_TIMEOUT_ENV, STATE_DIR_ENV, DataRoot
from tests.conftest import SAMPLE
from tests.storage.proxy import ProxyProcess
from tests.storage.reference import KEEP

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "wellspring-test", "AWS_SECRET_ACCESS_KEY": "wellspring-test-secret"}
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, endpoint: str | None = None) -> Any:
        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, region_name=REGION, **_boto_credentials())

    def new_bucket(self) -> str:
        name = f"wellspring-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server as its own process on a random loopback port, for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "requests.log"
    env = {**os.environ, **CREDENTIALS, "AWS_REGION": REGION}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("moto_server.py"))],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            pytest.fail(f"the moto server did not start: {log.read_text()[-2000:]}")
        server = S3Server(int(line))
        server.new_bucket()  # moto loads its backends on the first request: pay for it once here
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str, state: Path) -> None:
    """Point every storage client at ``endpoint`` the standard way: environment variables only."""
    for key, value in {
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
        STATE_DIR_ENV: str(state),
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", RETRIES_ENV, RETRY_TIMEOUT_ENV):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket for one test."""
    return s3_server.new_bucket()


@pytest.fixture
def s3_root(s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> DataRoot:
    """A data root ``s3://<fresh bucket>/wellspring`` reached directly, state folder in tmp_path."""
    use_endpoint(monkeypatch, s3_server.endpoint, tmp_path / "state")
    return DataRoot.at(f"s3://{bucket}/wellspring")


@pytest.fixture
def flaky(s3_server: S3Server) -> Iterator[ProxyProcess]:
    """A proxy process in front of the S3 server whose link a test can cut."""
    proxy = ProxyProcess(s3_server.port)
    yield proxy
    proxy.close()


@dataclass(frozen=True)
class LocalReference:
    inbox: Path
    root: DataRoot


@pytest.fixture(scope="session")
def local_reference(tmp_path_factory: pytest.TempPathFactory) -> LocalReference:
    """The small sample inbox (see ``reference.KEEP``) and a local data root after one nightly run
    over it: the no-fault result the object-storage runs must equal. Computed once per session."""
    base = tmp_path_factory.mktemp("local-reference")
    inbox = base / "inbox"
    inbox.mkdir()
    for name in KEEP:
        (inbox / name).write_bytes((SAMPLE / "inbox" / name).read_bytes())
    root = DataRoot.at(base / "home")
    pipeline.curate_inbox(root, inbox)
    return LocalReference(inbox, root)
