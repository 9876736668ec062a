"""The MD protocol as one set of parameters, and the MD supercell.

The paper's protocol (method.md section 7): NVT with a Nose-Hoover thermostat, time step
2 fs, at 600, 800, 1000 and 1200 K; 3,000 equilibration steps (6 ps) then 10,000
production steps (20 ps), in a supercell whose lattice lengths are all >= 10 A.

:class:`MDProtocol` is the one object every part of the MD stage takes: the VASP and the
force-field makers, the discovery flow, and the ``md``, ``submit`` and ``demo`` commands.
Whether a protocol is *reduced* (shorter or smaller than the paper's) is derived from it,
never set by hand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure

#: Temperatures (K) of the paper's AIMD runs.
PAPER_TEMPERATURES: tuple[float, ...] = (600.0, 800.0, 1000.0, 1200.0)

#: Thermostats of the force-field engines (ASE classes; VASP uses its own, see makers).
THERMOSTATS = ("bussi", "langevin", "nose-hoover-chain")


#: The default engine: the stiffer of the two universal potentials (CHGNet's hosts move
#: more and its Li hop 1.6-4.8x as often on the same cells, docs/benchmarks/md_vs_experiment.md;
#: against the authors' AIMD, docs/benchmarks/mlip_vs_aimd.md, neither is clearly closer).
#: CHGNet is 3-5x faster on a CPU: ``--engine chgnet`` (the demo uses it).
DEFAULT_MD_ENGINE = "sevennet"


#: Protocol fields that a trajectory does not depend on (left out of
#: :meth:`MDProtocol.pair_key`): which fallback runs happen, and the continue-until limits.
NOT_IN_PAIR_KEY: tuple[str, ...] = (
    "fallback_temperatures", "max_production_steps", "target_d_relative_error",
    "extension_chunks",
)


@dataclass(frozen=True)
class MDProtocol:
    """Parameters of the diffusion MD protocol (defaults: the paper's AIMD protocol).

    Parameters
    ----------
    temperatures
        Temperatures (K) of the NVT runs, one independent run each.
    time_step_fs
        MD time step in fs (VASP ``POTIM``).
    equilibration_steps
        Steps run first at each temperature and discarded (3,000 = 6 ps in the paper).
        The force-field engines extend it, up to three times, until the mean temperature
        of its second half is within ``temperature_tolerance`` of the target.
    production_steps
        Production steps always run at each temperature (10,000 = 20 ps in the paper).
    max_production_steps
        Production continues, chunk by chunk, until the relative standard error of D is
        at most ``target_d_relative_error`` or this many steps have run. ``None`` (the
        paper): exactly ``production_steps``.
    chunk_steps
        Steps of one restartable production chunk (one VASP ``MDMaker`` job, one
        force-field job). Walltime is the common failure on clusters: a lost chunk is
        rerun alone.
    target_d_relative_error
        Relative standard error of D (the larger of the block and the He et al. hop-count
        estimates, as the analysis reports it) at which production may stop.
    min_lattice_length
        The supercell is the smallest diagonal supercell whose lattice lengths a, b, c
        are all >= this value (A).
    trajectory_interval
        Frames are written every this many steps (the analysis ``step_skip``).
    thermostat
        Production thermostat of the force-field engines: "bussi" (stochastic velocity
        rescaling, Bussi et al. 2007: canonical, and a global coupling that leaves the
        dynamics, hence D, nearly untouched), "nose-hoover-chain" or "langevin".
    thermostat_time_fs
        Coupling time of the production thermostat (Bussi ``taut``, Nose-Hoover chain
        ``tdamp``): 100 fs = 50 steps, the range of VASP's ``SMASS = 0`` (40 steps).
    equilibration_thermostat
        Thermostat of the equilibration (default "langevin": local, brings every atom to
        the target temperature fast).
    langevin_friction_per_ps
        Langevin friction (1/ps; 10/ps is VASP's and atomate2's default).
    relax
        Force-field engines: relax cell and positions with the same potential before the
        MD (after the right-handed rotation), so the MD starts at the potential's zero
        pressure instead of at GPa of residual stress.
    relax_fmax
        Force convergence of the relaxation (eV/A).
    relax_max_steps
        Most optimizer steps of the relaxation.
    temperature_tolerance
        Relative tolerance on the mean temperature (0.05: 5 %), checked and stored.
    skip_colder_without_hops
        Force-field engines: run the hottest temperature first and skip the colder ones
        when it finished with fewer Li hops than a diffusive run needs (D falls with T,
        so a colder run can only see fewer: a poor conductor costs one temperature, not
        four). The colder runs then
        start after the hottest instead of beside it.
    fallback_temperatures
        Temperatures run after the others (every engine), and only when those
        leave no Arrhenius fit (:func:`sse_flows.md.continuation.fallback_needed`): the
        hottest temperature's host framework is unstable (melted or rearranged, so that
        run is left out of the fit), or the hottest run alone is diffusive (the colder
        ones saw too few hops in their length), e.g. 700 K beside 600/1000 K. A
        universal potential melts soft anion sublattices (I, Se) below the real melting
        point, and a moderate conductor hops too rarely at 600 K in a short run; the
        fallback restores a second usable temperature. Otherwise their records say
        "skipped: hottest host intact". Each must lie below the hottest temperature and
        differ from the others.
    extension_chunks
        Force-field engines: rounds of more sampling for a material whose verdict is
        "undetermined" once every temperature has stopped: each round runs one more
        ``chunk_steps`` chunk at the temperature whose longer run narrows the sigma_RT
        interval most (:func:`sse_flows.analysis.verdict.limiting_temperature`), past
        ``max_production_steps``, and analyses again. 0 (the paper): none.
    seed
        Seed of the initial velocities and of the stochastic thermostats.
    """

    temperatures: tuple[float, ...] = PAPER_TEMPERATURES
    time_step_fs: float = 2.0
    equilibration_steps: int = 3000
    production_steps: int = 10000
    max_production_steps: int | None = None
    chunk_steps: int = 2500
    target_d_relative_error: float = 0.3
    min_lattice_length: float = 10.0
    trajectory_interval: int = 10
    thermostat: str = "bussi"
    thermostat_time_fs: float = 100.0
    equilibration_thermostat: str = "langevin"
    langevin_friction_per_ps: float = 10.0
    relax: bool = True
    relax_fmax: float = 0.05
    relax_max_steps: int = 300
    temperature_tolerance: float = 0.05
    skip_colder_without_hops: bool = True
    fallback_temperatures: tuple[float, ...] = ()
    seed: int | None = 0
    extension_chunks: int = 0

    def _float_tuple(self, name: str) -> tuple[float, ...]:
        """The field ``name`` as a tuple of floats (stored back), or a ValueError naming it."""
        try:
            values = tuple(float(t) for t in getattr(self, name))
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numbers (K), got {getattr(self, name)!r}"
            ) from None
        object.__setattr__(self, name, values)
        return values

    def __post_init__(self) -> None:
        temperatures = self._float_tuple("temperatures")
        fallbacks = self._float_tuple("fallback_temperatures")
        problems = []
        if not temperatures or not all(math.isfinite(t) and 0 < t <= 5000 for t in temperatures):
            problems.append(f"temperatures must be in (0, 5000] K, got {list(temperatures)}")
        if len(set(temperatures)) != len(temperatures):
            problems.append(f"temperatures must differ, got {list(temperatures)}")
        if temperatures and all(math.isfinite(t) for t in temperatures):
            bad = [t for t in fallbacks
                   if not (math.isfinite(t) and 0 < t < max(temperatures))
                   or t in temperatures or fallbacks.count(t) > 1]
            if bad:
                problems.append(
                    f"fallback_temperatures must lie below the hottest temperature "
                    f"({max(temperatures):g} K) and differ from every other, got {list(bad)}"
                )
        if not 0 < self.time_step_fs <= 10:
            problems.append(f"time_step_fs must be in (0, 10] fs, got {self.time_step_fs}")
        if self.equilibration_steps < 0:
            problems.append(f"equilibration_steps must be >= 0, got {self.equilibration_steps}")
        if self.production_steps < 1:
            problems.append(f"production_steps must be >= 1, got {self.production_steps}")
        if self.max_production_steps is not None and (
            self.max_production_steps < self.production_steps
        ):
            problems.append(
                f"max_production_steps ({self.max_production_steps}) must be >= "
                f"production_steps ({self.production_steps})"
            )
        if self.chunk_steps < 1:
            problems.append(f"chunk_steps must be >= 1, got {self.chunk_steps}")
        if not 0 <= self.extension_chunks <= 100:
            problems.append(f"extension_chunks must be in [0, 100], got {self.extension_chunks}")
        if not 0 < self.target_d_relative_error < 10:
            problems.append("target_d_relative_error must be in (0, 10)")
        if not 0 < self.min_lattice_length <= 50:
            problems.append(
                f"min_lattice_length must be in (0, 50] A, got {self.min_lattice_length}"
            )
        if self.trajectory_interval < 1:
            problems.append(f"trajectory_interval must be >= 1, got {self.trajectory_interval}")
        elif self.production_steps >= 1 and self.trajectory_interval > self.production_steps:
            # (no production at all is the root cause, reported above, not the interval)
            problems.append(
                f"trajectory_interval ({self.trajectory_interval}) is longer than the "
                f"production ({self.production_steps} steps): no frames would be written"
            )
        for name in ("thermostat", "equilibration_thermostat"):
            if getattr(self, name) not in THERMOSTATS:
                problems.append(f"{name} must be one of {THERMOSTATS}, got {getattr(self, name)!r}")
        if self.thermostat_time_fs <= 0 or self.langevin_friction_per_ps <= 0:
            problems.append("thermostat_time_fs and langevin_friction_per_ps must be > 0")
        if not 0 < self.temperature_tolerance < 1:
            problems.append("temperature_tolerance must be in (0, 1)")
        if self.relax_fmax <= 0 or self.relax_max_steps < 0:
            problems.append("relax_fmax must be > 0 and relax_max_steps >= 0")
        if problems:
            raise ValueError("invalid MD protocol: " + "; ".join(problems))

    # ------------------------------------------------------------------ presets
    @classmethod
    def paper(cls, **overrides: Any) -> MDProtocol:
        """The published protocol (the defaults), with optional overrides."""
        return cls(**overrides)

    @classmethod
    def reduced_cpu(cls, **overrides: Any) -> MDProtocol:
        """A protocol for a CPU: 1 ps equilibration, 4-10 ps production, 10 A cells.

        Production runs 2,000 steps, then continues in 1,000-step chunks up to 5,000
        until D is known to 30 %. Flagged ``reduced`` in every document.
        """
        values: dict[str, Any] = {
            "equilibration_steps": 500,
            "production_steps": 2000,
            "max_production_steps": 5000,
            "chunk_steps": 1000,
            "trajectory_interval": 5,
        }
        values.update(overrides)
        return cls(**values)

    # ------------------------------------------------------------------ derived
    @property
    def reduced(self) -> bool:
        """True when the protocol is shorter or smaller than the paper's."""
        return (
            self.equilibration_steps < 3000
            or self.production_steps < 10000
            or self.min_lattice_length < 10.0
        )

    @property
    def run_temperatures(self) -> tuple[float, ...]:
        """Every temperature that has a record: ``temperatures`` and the fallbacks, ascending
        (the order of an ``MDRunDoc``'s runs)."""
        return tuple(sorted((*self.temperatures, *self.fallback_temperatures)))

    @property
    def production_limit(self) -> int:
        """Most production steps at one temperature."""
        return self.max_production_steps or self.production_steps

    @property
    def continues(self) -> bool:
        """True when production may run past ``production_steps`` (continue-until)."""
        return self.production_limit > self.production_steps

    def next_chunk_steps(self, done: int) -> int:
        """Steps of the next production chunk after ``done`` steps (0 when finished).

        Chunks are ``chunk_steps`` long, cut at ``production_steps`` and at the limit.
        """
        if done >= self.production_limit:
            return 0
        stop = self.production_steps if done < self.production_steps else self.production_limit
        return min(self.chunk_steps, stop - done)

    def planned_chunks(self) -> list[int]:
        """Chunk lengths of the guaranteed ``production_steps``."""
        chunks, done = [], 0
        while done < self.production_steps:
            chunks.append(self.next_chunk_steps(done))
            done += chunks[-1]
        return chunks

    def describe(self, engine: str | None = None) -> str:
        """One line said in the output of every run (REDUCED when it is)."""
        kind = "REDUCED protocol" if self.reduced else "paper protocol"
        temps = "/".join(f"{t:g}" for t in self.temperatures) + " K"
        if self.fallback_temperatures:
            temps += " (" + "/".join(f"{t:g}" for t in self.fallback_temperatures) + (
                " K if the others give no Arrhenius fit)"
            )
        production = f"{self.production_steps}"
        if self.continues:
            production += f"-{self.production_limit} (until D is known to " + (
                f"{self.target_d_relative_error:.0%})"
            )
        extension = (
            f", up to {self.extension_chunks} more chunk(s) for an undetermined verdict"
            if self.extension_chunks else ""
        )
        return (
            f"{kind}: {engine + ', ' if engine else ''}{temps}, {self.equilibration_steps} "
            f"equilibration + {production} production steps of {self.time_step_fs:g} fs, "
            f"supercell >= {self.min_lattice_length:g} A{extension}"
        )

    def with_changes(self, **changes: Any) -> MDProtocol:
        """A copy with some parameters changed (validated)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters (for provenance and job inputs)."""
        values = asdict(self)
        values["temperatures"] = list(self.temperatures)
        values["fallback_temperatures"] = list(self.fallback_temperatures)
        if not self.extension_chunks:  # absent when unused: earlier flows keep their hash
            values.pop("extension_chunks")
        return values

    def pair_key(self) -> dict[str, Any]:
        """:meth:`as_dict` without the fields that only decide which runs happen and when
        production stops (:data:`NOT_IN_PAIR_KEY`): what a relaxed cell or one
        temperature's trajectory depends on. A checkpoint or prepared cell stays valid
        when only the fallbacks change, and a run is *extended* from its checkpoint when
        ``max_production_steps`` is raised or ``target_d_relative_error`` tightened."""
        values = self.as_dict()
        for name in NOT_IN_PAIR_KEY:
            values.pop(name, None)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any] | MDProtocol | None) -> MDProtocol:
        """Inverse of :meth:`as_dict`; unknown keys are an error that names them."""
        if isinstance(values, MDProtocol):
            return values
        values = dict(values or {})
        values.pop("reduced", None)  # derived; older documents stored it
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown MD protocol parameter(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**values)


