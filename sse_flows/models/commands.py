"""``sse-flows train`` and ``sse-flows predict``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sse_flows.cli_options import (
    algorithms_option,
    click_errors,
    emit,
    file_option,
    folder_option,
    grouped_option,
    json_option,
    recipe_option,
    training_option,
)
from sse_flows.validation import validated

RESERVED_COLUMNS = (
    "formula", "p_superionic", "candidate", "error", "log10_sigma", "log10_sigma_low",
    "log10_sigma_high", "in_domain", "reason",
)  # fmt: skip

N_JOBS_OPTION = click.option(
    "--n-jobs", default=2, show_default=True, type=click.IntRange(1), help="joblib workers."
)


def _larger_training(exc: ValueError) -> str:
    """The error line of a fit that the training table is too small for."""
    return f"{exc}; give a larger --training table."


def _load_training(training: Path | None, recipe: str = "paper"):
    from sse_flows.models.open_recipe import load_open_training_set
    from sse_flows.models.training import load_training_set

    loader = load_open_training_set if recipe == "open" else load_training_set
    with click_errors(
        ValueError,
        FileNotFoundError,
        message=lambda exc: f"cannot use training table {training or '(packaged)'}: {exc}. "
        "Fix the CSV (columns formula, sigma_S_cm) or omit --training to use the packaged "
        "table.",
    ):
        return loader(training)


@click.command()
@training_option(exists=True)
@algorithms_option
@click.option(
    "--splits",
    "n_splits",
    default=100,
    show_default=True,
    type=click.IntRange(2),
    help="Random stratified 80/20 splits (seeds 0..N-1).",
)
@grouped_option
@N_JOBS_OPTION
@file_option("--save-doc", help="Write the full ModelEvaluationDoc (JSON) here.")
@folder_option(
    "--figures",
    help="Write the accuracy, confusion-matrix and importance figures into this folder.",
)
@recipe_option
@json_option
@validated("train")
def train(training, algorithms, n_splits, grouped, n_jobs, save_doc, figures, recipe, as_json):
    """Evaluate the classifiers: nested search, 100 random + grouped splits.

    With ``--recipe open`` (default) the classifiers are evaluated on the open table and
    the open recipe's log10 sigma regressor is added (JSON key ``regressor``, with
    ``mae_log10_grouped``, ``coverage_grouped``, ...).
    """
    from sse_flows.models.evaluation import evaluate_models
    from sse_flows.models.registry import parse_algorithms

    with click_errors(ValueError, message=lambda exc: f"{exc} (fix --algorithms)"):
        keys = parse_algorithms(algorithms)
    training_set = _load_training(training, recipe)
    with click_errors(ValueError, message=_larger_training):
        doc = evaluate_models(
            training_set, keys, n_splits=n_splits, grouped=grouped, n_jobs=n_jobs, progress=True
        )
        regressor = None
        if recipe == "open":
            from sse_flows.models.open_recipe import evaluate_open_regressor

            regressor = evaluate_open_regressor(
                training_set, n_splits=min(n_splits, 20), n_jobs=n_jobs
            )
    if save_doc:
        save_doc.parent.mkdir(parents=True, exist_ok=True)
        save_doc.write_text(doc.model_dump_json(indent=1))
    if figures:
        from sse_flows.models.plotting import write_all_figures

        write_all_figures(doc, figures)
    summary = doc.cli_summary()
    summary["recipe"] = recipe
    if regressor is not None:
        summary["regressor"] = regressor
    emit(summary, as_json, lambda: _evaluation_lines(doc, n_splits, grouped, regressor))


def _evaluation_lines(doc, n_splits: int, grouped: bool, regressor: dict | None) -> list[str]:
    """The text of ``train``: the data, the metrics table of the classifiers and the open
    recipe's regressor."""
    table = doc.metrics_table().drop(columns=["name"])
    lines = [
        f"{doc.n_samples} rows ({doc.n_superionic} superionic; majority rate "
        f"{doc.majority_rate:.3f}); {n_splits} random splits"
        + (", composition-cluster and leave-one-family-out splits" if grouped else "")
        + f"; {doc.seconds:.0f} s",
        table.to_string(float_format=lambda v: f"{v:.3f}"),
    ]
    if regressor is not None:
        lines.append(
            "open recipe regressor (GB + LightGBM, log10 sigma): grouped MAE "
            f"{regressor['mae_log10_grouped']:.2f} (the training median: "
            f"{regressor['mae_log10_median_grouped']:.2f}), R2 {regressor['r2_grouped']:.2f}, "
            f"Spearman {regressor['spearman_grouped']:.2f}, "
            f"grouped acc {regressor['grouped_acc_mean']:.3f}, 90 % interval coverage "
            f"{regressor['coverage_grouped']:.2f}; random-split acc {regressor['acc_mean']:.3f}"
        )
    return lines


