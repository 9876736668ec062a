"""The discovery Flow: pool -> screen -> models -> votes -> candidates -> MD -> ranking.

Flows only compose: every job lives beside the stage it runs. The MD stage fans out at run
time (``Response(replace=...)``) into one MD flow per selected material, so the number of MD
runs follows the vote, and one failing material cannot stop the others (MD jobs return a
failed document instead of raising, and the ranking job accepts missing results).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Maker, OnMissing, Response, job

from sse_flows.provenance import parameter_hash

#: FireWorks categories: MD goes to MD (VASP/GPU) workers, the rest to cheap Python workers.
MD_CATEGORY = "md"
PYTHON_CATEGORY = "python"


def _with_category(job_or_flow, category: str):
    job_or_flow.update_config({"manager_config": {"_category": category}}, dynamic=False)
    return job_or_flow


@dataclass
class MDSettings:
    """MD protocol of the validation stage (defaults: the paper's).

    Parameters
    ----------
    engine
        'chgnet' (universal ML potential, runs anywhere) or 'vasp' (AIMD, clusters).
    temperatures
        NVT temperatures (K).
    steps
        Production steps per temperature (2 fs each).
    equil_steps
        Equilibration steps per temperature.
    extra
        Further protocol fields (e.g. ``min_lattice_length``, ``trajectory_interval``,
        ``calculator_kwargs``), passed to :func:`sse_flows.md.makers.make_md_flow`.
    """

    engine: str = "chgnet"
    temperatures: tuple[float, ...] = (600.0, 800.0, 1000.0, 1200.0)
    steps: int = 10000
    equil_steps: int = 3000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reduced(self) -> bool:
        """True when shorter than the paper's 3,000 + 10,000 steps."""
        return self.steps < 10000 or self.equil_steps < 3000

    def summary(self) -> str:
        """One line describing the protocol, said in the output of every run."""
        kind = "REDUCED protocol" if self.reduced else "paper protocol"
        temps = "/".join(f"{t:g}" for t in self.temperatures)
        return (
            f"{kind}: {self.engine}, {temps} K, {self.equil_steps} equilibration + "
            f"{self.steps} production steps of 2 fs"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters."""
        return {
            "engine": self.engine,
            "temperatures": list(self.temperatures),
            "steps": self.steps,
            "equil_steps": self.equil_steps,
            "extra": dict(self.extra),
        }


@job
def validate_candidates_job(selection: Any, md: dict[str, Any]) -> Response:
    """Fan out: one MD flow per selected material; the output maps label -> MDRunDoc."""
    from pymatgen.core import Structure

    from sse_flows.md.makers import make_md_flow
    from sse_flows.ranking.selection import get_field

    settings = MDSettings(**{**md, "temperatures": tuple(md["temperatures"])})
    targets = get_field(selection, "targets")
    if not targets:
        return Response(output={})
    flows, outputs = [], {}
    for target in targets:
        target = target if isinstance(target, dict) else target.model_dump()
        structure = Structure.from_dict(target["structure"])
        md_flow = make_md_flow(
            structure,
            engine=settings.engine,
            temperatures=settings.temperatures,
            steps=settings.steps,
            equil_steps=settings.equil_steps,
            material_id=target["material_id"] or target["label"],
            **settings.extra,
        )
        md_flow.name = f"md {target['label']}"
        _with_category(md_flow, MD_CATEGORY)
        flows.append(md_flow)
        outputs[target["label"]] = md_flow.output
    return Response(replace=Flow(flows, output=outputs, name="md validation"))


@dataclass
class DiscoveryFlowMaker(Maker):
    """The whole discovery workflow of Kang, Kim & Min (2023), as one jobflow Flow.

    Parameters
    ----------
    name
        Flow name.
    source
        Materials source: 'snapshot' (offline MP 2019) or 'mp' (live, needs a key).
    criteria
        Screening thresholds (``ScreeningCriteria`` fields), e.g. ``{"min_band_gap": 1.0}``.
    training_path
        Training CSV (None: the packaged Kang 2023 + Xu 2020 table).
    algorithms
        Algorithms evaluated (keys, or ["all"]).
    evaluation_splits
        Random splits of the nine-algorithm evaluation.
    grouped_evaluation
        Also evaluate on grouped splits (leave-one-family-out, composition clusters).
    vote_splits
        Splits (models per algorithm) of the GB + LightGBM vote.
    min_votes
        Votes (of ``vote_splits``) each of GB and LightGBM must give; None = unanimous.
    max_md
        Most candidates sent to MD (most probable first); the control is extra.
    control_formula
        Known fast conductor run through the same MD as a positive control (None: none).
    structures_dir
        User folder of structure files for MD.
    md
        The MD protocol.
    """

    name: str = "sse-flows discovery"
    source: str = "snapshot"
    criteria: dict[str, Any] = field(default_factory=dict)
    training_path: str | None = None
    algorithms: list[str] = field(default_factory=lambda: ["all"])
    evaluation_splits: int = 100
    grouped_evaluation: bool = True
    vote_splits: int = 100
    min_votes: int | None = None
    max_md: int = 3
    control_formula: str | None = "Li10GeP2S12"
    structures_dir: str | None = None
    md: MDSettings = field(default_factory=MDSettings)

    def parameters(self) -> dict[str, Any]:
        """Everything that defines the run (hashed to detect duplicate submissions)."""
        return {
            "name": self.name,
            "source": self.source,
            "criteria": dict(self.criteria),
            "training_path": self.training_path,
            "algorithms": list(self.algorithms),
            "evaluation_splits": self.evaluation_splits,
            "grouped_evaluation": self.grouped_evaluation,
            "vote_splits": self.vote_splits,
            "min_votes": self.min_votes,
            "max_md": self.max_md,
            "control_formula": self.control_formula,
            "structures_dir": self.structures_dir,
            "md": self.md.as_dict(),
        }

    def parameter_hash(self) -> str:
        """SHA-256 of :meth:`parameters`."""
        return parameter_hash(self.parameters())

    def make(self) -> Flow:
        """Build the Flow (no computation happens here)."""
        from sse_flows.models.jobs import evaluate_models_job, vote_job
        from sse_flows.ranking.jobs import rank_candidates_job, select_candidates_job
        from sse_flows.screening.jobs import screen_pool_job

        screen = screen_pool_job(source_name=self.source, criteria=self.criteria)
        screen.name = "screen"
        evaluate = evaluate_models_job(
            training_path=self.training_path,
            algorithms=self.algorithms,
            n_splits=self.evaluation_splits,
            grouped=self.grouped_evaluation,
        )
        evaluate.name = "evaluate models"
        vote = vote_job(
            screen.output.survivors,
            training_path=self.training_path,
            n_splits=self.vote_splits,
            min_votes=self.min_votes,
        )
        vote.name = "vote"
        select = select_candidates_job(
            screen.output,
            vote.output,
            max_md=self.max_md,
            control_formula=self.control_formula,
            source=self.source,
            structures_dir=self.structures_dir,
        )
        select.name = "select candidates"
        validate = validate_candidates_job(select.output, self.md.as_dict())
        validate.name = "md validation"
        # the MD flows it creates at run time go to MD workers (jobflow would otherwise pass
        # this job's own "python" category on to them)
        validate.config.response_manager_config = {"_category": MD_CATEGORY}
        rank = rank_candidates_job(
            select.output,
            validate.output,
            engine=self.md.engine,
            protocol=self.md.summary(),
            reduced_protocol=self.md.reduced,
        )
        rank.name = "rank candidates"
        # the ranking must run even if an MD flow died: missing results become None
        rank.config.on_missing_references = OnMissing.NONE
        jobs = [screen, evaluate, vote, select, validate, rank]
        for item in (screen, evaluate, vote, select, validate, rank):
            _with_category(item, PYTHON_CATEGORY)
        flow = Flow(jobs, output=rank.output, name=self.name)
        flow.metadata.update({"sse_flows_parameter_hash": self.parameter_hash(), "sse_flows": True})
        return flow
