"""The self-contained HTML report of one discovery run.

:func:`write_report` renders every section from a :class:`~sse_flows.report.inputs.ReportInputs`
into ``index.html`` (PNG figures embedded as base64 data URIs, and also written beside it
as ``fig_*.png``).  Everything is rendered in a staging folder first and published by
renames, so a failure leaves either the previous complete report or nothing.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from sse_flows import __version__
from sse_flows.constants import (
    CLOSE_THRESHOLD_S_CM,
    PAPER_ACCURACY,
    PAPER_ANION_CLASSES,
    PAPER_N_VOTED,
    PAPER_VOTES,
    SUPERIONIC_THRESHOLD_S_CM,
    sci,
)
from sse_flows.models import plotting as model_plotting
from sse_flows.report import plotting as report_plotting
from sse_flows.report.inputs import ReportInputs
from sse_flows.report.paper import PAPER_FUNNEL
from sse_flows.sources.structures import mp_structure_id

__all__ = [
    "FIGURE_PREFIX",
    "REPORT_SECTIONS",
    "default_report_dir",
    "render_html",
    "write_report",
]

def default_report_dir(workflow_id: int | None) -> Path:
    """``<reports_dir>/workflow-<id>``, or a UTC time stamp when no workflow id is known."""
    from sse_flows.settings import get_settings

    name = (
        f"workflow-{workflow_id}"
        if workflow_id is not None
        else datetime.now(timezone.utc).strftime("report-%Y%m%dT%H%M%SZ")
    )
    return get_settings().reports_dir / name



#: Section ids and titles, in page order.
REPORT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Run summary"),
    ("screening", "Screening funnel"),
    ("anions", "Anion classes of the screened pool"),
    ("accuracy", "Accuracy of the nine algorithms"),
    ("confusion", "Confusion matrices"),
    ("importances", "Feature importances"),
    ("votes", "Ensemble votes"),
    ("candidates", "Candidate table"),
    ("arrhenius", "MD validation: Arrhenius plots"),
    ("provenance", "Provenance"),
)

#: Sections that show one stage document: section id -> (the ``ReportInputs`` field, the
#: command that makes it, what it is). Without that document the section says the stage
#: did not run; with it the section's method receives the document.
SECTION_INPUTS: dict[str, tuple[str, str, str]] = {
    "screening": ("screening", "screening", "screening"),
    "anions": ("screening", "screening", "screening"),
    "accuracy": ("evaluation", "train/evaluate", "model evaluation"),
    "confusion": ("evaluation", "train/evaluate", "model evaluation"),
    "importances": ("evaluation", "train/evaluate", "model evaluation"),
    "votes": ("votes", "vote", "ensemble vote"),
    "candidates": ("ranking", "ranking", "ranking"),
}

#: File-name prefix of the PNG figures written beside ``index.html``.
FIGURE_PREFIX = "fig_"


class Safe(str):
    """HTML that is already escaped (cells and fragments built by this module)."""


def _esc(value: Any) -> str:
    return value if isinstance(value, Safe) else escape(str(value), quote=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if round(value, digits) == 0:
        value = 0.0  # no "-0.000" for round-off below the shown precision
    return f"{value:.{digits}f}"


def _sci(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.2e}"


def _formula(formula: str | None) -> Safe:
    """A chemical formula with its numbers as subscripts (every piece escaped)."""
    if not formula:
        return Safe("–")
    parts = re.split(r"(\d+(?:\.\d+)?)", str(formula))
    return Safe(
        "".join(
            f"<sub>{escape(p)}</sub>" if i % 2 else escape(p, quote=True)
            for i, p in enumerate(parts)
        )
    )


def _material_id(material_id: str | None) -> Safe:
    if not material_id:
        return Safe("–")
    if re.fullmatch(r"mp-\d+", material_id):
        url = f"https://next-gen.materialsproject.org/materials/{material_id}"
        return Safe(f'<a href="{escape(url)}">{escape(material_id)}</a>')
    return Safe(escape(material_id))


def _candidate_material(row: Any) -> Safe:
    """A candidate row's MP id; for a row without one, the MP id of the structure it was
    matched to, in parentheses (as in `sse-flows results`)."""
    structure_id = mp_structure_id(row.structure_origin)
    if not row.material_id and structure_id:
        return Safe(f"({_material_id(structure_id)})")
    return _material_id(row.material_id)


def _panel_material(row: Any, doc: Any, key: str) -> Safe | str:
    """The material of an Arrhenius panel: its ranking row's (a control's role), else the
    diffusion document's material id, else the document's key."""
    if row is not None and row.role != "candidate":
        return row.role.replace("_", " ")
    if row is not None and (row.material_id or mp_structure_id(row.structure_origin)):
        return _candidate_material(row)
    return _material_id(doc.material_id) if doc.material_id else key


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css_class: str = "") -> Safe:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    cls = f' class="{escape(css_class)}"' if css_class else ""
    return Safe(f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _not_run(stage: str, what: str) -> Safe:
    return Safe(
        f'<p class="not-run">Stage not run: no {escape(what)} document ({escape(stage)}).</p>'
    )


def _beside(figure: Safe, *blocks: str) -> Safe:
    """A figure with its table and notes beside it (wrapping below on narrow pages)."""
    return Safe(f'<div class="row">{figure}<div>{"".join(blocks)}</div></div>')


def _paragraph(text: str) -> Safe:
    return Safe(f"<p>{escape(text)}</p>")


class _Renderer:
    """Renders the sections; figures go to ``staging`` and into the page as data URIs."""

    def __init__(self, inputs: ReportInputs, staging: Path) -> None:
        self.inputs = inputs
        self.staging = staging

    # figures -------------------------------------------------------------------------
    def figure(self, name: str, draw: Callable[[Path], Any], caption: str) -> Safe:
        """Draw a PNG with ``draw(path)`` and return an ``<figure>`` embedding it."""
        path = self.staging / f"{FIGURE_PREFIX}{name}.png"
        draw(path)
        if not path.is_file():
            raise RuntimeError(f"figure {name!r} was not written to {path}")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return Safe(
            f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{escape(caption)} <span class="file">({escape(path.name)})</span>'
            "</figcaption></figure>"
        )

    def section(self, section_id: str) -> Safe:
        """The content of one section (:data:`SECTION_INPUTS` says what it needs)."""
        method = getattr(self, section_id)
        if section_id not in SECTION_INPUTS:
            return method()
        attr, stage, what = SECTION_INPUTS[section_id]
        doc = getattr(self.inputs, attr)
        return _not_run(stage, what) if doc is None else method(doc)

    # sections ------------------------------------------------------------------------
    def summary(self) -> Safe:
        inp = self.inputs
        rows: list[tuple[str, Any]] = []
        wf = inp.workflow or {}
        if wf:
            for key, value in wf.items():
                if key not in ("stages", "stage_names") and value is not None:
                    label = key.replace("_", " ")
                    label = label if label.startswith("workflow") else f"workflow {label}"
                    rows.append((label, _jsonish(value)))
        else:
            rows.append(("workflow", "not recorded (report built from documents)"))
        rows.append(("materials data version", inp.data_version or "unknown"))
        if inp.screening is not None:
            rows.append(("materials source", inp.screening.source))
        rows.append(("MD protocol", self._md_protocol()))
        rk = inp.ranking
        if rk is not None:
            rows += [
                ("screened materials", f"{rk.n_screened:,}"),
                ("candidates by vote", f"{rk.n_voted_candidates:,}"),
                *self._selection_summary(rk),
                ("MD validations finished", f"{rk.n_md_ok:,}"),
                ("MD verdict superionic", f"{rk.n_superionic:,}"),
                ("controls", "not run" if rk.controls_passed is None
                 else ("all passed" if rk.controls_passed else "FAILED: see the candidates")),
            ]
        rows.append(("report made by", f"sse-flows {__version__}"))
        rows.append(("report made at", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
        parts = [_table(["", ""], rows, "keyvalue")]
        stage_rows = [
            ("screening", inp.screening is not None),
            ("model evaluation", inp.evaluation is not None),
            ("ensemble votes", inp.votes is not None),
            ("MD diffusion analysis", bool(inp.diffusion)),
            ("ranking", inp.ranking is not None),
        ]
        doc_cells = [
            (name, Safe('<span class="ok">present</span>') if ok else
             Safe('<span class="not-run">not run</span>'))
            for name, ok in stage_rows
        ]  # fmt: skip
        parts.append(Safe("<h3>Stage documents</h3>"))
        parts.append(_table(["stage", "document"], doc_cells))
        stages = wf.get("stages")
        if stages:
            parts.append(Safe("<h3>Workflow stages</h3>"))
            parts.append(_stage_table(stages))
        return Safe("".join(parts))

    @staticmethod
    def _selection_summary(rk: Any) -> list[tuple[str, str]]:
        """The selection funnel's last steps as summary rows (none for older documents)."""
        counts = {stage.name: stage.count for stage in rk.selection_funnel}
        if "md_targets" not in counts:
            return []
        by_vote = counts.get("vote_candidates", 0)
        by_acquisition = counts.get("acquisition_top", 0)
        return [(
            "screened materials sent to MD",
            f"{counts['md_targets']:,} ({by_vote:,} vote candidates, {by_acquisition:,} by "
            "acquisition; controls besides)",
        )]  # fmt: skip

    def _arrhenius_panels(self) -> tuple[list[str], list[Any], dict[int, str]]:
        """Which Arrhenius panel shows each MD-tested row of the ranking.

        Returns
        -------
        tuple
            The diffusion documents' keys in panel order (those of ranked rows first, in
            ranking order), the MD-tested rows without a diffusion document (drawn from
            the ranking's own points), and row position -> where its plot is ("panel 2",
            "ranking panel 1").
        """
        docs = self.inputs.diffusion
        ranking = self.inputs.ranking
        rows = list(ranking.candidates) if ranking is not None else []
        matched = _match_diffusion(rows, docs)
        ordered = [matched[i] for i in sorted(matched)]
        ordered += [key for key in docs if key not in ordered]
        where = {i: f"panel {ordered.index(key) + 1}" for i, key in matched.items()}
        fallback = []
        for i, row in enumerate(rows):
            if row.md_status == "ok" and i not in matched and row.arrhenius:
                fallback.append(row)
                where[i] = f"ranking panel {len(fallback)}"
        return ordered, fallback, where

    def _md_protocol(self) -> Safe | str:
        rk = self.inputs.ranking
        if rk is None:
            return "unknown (no ranking document)"
        protocols = sorted({
            re.sub(r"^\s*reduced protocol\s*:?\s*", "", c.md_protocol, flags=re.IGNORECASE)
            for c in rk.candidates if c.md_protocol
        })  # fmt: skip
        engines = sorted({c.md_engine for c in rk.candidates if c.md_engine})
        detail = "; ".join(protocols + [f"engine {e}" for e in engines])
        if rk.md_reduced_protocol:
            text = "REDUCED protocol, shorter than the paper's: MD values are indicative only"
            if detail:
                text += f": {detail}"
            return Safe(f'<strong class="warn">{escape(text)}</strong>')
        return f"full protocol{': ' + detail if detail else ''}"

    def screening(self, doc: Any) -> Safe:
        fig = self.figure(
            "screening_funnel",
            lambda p: report_plotting.plot_screening_funnel(doc, p),
            "Materials left after each step, this run beside the paper's (log scale).",
        )
        aligned = len(doc.stages) == len(PAPER_FUNNEL)
        rows = []
        for i, stage in enumerate(doc.stages):
            paper = f"{PAPER_FUNNEL[i][1]:,}" if aligned else "–"
            kept = (
                f"{100 * stage.count / doc.stages[i - 1].count:.1f} %"
                if i and doc.stages[i - 1].count else "–"
            )  # fmt: skip
            rows.append((stage.name, stage.description, f"{stage.count:,}", kept, paper))
        table = _table(["stage", "keeps", "this run", "kept of previous", "paper"], rows)
        why = (
            "Counts differ from the paper's because of the MP version and because the "
            "offline snapshot holds one entry per composition where MP lists every polymorph."
            if doc.source == "snapshot"
            else "Counts differ from the paper's mainly because of the MP version."
        )
        notes = [
            _paragraph(
                f"Source: {doc.source}; data version: {doc.data_version or 'unknown'}; "
                f"{doc.n_phase_diagrams:,} phase diagrams built. {why}"
            )
        ]
        if doc.hull_agreement is not None:
            ha = doc.hull_agreement
            within = (
                f"{100 * ha.fraction_within_tolerance:.1f} %"
                if ha.fraction_within_tolerance is not None else "–"
            )  # fmt: skip
            notes.append(
                _paragraph(
                    f"Computed E_hull against MP's values: {ha.n_compared:,} compositions "
                    f"compared, {within} within {1000 * ha.tolerance:g} meV/atom, median "
                    f"|difference| {_fmt(_milli(ha.median_abs_difference), 1)} meV/atom."
                )
            )
        return _beside(fig, table, *notes)

    def anions(self, doc: Any) -> Safe:
        fig = self.figure(
            "anion_classes",
            lambda p: report_plotting.plot_anion_classes(doc, p),
            "Share of each anion class in the screened pool (bar labels: counts).",
        )
        classes = list(PAPER_ANION_CLASSES)
        classes += [c for c in doc.anion_classes if c not in PAPER_ANION_CLASSES]
        rows = [
            (c, f"{doc.anion_classes.get(c, 0):,}", f"{PAPER_ANION_CLASSES.get(c, 0):,}")
            for c in classes
        ]
        rows.append(
            (Safe("<strong>total</strong>"), f"{sum(doc.anion_classes.values()):,}",
             f"{sum(PAPER_ANION_CLASSES.values()):,}")
        )  # fmt: skip
        table = _table(["anion class", "this run", "paper"], rows)
        return _beside(fig, table)

    def accuracy(self, doc: Any) -> Safe:
        fig = self.figure(
            "accuracy_distributions",
            lambda p: model_plotting.plot_accuracy_distributions(doc, p),
            "Test accuracy of every split: random stratified 80/20 splits beside grouped "
            "composition-cluster splits; dashed: majority class. The table adds the "
            "leave-one-family-out (LOFO) accuracy and the paper's values.",
        )
        rows = []
        for key in doc.algorithms:
            m = doc.metrics.get(key)
            if m is None:
                continue
            paper = PAPER_ACCURACY.get(key, {})
            rows.append((
                key, m.name, m.n_splits, f"{_fmt(m.acc_mean)} ± {_fmt(m.acc_std)}",
                _fmt(m.acc_max), _fmt(m.acc_min), _fmt(m.f1_mean), _fmt(m.auc_mean),
                (f"{_fmt(m.grouped_acc_mean)} ± {_fmt(m.grouped_acc_std)}"
                 if m.grouped_acc_mean is not None else "–"),
                _fmt(m.lofo_acc),
                _fmt(paper.get("acc_mean")),
            ))  # fmt: skip
        table = _table(
            ["key", "algorithm", "splits", "ACC (random)", "max", "min", "F1", "ROC-AUC",
             "ACC (clusters)", "ACC (LOFO)", "paper ACC"],
            rows, "numbers",
        )  # fmt: skip
        note = _paragraph(
            f"{doc.n_samples} training rows, {doc.n_superionic} superionic (sigma >= "
            f"{sci(SUPERIONIC_THRESHOLD_S_CM)} S/cm); majority-class rate "
            f"{_fmt(doc.majority_rate)}. Grouped splits keep "
            "near-duplicate doped compositions (clusters) or whole structure families "
            "(LOFO) out of training: they estimate accuracy on new chemistry honestly. "
            f"Evaluation time {doc.seconds:.0f} s."
        )
        return Safe(f"{fig}{table}{note}")

    def confusion(self, doc: Any) -> Safe:
        parts = [
            self.figure(
                "confusion_matrices",
                lambda p: model_plotting.plot_confusion_matrices(doc, p, scheme="random"),
                "Summed over the random 80/20 splits: share of each true class (count).",
            )
        ]
        if any("cluster" in doc.confusion_matrices.get(k, {}) for k in doc.algorithms):
            parts.append(
                self.figure(
                    "confusion_matrices_grouped",
                    lambda p: model_plotting.plot_confusion_matrices(doc, p, scheme="cluster"),
                    "Summed over the composition-cluster (grouped) splits.",
                )
            )
        return Safe("".join(parts))

    def importances(self, doc: Any) -> Safe:
        if not doc.importances:
            return _paragraph("The evaluated algorithms report no feature importances.")
        algorithms = (
            tuple(k for k in ("gb", "lgbm") if k in doc.importances)
            or tuple(k for k in doc.algorithms if k in doc.importances)[:2]
        )
        return self.figure(
            "importances",
            lambda p: model_plotting.plot_importances(doc, p, algorithms=algorithms),
            "Most important features, averaged over the random-split models (impurity for "
            "GB, split counts for LightGBM).",
        )

    def votes(self, doc: Any) -> Safe:
        fig = self.figure(
            "vote_histograms",
            lambda p: report_plotting.plot_vote_histograms(doc, p),
            "Superionic votes per material over the screened pool; dashed: candidate threshold.",
        )
        rows = [
            (f"passing the {alg} rule (>= {doc.min_votes.get(alg, '?')} votes)",
             f"{n:,}", f"{PAPER_VOTES[alg]:,}" if alg in PAPER_VOTES else "–")
            for alg, n in doc.n_votes_by_rule.items()
        ]  # fmt: skip
        rows.append(("candidates (every rule)", f"{doc.n_candidates:,}", f"{PAPER_VOTES['both']}"))
        rows.append(("materials voted", f"{doc.n_materials:,}", f"{PAPER_N_VOTED}"))
        rows.append(("could not be featurized", f"{doc.n_errors:,}", "–"))
        table = _table(["", "this run", "paper"], rows)
        algorithms = ", ".join(doc.ensemble.algorithms)
        errors = [v for v in doc.votes if v.error]
        warning = ""
        if errors:
            examples = "".join(
                f"<li>{escape(v.material_id or '')} {escape(_shorten(v.error, 300))}</li>"
                for v in errors[:3]
            )
            warning = (
                f'<p class="warn">{len(errors):,} of {doc.n_materials:,} materials could not be '
                f'featurized and were not voted, e.g.:</p><ul class="reason">{examples}</ul>'
            )
        note = _paragraph(
            f"{len(doc.ensemble.seeds)} models per algorithm ({algorithms}), one per random "
            f"split; parameters: {doc.ensemble.param_selection}."
        )
        return _beside(fig, table, note, warning)

    def candidates(self, doc: Any) -> Safe:
        if not doc.candidates:
            return _paragraph("The ranking holds no candidate.")
        _, _, plots = self._arrhenius_panels()
        rows = []
        for i, c in enumerate(doc.candidates, start=1):
            role = c.role.replace("_", " ")
            plot = plots.get(i - 1)
            rows.append((
                i, _candidate_material(c), _formula(c.formula), role,
                _reason_cell(c.selection_reason),
                c.votes_gb if c.votes_gb is not None else "–",
                c.votes_lgbm if c.votes_lgbm is not None else "–",
                _fmt(c.p_superionic, 2), _acquisition_cell(c), _fmt(c.v_ox, 2),
                _fmt(c.e_hull, 3),
                _md_cell(c), _sigma_cell(c.sigma_rt_S_cm, c.sigma_rt_low, c.sigma_rt_high),
                _ea_cell(c.ea_eV, c.ea_err_eV),
                c.li_hops if c.li_hops is not None else "–",
                _md_verdict(c.md_status, c.verdict),
                Safe(f'<a href="#arrhenius">{escape(plot)}</a>') if plot else "–",
                _fmt(c.log10_sigma_model, 1),
                ("≤ " if c.log10_sigma_combined_is_upper_bound else "")
                + _fmt(c.log10_sigma_combined, 1), _fmt(c.p_combined, 2),
                _notes(c.md_reason, c.diffusion_flags),
            ))  # fmt: skip
        table = _table(
            ["#", "MP id", "formula", "role", "selected because", "votes GB", "votes LGBM",
             "p", "acquisition (rank)", "V_ox (V)", "E_hull (eV/at)", "MD",
             "sigma_RT (S/cm) [95 % interval]", "Ea (eV)", "Li hops", "verdict",
             "Arrhenius plot", "log10 sigma model", "log10 sigma model + MD", "p model + MD",
             "reason / analysis flags"],
            rows, "numbers candidates",
        )  # fmt: skip
        note = _paragraph(
            "Ranked by MD verdict (superionic, close, undetermined, not superionic, no "
            "diffusion), then the model + MD estimate of log10 sigma_RT (the "
            "inverse-variance mean of the model's and the MD's; the model capped by an MD "
            "upper bound; either alone when the other is missing), then vote probability; "
            "controls last. "
            "Verdicts use the paper's classes on the whole 95 % interval of the MD "
            f"sigma_RT: superionic when its lower end is >= {sci(SUPERIONIC_THRESHOLD_S_CM)} S/cm, "
            f"close when >= {sci(CLOSE_THRESHOLD_S_CM)} S/cm, not superionic when its upper end "
            f"(or upper bound) is < {sci(CLOSE_THRESHOLD_S_CM)} S/cm; no diffusion "
            "when no simulated temperature showed Li diffusion in an intact host (only an "
            "upper bound exists); otherwise undetermined. '<' marks an upper bound. "
            "'verdict' says 'MD: ...' for every material whose MD finished, and 'selected "
            "because' why each material is in the table: the vote (the paper's rule), its "
            "rank by acquisition (P(log10 sigma_RT >= -4) under the model's interval, "
            "widened 1.5x out of the applicability domain; the vote probability for the "
            "paper recipe), or a control."
        )
        controls = ""
        if doc.controls:
            items = "".join(
                f'<li class="{"ok" if line.startswith("PASS") else "bad"}">{escape(line)}</li>'
                for line in doc.controls
            )
            controls = (
                "<h3>Controls (known answers)</h3>"
                "<p>The MD protocol is trusted only when a famous fast conductor comes out "
                f"superionic and a known poor conductor does not:</p><ul>{items}</ul>"
            )
        return Safe(
            f'<div class="scroll">{table}</div>{note}{controls}{_selection_funnel(doc)}'
        )

    def arrhenius(self) -> Safe:
        ordered_keys, fallback, _ = self._arrhenius_panels()
        parts = []
        if self.inputs.diffusion:
            parts.append(self._arrhenius_documents(ordered_keys))
        if fallback:
            parts.append(self._arrhenius_from_ranking(fallback))
        if parts:
            return Safe("".join(parts))
        return self._no_arrhenius()

    def _arrhenius_from_ranking(self, rows: list[Any]) -> Safe:
        fig = self.figure(
            "arrhenius_ranking",
            lambda p: report_plotting.plot_ranking_arrhenius(rows, p),
            "MD-tested materials whose diffusion document is not in this report: their "
            "D(T) points from the candidate table (filled = used in the fit, open = "
            "diffusive but excluded, crosses = not diffusive), titled with the MD verdict.",
        )
        items = [
            (i, _candidate_material(r), _formula(r.formula),
             _md_verdict(r.md_status, r.verdict), _reason_cell(r.selection_reason))
            for i, r in enumerate(rows, start=1)
        ]  # fmt: skip
        table = _table(["ranking panel", "material", "formula", "verdict", "selected because"],
                       items)  # fmt: skip
        return Safe(f"<h3>From the candidate table</h3>{fig}{table}")

    def _no_arrhenius(self) -> Safe:
        """Why there is nothing to plot: the MD statuses of the ranking, or not run."""
        ranking = self.inputs.ranking
        statuses = Counter(
            c.md_status.replace("_", " ") for c in (ranking.candidates if ranking else [])
            if c.md_status != "not_run"
        )  # fmt: skip
        if statuses:
            counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
            return Safe(
                f'<p class="not-run">No diffusion analysis to plot: MD {escape(counts)} '
                "(reasons in the candidate table).</p>"
            )
        return _not_run("md/analyze", "diffusion analysis")

    def _arrhenius_documents(self, ordered_keys: list[str]) -> Safe:
        from sse_flows.analysis.plotting import plot_arrhenius

        docs = {key: self.inputs.diffusion[key] for key in ordered_keys}
        ordered = list(docs.values())
        ranking = self.inputs.ranking
        ranked = list(ranking.candidates) if ranking is not None else []
        row_of = {key: ranked[i] for i, key in _match_diffusion(ranked, docs).items()}

        def draw(path: Path) -> None:
            import matplotlib.pyplot as plt

            fig = plot_arrhenius(ordered, path=None, ncols=3)
            fig.savefig(path, dpi=90)
            plt.close(fig)

        fig = self.figure(
            "arrhenius",
            draw,
            "log10 D against 1000/T: filled = used in the fit (error bars: standard error), "
            "open = diffusive but excluded, crosses = not diffusive (detection limit); "
            "line: weighted Arrhenius fit extrapolated to 300 K; square: D(300 K) with its "
            "interval.",
        )
        rows = []
        for panel, (label, d) in enumerate(docs.items(), start=1):
            row = row_of.get(label)
            temps = Safe(
                "<br>".join(
                    f"{t.T:g} K: {t.li_hops}{'' if t.diffusive else ' ✗'}" for t in d.temperatures
                )
            )
            rows.append((
                panel, _panel_material(row, d, label),
                _formula(d.formula),
                _md_verdict(row.md_status, row.verdict) if row is not None else "–",
                _reason_cell(row.selection_reason) if row is not None else "–",
                d.n_atoms if d.n_atoms is not None else "–",
                _ea_cell(d.ea_eV, d.ea_err_eV, d.ea_lower_bound_eV),
                _sigma_cell(d.sigma_rt_S_cm, d.sigma_rt_low, d.sigma_rt_high,
                            d.sigma_rt_is_upper_bound),
                _sci(d.sigma_rt_library_S_cm), f"{d.n_fit}/{len(d.temperatures)}", temps,
                _notes(None, d.flags),
            ))  # fmt: skip
        table = _table(
            ["panel", "material", "formula", "verdict", "selected because", "atoms", "Ea (eV)",
             "sigma_RT (S/cm) [interval]",
             "sigma_RT as published workflow", "T in fit", "Li hops (✗: not diffusive)", "flags"],
            rows, "numbers",
        )  # fmt: skip
        note = _paragraph(
            "'sigma_RT as published workflow' is pymatgen's extrapolation over all "
            "temperatures without weights or flags, shown only for comparison: for slow "
            "conductors it can be off by many orders of magnitude."
        )
        return Safe(f'{fig}<div class="scroll">{table}</div>{note}')

    def provenance(self) -> Safe:
        inp = self.inputs
        docs = [("screening", inp.screening), ("evaluation", inp.evaluation),
                ("votes", inp.votes), ("ranking", inp.ranking)]  # fmt: skip
        docs += [(f"diffusion {label}", d) for label, d in inp.diffusion.items()]
        rows = []
        for name, doc in docs:
            if doc is None:
                rows.append((name, Safe('<span class="not-run">not run</span>'), "", "", "", ""))
                continue
            p = doc.provenance
            params = json.dumps(p.parameters, indent=1, sort_keys=True, default=str)
            rows.append((
                name, p.code_version, p.data_version or "–", (p.parameter_hash or "–")[:12],
                p.created_at,
                Safe(f"<details><summary>parameters</summary><pre>{escape(params)}</pre>"
                     "</details>"),
            ))  # fmt: skip
        table = _table(["document", "code", "data version", "parameter hash", "created", ""],
                       rows)
        return Safe(f"{table}{self._structure_attribution()}")

    def _structure_attribution(self) -> Safe:
        """The credit line of the Materials Project structures the MD ran on, when any did."""
        ranking = self.inputs.ranking
        used = sorted({
            mp_structure_id(c.structure_origin) for c in (ranking.candidates if ranking else [])
        } - {None})
        if not used:
            return Safe("")
        return _paragraph(
            f"MD structures of {', '.join(used)}: Materials Project (CC BY 4.0; Jain et al., "
            "APL Mater. 1, 011002 (2013)), via fxcoudert/topology_databases @ 41163fcf52ff "
            "(Coudert et al., ChemRxiv 2024, doi 10.26434/chemrxiv-2024-gsk41)."
        )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _milli(value: float | None) -> float | None:
    return None if value is None else 1000 * value