@click.command()
@click.argument("formulas_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@file_option("-o", "--output", required=True, help="Predictions CSV to write.")
@training_option(exists=True)
@click.option(
    "--min-votes",
    type=click.IntRange(0),
    default=None,
    help="Candidate rule: votes needed from each algorithm (default: all, unanimous).",
)
@click.option(
    "--splits",
    "n_splits",
    default=None,
    type=click.IntRange(1),
    help="Models per algorithm (one per stratified 80/20 split, seeds 0..N-1); default 100 "
    "for --recipe paper, 10 for --recipe open.",
)
@N_JOBS_OPTION
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse the fitted ensemble stored under $SSE_FLOWS_HOME/models.",
)
@recipe_option
@json_option
@validated("predict")
def predict(formulas_csv, output, training, min_votes, n_splits, n_jobs, cache, recipe, as_json):
    """Vote GB + LightGBM (one model per split) on the formulas of FORMULAS_CSV.

    Columns: formula, p_superionic, votes_gb, votes_lgbm, candidate, error, log10_sigma,
    log10_sigma_low, log10_sigma_high (open recipe), in_domain, reason, then the input's
    other columns. A formula outside the applicability domain is never a candidate. Every
    input row is kept, in order: rows that repeat an earlier composition get its
    prediction and one note on stderr says how many.
    """
    import pandas as pd

    from sse_flows.models.prediction import (
        duplicate_rows,
        duplicates_notice,
        predictions_frame,
        vote_pool,
    )

    start = time.perf_counter()
    try:
        table = pd.read_csv(formulas_csv, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise click.ClickException(
            f"cannot read {formulas_csv}: {exc}. Give a CSV with a 'formula' column."
        ) from exc
    if "formula" not in table.columns:
        raise click.ClickException(
            f"{formulas_csv} has no 'formula' column (columns: {', '.join(table.columns)}); "
            "add a header line with 'formula'."
        )
    training_set = _load_training(training, recipe)
    with click_errors(ValueError, message=_larger_training):
        doc = vote_pool(
            table["formula"].tolist(), recipe=recipe, training=training_set, n_splits=n_splits,
            min_votes=min_votes, n_jobs=n_jobs, cache=cache, progress=True,
        )
    frame = predictions_frame(doc)
    extra = [c for c in table.columns if c not in frame.columns and c not in RESERVED_COLUMNS]
    for column in extra:
        frame[column] = table[column].to_numpy()
    _write_csv_atomic(frame, output)
    duplicates = duplicate_rows(table["formula"].tolist())
    summary = {
        "output": str(output),
        "n_formulas": doc.n_materials,
        "n_errors": doc.n_errors,
        "n_candidates": doc.n_candidates,
        "n_duplicates": len(duplicates),
        "min_votes": doc.min_votes,
        "recipe": recipe,
        "n_out_of_domain": sum(1 for v in doc.votes if v.in_domain is False and not v.error),
        "cache_problem": doc.ensemble.cache_problem,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if duplicates:
        click.echo(f"Note: {duplicates_notice(table['formula'].tolist(), duplicates)}", err=True)
    if doc.ensemble.cache_problem:
        click.echo(f"Warning: {doc.ensemble.cache_problem}.", err=True)
    emit(
        summary,
        as_json,
        f"{doc.n_materials} formulas, {doc.n_errors} not featurizable, {doc.n_candidates} "
        f"candidates (rule {doc.min_votes}) -> {output}",
    )
    skipped = [] if as_json else [vote for vote in doc.votes if vote.error]
    for vote in skipped:  # on stderr, after the summary line
        click.echo(f"  skipped {vote.formula!r}: {vote.error}", err=True)


def _write_csv_atomic(frame, output: Path) -> None:
    """Write ``frame`` to ``output`` through a file beside it, so a failure leaves none.

    A link is followed (its target is replaced); an existing output that is not a regular
    file (a pipe, a device) is written directly.
    """
    import os
    import tempfile

    target = output.resolve() if output.exists() else output
    if target.exists() and not target.is_file():
        frame.to_csv(target, index=False)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the mode a plain new file gets, not mkstemp's 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
