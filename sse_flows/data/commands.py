"""``sse-flows data``: build or inspect the derived datasets."""

from __future__ import annotations

from pathlib import Path

import click

from sse_flows.cli_options import click_errors, emit, folder_option, json_option


@click.group(name="data")
def data() -> None:
    """Build or inspect the derived datasets (training tables, MP 2019 snapshot, structures,
    MP structure table)."""


def _only_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--only a,b``: validated builder names (``None``: every builder)."""
    if value is None:
        return None
    from sse_flows.data.build import select_builders

    try:
        return select_builders(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@data.command(name="build")
@folder_option(
    "--raw", "raw_dir",
    help="Raw reference data folder (default: settings RAW_DATA_DIR, ../shared/data/raw).",
)
@folder_option(
    "--out", "out_dir",
    help="Output folder (default: the package's sse_flows/data/); structures go to "
    "<out>/structures/.",
)
@click.option(
    "--only",
    default=None,
    metavar="NAMES",
    callback=_only_option,
    help="Comma list of builders to run: training, snapshot, training_v2, structures, "
    "mp_structures (default: all).",
)
@json_option
def build(
    raw_dir: Path | None, out_dir: Path | None, only: tuple[str, ...] | None, as_json: bool
) -> None:
    """Derive the packaged data from the raw data (deterministic).

    Builders: training (training.csv), snapshot (MP 2019 snapshot), training_v2
    (training_v2.csv and its structure features), structures (MD structures),
    mp_structures (mp_structures.json.gz, MP structures of the snapshot's Li compositions;
    a few minutes: CHGNet ranks polymorphs).
    """
    from sse_flows.data import DATA_DIR
    from sse_flows.data.build import DataBuildError, build_all

    with click_errors(DataBuildError), click_errors(
        FileNotFoundError,
        message=lambda exc: f"{exc}. Fix: pass --raw pointing at shared/data/raw (or set "
        "SSE_FLOWS_RAW_DATA_DIR).",
    ):
        hashes = build_all(raw_dir, out_dir, only=only)
    target = out_dir or DATA_DIR
    emit(
        {"out": str(target), "sha256": hashes},
        as_json,
        (f"{target / name}  sha256 {digest[:16]}" for name, digest in hashes.items()),
    )


@data.command(name="info")
@json_option
def info(as_json: bool) -> None:
    """Counts of the packaged training table, MP snapshot and MP structure table."""
    from sse_flows.data.mp_structure_table import load_mp_structure_table
    from sse_flows.data.tables import snapshot_metadata, training_metadata

    training = training_metadata()
    snapshot = snapshot_metadata()
    structures = load_mp_structure_table().metadata.get("counts", {})
    summary = {
        "training": {
            **{
                k: training["counts"][k]
                for k in (
                    "rows",
                    "superionic",
                    "not_superionic",
                    "li_rows",
                    "li_superionic",
                    "by_dataset",
                )
            },
            "xu_rows_dropped": len(training["xu_rows_dropped"]),
            "xu_rows_rejected": len(training["xu_rows_rejected"]),
            "label_threshold_S_cm": training["label_threshold_S_cm"],
        },
        "snapshot": {
            "data_version": snapshot["data_version"],
            **{
                k: snapshot["counts"][k]
                for k in (
                    "compositions",
                    "li_compositions",
                    "with_band_gap",
                    "with_material_id",
                    "with_e_hull_mp",
                    "band_gap_rule",
                )
            },
            "limits": snapshot["limits"],
        },
        "mp_structures": {
            k: structures[k]
            for k in ("rows", "scope_compositions", "band_gap_step_rows",
                      "band_gap_step_compositions", "atoms", "by_rule", "missing")
            if k in structures
        },
    }
    emit(summary, as_json, lambda: _info_lines(summary))


def _info_lines(summary: dict) -> list[str]:
    """The text of ``data info``: one line per table."""
    t, s = summary["training"], summary["snapshot"]
    lines = [
        f"training: {t['rows']} rows ({t['by_dataset']}), superionic {t['superionic']} / "
        f"not {t['not_superionic']} at {t['label_threshold_S_cm']:g} S/cm; Li rows "
        f"{t['li_rows']} ({t['li_superionic']} superionic); Xu rows dropped as duplicates "
        f"{t['xu_rows_dropped']}, rejected {t['xu_rows_rejected']}",
        f"snapshot ({s['data_version']}): {s['compositions']} compositions, "
        f"{s['li_compositions']} with Li; band gap known {s['with_band_gap']}, MP id "
        f"{s['with_material_id']}, MP e_hull {s['with_e_hull_mp']}",
        "limits: " + "; ".join(s["limits"]),
    ]
    m = summary["mp_structures"]
    if m:
        lines.append(
            f"MP structures: {m['rows']} of {m['scope_compositions']} Li compositions without "
            f"transition metals ({m['band_gap_step_rows']} of "
            f"{m['band_gap_step_compositions']} past the band-gap step), {m['atoms']} atoms; "
            f"by rule {m['by_rule']}"
        )
    return lines