#: Largest |volume change| a relaxation may make before the potential is distrusted.
MAX_RELAX_VOLUME_CHANGE = 0.25


class MDStructureError(ValueError):
    """A structure the MD protocol cannot run (the message says why and what to do)."""


class MDNoHostError(MDStructureError):
    """A cell of the diffusing element alone: no host framework to measure diffusion in."""


def check_md_structure(structure: Structure, specie: str = "Li") -> None:
    """The one check of an MD input cell, used by the CLI and every MD Maker.

    Raises
    ------
    MDStructureError
        The structure is disordered (MD needs one atom per site) or holds no ``specie``
        (there is no diffusion to measure); :class:`MDNoHostError` when it holds nothing
        else (the analysis measures the ions against their host: its drift correction and
        stability check need one).
    """
    formula = structure.composition.reduced_formula
    if not structure.is_ordered:
        raise MDStructureError(
            f"{formula} is disordered; MD needs an ordered structure: order it first "
            "(`sse-flows md --order`, sse_flows.md.ordering.order_structure, or pymatgen's "
            "OrderDisorderedStructureTransformation)."
        )
    if specie not in {el.symbol for el in structure.composition}:
        raise MDStructureError(
            f"{formula} has no {specie}: there is no {specie} diffusion to measure."
        )
    if {el.symbol for el in structure.composition} == {specie}:
        raise MDNoHostError(
            f"{formula} holds only {specie} atoms: there is no host framework, and the "
            f"diffusion analysis measures {specie} against its host (drift correction, "
            f"host stability). Give a cell of a {specie} compound (e.g. Li2O, Li3PS4)."
        )


