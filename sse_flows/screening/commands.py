"""``sse-flows screen``: run the screening funnel and print or write its result."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

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
@click.option(
    "--source",
    "source_name",
    type=click.Choice(["snapshot", "mp"]),
    default=None,
    help="Materials source (default: the SOURCE setting, 'snapshot').",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the survivors (mp id, formula, band gap, e_hull, v_ox, v_red, anion class, "
    "where their MD structure comes from) to this CSV file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
def screen(source_name: str | None, out: Path | None, as_json: bool) -> None:
    """Run the four-step screening funnel (no TM, gap, E_hull, V_ox) over the Li pool.

    Also counts the survivors that have a structure for MD offline (package structures,
    the packaged MP structure table, pymatgen's), by where it comes from.
    """
    from sse_flows.screening.funnel import screen_source
    from sse_flows.sources import SourceUnavailableError, get_source

    try:
        source = get_source(source_name)
        doc = screen_source(source, progress=True)
    except SourceUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc
    if out is not None:
        try:
            write_survivors_csv(doc, out)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write {out}: {exc.strerror}; fix the path or choose another --out"
            ) from exc
    if as_json:
        click.echo(json.dumps(doc.summary()))
        return
    click.echo(f"Screening funnel over {doc.source} ({doc.data_version})")
    for stage in doc.stages:
        click.echo(f"  {stage.count:>6}  {stage.name:<20} {stage.description}")
    classes = ", ".join(f"{k} {v}" for k, v in doc.anion_classes.items())
    click.echo(f"Anion classes of the {len(doc.survivors)} survivors: {classes}")
    if doc.structure_coverage is not None:
        click.echo(f"Structures for MD (offline): {doc.structure_coverage.line()}")
    if doc.hull_agreement is not None and doc.hull_agreement.n_compared:
        agreement = doc.hull_agreement
        click.echo(
            f"E_hull vs MP: {agreement.fraction_within_tolerance:.1%} of "
            f"{agreement.n_compared} shared compositions within "
            f"{agreement.tolerance * 1000:g} meV/atom"
        )
    if out is not None:
        click.echo(f"Survivors written to {out}")
