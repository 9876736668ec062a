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

Several trajectories at one temperature are joined into one run only when they are
provably restart chunks of it: ``sse-flows md`` writes a run id and the chunk's first
production step into every file (:data:`RUN_ID_KEYS`), and chunks of one run id are joined
in step order when their steps follow on. Trajectories of different runs, or without a
run id (other codes, older files), are independent *replicas*, unless the caller says that
the files are chunks of one run (``join_chunks``; ``--join-chunks`` on the command line).
The same file given twice, or two files holding the same trajectory, are refused
(:class:`DuplicateTrajectoryError`).
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
    "RUN_ID_KEYS",
    "DuplicateTrajectoryError",
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


class DuplicateTrajectoryError(TrajectoryReadError):
    """The same trajectory given twice (one file twice, or two files with equal frames):
    counting it twice would fake a replica or a longer run."""


#: What ``sse-flows md`` records about a production chunk (ASE trajectory description,
#: ``TemperatureRun.metadata``): the id of the run it belongs to, its first production
#: step, its steps, its number and the seed of the run's stochastic parts.
RUN_ID_KEYS = ("run_id", "step_offset", "n_steps", "chunk", "seed")


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
    metadata = {"format": "ASE trajectory", "temperature_source": source}
    metadata.update({key: description[key] for key in RUN_ID_KEYS
                     if description.get(key) is not None})
    return TemperatureRun(
        temperature_K=temp,
        species=first.get_chemical_symbols(),
        lattice=cell,
        frac_coords=unwrap_frac_coords(frac),
        time_step_fs=float(time_step_fs),
        source=str(path),
        metadata=metadata,
        energies=energies,
        kinetic_temperatures=kinetic,
    )


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
    """Join restart chunks of one run, in the given order, into one run (continuing the
    unwrapped paths).

    The caller has established that the chunks belong to one run (same run id, or
    ``join_chunks``); this checks that they fit: the same atoms, cell and frame interval,
    and each chunk starting where the previous one ended (a restart may repeat that frame).
    """
    first = runs[0]
    pieces = [first.frac_coords]
    energies = [first.energies]
    kinetic = [first.kinetic_temperatures]
    previous_source = first.source
    for run in runs[1:]:
        if run.species != first.species or not np.allclose(run.lattice, first.lattice, atol=1e-3):
            raise TrajectoryReadError(
                f"{run.source}: cannot join it to {first.source} (different atoms or cell): "
                "not a restart chunk of the same run."
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
                f"is {gap:.1f} A away): not a restart chunk. Without --join-chunks "
                "(join_chunks) independent runs at one temperature are analysed as replicas."
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
    steps = [r.metadata.get("n_steps") for r in runs]
    if all(n is not None for n in steps):
        meta["n_steps"] = int(sum(steps))
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


def _step_ordered(chunks: list[TemperatureRun]) -> list[TemperatureRun]:
    """Chunks of one run in production-step order, each starting where the previous ended.

    Chunks that do not all record their first step keep the given order.

    Raises
    ------
    TrajectoryReadError
        A chunk is missing, repeated or overlaps another (the message names the files).
    """
    if any(c.metadata.get("step_offset") is None for c in chunks):
        return chunks
    ordered = sorted(chunks, key=lambda c: int(c.metadata["step_offset"]))
    for previous, chunk in zip(ordered, ordered[1:], strict=False):
        if previous.metadata.get("n_steps") is None:
            continue
        ended = int(previous.metadata["step_offset"]) + int(previous.metadata["n_steps"])
        starts = int(chunk.metadata["step_offset"])
        if starts != ended:
            raise TrajectoryReadError(
                f"run {chunk.metadata.get('run_id', '(no id)')} at {chunk.temperature_K:g} K: "
                f"{chunk.source} starts at production step {starts}, but {previous.source} "
                f"ended at step {ended}: a chunk is "
                + ("missing" if starts > ended else "repeated or overlapping")
                + ". Give every chunk of the run once."
            )
    return ordered


def _refuse_identical(group: list[TemperatureRun]) -> None:
    """Raise :class:`DuplicateTrajectoryError` when two runs hold the same frames."""
    for i, run in enumerate(group):
        for other in group[i + 1:]:
            if run.frac_coords.shape == other.frac_coords.shape and np.array_equal(
                run.frac_coords, other.frac_coords
            ):
                raise DuplicateTrajectoryError(
                    f"{run.source or 'a run given in memory'} and "
                    f"{other.source or 'a run given in memory'} hold the same trajectory "
                    "(every frame equal): one run counted twice would fake a replica. Give "
                    "it once; for replicas run `sse-flows md` again without --seed (each "
                    "run then draws its own seed)."
                )


def _runs_of_one_temperature(
    group: list[TemperatureRun], join_chunks: bool
) -> list[TemperatureRun]:
    """The independent runs among the trajectories of one temperature.

    Chunks that share a run id are joined in step order (``metadata["joined_by"] =
    "run id"``); every other trajectory is a run of its own (a replica). With
    ``join_chunks`` all of them are chunks of one run, in step order when they record it,
    else in the given order (``joined_by = "join_chunks"``).
    """
    _refuse_identical(group)
    ids = [run.metadata.get("run_id") for run in group]
    if join_chunks:
        distinct = sorted({i for i in ids if i is not None})
        if len(distinct) > 1:
            raise TrajectoryReadError(
                f"join_chunks (--join-chunks) asks to join the {group[0].temperature_K:g} K "
                f"trajectories as one run, but they record {len(distinct)} different run ids "
                f"({', '.join(distinct)}): they are independent runs. Leave --join-chunks out "
                "to analyse them as replicas."
            )
        if len(group) == 1:
            return group
        joined = _concatenate(_step_ordered(group))
        joined.metadata["joined_by"] = "join_chunks"
        return [joined]
    chunks_by_id: dict[str, list[TemperatureRun]] = {}
    order: list[str | TemperatureRun] = []
    for run, run_id in zip(group, ids, strict=True):
        if run_id is None:
            order.append(run)
            continue
        if run_id not in chunks_by_id:
            chunks_by_id[run_id] = []
            order.append(run_id)
        chunks_by_id[run_id].append(run)
    runs = []
    for entry in order:
        if isinstance(entry, TemperatureRun):
            runs.append(entry)
            continue
        chunks = chunks_by_id[entry]
        if len(chunks) == 1:
            runs.append(chunks[0])
            continue
        joined = _concatenate(_step_ordered(chunks))
        joined.metadata["joined_by"] = "run id"
        runs.append(joined)
    return runs


RunInput = str | Path | TemperatureRun | dict[str, Any]


def _expand_inputs(inputs: Sequence[RunInput]) -> list[Path | TemperatureRun]:
    """Files, folders (searched for trajectory files), runs and serialized runs -> items.

    Raises
    ------
    DuplicateTrajectoryError
        A file is given twice (directly, or again inside a folder given).
    """
    items: list[Path | TemperatureRun] = []
    given_as: dict[Path, str] = {}
    for entry in inputs:
        if isinstance(entry, TemperatureRun):
            items.append(entry)
        elif isinstance(entry, dict):
            items.append(TemperatureRun.from_dict(entry))
        else:
            for path in find_trajectory_files([entry]):
                key = path.resolve()
                if key in given_as:
                    where = "" if given_as[key] == str(entry) else (
                        f" (as {given_as[key]} and in {entry})"
                    )
                    raise DuplicateTrajectoryError(
                        f"{path} is given twice{where}: a trajectory counts once. Give each "
                        "file once (restart chunks of one run are joined by their run id; "
                        "independent runs at one temperature are analysed as replicas)."
                    )
                given_as[key] = str(entry)
                items.append(path)
    return items


def load_runs(
    paths: Sequence[RunInput],
    temperatures: Sequence[float] | None = None,
    time_step_fs: float | None = None,
    join_chunks: bool = False,
) -> list[TemperatureRun]:
    """Read trajectories into independent runs, sorted by temperature.

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
    join_chunks
        Treat all trajectories of one temperature as restart chunks of one run (for files
        without a run id, e.g. VASP chunks or files of other codes; ``--join-chunks``).
        Files that record different run ids are still refused as one run.

    Returns
    -------
    list of TemperatureRun
        One run per independent simulation: chunks of one run id are joined in step order
        (``metadata["joined_by"]``); other trajectories at one temperature are separate
        runs, i.e. replicas, in the given order.

    Raises
    ------
    DuplicateTrajectoryError
        A file given twice, or two files holding the same frames.
    TrajectoryReadError
        An unreadable file, or chunks of one run that do not follow on.
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
    independent = []
    for temp in sorted(by_temperature):
        independent.extend(_runs_of_one_temperature(by_temperature[temp], join_chunks))
    return independent
