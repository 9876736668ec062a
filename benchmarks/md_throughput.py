"""Atom-steps per second of NVT MD: the batched engine vs the one-structure engine.

For each batch size n, n copies of one supercell (each rattled differently) run ``--steps``
production steps of Bussi NVT (2 fs, taut 100 fs) at 1000 K:

* batched: :mod:`sse_flows.md.batched` (the same integrator the engine uses for
  production; ``default_structures_per_pass`` structures per forward pass: one on a CPU, all
  n on CUDA), and the same with all n structures in one forward pass ("one pass");
* one-by-one: :func:`sse_flows.md.forcefield.run_production_chunk` with the engine's ASE
  calculator, one structure after the other (what the per-material jobs do).

On CUDA each row also records the peak memory of the all-in-one-pass run per atom (the
check of :data:`sse_flows.md.batched.BYTES_PER_ATOM`). ``--single-max`` times one-by-one on
the first few structures only (its rate does not depend on n).

The potential is loaded and called once before timing; the batched engine is called twice
more at each batch size before timing (the first calls at a new shape are slow).

Usage::

    .venv/bin/python benchmarks/md_throughput.py --sizes 1 2 4 8 --steps 5 --cells 1 1 2
    .venv/bin/python benchmarks/md_throughput.py --device cuda --sizes 1 8 64 256 \\
        --steps 50 --cells 2 2 2 --single-max 8   # 96-atom Li2O on a GPU

    .venv/bin/python benchmarks/md_throughput.py --record-only  # the record from the JSON

Writes ``benchmarks/results/md_throughput.json`` (or ``--out``) and its record
``docs/benchmarks/md_throughput.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

NAME = "md_throughput"


def _supercell(multiples: list[int]):
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
    from pymatgen.util.testing import MatSciTest

    from sse_flows.md.protocol import make_md_supercell

    conventional = SpacegroupAnalyzer(
        MatSciTest.get_structure("Li2O")
    ).get_conventional_standard_structure()
    return make_md_supercell(conventional * multiples, 1.0)


def _rattled(cell, n: int):
    from pymatgen.core import Structure

    return [
        Structure(cell.lattice, cell.species,
                  cell.cart_coords + np.random.default_rng(i).normal(0.0, 0.05, (len(cell), 3)),
                  coords_are_cartesian=True)
        for i in range(n)
    ]


def batched_rate(cells, protocol, potential, steps: int, per_pass: int | None) -> float:
    """Atom-steps/s of the batched integrator over ``cells`` (``per_pass`` structures per
    forward pass; None: all of them)."""
    from sse_flows.md import batched
    from sse_flows.md.schemas import ProductionRecord

    members = []
    for i, cell in enumerate(cells):
        member = batched._Member(
            index=i, atoms=cell.to_ase_atoms(), temperature=1000.0, workdir=Path("."),
            record=ProductionRecord(temperature=1000.0),
        )
        member.momenta = np.random.default_rng(i).normal(
            0.0, np.sqrt(member.masses * 0.086), member.positions.shape
        )
        members.append(member)
    engine = batched._Engine(potential, batched.MAX_FORCE_EV_A, per_pass)
    engine.evaluate(members)
    engine.evaluate(members)  # untimed warm-up at this batch shape (lazy kernels, allocator)
    # the engine's own per-pair stepping (batched._steps), one batched force call per round
    # as batched._drive makes it, without the equilibration and trajectory files
    programs = [batched._steps(m, steps, batched._Bussi(m, 1000.0, protocol, m.index),
                               lambda m, s: None, steps) for m in members]
    start = time.perf_counter()
    flight = [(m, p) for m, p in zip(members, programs, strict=True) if batched._advance(p)]
    while flight:
        engine.evaluate([m for m, _ in flight])
        flight = [(m, p) for m, p in flight if batched._advance(p)]
    wall = time.perf_counter() - start
    failed = [m.record.error for m in members if m.failed]
    if failed:
        raise RuntimeError(f"batched MD failed: {failed}")
    return sum(len(c) for c in cells) * steps / wall


def one_by_one_rate(cells, protocol, calculator, steps: int, workdir: Path) -> float:
    """Atom-steps/s of the one-structure engine, structure after structure."""
    from ase.md.velocitydistribution import thermalize_momenta

    from sse_flows.md.forcefield import forces_only, run_production_chunk

    calculator = forces_only(calculator)
    wall = 0.0
    for i, cell in enumerate(cells):
        atoms = cell.to_ase_atoms()
        atoms.calc = calculator
        thermalize_momenta(atoms, 1000.0, rng=np.random.default_rng(i))
        atoms.get_forces()
        wall += run_production_chunk(atoms, 1000.0, protocol, steps, workdir / f"{i}.traj", 1)
    return sum(len(c) for c in cells) * steps / wall


@contextlib.contextmanager
def peak_memory(device: str):
    """Peak CUDA memory allocated inside the block (``{"bytes": ...}``; empty on a CPU):
    the measurement behind :data:`sse_flows.md.batched.BYTES_PER_ATOM`."""
    found: dict[str, int] = {}
    if not str(device).startswith("cuda"):
        yield found
        return
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    yield found
    torch.cuda.synchronize()
    found["bytes"] = int(torch.cuda.max_memory_allocated() - base)


def save(args, rows: list[dict]) -> None:
    """Write the rows measured so far (after each batch size: a run stopped at a time
    limit keeps its finished rows)."""
    from sse_flows.data.writers import write_text_atomic

    result = {
        "benchmark": "md_throughput", "engine": args.engine, "device": args.device,
        "label": args.label, "steps": args.steps, "thermostat": "bussi",
        "structure": f"Li2O conventional x {args.cells}", "host": platform.node(),
        "date": time.strftime("%Y-%m-%d"), "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps(result, indent=2))


def record(result: dict, result_path: Path | None = None) -> str:
    """The Markdown record of a result: one row per batch size, in atom-steps/s."""
    fmt = br.fmt
    rows = []
    for r in result["rows"]:
        per_atom = r.get("peak_gpu_bytes_per_atom")
        rows.append([
            f"{r['structures']} x {r['atoms_each']}", f"{r['batched_atom_steps_per_s']:.1f}",
            f"{r['one_pass_atom_steps_per_s']:.1f}", f"{r['one_by_one_atom_steps_per_s']:.1f}",
            f"{r['ratio']:.2f}",
            f"{r['paired_ratio_min']:.2f}-{r['paired_ratio_max']:.2f}",
            f"{r['one_pass_ratio']:.2f}", fmt(per_atom / 1e6 if per_atom else None, ".2f")])
    per_pass = result["rows"][0].get("structures_per_pass") if result["rows"] else None
    return "\n".join([
        br.header(NAME, "Batched against one-structure MD: throughput",
                  [result_path or br.RESULTS / f"{NAME}.json"],
                  {"date": result["date"], "machine": result.get("label"),
                   "engine": result["engine"], "device": result["device"],
                   "protocol": f"{result['structure']}, {result['steps']} timed steps "
                               f"of {result['thermostat']} NVT at 1000 K, "
                               f"{result['rows'][0]['repeats']} interleaved trials, "
                               "medians" if result["rows"] else None}),
        "Atom-steps per second. Default: the batched engine with its default structures per "
        f"forward pass ({per_pass or 'all'} on this device); one pass: every structure in one "
        "forward pass; one-by-one: the one-structure engine's ASE calculator. Ratios are "
        "batched over one-by-one; paired: trial k of each, run back to back.", "",
        *br.table(["structures x atoms", "batched (default)", "batched, one pass",
                   "one-by-one", "ratio (default)", "paired ratios, min-max",
                   "ratio (one pass)", "peak GPU MB/atom (one pass)"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sevennet", choices=["sevennet", "chgnet"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--cells", type=int, nargs=3, default=[1, 1, 2],
                        help="multiples of the 12-atom conventional Li2O cell")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved trials per size; the medians are reported")
    parser.add_argument("--single-max", type=int, default=None,
                        help="time one-by-one on at most this many of the n structures (it "
                             "runs them one after another, so its rate does not depend on n)")
    parser.add_argument("--label", default="cpu")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"
                                              / "md_throughput.json"))
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, lambda result: record(result, Path(args.out))):
        return

    from sse_flows.md.batched import default_structures_per_pass, load_batched_potential
    from sse_flows.md.forcefield import load_calculator
    from sse_flows.md.protocol import MDProtocol

    warnings.simplefilter("ignore")
    protocol = MDProtocol(production_steps=args.steps, trajectory_interval=args.steps,
                          chunk_steps=args.steps, relax=False)
    cell = _supercell(args.cells)
    potential = load_batched_potential(args.engine, args.device)
    calculator = load_calculator(args.engine, args.device)
    warm = cell.to_ase_atoms()
    potential([warm])  # first-call overheads (lazy init, allocator) are not timed
    warm.calc = calculator
    warm.get_forces()
    # throwaway run: torch's profiling executor specialises the model over its first calls
    per_pass = default_structures_per_pass(args.device)
    batched_rate(_rattled(cell, 1), protocol, potential, args.steps, per_pass)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cells = _rattled(cell, n)
            single_cells = cells[:args.single_max] if args.single_max else cells
            trials = {"batched": [], "one_pass": [], "single": []}
            for _ in range(args.repeats):  # interleaved, so drifts of the machine hit all three
                with peak_memory(args.device) as peak:
                    trials["one_pass"].append(
                        batched_rate(cells, protocol, potential, args.steps, None))
                trials["batched"].append(
                    trials["one_pass"][-1] if per_pass is None  # the same run (CUDA)
                    else batched_rate(cells, protocol, potential, args.steps, per_pass))
                trials["single"].append(
                    one_by_one_rate(single_cells, protocol, calculator, args.steps, Path(tmp)))
            batched, one_pass, single = (
                float(np.median(trials[k])) for k in ("batched", "one_pass", "single")
            )
            # paired ratios (trial k of each variant ran back to back): the spread says how
            # much of a difference the shared machine alone makes
            paired = np.array(trials["batched"]) / np.array(trials["single"])
            rows.append({"structures": n, "atoms_each": len(cell),
                         "paired_ratio_median": float(np.median(paired)),
                         "paired_ratio_min": float(paired.min()),
                         "paired_ratio_max": float(paired.max()),
                         "structures_per_pass": per_pass, "repeats": args.repeats,
                         "batched_atom_steps_per_s": batched,
                         "one_pass_atom_steps_per_s": one_pass,
                         "one_by_one_atom_steps_per_s": single, "ratio": batched / single,
                         "one_pass_ratio": one_pass / single,
                         "one_by_one_structures": len(single_cells),
                         "peak_gpu_bytes_one_pass": peak.get("bytes"),
                         "peak_gpu_bytes_per_atom": (peak["bytes"] / (n * len(cell))
                                                     if peak.get("bytes") else None),
                         "trials": trials})
            print(f"{n:4d} x {len(cell)} atoms: batched {batched:8.1f} (all in one pass "
                  f"{one_pass:8.1f})  one-by-one {single:8.1f} atom-steps/s  ratio "
                  f"{batched / single:5.2f} ({one_pass / single:5.2f}); paired trials "
                  f"{paired.min():.2f}-{paired.max():.2f}"
                  + (f"; peak GPU memory {peak['bytes'] / 2**30:.2f} GiB "
                     f"({peak['bytes'] / (n * len(cell)) / 1e6:.2f} MB/atom)"
                     if peak.get("bytes") else ""), flush=True)
            save(args, rows)  # after each size (--sizes takes at least one)
    result = br.read_json(Path(args.out))
    print(f"wrote {args.out} and "
          f"{br.write_record(NAME, record(result, Path(args.out)), args.record)}")


if __name__ == "__main__":
    main()
