"""``sse-flows data info`` / ``data build`` behaviour."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sse_flows.cli import cli
from sse_flows.data.tables import load_snapshot_table, load_training_table


def test_info_json_reports_the_packaged_counts():
    result = CliRunner().invoke(cli, ["data", "info", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    training = load_training_table()
    assert summary["training"]["rows"] == len(training)
    assert summary["training"]["superionic"] == int(training["label"].sum())
    snapshot = load_snapshot_table()
    assert summary["snapshot"]["compositions"] == len(snapshot)
    assert summary["snapshot"]["li_compositions"] == int(snapshot["contains_li"].sum())
    assert "2019-04-02" in summary["snapshot"]["data_version"]


def test_build_with_a_missing_raw_folder_is_a_clear_user_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["data", "build", "--raw", str(tmp_path / "nowhere"), "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "not found" in result.output and "--raw" in result.output
    assert not any(tmp_path.iterdir())  # nothing written
