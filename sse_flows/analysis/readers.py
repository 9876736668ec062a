"""Readers that turn MD trajectory files into :class:`TemperatureRun` objects.

Supported formats (chosen from the file name, then the content):

* pymatgen ``DiffusionAnalyzer`` JSON (``as_dict``; also the doubly encoded JSON string the
  Kang et al. 2023 repository ships, e.g. ``800_nteps_100.json``), optionally gzipped;
* pymatgen ``Trajectory`` JSON (``dumpfn(trajectory, "x.json[.gz]")``, atomate2's
  ``traj_file_fmt="pmg"``);
* VASP ``vasprun.xml`` (temperature from TEBEG, time step from POTIM) and ``XDATCAR``
  (temperature and POTIM from an ``INCAR`` beside it when present);
* ASE trajectory files (``.traj``; the MD time step is read from the trajectory description
  written by ASE dynamics when it also records the saving interval).

The temperature is taken, in order, from the explicit argument, the file itself, and the
file or folder name (``800_nteps_100.json``, ``T1100.traj``, ``1400K/vasprun.xml``).
Anything unreadable raises :class:`TrajectoryReadError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sse_flows.analysis.runs import TemperatureRun, unwrap_frac_coords

__all__ = [
    "TrajectoryReadError",
    "find_trajectory_files",
    "load_runs",
    "read_run",
    "temperature_from_name",
]

#: file-name patterns recognised when a directory is given
_TRAJECTORY_PATTERNS = ("*.json", "*.json.gz", "vasprun*.xml*", "XDATCAR*", "*.traj")


class TrajectoryReadError(ValueError):
    """A trajectory file that cannot be turned into a run (the message names file and fix)."""


# ---------------------------------------------------------------------------- helpers
_T_PATTERNS = (
    re.compile(r"^(\d{3,4}(?:\.\d+)?)(?:\s*K)?(?=$|[_\-.])", re.IGNORECASE),  # 800_nteps_100
    re.compile(r"(?:^|[_\-.])T_?(\d{3,4}(?:\.\d+)?)(?:\s*K)?(?=$|[_\-.])", re.IGNORECASE),
    re.compile(r"(?:^|[_\-.])(\d{3,4}(?:\.\d+)?)\s*K(?=$|[_\-.])", re.IGNORECASE),  # md_1100K
)


def temperature_from_name(path: str | Path) -> float | None:
    """Temperature (K) encoded in a file name or its parent folder's name, else ``None``.

    Recognises ``800_nteps_100.json``, ``T1100.traj``, ``md_1400K.json``, ``1700K/vasprun.xml``.
    Only 3-4 digit numbers count (100-9999 K).
    """
    path = Path(path)
    name = path.name
    for suffix in (".gz", ".json", ".xml", ".traj"):
        name = name.removesuffix(suffix)
    for candidate in (name, path.parent.name):
        for pattern in _T_PATTERNS:
            match = pattern.search(candidate)
            if match:
                return float(match.group(1))
    return None


def _read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return handle.read()


def _load_json(path: Path) -> Any:
    data = json.loads(_read_text(path))
    if isinstance(data, str):  # the Kang et al. files are a JSON string holding JSON
        data = json.loads(data)
    return data


def _resolve_temperature(
    path: Path, explicit: float | None, from_file: float | None, what: str
) -> tuple[float, str]:
    if explicit is not None:
        return float(explicit), "argument"
    if from_file is not None and from_file > 0:
        return float(from_file), what
    from_name = temperature_from_name(path)
    if from_name is not None:
        return from_name, "file name"
    raise TrajectoryReadError(
        f"{path}: no temperature found in the file or its name; pass it explicitly "
        "(temperature=..., or --temperatures on the command line)."
    )


def _read_incar(folder: Path) -> dict[str, Any]:
    incar = folder / "INCAR"
    if not incar.is_file():
        return {}
    from pymatgen.io.vasp.inputs import Incar

    return dict(Incar.from_file(incar))


# ---------------------------------------------------------------------------- formats
def _from_diffusion_analyzer_dict(
    path: Path, data: dict[str, Any], temperature: float | None
) -> TemperatureRun:
    from pymatgen.core import Structure

    structure = Structure.from_dict(data["structure"])
    disp = np.asarray(data["displacements"], dtype=float)  # (n_sites, n_frames, 3) cartesian
    if disp.ndim != 3 or disp.shape[0] != len(structure) or disp.shape[2] != 3:
        raise TrajectoryReadError(
            f"{path}: displacements of shape {disp.shape} do not match the {len(structure)}-site "
            "structure; the file is not a valid DiffusionAnalyzer dict."
        )
    lattices = np.asarray(data.get("lattices") or [structure.lattice.matrix], dtype=float)
    lattice = lattices[0]
    frac0 = structure.frac_coords
    frac = frac0[None] + np.transpose(disp @ np.linalg.inv(lattice), (1, 0, 2))
    temp, source = _resolve_temperature(path, temperature, data.get("temperature"), "file")
    time_step = float(data.get("time_step", 0) or 0)
    step_skip = int(data.get("step_skip", 1) or 1)
    if time_step <= 0:
        raise TrajectoryReadError(f"{path}: DiffusionAnalyzer dict without a positive time_step.")
    return TemperatureRun(
        temperature_K=temp,
        species=[site.specie.symbol for site in structure],
        lattice=lattice,
        frac_coords=frac,
        time_step_fs=time_step * step_skip,
        source=str(path),
        metadata={
            "format": "pymatgen DiffusionAnalyzer",
            "md_time_step_fs": time_step,
            "step_skip": step_skip,
            "temperature_source": source,
            "constant_cell": len(lattices) == 1,
        },
    )


def _from_trajectory_dict(
    path: Path, data: dict[str, Any], temperature: float | None, time_step_fs: float | None
) -> TemperatureRun:
    from pymatgen.core.trajectory import Trajectory

    traj = Trajectory.from_dict(data)
    structures = [traj[i] for i in range(len(traj))]
    frame_temps = [
        props.get("temperature")
        for props in (traj.frame_properties or [])
        if isinstance(props, dict) and props.get("temperature") is not None
    ]
    mean_temp = round(float(np.mean(frame_temps))) if frame_temps else None
    temp, source = _resolve_temperature(
        path,
        temperature,
        None if temperature_from_name(path) else mean_temp,
        "mean instantaneous temperature of the frames",
    )
    step = time_step_fs if time_step_fs is not None else traj.time_step
    if step is None:
        raise TrajectoryReadError(
            f"{path}: the pymatgen Trajectory has no time_step; pass the time between frames "
            "(time_step_fs=..., or --time-step-fs on the command line)."
        )
    run = TemperatureRun.from_structures(structures, temp, float(step), 1, source=str(path))
    run.metadata.update({"format": "pymatgen Trajectory", "temperature_source": source})
    return run


def _from_vasprun(path: Path, temperature: float | None, time_step_fs: float | None):
    from pymatgen.io.vasp.outputs import Vasprun

    try:
        vrun = Vasprun(
            str(path),
            parse_dos=False,
            parse_eigen=False,
            parse_potcar_file=False,
            exception_on_bad_xml=False,
        )
    except Exception as exc:  # noqa: BLE001 - pymatgen raises many types on bad xml
        raise TrajectoryReadError(f"{path}: not a readable vasprun.xml ({exc}).") from exc
    structures = [step["structure"] for step in vrun.ionic_steps]
    if len(structures) < 2:
        raise TrajectoryReadError(f"{path}: fewer than two ionic steps; not an MD run.")
    params = vrun.parameters
    temp, source = _resolve_temperature(path, temperature, params.get("TEBEG"), "TEBEG")
    potim = time_step_fs if time_step_fs is not None else params.get("POTIM")
    run = TemperatureRun.from_structures(structures, temp, float(potim), 1, source=str(path))
    run.metadata.update({"format": "vasprun.xml", "temperature_source": source})
    steps = vrun.ionic_steps
    energies = [step.get("e_fr_energy", step.get("e_0_energy")) for step in steps]
    if all(e is not None for e in energies):
        run.energies = np.asarray(energies, dtype=float)
    if all("kinetic" in step for step in steps):
        from ase.units import kB

        dof = 3 * len(structures[0]) - 3
        run.kinetic_temperatures = np.array([2 * step["kinetic"] / (dof * kB) for step in steps])
    return run


def _from_xdatcar(path: Path, temperature: float | None, time_step_fs: float | None):
    from pymatgen.io.vasp.outputs import Xdatcar

    try:
        structures = Xdatcar(str(path)).structures
    except Exception as exc:  # noqa: BLE001
        raise TrajectoryReadError(f"{path}: not a readable XDATCAR ({exc}).") from exc
    if len(structures) < 2:
        raise TrajectoryReadError(f"{path}: fewer than two frames in the XDATCAR.")
    incar = _read_incar(path.parent)
    temp, source = _resolve_temperature(path, temperature, incar.get("TEBEG"), "INCAR TEBEG")
    if time_step_fs is None:
        if "POTIM" not in incar:
            raise TrajectoryReadError(
                f"{path}: no INCAR with POTIM beside the XDATCAR; pass the time between frames "
                "(time_step_fs=..., or --time-step-fs)."
            )
        # XDATCAR holds every NBLOCK-th step
        time_step_fs = float(incar["POTIM"]) * int(incar.get("NBLOCK", 1))
    run = TemperatureRun.from_structures(structures, temp, float(time_step_fs), 1, str(path))
    run.metadata.update({"format": "XDATCAR", "temperature_source": source})
    return run


def _from_ase_traj(path: Path, temperature: float | None, time_step_fs: float | None):
    from ase import units
    from ase.io.trajectory import Trajectory as AseTrajectory

    try:
        with AseTrajectory(str(path)) as traj:
            frames = list(traj)
            description = dict(getattr(traj, "description", {}) or {})
    except Exception as exc:  # noqa: BLE001
        raise TrajectoryReadError(f"{path}: not a readable ASE trajectory ({exc}).") from exc
    if len(frames) < 2:
        raise TrajectoryReadError(f"{path}: fewer than two frames in the ASE trajectory.")
    if time_step_fs is None:
        interval = description.get("interval") or description.get("loginterval")
        if "timestep" in description and interval:
            time_step_fs = float(description["timestep"]) / units.fs * int(interval)
        else:
            raise TrajectoryReadError(
                f"{path}: the ASE trajectory does not record the time between frames; pass it "
                "(time_step_fs=..., or --time-step-fs)."
            )
    temp, source = _resolve_temperature(
        path, temperature, description.get("temperature_K"), "trajectory description"
    )
    first = frames[0]
    cell = np.asarray(first.cell[:], dtype=float)
    frac = np.array([atoms.cell.scaled_positions(atoms.positions) for atoms in frames])
    energies = kinetic = None
    if all(atoms.calc is not None for atoms in frames):
        try:
            energies = [float(atoms.get_potential_energy()) for atoms in frames]
        except Exception:  # noqa: BLE001 - a trajectory without stored energies
            energies = None
    if first.has("momenta"):
        kinetic = [float(atoms.get_temperature()) for atoms in frames]
    run = TemperatureRun(
        temperature_K=temp,
        species=first.get_chemical_symbols(),
        lattice=cell,
        frac_coords=unwrap_frac_coords(frac),
        time_step_fs=float(time_step_fs),
        source=str(path),
        metadata={"format": "ASE trajectory", "temperature_source": source},
        energies=energies,
        kinetic_temperatures=kinetic,
    )
    return run


# ---------------------------------------------------------------------------- public API
def read_run(
    path: str | Path,
    temperature: float | None = None,
    time_step_fs: float | None = None,
) -> TemperatureRun:
    """Read one trajectory file into a :class:`TemperatureRun`.

    Parameters
    ----------
    path
        A DiffusionAnalyzer / pymatgen Trajectory JSON (optionally ``.gz``), ``vasprun.xml``,
        ``XDATCAR`` or ASE ``.traj`` file.
    temperature
        Temperature in K; overrides what the file (or its name) says.
    time_step_fs
        Time between stored frames in fs, for formats that do not record it (XDATCAR without
        INCAR, ASE trajectories, pymatgen Trajectories without ``time_step``).

    Raises
    ------
    TrajectoryReadError
        If the file is missing, of an unknown format, or lacks temperature / time step.
    """
    path = Path(path)
    if not path.is_file():
        raise TrajectoryReadError(f"{path}: no such file.")
    name = path.name.lower()
    try:
        if name.endswith((".json", ".json.gz")):
            try:
                data = _load_json(path)
            except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
                raise TrajectoryReadError(f"{path}: not valid JSON ({exc}).") from exc
            cls = data.get("@class") if isinstance(data, dict) else None
            if cls == "DiffusionAnalyzer" or (isinstance(data, dict) and "displacements" in data):
                return _from_diffusion_analyzer_dict(path, data, temperature)
            if cls == "Trajectory":
                return _from_trajectory_dict(path, data, temperature, time_step_fs)
            if cls == "TemperatureRun":
                run = TemperatureRun.from_dict(data)
                run.source = str(path)  # messages name the file the user gave
                if temperature is not None:
                    run.temperature_K = float(temperature)
                return run
            raise TrajectoryReadError(
                f"{path}: JSON is neither a pymatgen DiffusionAnalyzer, a pymatgen Trajectory "
                f"nor a TemperatureRun (found @class={cls!r}); convert it to one of these."
            )
        if "vasprun" in name and ".xml" in name:
            return _from_vasprun(path, temperature, time_step_fs)
        if name.startswith("xdatcar"):
            return _from_xdatcar(path, temperature, time_step_fs)
        if name.endswith(".traj"):
            return _from_ase_traj(path, temperature, time_step_fs)
    except TrajectoryReadError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise TrajectoryReadError(f"{path}: could not be read as a trajectory ({exc}).") from exc
    raise TrajectoryReadError(
        f"{path}: unknown trajectory format; use a DiffusionAnalyzer/Trajectory JSON, "
        "vasprun.xml, XDATCAR or an ASE .traj file."
    )


def _natural_key(path: Path) -> list:
    """Sort key that orders numbers by value (``800_...`` before ``1100_...``)."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", str(path))]


