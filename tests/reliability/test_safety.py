"""Safety checks: no unsafe deserialisation in the code, input values never become paths outside the data
root, and secrets in the environment or in the data never reach the run summary."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tasks.core import pipeline
from tasks.core.config import ConfigError, NightlyConfig, load_config
from tasks.core.report import run_markdown
from tasks.core.storage import DataRoot
from tests.conftest import REPO
from tests.reference import curate_inbox

CODE = sorted(p for d in ("tasks", "flows") for p in (REPO / d).rglob("*.py"))
# module.function calls that run code from the bytes they read
UNSAFE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("cPickle", "load"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("dill", "load"),
    ("dill", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("joblib", "load"),
    ("torch", "load"),
    ("shelve", "open"),
    ("numpy", "load"),  # allow_pickle must be off: see below
}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader"}


def _calls(path: Path) -> list[tuple[int, str, str, ast.Call]]:
    """Every call in ``path`` as (line, qualifier, name): ``pickle.load(...)`` gives ("pickle", "load")."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            full = aliases.get(func.id, func.id)
            qualifier, _, name = full.rpartition(".")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            qualifier, name = aliases.get(func.value.id, func.value.id), func.attr
        else:
            continue
        found.append((node.lineno, qualifier, name, node))
    return found


def test_the_code_scan_sees_the_modules() -> None:
    assert len(CODE) > 30 and any(p.name == "store.py" for p in CODE)


def test_no_unsafe_deserialisation_or_dynamic_code() -> None:
    problems = []
    for path in CODE:
        where = path.relative_to(REPO)
        for line, qualifier, name, call in _calls(path):
            root = qualifier.split(".")[0]
            keywords = {k.arg: k.value for k in call.keywords}
            if qualifier in ("", "builtins") and name in ("eval", "exec", "compile", "__import__"):
                problems.append(f"{where}:{line}: {name}()")
            elif (root, name) in UNSAFE_CALLS or (qualifier, name) in UNSAFE_CALLS:
                allow = keywords.get("allow_pickle")
                if root == "numpy" and not (isinstance(allow, ast.Constant) and allow.value is True):
                    continue  # numpy.load without allow_pickle=True does not unpickle
                problems.append(f"{where}:{line}: {qualifier}.{name}()")
            elif root == "yaml" and name in ("load", "load_all", "unsafe_load", "full_load"):
                loader = keywords.get("Loader") or (call.args[1] if len(call.args) > 1 else None)
                loader_name = getattr(loader, "attr", None) or getattr(loader, "id", None)
                if name != "load" or loader_name not in SAFE_YAML_LOADERS:
                    problems.append(f"{where}:{line}: yaml.{name}() without a safe loader")
    assert not problems, "\n".join(problems)


def test_skops_loads_name_their_trusted_types() -> None:
    loads = []
    for path in CODE:
        for line, qualifier, name, call in _calls(path):
            if qualifier.startswith("skops") and name in ("load", "loads"):
                trusted = next((k.value for k in call.keywords if k.arg == "trusted"), None)
                where = f"{path.relative_to(REPO)}:{line}"
                loads.append(where)
                assert trusted is not None, f"{where}: skops load without trusted="
                assert not (isinstance(trusted, ast.Constant) and trusted.value is True), f"{where}: trusted=True"
                assert not (isinstance(trusted, ast.Call) and "get_untrusted_types" in ast.dump(trusted)), (
                    f"{where}: trusts whatever the file says"
                )
    assert loads, "the model stores load with skops; the scan found none"


HOSTILE = ["../../etc/wellspring-escape", "/tmp/wellspring-escape-abs", "..\\..\\windows\\escape", "a/../../../b"]