def _stage_table(stages: Any) -> Safe:
    """Stages as ``{name: state}`` or a list of dicts (``fw_id``, ``name``, ``state``, ...)."""
    if isinstance(stages, dict):
        return _table(["stage", "state"], [(k, _jsonish(v)) for k, v in stages.items()])
    items = [s if isinstance(s, dict) else {"name": s} for s in stages]
    columns: list[str] = []
    for item in items:
        columns += [k for k in item if k not in columns]
    rows = [[_jsonish(item.get(c, "")) for c in columns] for item in items]
    return _table([c.replace("_", " ") for c in columns], rows)


def _jsonish(value: Any) -> str:
    """A workflow field as text: floats to 3 significant digits (whole above 1,000), an
    empty list or mapping as "none", other structures as JSON."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if isinstance(value, str | int | bool):
        return str(value)
    if isinstance(value, list | tuple | dict) and not value:
        return "none"
    return json.dumps(value, default=str, sort_keys=True)


def _md_cell(c: Any) -> Safe:
    """MD status and engine; the protocol (same for all rows, shown in the summary) on hover."""
    text = c.md_status.replace("_", " ")
    cls = {"ok": "ok", "failed": "bad"}.get(c.md_status, "muted")
    title = f' title="{escape(c.md_protocol)}"' if c.md_protocol else ""
    engine = f"<br><small>{escape(c.md_engine)}</small>" if c.md_engine else ""
    return Safe(f'<span class="{cls}"{title}>{escape(text)}</span>{engine}')


def _notes(reason: str | None, flags: Sequence[str]) -> Safe:
    """The reason in full; analysis flags folded (they can be long) behind a count."""
    parts = [f'<span class="reason">{escape(reason)}</span>'] if reason else []
    if flags:
        items = "".join(f"<li>{escape(flag)}</li>" for flag in flags)
        label = f"{len(flags)} analysis flag{'s' if len(flags) > 1 else ''}"
        parts.append(
            f'<details class="reason"><summary>{label}</summary><ul>{items}</ul></details>'
        )
    return Safe("".join(parts) or "–")


def _sigma_cell(
    sigma: float | None, low: float | None, high: float | None, upper_bound: bool = False
) -> Safe:
    if sigma is not None:
        if low is None or high is None:
            return Safe(escape(_sci(sigma)))
        interval = f"[{_sci(low)}, {_sci(high)}]"
        return Safe(f"{escape(_sci(sigma))}<br><small>{escape(interval)}</small>")
    if high is not None and (upper_bound or low is None):
        return Safe(f"&lt; {escape(_sci(high))}")
    return Safe("–")


def _ea_cell(ea: float | None, err: float | None, lower_bound: float | None = None) -> str:
    if ea is not None:
        return f"{ea:.3f} ± {err:.3f}" if err is not None else f"{ea:.3f}"
    if lower_bound is not None:
        return f"> {lower_bound:.2f}"
    return "–"


def _reason_cell(reason: str | None) -> Safe:
    return Safe(f'<span class="reason">{escape(reason)}</span>') if reason else Safe("–")


def _acquisition_cell(c: Any) -> str:
    if c.acquisition_score is None:
        return "–"
    rank = f" (#{c.acquisition_rank})" if c.acquisition_rank is not None else ""
    return f"{c.acquisition_score:.2f}{rank}"


def _md_verdict(md_status: str, verdict: str) -> Safe:
    """"MD: superionic", ... for a finished MD (coloured by verdict); else why not."""
    from sse_flows.ranking.selection import md_verdict_label

    label = md_verdict_label(md_status, verdict)
    cls = _VERDICT_CLASS.get(verdict, "muted") if md_status == "ok" else "muted"
    return Safe(f'<span class="{cls}">{escape(label)}</span>')


def _reduced(formula: str | None) -> str | None:
    if not formula:
        return None
    try:
        from pymatgen.core import Composition

        return Composition(formula).reduced_formula
    except Exception:  # not a formula: compared as written
        return str(formula)


def _row_label(row: Any) -> str:
    """The MD target label of a ranking row (``selection.MDTarget.label``)."""
    if row.role == "candidate":
        return row.material_id or row.formula
    return f"{row.role.split('_')[0]}:{row.formula}"


def _match_diffusion(rows: Sequence[Any], docs: dict[str, Any]) -> dict[int, str]:
    """Row position -> key of its diffusion document, for the rows whose MD finished.

    A document matches a row by its material id (the MD target's label, or the MP id),
    by the label in its key (``"<formula> (<label>)"``, as the JobStore reader names
    them), or else by its formula when exactly one unmatched row has that formula.
    """
    by_id: dict[str, str] = {}
    for key, doc in docs.items():
        if doc.material_id:
            by_id.setdefault(str(doc.material_id), key)
    matched: dict[int, str] = {}
    used: set[str] = set()
    tested = [(i, row) for i, row in enumerate(rows) if row.md_status == "ok"]
    for i, row in tested:
        label = _row_label(row)
        key = by_id.get(label) or (by_id.get(row.material_id) if row.material_id else None)
        if key is None:
            key = next((k for k in docs if k.endswith(f"({label})") or k == label), None)
        if key is not None and key not in used:
            matched[i] = key
            used.add(key)
    for i, row in tested:
        if i in matched:
            continue
        formula = _reduced(row.formula)
        same = [k for k, d in docs.items() if k not in used and _reduced(d.formula) == formula]
        rivals = [j for j, r in tested if j not in matched and _reduced(r.formula) == formula]
        if len(same) == 1 and len(rivals) == 1:
            matched[i] = same[0]
            used.add(same[0])
    return matched


def _selection_funnel(doc: Any) -> Safe:
    """The selection stage's funnel as a table (nothing for documents without one)."""
    if not doc.selection_funnel:
        return Safe("")
    rows = [(stage.name.replace("_", " "), stage.description, f"{stage.count:,}")
            for stage in doc.selection_funnel]  # fmt: skip
    note = _paragraph(
        "Every screened material the model scored gets an acquisition score, "
        "P(log10 sigma_RT >= -4) under a normal with the model's log10 sigma_RT as mean and "
        "its interval's half-width over z as standard deviation, 1.5x wider outside the "
        "applicability domain so that uncertain materials get a chance (the vote "
        "probability for the paper recipe). The vote's candidates go to MD first; then the "
        "best --md-top others by acquisition that have a structure within --md-max-atoms."
    )
    return Safe(
        "<h3>Selection funnel (which screened materials go to MD)</h3>"
        f"{_table(['step', 'keeps', 'materials'], rows, 'numbers')}{note}"
    )


_VERDICT_CLASS = {
    "superionic": "ok",
    "close": "warn",
    "not superionic": "bad",
    "no diffusion": "bad",
    "undetermined": "muted",
}


def _verdict(verdict: str) -> Safe:
    return Safe(f'<span class="{_VERDICT_CLASS.get(verdict, "muted")}">{escape(verdict)}</span>')


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa;line-height:1.4}
header{background:#123;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cde;font-size:13px}
nav{padding:8px 32px;background:#e8edf2;font-size:13px;position:sticky;top:0;z-index:1}
nav a{margin-right:14px;color:#124;text-decoration:none}
main{padding:8px 32px 40px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 20px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px;color:#123}h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}
table.numbers td{font-variant-numeric:tabular-nums;white-space:nowrap}
table.numbers td .reason{white-space:normal}
table.keyvalue thead{display:none}table.keyvalue td:first-child{color:#555;white-space:nowrap}
.row{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
.row>figure{flex:0 1 760px}.row>div{flex:1 1 320px}
figure{margin:6px 0}figure img{max-width:min(100%,1100px);height:auto;border:1px solid #eee}
figcaption{font-size:12px;color:#555}.file{color:#999}
.scroll{overflow-x:auto}
.not-run{color:#a60;font-style:italic}
.ok{color:#176a2a;font-weight:600}.bad{color:#b22}.warn{color:#b36b00}.muted{color:#777}
.reason{font-size:11.5px;color:#555;display:block;min-width:150px;max-width:460px}
.reason summary{cursor:pointer;color:#a60}.reason ul{margin:4px 0;padding-left:16px}
td a{white-space:nowrap}p{font-size:13.5px;margin:6px 0}
pre{font-size:11px;max-height:260px;overflow:auto;background:#f6f6f6;padding:6px}
small{color:#666}
"""


def render_html(inputs: ReportInputs, figure_dir: Path) -> str:
    """The report page; its figures are written to ``figure_dir`` (which must exist).

    Parameters
    ----------
    inputs
        The documents to show (missing stages are shown as not run).
    figure_dir
        Folder receiving the ``fig_*.png`` files.
    """
    renderer = _Renderer(inputs, Path(figure_dir))
    body = []
    for section_id, title in REPORT_SECTIONS:
        content = renderer.section(section_id)
        body.append(f'<section id="{section_id}"><h2>{escape(title)}</h2>{content}</section>')
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title in REPORT_SECTIONS)
    wf = inputs.workflow or {}
    subtitle = "Li-ion solid electrolyte discovery (Kang, Kim & Min 2023 workflow)"
    label = " ".join(str(part) for part in (wf.get("workflow_id"), wf.get("name")) if part)
    if label:
        subtitle += f" · workflow {label}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>sse-flows report</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>sse-flows report</h1><p>{escape(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(inputs: ReportInputs, out_dir: Path) -> Path:
    """Write the self-contained report ``out_dir/index.html`` and its PNG figures.

    Everything is rendered into a staging folder beside ``out_dir`` first.  A new
    ``out_dir`` is then created by one rename; into an existing one the figures are moved
    first and ``index.html`` last (stale ``fig_*.png`` of an earlier report are removed),
    so a failure at any point leaves no partial ``index.html``.

    Parameters
    ----------
    inputs
        The documents of the run.
    out_dir
        Folder of the report (created if needed).

    Returns
    -------
    Path
        The written ``index.html``.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"report folder {out_dir} exists and is not a folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial",
                                    dir=out_dir.parent))  # fmt: skip
    try:
        page = render_html(inputs, staging)
        (staging / "index.html").write_text(page, encoding="utf-8")
        _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "index.html"


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the finished report from ``staging`` to ``out_dir``, ``index.html`` last."""
    staging.chmod(0o755)  # mkdtemp makes it private; a report folder is a normal folder
    try:
        staging.rename(out_dir)
        return
    except OSError:
        if not out_dir.is_dir():
            raise
    new = sorted(p.name for p in staging.iterdir() if p.name != "index.html")
    for name in new:
        os.replace(staging / name, out_dir / name)
    os.replace(staging / "index.html", out_dir / "index.html")
    for old in out_dir.glob(f"{FIGURE_PREFIX}*.png"):
        if old.name not in new:
            old.unlink(missing_ok=True)
