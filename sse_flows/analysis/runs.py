"""One MD trajectory at one temperature, in the form the diffusion analysis needs."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Structure

__all__ = ["TemperatureRun", "unwrap_frac_coords"]


def unwrap_frac_coords(frac_coords: np.ndarray) -> np.ndarray:
    """Remove periodic jumps from a sequence of fractional coordinates.

    Parameters
    ----------
    frac_coords
        Array ``(n_frames, n_sites, 3)`` of (possibly wrapped) fractional coordinates.

    Returns
    -------
    numpy.ndarray
        Continuous fractional coordinates: each frame-to-frame step is taken as the minimum
        image (as pymatgen's ``DiffusionAnalyzer.from_structures`` does), so frames must be
        close enough that no atom moves more than half a cell between them.
    """
    frac_coords = np.asarray(frac_coords, dtype=float)
    steps = np.diff(frac_coords, axis=0)
    steps -= np.round(steps)
    out = np.empty_like(frac_coords)
    out[0] = frac_coords[0]
    out[1:] = frac_coords[0] + np.cumsum(steps, axis=0)
    return out


def _encode(array: np.ndarray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype="<f8")
    return {
        "dtype": "<f8",
        "shape": list(data.shape),
        "base64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def _decode(value: Any) -> np.ndarray:
    if isinstance(value, dict) and "base64" in value:
        raw = base64.b64decode(value["base64"])
        return np.frombuffer(raw, dtype=value.get("dtype", "<f8")).reshape(value["shape"]).copy()
    return np.asarray(value, dtype=float)


class TemperatureRun:
    """An NVT trajectory at one temperature (constant cell, unwrapped coordinates).

    Parameters
    ----------
    temperature_K
        Thermostat temperature in kelvin.
    species
        Element symbol of every site, in site order.
    lattice
        Cell matrix ``(3, 3)`` in angstrom (rows are lattice vectors).
    frac_coords
        Unwrapped fractional coordinates ``(n_frames, n_sites, 3)``; they may leave [0, 1).
    time_step_fs
        Time between two stored frames in fs (MD time step times the sampling interval).
    source
        File the run was read from (``None`` when built in memory).
    metadata
        Free-form extras (MD time step, step skip, reader name, ...).
    energies
        Potential energy of each frame (eV), when the file records it.
    kinetic_temperatures
        Instantaneous kinetic temperature of each frame (K), when the file records it.
    """

    def __init__(
        self,
        temperature_K: float,
        species: Sequence[str],
        lattice: np.ndarray,
        frac_coords: np.ndarray,
        time_step_fs: float,
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
        energies: Sequence[float] | None = None,
        kinetic_temperatures: Sequence[float] | None = None,
    ) -> None:
        frac_coords = np.asarray(frac_coords, dtype=float)
        lattice = np.asarray(lattice, dtype=float)
        if frac_coords.ndim != 3 or frac_coords.shape[2] != 3:
            raise ValueError(f"frac_coords must be (n_frames, n_sites, 3), got {frac_coords.shape}")
        if lattice.shape != (3, 3):
            raise ValueError(f"lattice must be 3x3, got {lattice.shape}")
        if len(species) != frac_coords.shape[1]:
            raise ValueError(
                f"{len(species)} species for {frac_coords.shape[1]} sites in frac_coords"
            )
        if not time_step_fs > 0:
            raise ValueError(f"time_step_fs must be positive, got {time_step_fs}")
        if not temperature_K > 0:
            raise ValueError(f"temperature_K must be positive, got {temperature_K}")
        self.temperature_K = float(temperature_K)
        self.species = [str(s) for s in species]
        self.lattice = lattice
        self.frac_coords = frac_coords
        self.time_step_fs = float(time_step_fs)
        self.source = None if source is None else str(source)
        self.metadata = dict(metadata or {})
        self.energies = self._per_frame(energies, "energies")
        self.kinetic_temperatures = self._per_frame(kinetic_temperatures, "kinetic_temperatures")

    def _per_frame(self, values: Sequence[float] | None, name: str) -> np.ndarray | None:
        if values is None:
            return None
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n_frames,):
            raise ValueError(f"{name} must have one value per frame ({self.n_frames})")
        return values

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_structures(
        cls,
        structures: Sequence[Structure],
        temperature: float,
        time_step_fs: float,
        step_skip: int = 1,
        source: str | None = None,
    ) -> TemperatureRun:
        """Build a run from consecutive (wrapped or unwrapped) structures.

        Parameters
        ----------
        structures
            Frames in time order; the first cell is used for the whole run (NVT).
        temperature
            Temperature in K.
        time_step_fs
            MD integration time step in fs.
        step_skip
            MD steps between two of the given structures; the frame interval stored on the
            run is ``time_step_fs * step_skip`` (pymatgen's ``time_step``/``step_skip``).
        source
            Optional file name recorded on the run.
        """
        if len(structures) < 2:
            raise ValueError("a trajectory needs at least two frames")
        first = structures[0]
        frac = np.array([s.frac_coords for s in structures])
        return cls(
            temperature_K=temperature,
            species=[site.specie.symbol for site in first],
            lattice=first.lattice.matrix.copy(),
            frac_coords=unwrap_frac_coords(frac),
            time_step_fs=float(time_step_fs) * int(step_skip),
            source=source,
            metadata={"md_time_step_fs": float(time_step_fs), "step_skip": int(step_skip)},
        )

    # ------------------------------------------------------------------ views
    @property
    def n_frames(self) -> int:
        """Number of stored frames."""
        return int(self.frac_coords.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of atoms."""
        return int(self.frac_coords.shape[1])

    @property
    def duration_fs(self) -> float:
        """Time from the first to the last frame (fs)."""
        return (self.n_frames - 1) * self.time_step_fs

    @property
    def displacements(self) -> np.ndarray:
        """Cartesian displacement from the first frame, ``(n_sites, n_frames, 3)`` in angstrom
        (the layout of pymatgen's ``DiffusionAnalyzer``)."""
        frac_disp = self.frac_coords - self.frac_coords[0][None]
        return np.transpose(frac_disp @ self.lattice, (1, 0, 2))

    @property
    def initial_structure(self) -> Structure:
        """The first frame as a pymatgen ``Structure``."""
        from pymatgen.core import Lattice, Structure

        return Structure(Lattice(self.lattice), self.species, self.frac_coords[0])

    def structure(self, frame: int) -> Structure:
        """Frame ``frame`` as a pymatgen ``Structure`` (unwrapped coordinates)."""
        from pymatgen.core import Lattice, Structure

        return Structure(Lattice(self.lattice), self.species, self.frac_coords[frame])

    def indices(self, specie: str) -> np.ndarray:
        """Site indices of one element."""
        return np.array([i for i, s in enumerate(self.species) if s == specie], dtype=int)

    def slice(self, start: int, stop: int) -> TemperatureRun:
        """A sub-run of frames ``start:stop`` (same cell, same time step)."""
        return TemperatureRun(
            self.temperature_K,
            self.species,
            self.lattice,
            self.frac_coords[start:stop],
            self.time_step_fs,
            self.source,
            dict(self.metadata),
            energies=None if self.energies is None else self.energies[start:stop],
            kinetic_temperatures=(
                None
                if self.kinetic_temperatures is None
                else self.kinetic_temperatures[start:stop]
            ),
        )

    def to_diffusion_analyzer(self, specie: str = "Li", **kwargs: Any) -> DiffusionAnalyzer:
        """The pymatgen ``DiffusionAnalyzer`` of this run (``kwargs``: smoothed, min_obs, ...).

        The frame interval is passed as ``time_step`` with ``step_skip=1``; pymatgen only uses
        their product.
        """
        from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer

        return DiffusionAnalyzer(
            self.initial_structure,
            self.displacements,
            specie,
            self.temperature_K,
            self.time_step_fs,
            1,
            **kwargs,
        )

    # ------------------------------------------------------------------ serialisation
    def as_dict(self, compact: bool = True) -> dict[str, Any]:
        """JSON-serialisable dict (MSONable layout).

        Parameters
        ----------
        compact
            Store ``frac_coords`` as base64 of the float64 bytes (``{"dtype", "shape",
            "base64"}``) instead of nested lists: exact, a third of the size, and
            jobflow scans one string instead of ~10^5 floats when it passes the run on.
        """
        return {
            "@module": type(self).__module__,
            "@class": type(self).__name__,
            "temperature_K": self.temperature_K,
            "species": list(self.species),
            "lattice": self.lattice.tolist(),
            "frac_coords": _encode(self.frac_coords) if compact else self.frac_coords.tolist(),
            "time_step_fs": self.time_step_fs,
            "source": self.source,
            "metadata": self.metadata,
            "energies": None if self.energies is None else self.energies.tolist(),
            "kinetic_temperatures": (
                None if self.kinetic_temperatures is None else self.kinetic_temperatures.tolist()
            ),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TemperatureRun:
        """Inverse of :meth:`as_dict`."""
        return cls(
            temperature_K=d["temperature_K"],
            species=d["species"],
            lattice=np.asarray(d["lattice"], dtype=float),
            frac_coords=_decode(d["frac_coords"]),
            time_step_fs=d["time_step_fs"],
            source=d.get("source"),
            metadata=d.get("metadata") or {},
            energies=d.get("energies"),
            kinetic_temperatures=d.get("kinetic_temperatures"),
        )

    def __repr__(self) -> str:
        return (
            f"TemperatureRun(T={self.temperature_K:g} K, {self.n_sites} sites, "
            f"{self.n_frames} frames x {self.time_step_fs:g} fs, source={self.source!r})"
        )
