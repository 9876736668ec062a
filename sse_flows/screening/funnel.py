"""The four-step screening funnel over a materials pool.

:func:`run_funnel` applies the criteria in the paper's order (element rule, band gap,
convex hull, oxidation voltage).  E_hull is taken from the record when the source gives it
(live MP) and computed from cached phase diagrams otherwise (offline snapshot); hulls are
built only for the chemical systems of materials that pass steps 1-2.  :func:`screen_source`
wires a source (``SnapshotSource`` / ``MPApiSource``) into it.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol

from tqdm.auto import tqdm

from sse_flows.data.formulas import parse_formula
from sse_flows.provenance import Provenance
from sse_flows.screening.anions import anion_class, anion_elements, class_breakdown
from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.hull import e_above_hull, hull_agreement
from sse_flows.screening.phase_diagrams import PhaseDiagramCache
from sse_flows.screening.schemas import (
    FunnelStage,
    ScreenedMaterial,
    ScreeningDoc,
    StructureCoverage,
)
from sse_flows.screening.voltage import stability_window


class RecordLike(Protocol):
    """The fields of ``sse_flows.sources.schemas.MaterialRecord`` the funnel reads."""

    material_id: str | None
    formula: str
    elements: list[str]
    band_gap: float | None
    formation_energy_per_atom: float | None
    energy_above_hull: float | None


def _stage_descriptions(criteria: ScreeningCriteria) -> dict[str, str]:
    return {
        "li_containing": f"records containing {criteria.working_ion}",
        "no_transition_metal": "no element of the excluded list (d-block Sc-Zn, Y-Cd, Hf-Hg, "
        "Rf-Cn by default; lanthanides kept)",
        "band_gap": f"band gap >= {criteria.min_band_gap:g} eV",
        "on_hull": f"E_hull <= {criteria.max_e_above_hull:g} eV/atom "
        f"(+{criteria.hull_tolerance:g} tolerance)",
        "oxidation_voltage": f"V_ox > {criteria.min_oxidation_voltage:g} V vs Li/Li+",
    }


class _StageTimer:
    """Wall-clock seconds per named stage, summed over every entry into the stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent inside the ``with`` block to stage ``name``."""
        tick = time.perf_counter()
        yield
        self.seconds[name] += time.perf_counter() - tick

    def rounded(self) -> dict[str, float]:
        """Seconds per stage rounded to the millisecond, in the order first entered."""
        return {k: round(v, 3) for k, v in self.seconds.items()}


class _StageLog:
    """Count and members (id or formula) of each funnel stage, in funnel order."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, int]] = []
        self.members: dict[str, list[str]] = {}

    def keep(self, name: str, materials: Sequence[Any]) -> None:
        """Record the materials that survive stage ``name``."""
        self.counts.append((name, len(materials)))
        self.members[name] = [m.material_id or m.formula for m in materials]


def _group_e_hulls(
    group: Sequence[RecordLike],
    chemsys: frozenset[str],
    phase_diagrams: PhaseDiagramCache,
    e_hull_from: Literal["source", "computed"],
    timer: _StageTimer,
) -> tuple[Any, list[float | None], list[bool]]:
    """(hull or None, E_hull per record, computed or not) of the records of one chemical system."""
    hull = None
    e_hulls: list[float | None] = [r.energy_above_hull for r in group]
    if e_hull_from == "computed":
        e_hulls = [None] * len(group)
    was_computed = [False] * len(group)
    missing = [
        k for k, r in enumerate(group)
        if e_hulls[k] is None and r.formation_energy_per_atom is not None
    ]
    if missing:
        with timer.stage("phase_diagrams"):
            hull = phase_diagrams.get(chemsys)
        with timer.stage("e_above_hull"):
            values = e_above_hull(
                hull,
                [parse_formula(group[k].formula) for k in missing],
                [group[k].formation_energy_per_atom for k in missing],
            )
            for k, value in zip(missing, values, strict=True):
                e_hulls[k] = 0.0 if abs(value) < 1e-9 else float(value)  # round-off on the hull
                was_computed[k] = True
    return hull, e_hulls, was_computed


def _screened_material(
    record: RecordLike, e_hull: float | None, computed: bool, window: Any
) -> ScreenedMaterial:
    """The funnel's entry of a material on the hull, with its voltage window and anion class."""
    anions = anion_elements(record.formula)
    return ScreenedMaterial(
        material_id=record.material_id,
        formula=record.formula,
        band_gap=record.band_gap,
        e_above_hull=e_hull,
        e_above_hull_source="computed" if computed else "source",
        v_red=None if window is None else float(window.v_red),
        v_ox=None if window is None else float(window.v_ox),
        anion_class=anion_class(record.formula),
        anion_elements=list(anions),
    )


