"""The store factory picks the right classes from settings and fails fast with the fix."""

from __future__ import annotations

import pytest


def test_embedded_default_builds_monty_jobstore_and_mongomock_launchpad(sse_home):
    from maggma.stores import MontyStore
    from mongomock_persistence import MongoClient as PersistentClient

    from sse_flows.stores import get_job_store, get_launchpad, launchpad_file

    store = get_job_store()
    assert isinstance(store.docs_store, MontyStore)
    assert isinstance(store.additional_stores["data"], MontyStore)
    assert store.docs_store.database_path.startswith(str(sse_home))
    lpad = get_launchpad()
    assert isinstance(lpad.connection, PersistentClient)
    assert launchpad_file().is_file() and str(launchpad_file()).startswith(str(sse_home))


def test_jobstore_documents_persist_across_processes(sse_home):
    """A document written by one process is read back by a fresh interpreter."""
    import subprocess
    import sys

    from sse_flows.stores import get_job_store

    store = get_job_store()
    store.docs_store.update({"uuid": "abc", "index": 1, "output": {"x": 42}}, key=["uuid"])
    code = (
        "from sse_flows.stores import get_job_store;"
        "print(get_job_store().docs_store.query_one({'uuid': 'abc'})['output']['x'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


def test_mongodb_uri_builds_mongo_and_gridfs_stores(sse_home, monkeypatch):
    from maggma.stores import GridFSStore, MongoStore

    from sse_flows.settings import get_settings
    from sse_flows.stores import get_job_store

    monkeypatch.setenv("SSE_FLOWS_MONGODB_URI", "mongodb://user:pw@db.example:27017")
    monkeypatch.setenv("SSE_FLOWS_MONGODB_DATABASE", "screening")
    store = get_job_store(get_settings(fresh=True), connect=False)
    assert isinstance(store.docs_store, MongoStore)
    assert isinstance(store.additional_stores["data"], GridFSStore)
    assert store.docs_store.database == "screening"


def test_unreachable_mongodb_fails_fast_with_fix(sse_home, monkeypatch):
    import time

    from sse_flows.settings import get_settings
    from sse_flows.stores import StoreError, get_job_store, get_launchpad

    monkeypatch.setenv("SSE_FLOWS_MONGODB_URI", "mongodb://127.0.0.1:9")
    monkeypatch.setenv("SSE_FLOWS_MONGODB_TIMEOUT_MS", "300")
    settings = get_settings(fresh=True)
    start = time.monotonic()
    with pytest.raises(StoreError, match="unreachable.*SSE_FLOWS_MONGODB_URI"):
        get_job_store(settings)
    with pytest.raises(StoreError, match="unreachable"):
        get_launchpad(settings)
    assert time.monotonic() - start < 10


def test_invalid_mongodb_uri_names_the_problem(sse_home, monkeypatch):
    from sse_flows.settings import get_settings
    from sse_flows.stores import StoreError, get_job_store

    monkeypatch.setenv("SSE_FLOWS_MONGODB_URI", "not-a-uri")
    with pytest.raises(StoreError, match="not a valid MongoDB URI"):
        get_job_store(get_settings(fresh=True))


def test_corrupt_config_file_is_reported(sse_home, monkeypatch, tmp_path):
    from sse_flows.settings import ConfigError, get_settings

    bad = tmp_path / "config.yaml"
    bad.write_text("HOME: [unclosed\n")
    monkeypatch.setenv("SSE_FLOWS_CONFIG_FILE", str(bad))
    with pytest.raises(ConfigError, match="config file"):
        get_settings(fresh=True)
    bad.write_text("NOT_A_SETTING: 1\n")
    with pytest.raises(ConfigError, match="NOT_A_SETTING"):
        get_settings(fresh=True)


def test_yaml_config_and_env_precedence(sse_home, monkeypatch, tmp_path):
    from sse_flows.settings import get_settings

    cfg = tmp_path / "config.yaml"
    cfg.write_text("MONGODB_DATABASE: from_yaml\nSOURCE: mp\n")
    monkeypatch.setenv("SSE_FLOWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("SSE_FLOWS_SOURCE", "snapshot")
    settings = get_settings(fresh=True)
    assert settings.MONGODB_DATABASE == "from_yaml"
    assert settings.SOURCE == "snapshot"  # the environment wins over the file


def test_corrupt_launchpad_file_names_file_and_fix(sse_home):
    from sse_flows.stores import StoreError, get_launchpad, launchpad_file

    path = launchpad_file()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(StoreError, match=r"launchpad.json is corrupt.*Move it aside"):
        get_launchpad()


def test_the_heartbeat_of_a_missing_launch_is_no_traceback(sse_home):
    """FireWorks' ping thread pings the running launch; a ping of a launch that is gone
    raised 'No Launch exists' in that thread. Guarded, the heartbeat is quiet (embedded:
    skipped; MongoDB: the missing launch ignored), while a checkpoint ping still fails."""
    import pytest

    from sse_flows.stores import get_launchpad, guard_heartbeat

    lpad = get_launchpad()
    assert lpad.ping_launch(12345) is None  # embedded: skipped
    raw = get_launchpad()
    del raw.ping_launch  # FireWorks' own method again
    with pytest.raises(ValueError, match="No Launch exists"):
        raw.ping_launch(12345)
    mongo_like = guard_heartbeat(raw, embedded=False)
    assert mongo_like.ping_launch(12345) is None
    with pytest.raises(ValueError, match="No Launch exists"):
        mongo_like.ping_launch(12345, checkpoint={"_task_n": 0})