def _tree(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def test_paths_in_records_never_become_files_outside_the_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    inbox, home = work / "inbox", work / "home"
    inbox.mkdir(parents=True)
    rows: list[dict[str, object]] = [
        {"text": f"A hostile record number {i} about rivers and rain in the old town.", field: value}
        for i, (field, value) in enumerate((f, v) for f in ("url", "id", "source", "license", "lang") for v in HOSTILE)
    ]
    rows.append({"text": "A record whose meta is hostile too, about wells.", "meta": {"path": HOSTILE[0]}})
    (inbox / "hostile.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (inbox / "bad..name..jsonl").write_text(json.dumps({"text": "dots in the name of the file, fine text"}) + "\n")
    monkeypatch.chdir(work)
    outside_before = _tree(tmp_path) - _tree(home)
    absolute = [Path("/tmp/wellspring-escape-abs"), Path("/etc/wellspring-escape")]
    existed = [p.exists() for p in absolute]
    summary = curate_inbox(DataRoot.at(home), inbox, NightlyConfig())
    assert summary["ingested"] == len(rows) + 1
    new_outside = (_tree(tmp_path) - outside_before) - {p for p in _tree(tmp_path) if p == home or home in p.parents}
    assert not new_outside, f"files written outside the data root: {sorted(map(str, new_outside))}"
    assert [p.exists() for p in absolute] == existed
    stored = DataRoot.at(home).scan("raw").collect()
    assert set(stored["url"].drop_nulls()) >= set(HOSTILE), "the values are kept as data"


FAKE_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYFAKEKEY-0123"


def test_secrets_in_the_environment_or_inputs_stay_out_of_the_run_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_SECRET_ACCESS_KEY", "WELLSPRING_FAILURE_WEBHOOK", "PREFECT_API_KEY", "DATABASE_URL"):
        monkeypatch.setenv(name, f"{name.lower()}={FAKE_SECRET}")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "docs.jsonl").write_text(
        json.dumps({"text": f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET} was pasted into this forum post by mistake."})
        + "\n"
        + json.dumps({"text": "A second, ordinary post about the weather in the hills this spring."})
        + "\n"
        + '{"text": "cut AWS_SECRET_ACCESS_KEY='
        + FAKE_SECRET
        + "\n"
    )
    config = tmp_path / "wellspring.yaml"
    config.write_text("ingest:\n  default_source: forum\n")
    cfg = load_config(config)
    root = DataRoot.at(tmp_path / "home")
    summary = curate_inbox(root, inbox, cfg)
    assert (summary["ingested"], summary["quarantined"]) == (2, 1)
    summary = {**summary, "home": root.home, "versions": {"raw": root.ref("raw").version}}
    pipeline.record_run(
        root, str(summary["run_id"]), pipeline.dt.datetime.now(pipeline.dt.UTC), str(inbox), cfg, summary
    )
    shown = run_markdown(summary)
    recorded = root.scan("runs").collect()["summary"].to_list()
    messages = root.scan("quarantine").collect()["message"].to_list()
    for where, text in (("markdown", shown), ("runs table", "\n".join(recorded)), ("quarantine", "\n".join(messages))):
        assert FAKE_SECRET not in text, f"the secret appears in the {where}"
    assert "Nightly run" in shown


@pytest.mark.parametrize(
    "body",
    [
        f"aws_secret_access_key: {FAKE_SECRET}\n",  # an unknown key
        f"ingest:\n  batch_rows: {FAKE_SECRET}\n",  # a wrong type
    ],
    ids=["unknown-key", "wrong-type"],
)
def test_config_errors_do_not_echo_secret_values(tmp_path: Path, body: str) -> None:
    path = tmp_path / "wellspring.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert FAKE_SECRET not in str(raised.value)


def test_yaml_syntax_errors_do_not_echo_secret_values(tmp_path: Path) -> None:
    path = tmp_path / "wellspring.yaml"
    path.write_text(f"ingest:\n  default_source: forum\n aws_secret_access_key: {FAKE_SECRET}: [\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert FAKE_SECRET not in str(raised.value)
