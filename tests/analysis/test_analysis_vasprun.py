"""vasprun.xml (VASP MD output) into runs: temperature from TEBEG, time step from POTIM."""

from __future__ import annotations

import numpy as np
import pytest

from sse_flows.analysis import load_runs, read_run
from sse_flows.analysis.synthetic import random_walk_run


def write_vasprun(path, run, tebeg=900.0, potim=2.0):
    """A minimal, real-format vasprun.xml of an MD run (wrapped positions per ionic step)."""
    lat = run.lattice

    def varray(name, rows):
        body = "".join("    <v>" + " ".join(f"{x:.10f}" for x in r) + " </v>\n" for r in rows)
        return f'   <varray name="{name}" >\n{body}   </varray>\n'

    def structure(frac, name=None):
        nm = f' name="{name}"' if name else ""
        return (
            f"  <structure{nm}>\n   <crystal>\n"
            + varray("basis", lat)
            + f'    <i name="volume">{abs(np.linalg.det(lat)):.6f}</i>\n'
            + varray("rec_basis", np.linalg.inv(lat).T)
            + "   </crystal>\n"
            + varray("positions", frac)
            + "  </structure>\n"
        )

    species = run.species
    elements = list(dict.fromkeys(species))
    atoms = "".join(f"    <rc><c>{s}</c><c>{elements.index(s) + 1}</c></rc>\n" for s in species)
    types = "".join(
        f"    <rc><c>{species.count(e)}</c><c>{e}</c><c>1.0</c><c>1.0</c>"
        f"<c>PAW_PBE {e} 01Jan2000</c></rc>\n"
        for e in elements
    )
    calcs = ""
    for frame in run.frac_coords:
        calcs += (
            " <calculation>\n"
            + structure(frame % 1.0)
            + varray("forces", np.zeros((len(species), 3)))
            + '  <energy>\n   <i name="e_fr_energy">-1.0</i>\n'
            + '   <i name="e_wo_entrp">-1.0</i>\n   <i name="e_0_energy">-1.0</i>\n'
            + "  </energy>\n </calculation>\n"
        )
    initial = structure(run.frac_coords[0] % 1.0, "initialpos")
    final = structure(run.frac_coords[-1] % 1.0, "finalpos")
    xml = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<modeling>
 <generator>
  <i name="program" type="string">vasp </i>
  <i name="version" type="string">6.3.0</i>
 </generator>
 <incar>
  <i type="string" name="PREC">normal</i>
  <i name="IBRION">0</i>
  <i name="TEBEG">{tebeg}</i>
  <i name="POTIM">{potim}</i>
 </incar>
 <parameters>
  <separator name="ionic" >
   <i type="int" name="IBRION">0</i>
   <i name="POTIM">{potim}</i>
   <i name="TEBEG">{tebeg}</i>
   <i name="TEEND">{tebeg}</i>
  </separator>
  <separator name="electronic" >
   <i type="int" name="NELM">60</i>
   <i name="EDIFF">1e-5</i>
  </separator>
 </parameters>
 <atominfo>
  <atoms>{len(species)}</atoms>
  <types>{len(elements)}</types>
  <array name="atoms" >
   <dimension dim="1">ion</dimension>
   <field type="string">element</field>
   <field type="int">atomtype</field>
   <set>
{atoms}   </set>
  </array>
  <array name="atomtypes" >
   <dimension dim="1">type</dimension>
   <field type="int">atomspertype</field>
   <field type="string">element</field>
   <field>mass</field>
   <field>valence</field>
   <field type="string">pseudopotential</field>
   <set>
{types}   </set>
  </array>
 </atominfo>
{initial}{calcs}{final}</modeling>
"""
    open(path, "w").write(xml)


@pytest.fixture(scope="module")
def short_run():
    return random_walk_run(0.25, temperature=900.0, n_cells=3, n_frames=30, n_host=4, seed=7)


def test_vasprun_round_trip(short_run, tmp_path):
    path = tmp_path / "vasprun.xml"
    write_vasprun(path, short_run, tebeg=900.0, potim=2.0)
    back = read_run(path)
    assert back.temperature_K == 900.0 and back.time_step_fs == 2.0
    assert back.metadata["temperature_source"] == "TEBEG"
    np.testing.assert_allclose(back.displacements, short_run.displacements, atol=1e-6)


def test_vasprun_folders_per_temperature(short_run, tmp_path):
    for temp in (1200.0, 600.0):
        folder = tmp_path / f"{temp:.0f}K"
        folder.mkdir()
        write_vasprun(folder / "vasprun.xml", short_run, tebeg=temp)
    runs = load_runs([tmp_path])
    assert [r.temperature_K for r in runs] == [600.0, 1200.0]