def find_trajectory_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files and directories into trajectory files (directories: recursively, by name
    pattern ``*.json``, ``*.json.gz``, ``vasprun*.xml*``, ``XDATCAR*``, ``*.traj``, in natural
    order so that ``800_...`` comes before ``1100_...``); files are kept in the given order."""
    found: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            hits = {p for pattern in _TRAJECTORY_PATTERNS for p in entry.rglob(pattern)}
            files = sorted((p for p in hits if p.is_file()), key=_natural_key)
            if not files:
                raise TrajectoryReadError(f"{entry}: the folder holds no trajectory files.")
            found.extend(files)
        elif entry.is_file():
            found.append(entry)
        else:
            raise TrajectoryReadError(f"{entry}: no such file or folder.")
    return found


def _concatenate(runs: list[TemperatureRun]) -> TemperatureRun:
    """Join consecutive chunks of one temperature into one run (continuing unwrapped paths).

    Chunks must be restarts of one simulation: the same atoms, cell and frame interval, and
    each chunk starting where the previous one ended (a restart may repeat that frame).
    Anything else (e.g. independent runs given the same temperature) is refused.
    """
    first = runs[0]
    pieces = [first.frac_coords]
    energies = [first.energies]
    kinetic = [first.kinetic_temperatures]
    previous_source = first.source
    for run in runs[1:]:
        if run.species != first.species or not np.allclose(run.lattice, first.lattice, atol=1e-3):
            raise TrajectoryReadError(
                f"{run.source}: cannot join it to {first.source} (different atoms or cell); "
                "give runs at the same temperature only when they are restart chunks."
            )
        if not np.isclose(run.time_step_fs, first.time_step_fs):
            raise TrajectoryReadError(
                f"{run.source}: frame interval {run.time_step_fs} fs differs from "
                f"{first.time_step_fs} fs of {first.source}."
            )
        previous_last = pieces[-1][-1]
        frac = run.frac_coords
        shift = np.round(frac[0] - previous_last)  # put the chunk on the previous chunk's image
        frac = frac - shift[None]
        gap = np.abs((frac[0] - previous_last) @ first.lattice).max()
        if gap > 1.0:
            raise TrajectoryReadError(
                f"{run.source} does not start where {previous_source} ended (an atom "
                f"is {gap:.1f} A away): not a restart chunk. Give independent runs at "
                "different temperatures, or analyze them separately."
            )
        repeats = np.allclose(frac[0], previous_last, atol=1e-4)  # restart repeats the frame
        start = 1 if repeats else 0
        pieces.append(frac[start:])
        previous_source = run.source
        energies.append(None if run.energies is None else run.energies[start:])
        temps = run.kinetic_temperatures
        kinetic.append(None if temps is None else temps[start:])
    joined = np.concatenate(pieces, axis=0)
    meta = dict(first.metadata)
    meta["chunks"] = [r.source for r in runs]
    return TemperatureRun(
        first.temperature_K,
        first.species,
        first.lattice,
        unwrap_frac_coords(joined),
        first.time_step_fs,
        first.source,
        meta,
        energies=None if any(e is None for e in energies) else np.concatenate(energies),
        kinetic_temperatures=None if any(k is None for k in kinetic) else np.concatenate(kinetic),
    )


RunInput = str | Path | TemperatureRun | dict[str, Any]


def _expand_inputs(inputs: Sequence[RunInput]) -> list[Path | TemperatureRun]:
    """Files, folders (searched for trajectory files), runs and serialized runs -> items."""
    items: list[Path | TemperatureRun] = []
    for entry in inputs:
        if isinstance(entry, TemperatureRun):
            items.append(entry)
        elif isinstance(entry, dict):
            items.append(TemperatureRun.from_dict(entry))
        else:
            items.extend(find_trajectory_files([entry]))
    return items


def load_runs(
    paths: Sequence[RunInput],
    temperatures: Sequence[float] | None = None,
    time_step_fs: float | None = None,
) -> list[TemperatureRun]:
    """Read trajectories into per-temperature runs, sorted by temperature.

    The one loader of the package: ``sse-flows analyze``, the diffusion-analysis job and the
    MD continuation all call it.

    Parameters
    ----------
    paths
        Files and/or folders (folders are searched recursively for trajectory files),
        :class:`TemperatureRun` objects or their ``as_dict`` dicts (e.g. an upstream MD
        job's output).
    temperatures
        One temperature per item found (in the order of the expanded list, folders listed
        in natural order); ``None`` reads each temperature from its file or file name.
    time_step_fs
        Time between stored frames for formats that do not record it.

    Returns
    -------
    list of TemperatureRun
        One run per temperature; several items at the same temperature (restart chunks) are
        joined in the given order.
    """
    items = _expand_inputs(paths)
    if not items:
        raise TrajectoryReadError("no trajectory files given.")
    if temperatures is not None and len(temperatures) != len(items):
        listed = ", ".join(str(getattr(i, "source", i)) for i in items)
        raise TrajectoryReadError(
            f"{len(temperatures)} temperatures for {len(items)} trajectories ({listed}); "
            "give one temperature per trajectory."
        )
    runs = []
    for i, item in enumerate(items):
        temp = None if temperatures is None else float(temperatures[i])
        if isinstance(item, TemperatureRun):
            run = item
            if temp is not None:
                run.temperature_K = temp
        else:
            run = read_run(item, temp, time_step_fs)
        runs.append(run)
    by_temperature: dict[float, list[TemperatureRun]] = {}
    for run in runs:
        by_temperature.setdefault(run.temperature_K, []).append(run)
    merged = []
    for temp in sorted(by_temperature):
        group = by_temperature[temp]
        merged.append(group[0] if len(group) == 1 else _concatenate(group))
    return merged