def _screen_chemsys(
    chemsys: frozenset[str],
    group: Sequence[RecordLike],
    phase_diagrams: PhaseDiagramCache,
    criteria: ScreeningCriteria,
    e_hull_from: Literal["source", "computed"],
    timer: _StageTimer,
) -> tuple[list[ScreenedMaterial], dict[str, float]]:
    """Hull and voltage steps for one chemical system: (on-hull materials, computed E_hull)."""
    hull, e_hulls, was_computed = _group_e_hulls(group, chemsys, phase_diagrams, e_hull_from, timer)
    computed_e_hull = {
        record.formula: e_hull
        for record, e_hull, computed in zip(group, e_hulls, was_computed, strict=True)
        if computed
    }
    on_hull: list[ScreenedMaterial] = []
    for record, e_hull, computed in zip(group, e_hulls, was_computed, strict=True):
        if not criteria.is_on_hull(e_hull):
            continue
        if hull is None:
            with timer.stage("phase_diagrams"):
                hull = phase_diagrams.get(chemsys)
        with timer.stage("voltage"):
            window = stability_window(hull, record.formula, criteria.working_ion)
        with timer.stage("anion_class"):
            on_hull.append(_screened_material(record, e_hull, computed, window))
    return on_hull, computed_e_hull


def _hull_and_voltage(
    pool: Sequence[RecordLike],
    phase_diagrams: PhaseDiagramCache,
    criteria: ScreeningCriteria,
    e_hull_from: Literal["source", "computed"],
    timer: _StageTimer,
    progress: bool,
) -> tuple[list[ScreenedMaterial], dict[str, float]]:
    """Steps 3-4 over every chemical system of ``pool``: (on-hull materials, computed E_hull)."""
    by_chemsys: dict[frozenset[str], list[RecordLike]] = defaultdict(list)
    for record in pool:
        by_chemsys[frozenset(record.elements)].append(record)
    computed_e_hull: dict[str, float] = {}
    on_hull: list[ScreenedMaterial] = []
    systems = sorted(by_chemsys, key=lambda s: (len(s), sorted(s)))
    bar = tqdm(
        systems, desc="phase diagrams", unit="system", file=sys.stderr, disable=not progress
    )
    for chemsys in bar:
        found, computed = _screen_chemsys(
            chemsys, by_chemsys[chemsys], phase_diagrams, criteria, e_hull_from, timer
        )
        on_hull += found
        computed_e_hull.update(computed)
    bar.close()
    return on_hull, computed_e_hull


def structure_coverage(
    on_hull: Sequence[ScreenedMaterial],
    survivors: Sequence[ScreenedMaterial],
    library: Any | None = None,
) -> StructureCoverage:
    """Look up the structure of every on-hull material, and count the survivors with one.

    Sets ``structure_origin`` of each material of ``on_hull`` (the survivors are among
    them) from ``library`` (a :class:`~sse_flows.sources.structures.StructureLibrary`;
    default: the offline one, no user folder), by MP id, else reduced formula.
    """
    from sse_flows.sources.structures import StructureLibrary

    library = library if library is not None else StructureLibrary()
    listed = {id(material) for material in on_hull}
    for material in [*on_hull, *(m for m in survivors if id(m) not in listed)]:
        hit = library.find(material.material_id, material.formula)
        material.structure_origin = None if hit is None else hit.origin
    tiers: dict[str, int] = defaultdict(int)
    for material in survivors:
        if material.structure_origin is not None:
            tiers[material.structure_origin.split(":", 1)[0]] += 1
    found = sum(tiers.values())
    return StructureCoverage(
        n_survivors=len(survivors),
        n_with_structure=found,
        by_tier=dict(sorted(tiers.items(), key=lambda kv: (-kv[1], kv[0]))),
        missing=[m.material_id or m.formula for m in survivors if m.structure_origin is None],
        library="offline" if getattr(library, "user_dir", None) is None
        else f"user folder {library.user_dir}, then offline",
    )


