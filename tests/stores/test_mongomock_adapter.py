"""The one module that touches mongomock-persistence's internals (sse_flows.adapters)."""

from __future__ import annotations

import json
from pathlib import Path

from sse_flows.adapters.mongomock_store import (
    install_atomic_writes,
    open_launchpad,
    write_server_store,
)


def test_launchpad_state_reaches_the_file_only_when_written(tmp_path):
    from fireworks import Firework, ScriptTask

    writes: list[Path] = []

    def write(path: Path, text: str) -> None:
        writes.append(path)
        path.write_text(text)

    path = tmp_path / "launchpad.json"
    path.write_text("{}")
    install_atomic_writes(write)  # first call in this process wins; ours or the stores'
    lpad = open_launchpad(path, "fireworks")
    lpad.reset("", require_password=False)
    lpad.add_wf(Firework(ScriptTask.from_str("echo hi"), name="hello"))
    assert json.loads(path.read_text()) == {}  # nothing written behind our back
    write_server_store(lpad)
    stored = json.loads(path.read_text())
    documents = stored["fireworks"]["fireworks"]["documents"]  # [[_id, document], ...]
    assert [document["name"] for _, document in documents] == ["hello"]
    # a second LaunchPad on the same file sees the written state
    again = open_launchpad(path, "fireworks")
    assert again.fireworks.count_documents({}) == 1
    if writes:  # this test installed the writer: it was used for the file
        assert writes[-1] == path
