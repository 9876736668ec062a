"""The polymorph rule: which Materials Project structure stands for a reduced composition.

The offline snapshot has one record per reduced composition; the MP structure archive can
hold several structures (polymorphs) of it. :func:`choose_polymorph` picks one, by the
first rule that applies:

``material_id``
    The snapshot record's MP id is in the archive and its structure has the record's
    reduced formula: that structure.
``formula_single``
    Otherwise, exactly one archive structure has the reduced formula: that one.
``formula_lowest_formation_energy``
    Several do, and at least one of their ids has a formation energy in the roost MP table
    (``roost_mp2020/mp-formation.csv``): the lowest formation energy per atom among those.
``formula_mp2025_ground_state``
    Several do, none has a roost energy, and at least one id is a ground state (energy
    above hull 0) of the 2025 Materials Project according to the matsci176 table
    (``matsci176_mp2025/feature_matrix_sample.csv``: Li, gap >= 1 eV, no d-block metal):
    that one (the lowest 2025 formation energy per atom if several are). This is MP's own
    verdict on which polymorph is stable, where CHGNet cannot resolve near-degenerate
    polymorphs (rock-salt against wurtzite LiCl: 3.5 meV/atom, the wrong way).
``formula_lowest_chgnet_energy``
    Several do and none has a roost energy or a 2025 ground state: the lowest energy per
    atom that CHGNet
    (pretrained 0.3.0, a universal potential fitted to MP's own relaxations;
    :func:`chgnet_energies_per_atom`) predicts for each polymorph at its MP (PBE-relaxed)
    geometry. The snapshot's formation energy is the lowest of the composition's entries,
    so the polymorph of lowest energy is the one the snapshot's hull and voltage steps
    describe.

Ties (energies equal to :data:`ENERGY_DECIMALS`) go to the smaller numeric MP id. A
composition with no archive structure gets none.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pymatgen.core import Structure

#: Decimals (eV/atom) to which polymorph energies are compared and stored.
ENERGY_DECIMALS = 4
#: The pretrained CHGNet model that ranks polymorphs.
CHGNET_MODEL = "0.3.0"

#: The rule names, in the order they are tried.
RULES = (
    "material_id",
    "formula_single",
    "formula_lowest_formation_energy",
    "formula_mp2025_ground_state",
    "formula_lowest_chgnet_energy",
)

EnergyFunction = Callable[[Mapping[str, Structure]], dict[str, float]]


@dataclass(frozen=True)
class PolymorphChoice:
    """The archive structure chosen for one composition and why.

    Attributes
    ----------
    material_id
        MP id of the chosen structure.
    rule
        The rule that chose it (one of :data:`RULES`).
    energies
        The energies (eV/atom) the rule compared, by MP id: roost formation energies for
        ``formula_lowest_formation_energy``, 2025 formation energies of the ground states
        for ``formula_mp2025_ground_state``, CHGNet energies for
        ``formula_lowest_chgnet_energy``, empty otherwise.
    candidates
        Every archive id with the composition's reduced formula, sorted by numeric id.
    """

    material_id: str
    rule: str
    energies: dict[str, float] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()


def mp_id_number(material_id: str) -> int:
    """The numeric part of an MP id (``'mp-22905'`` -> 22905), for sorting."""
    return int(material_id.split("-", 1)[1])


def _lowest(energies: Mapping[str, float]) -> str:
    return min(energies, key=lambda mid: (round(energies[mid], ENERGY_DECIMALS), mp_id_number(mid)))


def choose_polymorph(
    snapshot_id: str | None,
    formula: str,
    archive_formulas: Mapping[str, str],
    candidates: Sequence[str],
    formation_energies: Mapping[str, float],
    ground_states: Mapping[str, float],
    potential_energies: Callable[[Sequence[str]], dict[str, float]],
) -> PolymorphChoice | None:
    """The archive structure of one snapshot composition (rules in the module docstring).

    Parameters
    ----------
    snapshot_id
        The snapshot record's MP id, or None.
    formula
        The record's reduced formula.
    archive_formulas
        MP id -> reduced formula of every archive structure.
    candidates
        Archive ids whose reduced formula is ``formula``.
    formation_energies
        MP id -> formation energy per atom (eV/atom) of the roost table.
    ground_states
        MP id -> 2025 formation energy per atom (eV/atom) of the MP 2025 ground states.
    potential_energies
        Called with the candidate ids when the last rule is needed; returns MP id ->
        energy per atom (eV/atom), e.g. CHGNet's.

    Returns
    -------
    PolymorphChoice or None
        None when the archive has no structure of the formula.
    """
    ordered = tuple(sorted(candidates, key=mp_id_number))
    if snapshot_id and archive_formulas.get(snapshot_id) == formula:
        return PolymorphChoice(snapshot_id, "material_id", candidates=ordered)
    if not ordered:
        return None
    if len(ordered) == 1:
        return PolymorphChoice(ordered[0], "formula_single", candidates=ordered)
    for rule, energies in (
        ("formula_lowest_formation_energy", formation_energies),
        ("formula_mp2025_ground_state", ground_states),
    ):
        known = {
            mid: round(float(energies[mid]), ENERGY_DECIMALS) for mid in ordered if mid in energies
        }
        if known:
            return PolymorphChoice(_lowest(known), rule, known, ordered)
    computed = {
        mid: round(float(e), ENERGY_DECIMALS) for mid, e in potential_energies(ordered).items()
    }
    return PolymorphChoice(_lowest(computed), "formula_lowest_chgnet_energy", computed, ordered)


def chgnet_energies_per_atom(structures: Mapping[str, Structure]) -> dict[str, float]:
    """CHGNet's energy per atom (eV/atom) of each structure at its given geometry.

    A static prediction on the CPU with the pretrained CHGNet :data:`CHGNET_MODEL`: the
    archive's structures are already relaxed (PBE), and relaxing each polymorph again with
    the potential costs minutes per polymorph on two cores (see docs/data.md).
    """
    model = _chgnet_model()
    ids = list(structures)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predictions = model.predict_structure([structures[mid] for mid in ids], task="e")
    if isinstance(predictions, dict):  # one structure: one dict
        predictions = [predictions]
    return {mid: float(p["e"]) for mid, p in zip(ids, predictions, strict=True)}


@lru_cache(maxsize=1)
def _chgnet_model():
    import contextlib
    import io

    from chgnet.model import CHGNet

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return CHGNet.load(model_name=CHGNET_MODEL, use_device="cpu", verbose=False)
