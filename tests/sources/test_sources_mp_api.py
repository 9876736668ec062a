"""MPApiSource against responses in mp-api's real format; no network is used."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest
from emmet.core.summary import SummaryDoc
from mp_api.client.core.schemas import _convert_to_model
from pymatgen.core import Lattice, Structure
from pymatgen.entries.computed_entries import ComputedStructureEntry

from sse_flows.sources import MPApiSource, SourceUnavailableError, get_source
from sse_flows.sources import mp_api as mp_api_module


def li2o_structure() -> Structure:
    """pymatgen's packaged Li2O test structure (mp-1960)."""
    from pymatgen.util.testing import MatSciTest

    return MatSciTest.get_structure("Li2O")


KEY = "a" * 16 + "0123456789ABCDEF"  # 32 letters and digits, the MP key format


def recorded_summary_json(raw_dir) -> list[dict]:
    """JSON documents as the MP summary endpoint returns them for the requested fields.

    Values are real MP (2025) values of mp-1960 (Li2O) and mp-1138 (LiF) from the
    matsci176 cross-check table; structures are pymatgen's Li2O and a rock-salt LiF.
    """
    table = pd.read_csv(raw_dir / "matsci176_mp2025" / "feature_matrix_sample.csv")
    rows = table.set_index("material_id").loc[["mp-1960", "mp-1138"]]
    lif = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    structures = {"mp-1960": li2o_structure(), "mp-1138": lif}
    docs = []
    for material_id, row in rows.iterrows():
        structure = structures[material_id]
        docs.append(
            {
                "material_id": material_id,
                "formula_pretty": structure.composition.reduced_formula,
                "elements": sorted(el.symbol for el in structure.composition),
                "nelements": len(structure.composition),
                "band_gap": float(row["bandgap"]),
                "energy_above_hull": float(row["energy_above_hull"]),
                "formation_energy_per_atom": float(row["formation_energy_per_atom"]),
                "structure": structure.as_dict(),
            }
        )
    return docs


class FakeSummary:
    def __init__(self, docs, error=None):
        self.docs, self.error, self.calls = docs, error, []

    def search(
        self,
        elements=None,
        deprecated=None,
        include_gnome=True,
        fields=None,
        all_fields=True,
        **kwargs,
    ):
        self.calls.append(
            {
                "elements": elements,
                "fields": fields,
                "include_gnome": include_gnome,
                "deprecated": deprecated,
            }
        )
        if self.error:
            raise self.error
        return self.docs


class FakeRester:
    """Stands in for MPRester: same attribute paths, recorded documents."""

    db_version = "2025.09.25"

    def __init__(self, docs, error=None, entries=()):
        self.materials = type("Materials", (), {})()
        self.materials.summary = FakeSummary(docs, error)
        self.entries, self.error, self.chemsys_calls = list(entries), error, []

    def get_structure_by_material_id(self, material_id, **kwargs):
        if self.error:
            raise self.error
        return {e.entry_id: e.structure for e in self.entries}.get(material_id)

    def get_entries_in_chemsys(self, elements, **kwargs):
        self.chemsys_calls.append(elements)
        if self.error:
            raise self.error
        return self.entries


@pytest.fixture()
def offline(monkeypatch):
    """No probe, no MPRester: install a fake rester built by the test."""
    holder = {}
    monkeypatch.setattr(mp_api_module, "_probe_endpoint", lambda endpoint, timeout_s: None)
    monkeypatch.setattr(mp_api_module, "_new_rester", lambda *a: holder["rester"])
    return holder


def test_no_key_fails_at_once_saying_how_to_fall_back(sse_home, monkeypatch):
    monkeypatch.delenv("MP_API_KEY", raising=False)
    probed = []
    monkeypatch.setattr(mp_api_module, "_probe_endpoint", lambda *a: probed.append(a))
    with pytest.raises(SourceUnavailableError) as info:
        get_source("mp")
    message = str(info.value)
    assert "--source snapshot" in message and "SSE_FLOWS_MP_API_KEY" in message
    assert probed == []  # failed before any network access


def test_malformed_key_is_rejected_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(mp_api_module, "_probe_endpoint", lambda *a: pytest.fail("probed"))
    with pytest.raises(SourceUnavailableError, match="32 letters and digits"):
        MPApiSource(api_key="not-a-key")


