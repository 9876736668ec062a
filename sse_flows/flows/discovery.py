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

from sse_flows.md.protocol import MDProtocol
from sse_flows.provenance import parameter_hash

#: FireWorks categories: MD goes to MD (VASP/GPU) workers, the rest to cheap Python workers.
MD_CATEGORY = "md"
PYTHON_CATEGORY = "python"


def _with_category(job_or_flow, category: str):
    job_or_flow.update_config({"manager_config": {"_category": category}}, dynamic=False)
    return job_or_flow


@job
def validate_candidates_job(
    selection: Any, engine: str, protocol: dict[str, Any], device: str = "cpu"
) -> Response:
    """Fan out: one MD flow per selected material; the output maps label -> MDRunDoc."""
    from pymatgen.core import Structure

    from sse_flows.md.makers import md_maker
    from sse_flows.md.protocol import MDProtocol
    from sse_flows.ranking.selection import SelectionDoc

    selection = SelectionDoc.model_validate(selection)
    if not selection.targets:
        return Response(output={})
    kwargs = {} if engine == "vasp" else {"device": device}
    maker = md_maker(engine, MDProtocol.from_dict(protocol), **kwargs)
    flows, outputs = [], {}
    for target in selection.targets:
        structure = Structure.from_dict(target.structure)
        md_flow = maker.make(structure, material_id=target.material_id or target.label)
        md_flow.name = f"md {target.label}"
        _with_category(md_flow, MD_CATEGORY)
        flows.append(md_flow)
        outputs[target.label] = md_flow.output
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
    recipe
        Model recipe: "open" (all open data, log10 sigma regressors with intervals and an
        applicability domain) or "paper" (Kang + Xu rows, the paper's classifier vote).
    max_md
        Most candidates sent to MD (most probable first); the controls are extra.
    control_formula
        Known fast conductor run through the same MD as a positive control (None: none).
    negative_control_formula
        Known poor conductor run through the same MD as a negative control (None: none).
    structures_dir
        User folder of structure files for MD.
    md_engine
        "chgnet" or "sevennet" (universal potentials, run anywhere) or "vasp" (AIMD).
    md_protocol
        The MD protocol (default: the paper's).
    md_device
        Torch device of the force-field engines ("cpu" or "cuda").
    md_max_atoms
        Candidates whose MD supercell has more atoms are not run (None: no limit).
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
    recipe: str = "open"
    max_md: int = 3
    control_formula: str | None = "Li10GeP2S12"
    negative_control_formula: str | None = "Li3PO4"
    structures_dir: str | None = None
    md_engine: str = "chgnet"
    md_protocol: MDProtocol = field(default_factory=MDProtocol)
    md_device: str = "cpu"
    md_max_atoms: int | None = None

    def __post_init__(self) -> None:
        """Check every parameter now (sse_flows.validation), before anything is submitted."""
        from sse_flows.validation import check_discovery_parameters, check_protocol

        self.md_protocol = check_protocol(self.md_protocol)
        check_discovery_parameters(
            {name: getattr(self, name) for name in self.parameters() if name != "md_protocol"}
        )

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
            "recipe": self.recipe,
            "max_md": self.max_md,
            "control_formula": self.control_formula,
            "negative_control_formula": self.negative_control_formula,
            "structures_dir": self.structures_dir,
            "md_engine": self.md_engine,
            "md_protocol": self.md_protocol.as_dict(),
            "md_device": self.md_device,
            "md_max_atoms": self.md_max_atoms,
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
            recipe=self.recipe,
        )
        evaluate.name = "evaluate models"
        vote = vote_job(
            screen.output.survivors,
            training_path=self.training_path,
            n_splits=self.vote_splits,
            min_votes=self.min_votes,
            recipe=self.recipe,
        )
        vote.name = "vote"
        select = select_candidates_job(
            screen.output,
            vote.output,
            max_md=self.max_md,
            control_formula=self.control_formula,
            negative_control_formula=self.negative_control_formula,
            source=self.source,
            structures_dir=self.structures_dir,
            max_atoms=self.md_max_atoms,
            min_lattice_length=self.md_protocol.min_lattice_length,
        )
        select.name = "select candidates"
        validate = validate_candidates_job(
            select.output, self.md_engine, self.md_protocol.as_dict(), self.md_device
        )
        validate.name = "md validation"
        # the MD flows it creates at run time go to MD workers (jobflow would otherwise pass
        # this job's own "python" category on to them)
        validate.config.response_manager_config = {"_category": MD_CATEGORY}
        rank = rank_candidates_job(
            select.output,
            validate.output,
            engine=self.md_engine,
            protocol=self.md_protocol.describe(self.md_engine),
            reduced_protocol=self.md_protocol.reduced,
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