def run_funnel(
    records: Sequence[RecordLike],
    phase_diagrams: PhaseDiagramCache,
    criteria: ScreeningCriteria | None = None,
    *,
    source: str = "snapshot",
    data_version: str | None = None,
    e_hull_from: Literal["source", "computed"] = "source",
    reference_e_hull: Mapping[str, float] | None = None,
    progress: bool = True,
    find_structures: bool = True,
    structure_library: Any | None = None,
) -> ScreeningDoc:
    """Screen ``records`` and return the funnel document.

    Parameters
    ----------
    records
        The materials pool (``MaterialRecord``-like).
    phase_diagrams
        Cache of per-chemical-system hulls on the same energy scale as the records.
    criteria
        Thresholds and element rule; the paper's values by default.
    source, data_version
        Recorded in the document.
    e_hull_from
        ``"source"``: use the record's ``energy_above_hull`` where given and compute it
        (from ``phase_diagrams`` and ``formation_energy_per_atom``) where it is None;
        ``"computed"``: compute it for every record.
    reference_e_hull
        Reduced formula -> MP's E_hull (eV/atom); when given, computed E_hull values are
        compared with it (``ScreeningDoc.hull_agreement``).
    progress
        Show a tqdm bar over the phase-diagram work on stderr.
    find_structures
        Look up an MD structure for every on-hull material (:func:`structure_coverage`)
        and store the survivors' coverage (``ScreeningDoc.structure_coverage``).
    structure_library
        The :class:`~sse_flows.sources.structures.StructureLibrary` to search (default:
        the offline one).
    """
    criteria = criteria or ScreeningCriteria()
    descriptions = _stage_descriptions(criteria)
    timer = _StageTimer()
    log = _StageLog()

    with timer.stage("element_rule"):
        pool = [r for r in records if criteria.working_ion in r.elements]
        log.keep("li_containing", pool)
        pool = [r for r in pool if not criteria.contains_excluded_element(r.elements)]
        log.keep("no_transition_metal", pool)
    with timer.stage("band_gap"):
        pool = [r for r in pool if criteria.passes_band_gap(r.band_gap)]
        log.keep("band_gap", pool)
    n_before = len(phase_diagrams)
    on_hull, computed_e_hull = _hull_and_voltage(
        pool, phase_diagrams, criteria, e_hull_from, timer, progress
    )
    log.keep("on_hull", on_hull)
    survivors = [m for m in on_hull if criteria.passes_oxidation_voltage(m.v_ox)]
    log.keep("oxidation_voltage", survivors)
    coverage = None
    if find_structures:
        with timer.stage("structures"):
            coverage = structure_coverage(on_hull, survivors, structure_library)

    agreement = None
    if reference_e_hull is not None and computed_e_hull:
        agreement = hull_agreement(computed_e_hull, reference_e_hull)
    parameters = {"criteria": criteria.model_dump(), "source": source, "e_hull_from": e_hull_from}
    return ScreeningDoc(
        source=source,
        data_version=data_version,
        criteria=criteria,
        stages=[FunnelStage(name=n, description=descriptions[n], count=c) for n, c in log.counts],
        survivors=survivors,
        on_hull=on_hull,
        stage_members=log.members,
        anion_classes=class_breakdown(m.anion_class for m in survivors),
        hull_agreement=agreement,
        n_phase_diagrams=len(phase_diagrams) - n_before,
        stage_seconds=timer.rounded(),
        structure_coverage=coverage,
        provenance=Provenance.make(
            parameters=parameters,
            data_version=data_version,
            inputs={"source": source, "n_records": len(records)},
        ),
    )


def _reference_from_records(records: Sequence[RecordLike]) -> dict[str, float]:
    """Formula -> E_hull carried by the records (MP's own values in the snapshot)."""
    return {r.formula: float(r.energy_above_hull) for r in records
            if r.energy_above_hull is not None}


def screen_source(
    source: Any,
    criteria: ScreeningCriteria | None = None,
    *,
    compare_with_mp: bool = True,
    progress: bool = True,
) -> ScreeningDoc:
    """Run the funnel over a source's Li records (``SnapshotSource`` or ``MPApiSource``).

    For the offline snapshot (one formation energy per composition, elements at zero)
    every E_hull is computed from its phase diagrams, and the MP values the records carry
    (``energy_above_hull``, not always the ground state's) become the reference of the
    agreement check.  For the live MP source, MP's E_hull is used and the phase diagrams
    serve V_ox only.  Either way the hulls are built from ``source.formation_energies()``
    (the lowest formation energy of every composition: one download instead of one
    ``entries_in_chemsys`` query per chemical system; for MP these are the formation
    energies of its own corrected hull, so the same hull results).
    """
    criteria = criteria or ScreeningCriteria()
    tick = time.perf_counter()
    records = source.li_records()
    load_seconds = time.perf_counter() - tick
    compute_all = source.name == "snapshot"
    tick = time.perf_counter()
    cache = PhaseDiagramCache.from_formation_energies(source.formation_energies())
    index_seconds = time.perf_counter() - tick
    reference = _reference_from_records(records) if compute_all and compare_with_mp else None
    doc = run_funnel(
        records,
        cache,
        criteria,
        source=source.name,
        data_version=source.data_version,
        e_hull_from="computed" if compute_all else "source",
        reference_e_hull=reference,
        progress=progress,
    )
    doc.stage_seconds = {
        "load_records": round(load_seconds, 3),
        "formation_energy_index": round(index_seconds, 3),
        **doc.stage_seconds,
    }
    return doc


def compute_e_above_hull(
    records: Sequence[RecordLike], phase_diagrams: PhaseDiagramCache, progress: bool = False
) -> dict[str, float]:
    """Computed E_hull (eV/atom) of every record with a formation energy, by formula.

    Builds the hull of every chemical system the records span (for the whole Li pool of
    the snapshot that is ~3,200 systems, mostly with transition metals: ~30 s).
    """
    by_chemsys: dict[frozenset[str], list[RecordLike]] = defaultdict(list)
    for record in records:
        if record.formation_energy_per_atom is not None:
            by_chemsys[frozenset(record.elements)].append(record)
    values: dict[str, float] = {}
    bar = tqdm(by_chemsys.items(), desc="hulls", file=sys.stderr, disable=not progress)
    for chemsys, group in bar:
        hull = phase_diagrams.get(chemsys)
        computed = e_above_hull(
            hull,
            [parse_formula(r.formula) for r in group],
            [r.formation_energy_per_atom for r in group],
        )
        for record, value in zip(group, computed, strict=True):
            values[record.formula] = 0.0 if abs(value) < 1e-9 else float(value)
    return values
