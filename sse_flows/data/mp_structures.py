"""The packaged MP structure table, ``mp_structures.json.gz``: one structure per composition.

A structure snapshot beside the composition snapshot (``mp2019_snapshot.csv.gz``): for
every Li composition of the snapshot that passes the screening's element rule (no
transition metal, :class:`~sse_flows.screening.criteria.ScreeningCriteria`), the Materials
Project structure of that composition from the raw archive
``mp_structures/mp_li_cifs.tar.gz`` (fxcoudert/topology_databases @ 41163fcf52ff, CC BY 4.0),
chosen by the polymorph rule of :mod:`sse_flows.data.polymorphs`. Every composition that
any band-gap, E_hull or V_ox cut can keep is therefore covered where the archive has it.

Each row holds the MP id, the reduced formula, the rule that chose the structure, the
structure in compact form (lattice matrix in A and fractional coordinates rounded to
:data:`LATTICE_DECIMALS` / :data:`COORD_DECIMALS` decimals, species run-length encoded),
its source file (repository @ commit : path) and licence. The archive is streamed with
:mod:`tarfile`, never extracted. Built by :func:`build_mp_structure_files`, the
``mp_structures`` builder of ``sse-flows data build``; read by
:mod:`sse_flows.data.mp_structure_table`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from pymatgen.core import Structure

from sse_flows.data.errors import DataBuildError
from sse_flows.data.formulas import reduced_formula
from sse_flows.data.mp_structure_table import MP_STRUCTURES_FILE
from sse_flows.data.polymorphs import (
    ENERGY_DECIMALS,
    RULES,
    PolymorphChoice,
    chgnet_energies_per_atom,
    choose_polymorph,
    mp_id_number,
)
from sse_flows.data.writers import sha256, write_gzip_deterministic

#: The raw archive, relative to the raw data folder.
ARCHIVE = Path("mp_structures") / "mp_li_cifs.tar.gz"
ARCHIVE_REPOSITORY = "github.com/fxcoudert/topology_databases@41163fcf52ff"
#: Folder of the CIFs in that repository.
ARCHIVE_FOLDER = "cif"
LICENSE = "CC BY 4.0"
ATTRIBUTION = (
    "Materials Project structures, CC BY 4.0, via fxcoudert/topology_databases @ "
    "41163fcf52ff; cite Jain et al., APL Mater. 1, 011002 (2013) and Coudert et al., "
    "ChemRxiv 2024, doi 10.26434/chemrxiv-2024-gsk41"
)
#: Decimals kept for lattice vectors (A) and fractional coordinates.
LATTICE_DECIMALS = 5
COORD_DECIMALS = 5
#: Where the roost formation energies (with MP ids) are, relative to the raw data folder.
ROOST_FORMATION = Path("roost_mp2020") / "mp-formation.csv"
#: The 2025 MP table of Li ground states (material ids, E_hull), relative to the raw folder.
MP2025_GROUND_STATES = Path("matsci176_mp2025") / "feature_matrix_sample.csv"

_FORMULA_SUM = re.compile(r"^_chemical_formula_sum\s+'?([^'\n]+?)'?\s*$", re.MULTILINE)
_MEMBER = re.compile(r"(?:.*/)?(mp-\d+)\.cif$")


def cif_reduced_formula(text: str) -> str:
    """Reduced formula of a CIF's ``_chemical_formula_sum`` (without parsing the sites).

    Raises
    ------
    ValueError
        When the CIF has no ``_chemical_formula_sum``.
    """
    match = _FORMULA_SUM.search(text)
    if match is None:
        raise ValueError("no _chemical_formula_sum")
    return reduced_formula(match.group(1).replace(" ", ""))


def read_archive(
    archive: Path, keep_formulas: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Stream the CIF archive: every id's reduced formula, and the CIF text of some.

    Parameters
    ----------
    archive
        The ``.tar.gz`` of ``mp-<id>.cif`` files.
    keep_formulas
        Reduced formulas whose CIF texts are kept (the others are only indexed).

    Returns
    -------
    tuple
        ``(MP id -> reduced formula of every CIF, MP id -> CIF text of the kept ones)``.

    Raises
    ------
    DataBuildError
        When a member is not ``mp-<id>.cif`` or has no formula (naming the member).
    """
    keep = set(keep_formulas)
    formulas: dict[str, str] = {}
    texts: dict[str, str] = {}
    with tarfile.open(archive, mode="r|gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            match = _MEMBER.fullmatch(member.name)
            if match is None:
                raise DataBuildError(f"{archive}: member {member.name} is not mp-<id>.cif")
            text = tar.extractfile(member).read().decode("utf-8")
            try:
                formula = cif_reduced_formula(text)
            except ValueError as exc:
                raise DataBuildError(f"{archive}: {member.name}: {exc}") from exc
            formulas[match.group(1)] = formula
            if formula in keep:
                texts[match.group(1)] = text
    return formulas, texts


def parse_cif(text: str) -> Structure:
    """The structure of one archive CIF (P1, ordered; the ``_geom_bond`` loop is ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_str(text, fmt="cif")


def compact_structure(structure: Structure) -> dict:
    """A structure as ``lattice`` (3x3, A), run-length ``species`` and ``frac_coords``."""
    species: list[list] = []
    for site in structure:
        symbol = site.specie.symbol
        if species and species[-1][0] == symbol:
            species[-1][1] += 1
        else:
            species.append([symbol, 1])
    return {
        "lattice": [
            [round(float(x), LATTICE_DECIMALS) for x in row] for row in structure.lattice.matrix
        ],
        "species": species,
        "frac_coords": [
            [round(float(x), COORD_DECIMALS) for x in row] for row in structure.frac_coords
        ],
    }


def source_path(material_id: str) -> str:
    """Where a row's structure comes from: ``repository@commit:cif/<id>.cif``."""
    return f"{ARCHIVE_REPOSITORY}:{ARCHIVE_FOLDER}/{material_id}.cif"


def structure_scope(snapshot: pd.DataFrame) -> pd.DataFrame:
    """The snapshot rows that get a structure: Li compositions passing the element rule.

    The rule is the default :class:`~sse_flows.screening.criteria.ScreeningCriteria`'s
    (step 1, no transition metal), so every band-gap, E_hull and V_ox cut is a subset.
    """
    from sse_flows.screening.criteria import ScreeningCriteria

    criteria = ScreeningCriteria()
    keep = [
        criteria.working_ion in elements.split("-")
        and not criteria.contains_excluded_element(elements.split("-"))
        for elements in snapshot["elements"]
    ]
    return snapshot.loc[keep, ["formula", "material_id", "band_gap"]].reset_index(drop=True)


def read_snapshot(out_dir: Path) -> pd.DataFrame:
    """The snapshot written to ``out_dir`` by this build, else the packaged one."""
    from sse_flows.data import DATA_DIR
    from sse_flows.data.snapshot import SNAPSHOT_FILE

    path = out_dir / SNAPSHOT_FILE
    if not path.is_file():
        path = DATA_DIR / SNAPSHOT_FILE
    return pd.read_csv(
        path,
        keep_default_na=False,
        na_values={"band_gap": [""]},
        dtype={"formula": str, "material_id": str, "elements": str},
    )


def read_formation_energies(raw_dir: Path) -> dict[str, float]:
    """MP id -> formation energy per atom (eV/atom) of the roost table."""
    # keep_default_na=False: "NaN" (sodium nitride) is a formula, not a missing value.
    table = pd.read_csv(raw_dir / ROOST_FORMATION, keep_default_na=False)
    energies = table["formation_energy_per_atom"].astype(float)
    return dict(zip(table["task_id"], energies, strict=True))


def read_ground_states(raw_dir: Path) -> dict[str, float]:
    """MP id -> 2025 formation energy per atom (eV/atom) of the MP 2025 ground states
    (energy above hull 0) of the matsci176 table."""
    table = pd.read_csv(raw_dir / MP2025_GROUND_STATES, keep_default_na=False)
    stable = table[table["energy_above_hull"].astype(float) == 0.0]
    energies = stable["formation_energy_per_atom"].astype(float)
    return dict(zip(stable["material_id"], energies, strict=True))


def choose_structures(
    scope: pd.DataFrame,
    archive_formulas: Mapping[str, str],
    formation_energies: Mapping[str, float],
    ground_states: Mapping[str, float],
    potential_energies: Callable[[Sequence[str]], dict[str, float]],
) -> tuple[dict[str, PolymorphChoice], list[str]]:
    """The polymorph choice of every scope formula, and the formulas without a structure."""
    by_formula: dict[str, list[str]] = defaultdict(list)
    for mid, formula in archive_formulas.items():
        by_formula[formula].append(mid)
    chosen: dict[str, PolymorphChoice] = {}
    missing: list[str] = []
    for formula, snapshot_id in zip(scope["formula"], scope["material_id"], strict=True):
        choice = choose_polymorph(
            snapshot_id or None,
            formula,
            archive_formulas,
            by_formula.get(formula, []),
            formation_energies,
            ground_states,
            potential_energies,
        )
        if choice is None:
            missing.append(formula)
        else:
            chosen[formula] = choice
    return chosen, missing


def _row(formula: str, snapshot_id: str, choice: PolymorphChoice, structure: Structure) -> dict:
    row = {
        "material_id": choice.material_id,
        "formula": formula,
        "rule": choice.rule,
        **compact_structure(structure),
        "source": source_path(choice.material_id),
        "license": LICENSE,
    }
    if snapshot_id and snapshot_id != choice.material_id:
        row["snapshot_material_id"] = snapshot_id
    if choice.rule != "material_id" and len(choice.candidates) > 1:
        row["polymorphs"] = list(choice.candidates)
    if choice.energies:
        row["polymorph_energies"] = choice.energies
    return row


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chgnet_check(
    chosen: Mapping[str, PolymorphChoice],
    potential_energies: Callable[[Sequence[str]], dict[str, float]],
) -> dict:
    """How often the potential's lowest-energy polymorph is MP 2025's ground state.

    For every composition chosen by ``formula_mp2025_ground_state``, the potential's energy
    per atom of each candidate: the number of compositions, how many agree, and for the
    others the potential's choice and how much lower (eV/atom) it puts it.
    """
    disagree: dict[str, dict] = {}
    checked = 0
    for formula, choice in sorted(chosen.items()):
        if choice.rule != "formula_mp2025_ground_state":
            continue
        checked += 1
        energies = {
            mid: round(e, ENERGY_DECIMALS)
            for mid, e in potential_energies(choice.candidates).items()
        }
        lowest = min(energies, key=lambda mid: (energies[mid], mp_id_number(mid)))
        if lowest != choice.material_id:
            disagree[formula] = {
                "mp2025_ground_state": choice.material_id,
                "potential_lowest": lowest,
                "margin_eV_atom": round(
                    energies[choice.material_id] - energies[lowest], ENERGY_DECIMALS
                ),
            }
    return {"compositions": checked, "agree": checked - len(disagree), "disagree": disagree}


def build_mp_structure_table(
    raw_dir: Path | str,
    out_dir: Path | str,
    potential_energies: Callable[[Mapping[str, Structure]], dict[str, float]] | None = None,
) -> dict:
    """The structure table (rows and metadata) for the snapshot's element-rule compositions.

    Parameters
    ----------
    raw_dir
        The raw reference data folder (reads ``mp_structures/mp_li_cifs.tar.gz``,
        ``roost_mp2020/mp-formation.csv`` and ``matsci176_mp2025/feature_matrix_sample.csv``).
    out_dir
        The build's output folder: its ``mp2019_snapshot.csv.gz`` when present, else the
        packaged snapshot, gives the compositions.
    potential_energies
        Structures by MP id -> energy per atom; :func:`chgnet_energies_per_atom` by default.

    Returns
    -------
    dict
        Metadata (description, attribution, licence, sources, rules, counts, the
        formulas without a structure, the CHGNet check) and ``rows``, sorted by MP id.

    Raises
    ------
    DataBuildError
        When the archive is missing or a member cannot be read.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    archive = raw_dir / ARCHIVE
    if not archive.is_file():
        raise DataBuildError(f"structure archive {archive} not found")
    energy_of = potential_energies or chgnet_energies_per_atom
    scope = structure_scope(read_snapshot(out_dir))
    archive_formulas, texts = read_archive(archive, scope["formula"])

    def potential(ids: Sequence[str]) -> dict[str, float]:
        return energy_of({mid: parse_cif(texts[mid]) for mid in ids})

    chosen, missing = choose_structures(
        scope,
        archive_formulas,
        read_formation_energies(raw_dir),
        read_ground_states(raw_dir),
        potential,
    )
    rows = []
    for formula, snapshot_id in zip(scope["formula"], scope["material_id"], strict=True):
        if formula in chosen:
            choice = chosen[formula]
            rows.append(_row(formula, snapshot_id, choice, parse_cif(texts[choice.material_id])))
    rows.sort(key=lambda row: mp_id_number(row["material_id"]))
    return {
        **_table_metadata(archive, scope, rows, len(archive_formulas), missing),
        "chgnet_check": chgnet_check(chosen, potential),
        "rows": rows,
    }


def _table_metadata(
    archive: Path, scope: pd.DataFrame, rows: list[dict], n_archive: int, missing: list[str]
) -> dict:
    """Description, attribution, sources, rules and counts of the table."""
    from sse_flows.screening.criteria import ScreeningCriteria

    gap_step = scope["band_gap"].ge(ScreeningCriteria().min_band_gap)
    gap_formulas = set(scope.loc[gap_step, "formula"])
    return {
        "description": "Materials Project structures of the offline snapshot's Li "
        "compositions that pass the element rule: one structure per reduced composition.",
        "attribution": ATTRIBUTION,
        "license": LICENSE,
        "source": {
            "archive": ARCHIVE.as_posix(),
            "archive_sha256": _file_sha256(archive),
            "repository": ARCHIVE_REPOSITORY,
            "folder": ARCHIVE_FOLDER,
            "formation_energies": f"{ROOST_FORMATION.as_posix()} "
            "(github.com/CompRhys/roost@3b62b6f02c8d)",
            "ground_states_2025": f"{MP2025_GROUND_STATES.as_posix()} "
            "(github.com/hyattmeg/matsci176@252b4eff0157)",
        },
        "rules": {
            "scope": " ".join(structure_scope.__doc__.split()),
            "polymorph": " ".join(choose_polymorph_rules().split()),
            "rounding": f"lattice vectors (A) to {LATTICE_DECIMALS} decimals, fractional "
            f"coordinates to {COORD_DECIMALS}, energies (eV/atom) to {ENERGY_DECIMALS}",
            "species": "run-length encoded: [[symbol, count], ...] in site order",
        },
        "counts": {
            "archive_structures": n_archive,
            "scope_compositions": len(scope),
            "band_gap_step_compositions": len(gap_formulas),
            "rows": len(rows),
            "band_gap_step_rows": sum(row["formula"] in gap_formulas for row in rows),
            "atoms": sum(len(row["frac_coords"]) for row in rows),
            "by_rule": {rule: sum(row["rule"] == rule for row in rows) for rule in RULES},
            "missing": len(missing),
        },
        "missing_formulas": sorted(missing),
    }


def choose_polymorph_rules() -> str:
    """The polymorph rule's text (the docstring of :mod:`sse_flows.data.polymorphs`)."""
    from sse_flows.data import polymorphs

    return polymorphs.__doc__.split("\n\n", 1)[1]


def table_text(table: dict) -> str:
    """The table as JSON: sorted keys, one row per line (diff-friendly, compact)."""
    head = {key: value for key, value in table.items() if key != "rows"}
    rows = ",\n".join(
        json.dumps(row, sort_keys=True, separators=(",", ":")) for row in table["rows"]
    )
    head_text = json.dumps(head, sort_keys=True, indent=1)
    return head_text[:-2] + ',\n "rows": [\n' + rows + "\n ]\n}\n"


def build_mp_structure_files(raw_dir: Path | str, out_dir: Path | str) -> dict[str, str]:
    """Write ``mp_structures.json.gz`` into ``out_dir``; returns ``{name: SHA-256}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = build_mp_structure_table(raw_dir, out_dir)
    path = write_gzip_deterministic(out_dir / MP_STRUCTURES_FILE, table_text(table))
    return {MP_STRUCTURES_FILE: sha256(path)}
