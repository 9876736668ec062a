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


def test_build_only_structures_writes_the_packaged_structures(raw_dir, tmp_path):
    """Compared by parsed content with a tolerance (the last digit of a float may differ
    between CPUs), never byte for byte."""
    import numpy as np
    from pymatgen.core import Structure

    from sse_flows.sources.structures import PACKAGE_STRUCTURES

    result = CliRunner().invoke(
        cli,
        ["data", "build", "--raw", str(raw_dir), "--out", str(tmp_path), "--only", "structures",
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hashes = json.loads(result.output.strip().splitlines()[-1])["sha256"]
    shipped = sorted(p.name for p in PACKAGE_STRUCTURES.glob("*.json"))
    assert sorted(hashes) == [f"structures/{name}" for name in shipped]
    # only the structures were built, all into <out>/structures/, no temporary file left
    assert [p.name for p in tmp_path.iterdir()] == ["structures"]
    assert sorted(p.name for p in (tmp_path / "structures").iterdir()) == shipped
    for name in shipped:
        rebuilt = json.loads((tmp_path / "structures" / name).read_text())
        packaged = json.loads((PACKAGE_STRUCTURES / name).read_text())
        assert rebuilt["properties"] == packaged["properties"], name
        new, old = Structure.from_dict(rebuilt), Structure.from_dict(packaged)
        assert new == old, name
        assert [s.species_string for s in new] == [s.species_string for s in old], name
        np.testing.assert_allclose(new.lattice.matrix, old.lattice.matrix, atol=1e-8)
        np.testing.assert_allclose(new.frac_coords, old.frac_coords, atol=1e-8)


def test_build_rejects_an_unknown_builder_naming_the_valid_ones(tmp_path):
    result = CliRunner().invoke(
        cli, ["data", "build", "--raw", str(tmp_path), "--out", str(tmp_path), "--only", "foo"]
    )
    assert result.exit_code == 2, result.output  # click usage error
    assert "--only" in result.output and "'foo'" in result.output
    for name in ("training", "snapshot", "training_v2", "structures"):
        assert name in result.output
    assert not any(tmp_path.iterdir())  # nothing written
