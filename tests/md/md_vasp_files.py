"""Write VASP MD output files (vasprun.xml, OUTCAR, CONTCAR) in VASP's own format.

Used by ``make_md_test_data.py`` to turn a short CHGNet NVT trajectory into the reference
outputs of the mocked-VASP tests (atomate2's ``monkeypatch_vasp`` copies them in place of
running VASP). The layout follows what VASP 6 writes for an MD run (IBRION = 0): one
``<calculation>`` block per ionic step with the structure, forces, stress and the MD
energies (``kinetic``, ``nosepot``, ``nosekinetic``, ``total``).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pymatgen.core import Element, Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar

#: Titles of the PBE_54 POTCARs used for the test systems.
POTCAR_TITLES = {"Li": "PAW_PBE Li_sv 10Sep2004", "O": "PAW_PBE O 08Apr2002"}
ZVAL = {"Li": 3.0, "O": 6.0}


def _fmt_vec(values: Sequence[float]) -> str:
    return " ".join(f"{v:16.8f}" for v in values)


def _incar_item(key: str, value: object) -> str:
    if isinstance(value, bool):
        return f'  <i type="logical" name="{key}"> {"T" if value else "F"}  </i>'
    if isinstance(value, int):
        return f'  <i type="int" name="{key}">{value:6d}</i>'
    if isinstance(value, float):
        return f'  <i name="{key}">{value:16.8f}</i>'
    return f'  <i type="string" name="{key}">{escape(str(value))}</i>'


def _structure_xml(structure: Structure, name: str | None = None) -> list[str]:
    attr = f' name="{name}" ' if name else " "
    lines = [f" <structure{attr}>", "  <crystal>", '   <varray name="basis" >']
    lines += [f"    <v>{_fmt_vec(row)} </v>" for row in structure.lattice.matrix]
    lines += ["   </varray>", f'   <i name="volume">{structure.volume:16.8f} </i>']
    lines += ['   <varray name="rec_basis" >']
    reciprocal = structure.lattice.reciprocal_lattice_crystallographic.matrix
    lines += [f"    <v>{_fmt_vec(row)} </v>" for row in reciprocal]
    lines += ["   </varray>", "  </crystal>", '  <varray name="positions" >']
    lines += [f"   <v>{_fmt_vec(site.frac_coords)} </v>" for site in structure]
    lines += ["  </varray>", " </structure>"]
    return lines


def write_vasprun(
    path: Path,
    frames: Sequence[Structure],
    energies: Sequence[float],
    forces: Sequence[np.ndarray],
    stresses_kbar: Sequence[np.ndarray],
    kinetic: Sequence[float],
    final_structure: Structure,
    incar: Incar,
    kpoints: Kpoints,
) -> None:
    """Write a vasprun.xml(.gz) of an MD run, one ``<calculation>`` per frame.

    Parameters
    ----------
    path
        Output file (gzipped when the name ends in .gz).
    frames
        Structure at each ionic step (the first is the POSCAR).
    energies
        Potential energy (eV) at each step (``e_fr_energy`` = ``e_wo_entrp`` = ``e_0_energy``).
    forces
        Forces (eV/A), one (n_atoms, 3) array per step.
    stresses_kbar
        Stress tensors (kbar), one (3, 3) array per step.
    kinetic
        Ionic kinetic energy (eV) at each step.
    final_structure
        The CONTCAR structure (``finalpos``).
    incar, kpoints
        The run's INCAR and KPOINTS.
    """
    first = frames[0]
    symbols = [site.specie.symbol for site in first]
    types = list(dict.fromkeys(symbols))
    nelect = sum(ZVAL[s] for s in symbols)
    lines = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<modeling>", " <generator>"]
    lines += [
        '  <i name="program" type="string">vasp </i>',
        '  <i name="version" type="string">6.4.2  </i>',
        '  <i name="subversion" type="string">20Jul23 (build Nov 25 2026) gamma-only  </i>',
        '  <i name="platform" type="string">LinuxIFC </i>',
        '  <i name="date" type="string">2026 11 25 </i>',
        '  <i name="time" type="string">12:00:00 </i>',
        " </generator>",
        " <incar>",
    ]
    lines += [_incar_item(k, v) for k, v in incar.items()]
    lines += [" </incar>", " <kpoints>", '  <generation param="Gamma">']
    lines += [
        '   <v type="int" name="divisions">       1        1        1 </v>',
        '   <v name="usershift">      0.00000000      0.00000000      0.00000000 </v>',
        '   <v name="genvec1">      1.00000000      0.00000000      0.00000000 </v>',
        '   <v name="genvec2">      0.00000000      1.00000000      0.00000000 </v>',
        '   <v name="genvec3">      0.00000000      0.00000000      1.00000000 </v>',
        '   <v name="shift">      0.00000000      0.00000000      0.00000000 </v>',
        "  </generation>",
        '  <varray name="kpointlist" >',
        "   <v>       0.00000000       0.00000000       0.00000000 </v>",
        "  </varray>",
        '  <varray name="weights" >',
        "   <v>       1.00000000 </v>",
        "  </varray>",
        " </kpoints>",
        " <parameters>",
        '  <separator name="general" >',
        '   <i type="string" name="SYSTEM">unknown system</i>',
        "  </separator>",
        '  <separator name="electronic" >',
        '   <i type="string" name="PREC">normal</i>',
        f'   <i name="ENCUT">{float(incar["ENCUT"]):16.8f}</i>',
        f'   <i name="NELECT">{nelect:16.8f}</i>',
        '   <i type="int" name="NBANDS">' + f"{int(nelect // 2 + 8):6d}</i>",
        '   <i type="int" name="ISPIN">     1</i>',
        '   <i type="logical" name="LNONCOLLINEAR"> F  </i>',
        '   <i type="logical" name="LSORBIT"> F  </i>',
        '   <i type="int" name="ISMEAR">     0</i>',
        '   <i name="SIGMA">      0.20000000</i>',
        '   <i type="string" name="GGA">PE</i>',
        '   <i type="string" name="METAGGA">--</i>',
        '   <i type="logical" name="LHFCALC"> F  </i>',
        '   <i type="logical" name="LDAU"> F  </i>',
        '   <i type="int" name="NELM">   500</i>',
        '   <i name="EDIFF">      0.00001000</i>',
        "  </separator>",
        '  <separator name="ionic" >',
        f'   <i type="int" name="NSW">{len(frames):6d}</i>',
        '   <i type="int" name="IBRION">     0</i>',
        '   <i type="int" name="ISIF">     2</i>',
        f'   <i name="POTIM">{float(incar["POTIM"]):16.8f}</i>',
        "  </separator>",
        '  <separator name="ionic-dynamic" >',
        f'   <i name="TEBEG">{float(incar["TEBEG"]):16.8f}</i>',
        f'   <i name="TEEND">{float(incar["TEEND"]):16.8f}</i>',
        f'   <i name="SMASS">{float(incar["SMASS"]):16.8f}</i>',
        '   <i type="int" name="MDALGO">     2</i>',
        "  </separator>",
        " </parameters>",
        " <atominfo>",
        f"  <atoms>{len(first):7d} </atoms>",
        f"  <types>{len(types):7d} </types>",
        '  <array name="atoms" >',
        '   <dimension dim="1">ion</dimension>',
        '   <field type="string">element</field>',
        '   <field type="int">atomtype</field>',
        "   <set>",
    ]
    lines += [f"    <rc><c>{s:2s}</c><c>{types.index(s) + 1:4d}</c></rc>" for s in symbols]
    lines += [
        "   </set>",
        "  </array>",
        '  <array name="atomtypes" >',
        '   <dimension dim="1">type</dimension>',
        '   <field type="int">atomspertype</field>',
        '   <field type="string">element</field>',
        "   <field>mass</field>",
        "   <field>valence</field>",
        '   <field type="string">pseudopotential</field>',
        "   <set>",
    ]
    for s in types:
        mass = float(Element(s).atomic_mass)
        lines.append(
            f"    <rc><c>{symbols.count(s):4d}</c><c>{s:2s}</c><c>{mass:16.8f}</c>"
            f"<c>{ZVAL[s]:16.8f}</c><c>  {POTCAR_TITLES[s]}</c></rc>"
        )
    lines += ["   </set>", "  </array>", " </atominfo>"]
    lines += _structure_xml(first, "initialpos")
    for frame, energy, force, stress, ekin in zip(
        frames, energies, forces, stresses_kbar, kinetic, strict=True
    ):
        lines += [" <calculation>", "  <scstep>", "   <energy>"]
        lines += [
            f'    <i name="e_fr_energy">{energy:16.8f} </i>',
            f'    <i name="e_wo_entrp">{energy:16.8f} </i>',
            f'    <i name="e_0_energy">{energy:16.8f} </i>',
            "   </energy>",
            "  </scstep>",
        ]
        lines += ["  " + line for line in _structure_xml(frame)]
        lines += ['  <varray name="forces" >']
        lines += [f"   <v>{_fmt_vec(row)} </v>" for row in force]
        lines += ["  </varray>", '  <varray name="stress" >']
        lines += [f"   <v>{_fmt_vec(row)} </v>" for row in stress]
        lines += ["  </varray>", "  <energy>"]
        lines += [
            f'   <i name="e_fr_energy">{energy:16.8f} </i>',
            f'   <i name="e_wo_entrp">{energy:16.8f} </i>',
            f'   <i name="e_0_energy">{energy:16.8f} </i>',
            f'   <i name="kinetic">{ekin:16.8f} </i>',
            '   <i name="lattice kinetic">      0.00000000 </i>',
            '   <i name="nosepot">      0.00000000 </i>',
            '   <i name="nosekinetic">      0.00000000 </i>',
            f'   <i name="total">{energy + ekin:16.8f} </i>',
            "  </energy>",
            '  <time name="totalsc">    1.00    1.00</time>',
            " </calculation>",
        ]
    lines.pop()  # the last step also holds the eigenvalues and the DOS header
    # eigenvalues of the last step at Gamma (occupied bands below a gap)
    n_bands = int(nelect // 2 + 8)
    n_occ = int(nelect // 2)
    lines += [
        "  <eigenvalues>",
        "   <array>",
        '    <dimension dim="1">band</dimension>',
        '    <dimension dim="2">kpoint</dimension>',
        '    <dimension dim="3">spin</dimension>',
        "    <field>eigene</field>",
        "    <field>occ</field>",
        "    <set>",
        '     <set comment="spin 1">',
        '      <set comment="kpoint 1">',
    ]
    for band in range(n_bands):
        value = -5.0 + 4.0 * band / n_occ if band < n_occ else 2.0 + 0.3 * (band - n_occ)
        occ = 1.0 if band < n_occ else 0.0
        lines.append(f"       <r>{value:10.4f}{occ:10.4f} </r>")
    lines += [
        "      </set>",
        "     </set>",
        "    </set>",
        "   </array>",
        "  </eigenvalues>",
        "  <dos>",
        '   <i name="efermi">     -0.50000000 </i>',
        "  </dos>",
        " </calculation>",
    ]
    lines += _structure_xml(final_structure, "finalpos")
    lines += ["</modeling>", ""]
    _write_text(path, "\n".join(lines))


def write_outcar(
    path: Path,
    n_atoms: int,
    energies: Sequence[float],
    forces: Sequence[np.ndarray],
    nsw: int,
    nelect: float,
) -> None:
    """Write a short OUTCAR with the lines pymatgen's ``Outcar`` parses for an MD run."""
    nbands = int(nelect // 2 + 8)
    lines = [
        " vasp.6.4.2 20Jul23 (build Nov 25 2026) gamma-only",
        " executed on             LinuxIFC date 2026.11.25  12:00:00",
        " running on    1 total cores",
        "",
        " Dimension of arrays:",
        "   k-points           NKPTS =      1   k-points in BZ     NKDIM =      1   "
        f"number of bands    NBANDS= {nbands:6d}",
        f"   number of dos      NEDOS =    301   number of ions     NIONS = {n_atoms:6d}",
        "   total plane-waves  NPLWV =  27000",
        "",
        f"   NSW    = {nsw:6d}    number of steps for IOM",
        "   IBRION =      0    ionic relax: 0-MD 1-quasi-New 2-CG",
        "   ISPIN  =      1    spin polarized calculation?",
        "   LNONCOLLINEAR =      F non collinear calculations",
        f"   NELECT = {nelect:12.4f}    total number of electrons",
        "",
        "",
        "",
        "-" * 104,
        "",
        "",
        "",
        " k-point   1 :       0.0000    0.0000    0.0000  plane waves:    1700",
        "",
        " maximum and minimum number of plane-waves per node :      1700     1700",
        "",
    ]
    for step, (energy, force) in enumerate(zip(energies, forces, strict=True), start=1):
        drift = np.asarray(force).sum(axis=0)
        lines += [
            f"--------------------------------------- Iteration {step:6d}(   1)  ---------------",
            " -" + "-" * 82,
            f"    total drift:                         {_fmt_vec(drift)}",
            "",
            "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
            "  ---------------------------------------------------",
            f"  free  energy   TOTEN  = {energy:18.8f} eV",
            "",
            f"  energy  without entropy= {energy:18.8f}  energy(sigma->0) = {energy:18.8f}",
            "",
        ]
    lines += [
        " E-fermi :  -0.5000     XC(G=0): -10.0000     alpha+bet :-10.0000",
        "",
        " General timing and accounting informations for this job:",
        " ========================================================",
        "",
        "                  Total CPU time used (sec):        1.000",
        "                            User time (sec):        1.000",
        "                          System time (sec):        0.000",
        "                         Elapsed time (sec):        1.000",
        "",
        "                   Maximum memory used (kb):      100000.",
        "                   Average memory used (kb):          N/A",
        "",
        "                          Minor page faults:         1000",
        "                          Major page faults:            0",
        "                 Voluntary context switches:          100",
        "",
    ]
    _write_text(path, "\n".join(lines))


def write_contcar(path: Path, structure: Structure, velocities_A_per_fs: np.ndarray) -> None:
    """Write a CONTCAR with the velocities block VASP appends after an MD run."""
    poscar = Poscar(structure, velocities=np.asarray(velocities_A_per_fs).tolist())
    _write_text(path, poscar.get_str(significant_figures=10))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="ascii") as handle:
            handle.write(text)
    else:
        path.write_text(text)
