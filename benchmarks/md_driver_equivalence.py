"""Same seed, same numbers: the MD protocol driver against saved references.

Runs a short CHGNet protocol of the packaged Li10GeP2S12 through the one-structure engine
(:func:`sse_flows.md.forcefield.run_forcefield_md`), and of Li10GeP2S12 + Li3PO4 through
the batched engine (:func:`sse_flows.md.pool.run_pool_md`); a third case adds a fallback
temperature and an extension round to the one-structure run. Each case's every
trajectory frame (positions, momenta, energies), production records (without wall times
and run ids) and document numbers (D and its error per temperature, the Arrhenius fit,
the relaxation) are compared with those saved by ``--save``. Prints "identical" or the
first difference; exit status 1 on a difference.

Usage::

    python benchmarks/md_driver_equivalence.py --save /tmp/h6_ref   # before a change
    python benchmarks/md_driver_equivalence.py --compare /tmp/h6_ref  # after it

It runs on one torch thread (``torch.set_num_threads(1)``) with a fresh
``SSE_FLOWS_HOME`` per case (no relaxation cache); about 2-4 min on one CPU core.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STRUCTURES = ROOT / "sse_flows" / "data" / "structures"


def _protocol(**changes):
    from sse_flows.md.protocol import MDProtocol

    values = dict(
        temperatures=(1000.0, 600.0), min_lattice_length=8.0, equilibration_steps=20,
        production_steps=40, chunk_steps=20, max_production_steps=80, trajectory_interval=5,
        relax_max_steps=5, seed=0,
    )
    values.update(changes)
    return MDProtocol(**values)


def _frames(files: list[str]) -> list[dict[str, np.ndarray]]:
    from ase.io import read

    out = []
    for path in files:
        for atoms in read(path, index=":"):
            out.append({"positions": atoms.get_positions(), "momenta": atoms.get_momenta(),
                        "energy": np.array(atoms.get_potential_energy())})
    return out


def _summary(doc) -> dict:
    """What must not change: every run's numbers and files' frames, without wall times."""
    runs = []
    for run in doc.runs:
        values = run.model_dump(mode="json")
        for key in ("elapsed_s", "steps_per_s", "trajectory_files"):
            values.pop(key, None)
        values["frames"] = _frames(run.trajectory_files)
        runs.append(values)
    diffusion = None if doc.diffusion is None else doc.diffusion.model_dump(mode="json")
    relaxation = None if doc.relaxation is None else doc.relaxation.model_dump(mode="json")
    return {"status": doc.status, "reason": doc.reason, "n_atoms": doc.n_atoms,
            "structure": doc.structure, "relaxation": relaxation, "runs": runs,
            "diffusion": _strip_paths(diffusion), "warnings": doc.warnings}


def _strip_paths(value):
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items()
                if k not in ("files", "trajectory_files", "elapsed_s", "dir_name", "path")}
    if isinstance(value, list):
        return [_strip_paths(v) for v in value]
    return value


def run_cases(which: set[str]) -> dict[str, list[dict]]:
    import torch
    from pymatgen.core import Structure

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    lgps = Structure.from_file(STRUCTURES / "Li10GeP2S12.json")
    li3po4 = Structure.from_file(STRUCTURES / "Li3PO4.json")
    cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        def home(name: str) -> Path:
            path = Path(tmp) / name
            os.environ["SSE_FLOWS_HOME"] = str(path / "home")
            from sse_flows.settings import get_settings

            get_settings(fresh=True)
            return path

        from sse_flows.md.forcefield import run_forcefield_md
        from sse_flows.md.pool import run_pool_md

        if "short" in which:
            work = home("single")
            doc = run_forcefield_md(lgps, _protocol(), work / "md", engine="chgnet")
            cases["single"] = [_summary(doc)]
            work = home("batched")
            docs = run_pool_md([lgps, li3po4], _protocol(), work / "md",
                               labels=["lgps", "li3po4"], engine="chgnet")
            cases["batched"] = [_summary(d) for d in docs]
            work = home("fallback")
            doc = run_forcefield_md(
                lgps, _protocol(fallback_temperatures=(800.0,), extension_chunks=1),
                work / "md", engine="chgnet",
            )
            cases["fallback_extension"] = [_summary(doc)]
        if "every" in which:
            # every temperature runs (no skip): the colder and the fallback phases, batched
            every = _protocol(skip_colder_without_hops=False, fallback_temperatures=(800.0,),
                              extension_chunks=1)
            work = home("every_single")
            doc = run_forcefield_md(lgps, every, work / "md", engine="chgnet")
            cases["every_single"] = [_summary(doc)]
            work = home("every_batched")
            docs = run_pool_md([lgps, li3po4], every.with_changes(extension_chunks=0),
                               work / "md", labels=["lgps", "li3po4"], engine="chgnet")
            cases["every_batched"] = [_summary(d) for d in docs]
    return cases


#: Fields that say when a document was made, not what it holds.
_WHEN = {"created_at"}

#: The temporary folder of a run inside a path (each run has its own).
_TMP = re.compile(r"/tmp[^/]*/tmp[^/]+/")


def first_difference(a, b, where: str = "") -> str | None:
    """The path of the first difference between two nested results (None: identical);
    strings compare without their temporary folder."""
    if isinstance(a, str) and isinstance(b, str):
        a, b = _TMP.sub("<tmp>/", a), _TMP.sub("<tmp>/", b)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{where}: keys {sorted(set(a) ^ set(b))}"
        for key in a:
            if key in _WHEN:
                continue
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
            return f"{where}: arrays differ"
        return None
    if a != b and not (isinstance(a, float) and isinstance(b, float) and np.isnan(a)
                       and np.isnan(b)):
        return f"{where}: {a!r} != {b!r}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="folder to save the references in")
    group.add_argument("--compare", type=Path, help="folder of saved references")
    parser.add_argument("--cases", default="short,every",
                        help="comma-separated: short (the hottest-only runs), every (every "
                        "temperature, fallback and extension)")
    parser.add_argument("--results", type=Path,
                        help="pickle of this run's results: written after the run, or read "
                        "instead of running when it exists")
    args = parser.parse_args(argv)
    which = set(args.cases.split(","))
    if args.results is not None and args.results.is_file():
        cases = pickle.loads(args.results.read_bytes())  # noqa: S301 - own file
    else:
        cases = run_cases(which)
        if args.results is not None:
            args.results.write_bytes(pickle.dumps(cases))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        suffix = "_".join(sorted(which))
        (args.save / f"reference_{suffix}.pkl").write_bytes(pickle.dumps(cases))
        (args.save / f"D_values_{suffix}.json").write_text(json.dumps(
            {name: [[(r["temperature"], r["D_cm2_s"], r["D_relative_error"], r["stop_reason"])
                     for r in doc["runs"]] for doc in docs] for name, docs in cases.items()},
            indent=1))
        print(f"saved {', '.join(cases)} to {args.save}")  # noqa: T201
        return 0
    reference = {}
    for path in sorted(args.compare.glob("reference*.pkl")):
        reference.update(pickle.loads(path.read_bytes()))  # noqa: S301 - own file
    reference = {name: docs for name, docs in reference.items() if name in cases}
    difference = first_difference(reference, cases)
    print(difference or "identical")  # noqa: T201
    return 1 if difference else 0


if __name__ == "__main__":
    sys.exit(main())