def supercell_scaling(structure: Structure, min_lattice_length: float) -> list[int]:
    """Diagonal scaling so that each lattice length a, b, c is >= ``min_lattice_length``.

    Parameters
    ----------
    structure
        The unit cell.
    min_lattice_length
        Minimum length (A) of each lattice vector of the supercell.

    Returns
    -------
    list of int
        Multiples of a, b and c.
    """
    lengths = structure.lattice.abc
    return [max(1, math.ceil(min_lattice_length / length - 1e-9)) for length in lengths]


def supercell_atoms(structure: Structure, min_lattice_length: float) -> int:
    """Atoms of the MD supercell of ``structure`` (lattice lengths >= ``min_lattice_length``)."""
    return len(structure) * math.prod(supercell_scaling(structure, min_lattice_length))


#: the demo's REDUCED MD protocol (benchmarks/verdict_stability.py measures it on both
#: controls over independent seeds): 600 and 1000 K (the wide 1/T lever narrows the
#: extrapolation to 300 K more than a third temperature between them would), 150
#: equilibration steps, then production of 500 steps continued in 500-step chunks until D
#: is known to 15 % or 2,000 steps (4 ps); an "undetermined" verdict earns up to two more
#: chunks at the limiting temperature. The 15 % target lets a diffusing run use its 4 ps
#: (a 1 ps run whose D looked known to 30 % was off by 2x and moved sigma_RT by a decade);
#: a run without hops still stops after 500 steps. The hottest temperature runs first; a
#: material without Li hops there (the negative control) skips the colder run. 700 K runs
#: only when the others leave no Arrhenius fit (the fallback temperature): with 1000 K it
#: keeps 64 % of the 600/1000 K lever in 1/T, where 800 K keeps 38 % (800 and 1000 K runs
#: of 4-10 ps left Ea of an LGPS seed that lost its 600 K run at -0.1 +- 0.1 eV).
DEMO_PROTOCOL = MDProtocol(
    temperatures=(600.0, 1000.0),
    fallback_temperatures=(700.0,),
    equilibration_steps=150,
    production_steps=500,
    max_production_steps=2000,
    chunk_steps=500,
    target_d_relative_error=0.15,
    min_lattice_length=8.0,
    trajectory_interval=5,
    relax_max_steps=150,
    extension_chunks=2,
)


