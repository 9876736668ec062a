"""``sse-flows screen``: run the screening funnel and print or write its result."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import click

from sse_flows.cli_options import (
    click_errors,
    emit,
    file_option,
    json_option,
    source_option,
    writing,
)

#: CSV columns of ``--out``, one row per survivor.
CSV_COLUMNS = (
    "material_id",
    "formula",
    "band_gap",
    "e_above_hull",
    "v_ox",
    "v_red",
    "anion_class",
    "structure_origin",
)


def write_survivors_csv(doc, path: Path) -> None:
    """Write one row per survivor of ``doc`` (a ScreeningDoc) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for material in doc.survivors:
            row = material.model_dump(include=set(CSV_COLUMNS))
            writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})


@click.command(name="screen")
@source_option
@file_option(
    "--out", "out",
    help="Write the survivors (mp id, formula, band gap, e_hull, v_ox, v_red, anion class, "
    "where their MD structure comes from) to this CSV file.",
)
@json_option
def screen(source: str | None, out: Path | None, as_json: bool) -> None:
    """Run the four-step screening funnel (no TM, gap, E_hull, V_ox) over the Li pool.

    Also counts the survivors that have a structure for MD offline (package structures,
    the packaged MP structure table, pymatgen's), by where it comes from.
    """
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import SourceUnavailableError, get_source

    with click_errors(SourceUnavailableError):
        doc = screen_source(get_source(source), progress=True)
    if out is not None:
        with writing(out, "--out"):
            write_survivors_csv(doc, out)
    emit(doc.summary(), as_json, lambda: _funnel_lines(doc, out))


def _funnel_lines(doc, out: Path | None) -> Iterator[str]:
    """The text of ``screen``: the funnel's stages, the anion classes, the structures for
    MD, the hull agreement and where the survivors went."""
    yield f"Screening funnel over {doc.source} ({doc.data_version})"
    for stage in doc.stages:
        yield f"  {stage.count:>6}  {stage.name:<20} {stage.description}"
    classes = ", ".join(f"{k} {v}" for k, v in doc.anion_classes.items())
    yield f"Anion classes of the {len(doc.survivors)} survivors: {classes}"
    if doc.structure_coverage is not None:
        yield f"Structures for MD (offline): {doc.structure_coverage.line()}"
    if doc.hull_agreement is not None and doc.hull_agreement.n_compared:
        agreement = doc.hull_agreement
        yield (
            f"E_hull vs MP: {agreement.fraction_within_tolerance:.1%} of "
            f"{agreement.n_compared} shared compositions within "
            f"{agreement.tolerance * 1000:g} meV/atom"
        )
    if out is not None:
        yield f"Survivors written to {out}"
