"""Generate the mocked-VASP reference runs of tests/md/test_data/aimd_li2o (run once).

A short CHGNet NVT trajectory of a Li2O 2x2x2 supercell (24 atoms) per temperature is
written as the VASP runs the ``AimdProtocolMaker`` test protocol expects: per temperature
an equilibration run of 3 steps and a production run of 4 steps in 2 chunks of 2.
Each reference directory holds ``inputs/`` (what VASP must be given: the paper's INCAR
values written by hand here, Gamma-only KPOINTS, the POSCAR, POTCAR.spec) and ``outputs/``
(vasprun.xml, OUTCAR, CONTCAR with velocities) in VASP's formats.

Usage: ``.venv/bin/python tests/md/make_md_test_data.py``
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from md_vasp_files import ZVAL, write_contcar, write_outcar, write_vasprun  # noqa: E402

OUT = HERE / "test_data" / "aimd_li2o"
TEMPERATURES = (600.0, 800.0, 1000.0, 1200.0)
EQUILIBRATION_STEPS = 3
CHUNK_STEPS = (2, 2)
SUPERCELL = (2, 2, 2)  # Li2O primitive a = 3.29 A: lengths >= 5 A


def expected_incar(temperature: float, nsw: int):
    """The INCAR values the paper's protocol requires (written by hand, not by the code)."""
    from pymatgen.io.vasp import Incar

    return Incar(
        {
            "ENCUT": 400.0,
            "GGA": "Pe",
            "IBRION": 0,
            "ISIF": 2,
            "ISPIN": 1,
            "ISYM": 0,
            "MDALGO": 2,
            "NSW": nsw,
            "POTIM": 2.0,
            "SMASS": 0.0,
            "TEBEG": temperature,
            "TEEND": temperature,
        }
    )


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    from ase import units
    from ase.md.npt import NPT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.vasp import Kpoints, Poscar
    from pymatgen.util.testing import MatSciTest

    structure = MatSciTest.get_structure("Li2O") * SUPERCELL
    calculator = CHGNetCalculator()
    if OUT.exists():
        shutil.rmtree(OUT)
    kpoints = Kpoints.gamma_automatic((1, 1, 1))
    # PBE_54 POTCARs of the paper's set, in POSCAR species order
    potcar_spec = "".join(
        {"Li": "Li_sv", "O": "O"}[symbol] + "\n" for symbol in Poscar(structure).site_symbols
    )
    n_steps = EQUILIBRATION_STEPS + sum(CHUNK_STEPS)
    for temperature in TEMPERATURES:
        atoms = structure.to_ase_atoms()
        upper, _ = atoms.cell.standard_form(form="upper")
        atoms.set_cell(upper, scale_atoms=True)
        atoms.calc = calculator
        MaxwellBoltzmannDistribution(
            atoms, temperature_K=temperature, rng=np.random.default_rng(int(temperature))
        )
        Stationary(atoms)
        dynamics = NPT(
            atoms, 2.0 * units.fs, temperature_K=temperature, ttime=80 * units.fs, pfactor=None
        )
        record = []

        def observe(atoms=atoms, record=record) -> None:
            frame = AseAtomsAdaptor.get_structure(atoms)
            frame = frame.__class__(structure.lattice, frame.species, frame.frac_coords % 1.0)
            rotation = np.linalg.solve(atoms.cell.array, structure.lattice.matrix)
            record.append(
                {
                    "structure": frame,
                    "velocities": atoms.get_velocities() * units.fs @ rotation,
                    "energy": float(atoms.get_potential_energy()),
                    "forces": atoms.get_forces() @ rotation,
                    "stress": -atoms.get_stress(voigt=False) / units.GPa * 10.0,
                    "kinetic": float(atoms.get_kinetic_energy()),
                }
            )

        cache = os.environ.get("MD_TEST_DATA_CACHE")  # reuse a trajectory while editing
        cache_file = Path(cache) / f"{temperature:g}.pkl" if cache else None
        if cache_file is not None and cache_file.exists():
            record.extend(pickle.loads(cache_file.read_bytes()))
        else:
            dynamics.attach(observe, interval=1)
            dynamics.run(n_steps)
            if cache_file is not None:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                cache_file.write_bytes(pickle.dumps(record))
        assert len(record) == n_steps + 1

        runs = [(f"aimd equilibration {temperature:g}K", 0, EQUILIBRATION_STEPS)]
        start = EQUILIBRATION_STEPS
        for index, nsteps in enumerate(CHUNK_STEPS, start=1):
            runs.append((f"aimd production {temperature:g}K {index}", start, nsteps))
            start += nsteps
        for name, first, nsteps in runs:
            ref = OUT / name.replace(" ", "_")
            frames = record[first : first + nsteps]
            final = record[first + nsteps]
            incar = expected_incar(temperature, nsteps)
            (ref / "inputs").mkdir(parents=True, exist_ok=True)
            incar.write_file(ref / "inputs" / "INCAR")
            kpoints.write_file(ref / "inputs" / "KPOINTS")
            (ref / "inputs" / "POTCAR.spec").write_text(potcar_spec)
            start_velocities = None if first == 0 else record[first]["velocities"]
            Poscar(
                record[first]["structure"] if first else structure,
                velocities=None if start_velocities is None else start_velocities.tolist(),
            ).write_file(ref / "inputs" / "POSCAR", significant_figures=10)
            write_vasprun(
                ref / "outputs" / "vasprun.xml",
                frames=[f["structure"] for f in frames],
                energies=[f["energy"] for f in frames],
                forces=[f["forces"] for f in frames],
                stresses_kbar=[f["stress"] for f in frames],
                kinetic=[f["kinetic"] for f in frames],
                final_structure=final["structure"],
                incar=incar,
                kpoints=kpoints,
            )
            write_outcar(
                ref / "outputs" / "OUTCAR",
                n_atoms=len(structure),
                energies=[f["energy"] for f in frames],
                forces=[f["forces"] for f in frames],
                nsw=nsteps,
                nelect=sum(ZVAL[site.specie.symbol] for site in structure),
            )
            write_contcar(ref / "outputs" / "CONTCAR", final["structure"], final["velocities"])
            (ref / "outputs" / "POTCAR.spec").write_text(potcar_spec)
        print(f"{temperature:g} K: {len(runs)} runs written")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