def make_md_supercell(structure: Structure, min_lattice_length: float = 10.0) -> Structure:
    """The MD supercell, right-handed and rotated so its lattice matrix is upper triangular.

    ASE's Nose-Hoover integrators need an upper-triangular cell; atomate2's ``AseMDMaker``
    replaces the cell by its standard form *without* moving the atoms, which scrambles a
    cell that is not already in that form. Rotating the whole structure here (fractional
    coordinates kept) makes that replacement a no-op.

    Parameters
    ----------
    structure
        The unit cell (site properties are kept).
    min_lattice_length
        Minimum length (A) of each supercell lattice vector.

    Returns
    -------
    Structure
        The supercell with the same fractional coordinates in a rotated frame.
    """
    supercell = structure.copy()
    supercell.make_supercell(supercell_scaling(structure, min_lattice_length))
    return standard_orientation(supercell)


def standard_orientation(structure: Structure) -> Structure:
    """The same crystal on a right-handed, upper-triangular basis (what ASE expects)."""
    return _upper_triangular(_right_handed(structure))


def _right_handed(structure: Structure) -> Structure:
    """The same crystal on a right-handed basis (a -> -a, x -> -x when det < 0).

    A left-handed cell (e.g. pymatgen's Li10GeP2S12) cannot be rotated into ASE's upper
    triangular form with a positive diagonal; ASE's Nose-Hoover integrator then flips axes
    and the atoms no longer sit where the crystal has them, and a cell relaxation of it
    collapses.
    """
    if np.linalg.det(structure.lattice.matrix) > 0:
        return structure
    matrix = structure.lattice.matrix.copy()
    matrix[0] = -matrix[0]
    frac = structure.frac_coords.copy()
    frac[:, 0] = -frac[:, 0]
    site_properties = dict(structure.site_properties)
    return Structure(
        Lattice(matrix),
        [site.species for site in structure],
        frac,
        site_properties=site_properties or None,
        labels=[site.label for site in structure],
    )


