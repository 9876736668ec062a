"""Steps/s of our force-field MD chunk (sse_flows.md) vs a bare ASE loop.

Both run the same NVT Bussi dynamics (2 fs, taut 100 fs, same seed) with the same, already
loaded, calculator (CHGNet by default, ``--engine sevennet``; ``--calculator forces_only``
drops the stress as the MD does) on the same supercell. "Ours" is
``sse_flows.md.forcefield.run_production_chunk``, which also writes a frame every
``--interval`` steps to the ASE trajectory file. Reading the chunk back and the engine
sanity checks are timed separately (once per chunk, not per step).

On a shared machine wall times swing by tens of percent between identical runs, so the
time spent inside the force field (the calculator's ``calculate``) is measured too: the overhead of
our wrapper is its extra time *outside* the force field, relative to the bare loop's total,
which does not depend on how busy the CPU was during the force-field calls.

Usage::

    .venv/bin/python benchmarks/md_chgnet_overhead.py --device cpu --steps 50
    .venv/bin/python benchmarks/md_chgnet_overhead.py --device cuda --steps 500 --min-length 10
    .venv/bin/python benchmarks/md_chgnet_overhead.py \
        --structure sse_flows/data/structures/Li10GeP2S12.json --calculator forces_only

    .venv/bin/python benchmarks/md_chgnet_overhead.py --record-only   # from the JSON

Prints steps/s of each and the ratio (the target is an overhead <= 5 %), adds both rows to
``benchmarks/results/md_chgnet_overhead.json`` (replacing the rows of the same engine, cell,
device, calculator and thread count) and writes its record
``docs/benchmarks/md_chgnet_overhead.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import benchrecord as br
import numpy as np

NAME = "md_chgnet_overhead"
RESULT = br.RESULTS / f"{NAME}.json"


class CalculatorTimer:
    """Accumulates the wall time spent in ``calculator.calculate``."""

    def __init__(self, calculator) -> None:
        self.seconds = 0.0
        self.calls = 0
        inner = calculator.calculate

        def timed(*args, **kwargs):
            self.calls += 1
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        calculator.calculate = timed

    def lap(self) -> float:
        """Seconds since the last lap (the call count restarts too)."""
        seconds, self.seconds, self.calls = self.seconds, 0.0, 0
        return seconds


def bare_ase_loop(supercell, calculator, temperature: float, steps: int, seed: int) -> float:
    """Seconds for ``steps`` NVT steps of a plain ASE loop with the calculator."""
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    atoms = supercell.to_ase_atoms()
    atoms.calc = calculator
    thermalize_momenta(atoms, temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    dynamics = Bussi(atoms, 2.0 * units.fs, temperature_K=temperature, taut=100.0 * units.fs,
                     rng=np.random.default_rng(seed))
    start = time.perf_counter()
    dynamics.run(steps)
    return time.perf_counter() - start


def ours(supercell, calculator, temperature: float, steps: int, interval: int, seed: int):
    """Seconds for the same steps through sse_flows.md, and the chunk file it wrote."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    from sse_flows.md.forcefield import run_production_chunk
    from sse_flows.md.protocol import MDProtocol

    protocol = MDProtocol(
        temperatures=(temperature,), equilibration_steps=0, production_steps=steps,
        chunk_steps=steps, trajectory_interval=interval, seed=seed,
    )
    atoms = supercell.to_ase_atoms()
    atoms.calc = calculator
    thermalize_momenta(atoms, temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    workdir = Path(tempfile.mkdtemp())
    path = workdir / "chunk.traj"
    start = time.perf_counter()
    run_production_chunk(atoms, temperature, protocol, steps, path, 1)
    return time.perf_counter() - start, path


def _rate(row: dict) -> str:
    rate = row["steps_per_s"]
    return f"{rate[0]:g}-{rate[1]:g}" if isinstance(rate, list) else f"{rate:.1f}"


def record(result: dict, result_path: Path = RESULT) -> str:
    """The Markdown record of a result: steps/s per engine, cell and loop."""
    rows = []
    for r in result["rows"]:
        rate = r["steps_per_s"]
        mean = sum(rate) / len(rate) if isinstance(rate, list) else rate
        rows.append([r["engine"], r["cell"], r["n_atoms"], r["loop"], r.get("calculator", "-"),
                     r.get("threads", "-"), _rate(r), f"{round(r['n_atoms'] * mean, -1):.0f}"])
    lines = [
        br.header(NAME, "Force-field MD speed: steps per second", [result_path],
                  {"date": result["date"], "machine": result["machine"],
                   "protocol": result["protocol"]}),
        "Loops: `bare ASE` is ASE's Bussi integrator with the calculator (`-`: not "
        "recorded); `chunk` is "
        "`sse_flows.md.forcefield.run_production_chunk` (Bussi, writing frames). Calculator: "
        "`full` computes energy, forces, stress (and CHGNet's magmoms); `forces_only` skips "
        "CHGNet's stress, the MD's setting.", "",
        *br.table(["engine", "cell", "atoms", "loop", "calculator", "torch threads",
                   "steps/s", "atom-steps/s"], rows),
    ]
    if result.get("overhead"):
        o = result["overhead"]
        lines += ["", f"Overhead of the chunk over the bare loop (extra time outside the force "
                  f"field / bare total): {100 * o['fraction']:+.1f} % (target <= 5 %)."]
    return "\n".join(lines)


def _save(result_path: Path, new_rows: list[dict], protocol: str, overhead: dict) -> dict:
    """Add ``new_rows`` to the stored result, replacing rows of the same engine, cell,
    device, calculator and thread count."""
    import time as _time

    stored = br.read_json(result_path) if result_path.exists() else {"rows": []}
    def key(row: dict) -> tuple:
        return (row["engine"], row["cell"], row.get("device", "cpu"),
                row.get("calculator", "full"), row.get("threads", "default"))

    keys = {key(r) for r in new_rows}
    kept = [r for r in stored.get("rows", []) if key(r) not in keys]
    result = {"benchmark": NAME, "date": _time.strftime("%Y-%m-%d"),
              "machine": br.machine(), "protocol": protocol,
              "rows": kept + new_rows, "overhead": overhead}
    br.write_json(result_path, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=50, help="MD steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (best kept)")
    parser.add_argument("--structure", default="Li2O",
                        help="pymatgen test structure name or a structure file")
    parser.add_argument("--min-length", type=float, default=6.0,
                        help="supercell lattice lengths >= this (A); the paper uses 10")
    parser.add_argument("--interval", type=int, default=10, help="frames stored every N steps")
    parser.add_argument("--temperature", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default)")
    parser.add_argument("--engine", choices=["chgnet", "sevennet"], default="chgnet",
                        help="the potential (sse_flows.md.potentials.load_calculator)")
    parser.add_argument("--calculator", choices=["full", "forces_only"], default="full",
                        help="full: energy, forces, stress; forces_only: the MD's setting "
                        "(sse_flows.md.potentials.forces_only)")
    parser.add_argument("--out", type=Path, default=RESULT)
    br.add_record_options(parser, NAME)
    args = parser.parse_args()
    if br.record_only(args, NAME, args.out, lambda result: record(result, args.out)):
        return
    warnings.filterwarnings("ignore")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from pymatgen.core import Structure
    from pymatgen.util.testing import MatSciTest

    from sse_flows.analysis.readers import read_run
    from sse_flows.md.potentials import forces_only, load_calculator
    from sse_flows.md.protocol import make_md_supercell
    from sse_flows.md.sanity import check_trajectory

    path = Path(args.structure)
    structure = Structure.from_file(path) if path.exists() else MatSciTest.get_structure(
        args.structure
    )
    supercell = make_md_supercell(structure, args.min_length)
    calculator = load_calculator(args.engine, args.device)
    if args.calculator == "forces_only":
        calculator = forces_only(calculator)
    bare_ase_loop(supercell, calculator, args.temperature, 3, seed=0)  # warm-up
    timer = CalculatorTimer(calculator)

    bare_times, our_times, bare_outside, our_outside = [], [], [], []
    calls = {}
    path = None
    for _ in range(args.repeats):
        timer.lap()
        elapsed = bare_ase_loop(supercell, calculator, args.temperature, args.steps, 0)
        bare_times.append(elapsed)
        calls["bare"] = timer.calls
        bare_outside.append(elapsed - timer.lap())
        elapsed, path = ours(supercell, calculator, args.temperature, args.steps,
                             args.interval, 0)
        our_times.append(elapsed)
        calls["ours"] = timer.calls
        our_outside.append(elapsed - timer.lap())
    start = time.perf_counter()
    run = read_run(path)
    check_trajectory(run)
    check_s = time.perf_counter() - start

    bare, mine = min(bare_times), min(our_times)
    ratio = mine / bare
    extra = float(np.median(our_outside) - np.median(bare_outside))
    overhead = extra / float(np.median(bare_times))
    print(f"structure {supercell.composition.reduced_formula}, {len(supercell)} atoms, "
          f"device {args.device}, {args.steps} steps x {args.repeats} repeats (best kept)")
    print(f"bare ASE + {args.engine:8s}: {args.steps / bare:8.3f} steps/s "
          f"({bare / args.steps:.4f} s/step)")
    print(f"sse_flows.md       : {args.steps / mine:8.3f} steps/s ({mine / args.steps:.4f} s/step)")
    print(f"read + checks     : {check_s:.3f} s per chunk ({run.n_frames} frames)")
    print(f"force-field calls per run: bare {calls['bare']}, ours {calls['ours']}")
    print(f"outside the force field: bare {np.median(bare_outside) / args.steps * 1e3:.2f} "
          f"ms/step, ours {np.median(our_outside) / args.steps * 1e3:.2f} ms/step")
    print(f"wall-time ratio ours/bare (best of {args.repeats}): {ratio:.3f}")
    print(f"wrapper overhead (extra time outside the force field / bare total): "
          f"{100 * overhead:+.2f} % (target <= 5 %: {'PASS' if overhead <= 0.05 else 'FAIL'})")
    cell = f"{supercell.composition.reduced_formula} {len(supercell)} atoms"
    engine_name = {"chgnet": "CHGNet", "sevennet": "SevenNet-0"}[args.engine]
    common = {"engine": engine_name, "cell": cell, "n_atoms": len(supercell),
              "device": args.device, "calculator": args.calculator,
              "threads": args.threads or "default"}
    result = _save(args.out, [
        {**common, "loop": "bare ASE", "steps_per_s": args.steps / bare},
        {**common, "loop": "chunk", "steps_per_s": args.steps / mine},
    ], f"{args.steps} NVT Bussi steps of 2 fs at {args.temperature:g} K, a frame every "
       f"{args.interval} steps, best of {args.repeats}", {"fraction": overhead, "ratio": ratio})
    print(f"wrote {args.out} and {br.write_record(NAME, record(result, args.out), args.record)}")


if __name__ == "__main__":
    main()