def test_unreachable_api_fails_fast_instead_of_hanging():
    """A server that accepts the connection but never answers: the probe times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    endpoint = f"http://127.0.0.1:{server.getsockname()[1]}/"
    tick = time.monotonic()
    try:
        with pytest.raises(SourceUnavailableError, match="cannot be reached within 0.5 s"):
            MPApiSource(api_key=KEY, endpoint=endpoint, timeout_s=0.5)
    finally:
        server.close()
    assert time.monotonic() - tick < 30  # bounded by the timeout, not a hang


def test_li_records_from_summary_documents(raw_dir, offline):
    docs = _convert_to_model(
        recorded_summary_json(raw_dir), SummaryDoc, requested_fields=mp_api_module.SUMMARY_FIELDS
    )
    assert type(docs[0]).__name__ == "MPDataDoc"  # what MPRester returns for `fields=`
    offline["rester"] = FakeRester(docs)
    source = MPApiSource(api_key=KEY)
    records = source.li_records()
    call = offline["rester"].materials.summary.calls[0]
    assert call["elements"] == ["Li"] and call["include_gnome"] is False
    assert {
        "material_id",
        "formula_pretty",
        "band_gap",
        "energy_above_hull",
        "formation_energy_per_atom",
        "structure",
    } <= set(call["fields"])
    li2o = next(r for r in records if r.formula == "Li2O")
    assert li2o.material_id == "mp-1960"
    assert li2o.elements == ["Li", "O"] and li2o.nelements == 2
    assert li2o.band_gap == pytest.approx(4.8986) and li2o.band_gaps == [li2o.band_gap]
    assert li2o.energy_above_hull == 0.0
    assert Structure.from_dict(li2o.structure).composition.reduced_formula == "Li2O"
    assert li2o.data_version == "MP 2025.09.25 via mp-api"
    assert source.name == "mp"


def test_li_records_from_plain_dicts(raw_dir, offline):
    """use_document_model=False gives dicts; the same records come out."""
    offline["rester"] = FakeRester(recorded_summary_json(raw_dir))
    records = MPApiSource(api_key=KEY).li_records()
    assert {r.formula for r in records} == {"Li2O", "LiF"}
    assert next(r for r in records if r.formula == "LiF").material_id == "mp-1138"


def test_formation_energies_take_the_minimum_and_zero_elements(offline):
    offline["rester"] = FakeRester(
        [
            {"formula_pretty": "LiF", "formation_energy_per_atom": -3.0},
            {"formula_pretty": "LiF", "formation_energy_per_atom": -3.2},
            {"formula_pretty": "Li", "formation_energy_per_atom": 0.01},
            {"formula_pretty": "Li2O", "formation_energy_per_atom": None},
        ]
    )
    energies = MPApiSource(api_key=KEY).formation_energies()
    assert energies == {"LiF": -3.2, "Li": 0.0}


def test_entries_in_chemsys_uses_mprester(offline):
    entry = ComputedStructureEntry(li2o_structure(), -14.0)
    offline["rester"] = FakeRester([], entries=[entry])
    entries = MPApiSource(api_key=KEY).entries_in_chemsys(["O", "Li"])
    assert entries == [entry]
    assert offline["rester"].chemsys_calls == [["Li", "O"]]


def test_structure_by_material_id_for_md(offline):
    entry = ComputedStructureEntry(li2o_structure(), -14.0, entry_id="mp-1960")
    offline["rester"] = FakeRester([], entries=[entry])
    source = MPApiSource(api_key=KEY)
    assert source.structure("mp-1960").composition.reduced_formula == "Li2O"
    assert source.structure("mp-0") is None


def test_rejected_key_gives_a_clear_message(offline):
    from mp_api.client.core import MPRestError

    error = MPRestError("REST query returned with error status code 401 on URL ...")
    offline["rester"] = FakeRester([], error=error)
    source = MPApiSource(api_key=KEY)
    with pytest.raises(SourceUnavailableError, match="rejected the API key") as info:
        source.li_records()
    assert "--source snapshot" in str(info.value)
    with pytest.raises(SourceUnavailableError, match="rejected the API key"):
        source.entries_in_chemsys(["Li", "O"])


@pytest.mark.parametrize("command", ["screen", "submit", "demo"])
def test_every_pool_command_honours_the_source_setting(sse_home, monkeypatch, command):
    """SSE_FLOWS_SOURCE=mp picks live MP for `screen`, `submit` and `demo` alike: without a
    key each stops at once with the fall-back hint, before any work is submitted."""
    from click.testing import CliRunner

    from sse_flows.cli import cli
    from sse_flows.settings import reset_settings

    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.setenv("SSE_FLOWS_SOURCE", "mp")
    monkeypatch.setattr(mp_api_module, "_probe_endpoint", lambda *a: pytest.fail("probed"))
    reset_settings()
    result = CliRunner().invoke(cli, [command])
    assert result.exit_code == 1, result.output
    assert "--source snapshot" in result.output and "Traceback" not in result.output
    assert "submitted" not in result.output.lower()