def _upper_triangular(structure: Structure) -> Structure:
    """The structure rotated so rows a, b, c of its lattice matrix form an upper triangle.

    ``b`` lies in the y-z plane and ``c`` along z (ASE's "upper" standard form), by a
    proper rotation: handedness, lengths, angles and fractional coordinates are kept.
    """
    a, b, c = structure.lattice.abc
    alpha, beta, gamma = np.radians(structure.lattice.angles)
    cz = c
    bz, by = b * np.cos(alpha), b * np.sin(alpha)
    az = a * np.cos(beta)
    ay = (a * b * np.cos(gamma) - az * bz) / by
    ax = np.sqrt(max(a * a - ay * ay - az * az, 0.0))
    if np.linalg.det(structure.lattice.matrix) < 0:
        ax = -ax
    matrix = np.array([[ax, ay, az], [0.0, by, bz], [0.0, 0.0, cz]])
    if np.allclose(matrix, structure.lattice.matrix, atol=1e-10):
        return structure
    site_properties = dict(structure.site_properties)
    if "velocities" in site_properties:  # Cartesian vectors rotate with the lattice
        rotation = np.linalg.solve(structure.lattice.matrix, matrix)
        velocities = np.array(site_properties["velocities"]) @ rotation
        site_properties["velocities"] = velocities.tolist()
    return Structure(
        Lattice(matrix),
        [site.species for site in structure],
        structure.frac_coords,
        site_properties=site_properties or None,
    )
