"""How an object-store data root is configured: from the environment only, in one function."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.core.errors import ConfigError
from tasks.core.storage import RETRIES_ENV, RETRY_TIMEOUT_ENV, STATE_DIR_ENV, DataRoot, storage_options


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    for key in ("AWS_SESSION_TOKEN", "AWS_ALLOW_HTTP", STATE_DIR_ENV, RETRIES_ENV, RETRY_TIMEOUT_ENV):
        monkeypatch.delenv(key, raising=False)


def test_local_roots_have_no_options(tmp_path: Path) -> None:
    assert storage_options(tmp_path) is None and DataRoot.at(tmp_path / "home").options is None


def test_options_come_from_the_standard_variables_and_name_no_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("HOME_SECRET_NOT_FOR_S3", "x")
    assert storage_options("s3://bucket/prefix") == {
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ALLOW_HTTP": "true",
    }


def test_retry_settings_are_spelled_for_each_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRIES_ENV, "3")
    monkeypatch.setenv(RETRY_TIMEOUT_ENV, "2.5")
    delta = storage_options("s3://b/p")
    polars = storage_options("s3://b/p", engine="polars")
    assert delta == {"max_retries": "3", "retry_timeout": "2500ms"}
    assert polars == {"max_retries": 3, "retry_timeout_ms": 2500}
    monkeypatch.setenv(RETRIES_ENV, "many")
    with pytest.raises(ConfigError, match=RETRIES_ENV):
        storage_options("s3://b/p")


def test_only_s3_is_accepted_as_object_storage() -> None:
    with pytest.raises(ConfigError, match="s3://"):
        DataRoot.at("gs://bucket/prefix")


def test_the_state_folder_of_an_s3_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = DataRoot.at("s3://bucket/some/prefix/")
    assert root.home == "s3://bucket/some/prefix" and not root.has_state_dir
    with pytest.raises(ConfigError, match=STATE_DIR_ENV):
        root.path("models")
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    assert root.has_state_dir
    assert (
        root.path("models", "diversity")
        == tmp_path / "state" / "s3" / "bucket" / "some" / "prefix" / "models" / "diversity"
    )
    assert (tmp_path / "state" / "s3" / "bucket" / "some" / "prefix").is_dir()
    with pytest.raises(ConfigError, match=r"\.\."):
        DataRoot.at("s3://bucket/../../etc").path("x")


def test_a_local_root_keeps_its_state_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "elsewhere"))
    root = DataRoot.at(tmp_path / "home")
    assert root.path("models") == tmp_path / "home" / "models" and root.has_state_dir


def test_the_cli_keeps_prefect_state_in_the_roots_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cli_common import use_home

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for home, state, expected in (
        (str(tmp_path / "home"), None, tmp_path / "home" / "prefect"),
        ("s3://bucket/prefix", str(tmp_path / "state"), tmp_path / "state" / "s3" / "bucket" / "prefix" / "prefect"),
        ("s3://bucket/prefix", None, None),  # no local folder to keep it in: Prefect's own default
    ):
        monkeypatch.delenv("PREFECT_HOME", raising=False)  # restored after the test
        monkeypatch.delenv(STATE_DIR_ENV, raising=False)
        if state:
            monkeypatch.setenv(STATE_DIR_ENV, state)
        assert use_home(home) == home
        assert os.environ.get("PREFECT_HOME") == (str(expected) if expected else None)
        assert expected is None or expected.is_dir()
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))  # the user's choice wins
    assert use_home(str(tmp_path / "home")) and os.environ["PREFECT_HOME"] == str(tmp_path / "mine")
