"""The discovery Flow: pool -> screen -> models -> votes -> candidates -> MD -> ranking.

Flows only compose. :class:`DiscoveryFlowMaker` holds one Maker per stage (atomate2's
pattern: a flow maker composed of job makers) and builds the flow from them alone; every
job lives beside the stage it runs, and each stage's job name is its Maker's ``name``.
Replace one stage by giving its field another Maker, e.g.
``DiscoveryFlowMaker(screening_maker=MyScreeningMaker())``; the flat fields (``source``,
``vote_splits``, ``md_protocol``, ...) configure the default Makers of the stages not given.

The MD stage fans out at run time (:mod:`sse_flows.flows.md_validation`) into one MD flow
per selected material, so the number of MD runs follows the vote, and one failing
material cannot stop the others (MD jobs return a failed document instead of raising, and
the ranking job accepts missing results).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Maker

from sse_flows.flows.md_validation import (
    GPU_CATEGORY,
    MD_CATEGORY,
    POOL_MATERIALS_PER_JOB,
    PYTHON_CATEGORY,
    MDValidationMaker,
    with_category,
)
from sse_flows.md.protocol import DEFAULT_MD_ENGINE, MDProtocol
from sse_flows.models.jobs import ModelEvaluationMaker, VoteMaker
from sse_flows.provenance import parameter_hash
from sse_flows.ranking.jobs import CandidateSelectionMaker, RankingMaker
from sse_flows.screening.criteria import ScreeningCriteria
from sse_flows.screening.jobs import ScreeningMaker

__all__ = [
    "GPU_CATEGORY",
    "MD_CATEGORY",
    "PYTHON_CATEGORY",
    "STAGE_MAKERS",
    "DiscoveryFlowMaker",
    "default_stage_names",
]

#: The stages in flow order: stage key -> the Maker class of its default (its field in
#: :class:`DiscoveryFlowMaker` is ``<key>_maker``).
STAGE_MAKERS: dict[str, type[Maker]] = {
    "screening": ScreeningMaker,
    "evaluation": ModelEvaluationMaker,
    "vote": VoteMaker,
    "selection": CandidateSelectionMaker,
    "md_validation": MDValidationMaker,
    "ranking": RankingMaker,
}


def default_stage_names() -> dict[str, str]:
    """Job name of each stage of a discovery flow built with the default Makers.

    Returns
    -------
    dict of str to str
        Stage key -> job name, in flow order (``{"screening": "screen", ...}``).
    """
    return {key: maker.name for key, maker in STAGE_MAKERS.items()}


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
    evaluation_cluster_repeats
        Repeats of the composition-cluster 5-fold of the grouped evaluation.
    vote_splits
        Models per algorithm of the GB + LightGBM vote; None: the recipe's own number (100
        for ``paper``, :data:`~sse_flows.models.open_recipe.N_MEMBERS` for ``open``).
    min_votes
        Votes (of ``vote_splits``) each of GB and LightGBM must give; None = unanimous.
    recipe
        Model recipe: "open" (all open data, log10 sigma regressors with intervals and an
        applicability domain) or "paper" (Kang + Xu rows, the paper's classifier vote).
    max_md
        Most candidates sent to MD (most probable first) with ``md_scope="candidates"``;
        the controls are extra.
    md_scope
        What MD runs on: "candidates" (the vote's candidates, the paper, plus ``md_top``
        by acquisition), "top-N" (the N best screened materials by acquisition,
        candidates or not) or "pool" (every screened material, best first). The ranking
        joins the MD verdict with the model's estimate (:mod:`sse_flows.ranking.evidence`).
    md_top
        With ``md_scope="candidates"``: the best ``md_top`` other screened materials by
        acquisition (:mod:`sse_flows.ranking.acquisition`) that have a structure within
        ``md_max_atoms`` also go to MD. None: the recipe's default (open 3, paper 0: the
        paper's vote alone).
    md_materials_per_job
        Force-field MD of "top-N" and "pool" runs in batched jobs of this many materials
        (None: :data:`~sse_flows.flows.md_validation.POOL_MATERIALS_PER_JOB`); with
        ``md_device="cuda"`` they go to the ``gpu`` FireWorks category. The "candidates"
        scope runs one MD flow per material.
    md_processes
        With the "candidates" scope, force fields on the CPU: > 1 runs every MD target in
        one job, this many side by side, one process and one torch thread each
        (:func:`sse_flows.md.parallel.run_parallel_md`); 1: one MD flow per material.
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
    screening_maker
        Maker of the screening stage (None: a ``ScreeningMaker`` from ``source`` and
        ``criteria``).
    evaluation_maker
        Maker of the model evaluation (None: a ``ModelEvaluationMaker`` from
        ``training_path``, ``algorithms``, ``evaluation_splits``, ``grouped_evaluation``,
        ``recipe``).
    vote_maker
        Maker of the vote on the screening survivors (None: a ``VoteMaker`` from
        ``training_path``, ``vote_splits``, ``min_votes``, ``recipe``).
    selection_maker
        Maker of the choice of MD targets (None: a ``CandidateSelectionMaker`` from
        ``max_md``, ``md_scope``, ``md_top``, the controls, ``source``, ``structures_dir``,
        ``md_max_atoms`` and the protocol's ``min_lattice_length``).
    md_validation_maker
        Maker of the MD fan-out (None: an ``MDValidationMaker`` from ``md_engine``,
        ``md_protocol``, ``md_device``).
    ranking_maker
        Maker of the final table (None: a ``RankingMaker`` from ``md_engine`` and
        ``md_protocol``).

    Notes
    -----
    A stage Maker given explicitly is used as it is: the flat fields configure only the
    defaults, which are built when the maker is created (change a stage afterwards through
    its Maker, e.g. ``maker.vote_maker.n_splits = 20`` or jobflow's ``update_kwargs``). Its
    ``name`` is the stage's job name (the names must differ); the flow's
    metadata records them (``sse_flows_stages``), which is how ``sse-flows status``,
    ``results`` and ``report`` find the stages' documents.
    """

    name: str = "sse-flows discovery"
    source: str = "snapshot"
    criteria: dict[str, Any] = field(default_factory=dict)
    training_path: str | None = None
    algorithms: list[str] = field(default_factory=lambda: ["all"])
    evaluation_splits: int = 100
    grouped_evaluation: bool = True
    evaluation_cluster_repeats: int = 2
    vote_splits: int | None = None
    min_votes: int | None = None
    recipe: str = "open"
    max_md: int = 3
    md_scope: str = "candidates"
    md_top: int | None = None
    md_materials_per_job: int | None = None
    md_processes: int = 1
    control_formula: str | None = "Li10GeP2S12"
    negative_control_formula: str | None = "Li3PO4"
    structures_dir: str | None = None
    md_engine: str = DEFAULT_MD_ENGINE
    md_protocol: MDProtocol = field(default_factory=MDProtocol)
    md_device: str = "cpu"
    md_max_atoms: int | None = None
    screening_maker: Maker | None = None
    evaluation_maker: Maker | None = None
    vote_maker: Maker | None = None
    selection_maker: Maker | None = None
    md_validation_maker: Maker | None = None
    ranking_maker: Maker | None = None

    def __post_init__(self) -> None:
        """Check every parameter now (sse_flows.validation), before anything is submitted.

        Then fill every stage Maker not given with its default (:meth:`default_makers`).
        """
        from sse_flows.validation import (
            ParameterError,
            check_discovery_parameters,
            check_protocol,
        )

        self.md_protocol = check_protocol(self.md_protocol)
        check_discovery_parameters(
            {name: getattr(self, name) for name in self._flat_parameters() if name != "md_protocol"}
        )
        defaults = self.default_makers()
        for key in STAGE_MAKERS:
            given = getattr(self, f"{key}_maker")
            if given is None:
                setattr(self, f"{key}_maker", defaults[key])
            elif not isinstance(given, Maker) or not isinstance(getattr(given, "name", None), str):
                raise ParameterError(
                    f"{key}_maker", f"must be a jobflow Maker with a name, got {given!r}"
                )
        names = list(self.stage_names().values())
        if len(set(names)) != len(names):
            raise ParameterError(
                "stage makers", f"every stage needs its own job name, got {names}"
            )

    def default_makers(self) -> dict[str, Maker]:
        """The stage Makers the flat fields describe.

        Returns
        -------
        dict of str to Maker
            Stage key (see :data:`STAGE_MAKERS`) -> Maker, in flow order.
        """
        return {
            "screening": ScreeningMaker(
                source_name=self.source,
                criteria=ScreeningCriteria.model_validate(dict(self.criteria)),
            ),
            "evaluation": ModelEvaluationMaker(
                training_path=self.training_path,
                algorithms=list(self.algorithms),
                n_splits=self.evaluation_splits,
                grouped=self.grouped_evaluation,
                n_cluster_repeats=self.evaluation_cluster_repeats,
                recipe=self.recipe,
            ),
            "vote": VoteMaker(
                training_path=self.training_path,
                min_votes=self.min_votes,
                n_splits=self.vote_splits,
                recipe=self.recipe,
            ),
            "selection": CandidateSelectionMaker(
                max_md=self.max_md,
                control_formula=self.control_formula,
                negative_control_formula=self.negative_control_formula,
                source=self.source,
                structures_dir=self.structures_dir,
                max_atoms=self.md_max_atoms,
                min_lattice_length=self.md_protocol.min_lattice_length,
                md_scope=self.md_scope,
                md_top=self.md_top,
            ),
            "md_validation": MDValidationMaker(
                engine=self.md_engine,
                protocol=self.md_protocol,
                device=self.md_device,
                materials_per_job=None if self.md_scope == "candidates"
                else self.md_materials_per_job or POOL_MATERIALS_PER_JOB,
                processes=self.md_processes,
            ),
            "ranking": RankingMaker(engine=self.md_engine, protocol=self.md_protocol),
        }

    def stage_makers(self) -> dict[str, Maker]:
        """The Maker of every stage (given or default), in flow order."""
        return {key: getattr(self, f"{key}_maker") for key in STAGE_MAKERS}

    def stage_names(self) -> dict[str, str]:
        """Stage key -> job name (the stage Maker's ``name``), in flow order."""
        return {key: maker.name for key, maker in self.stage_makers().items()}

    def _flat_parameters(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "criteria": dict(self.criteria),
            "training_path": self.training_path,
            "algorithms": list(self.algorithms),
            "evaluation_splits": self.evaluation_splits,
            "grouped_evaluation": self.grouped_evaluation,
            "vote_splits": self.vote_splits,
            # only when not the default, so flows built before this field keep their hash
            **({"evaluation_cluster_repeats": self.evaluation_cluster_repeats}
               if self.evaluation_cluster_repeats != 2 else {}),
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
            # only when set, so flows built before these fields keep their hash
            **({"md_scope": self.md_scope} if self.md_scope != "candidates" else {}),
            **({"md_top": self.md_top} if self.md_top is not None else {}),
            **({"md_processes": self.md_processes} if self.md_processes != 1 else {}),
            **({"md_materials_per_job": self.md_materials_per_job}
               if self.md_materials_per_job is not None else {}),
        }

    def parameters(self) -> dict[str, Any]:
        """Everything that defines the run (hashed to detect duplicate submissions).

        Returns
        -------
        dict
            The flat fields; plus, under ``stage_makers``, the serialised Maker of every
            stage that differs from its default (so swapping a Maker changes the hash and
            the default flow keeps the hash it always had).
        """
        parameters = self._flat_parameters()
        defaults = self.default_makers()
        swapped = {
            f"{key}_maker": maker.as_dict()
            for key, maker in self.stage_makers().items()
            if maker != defaults[key]
        }
        if swapped:
            parameters["stage_makers"] = swapped
        return parameters

    def parameter_hash(self) -> str:
        """SHA-256 of :meth:`parameters`."""
        return parameter_hash(self.parameters())

    def make(self) -> Flow:
        """Build the Flow from the stage Makers (no computation happens here).

        Returns
        -------
        Flow
            Six jobs (screening, evaluation, vote, selection, MD validation, ranking) on
            the Python workers; its output is the ranking's ``RankingDoc``; its metadata
            holds the parameter hash and the stage names.
        """
        screen = self.screening_maker.make()
        evaluate = self.evaluation_maker.make()
        vote = self.vote_maker.make(screen.output.survivors)
        select = self.selection_maker.make(screen.output, vote.output)
        validate = self.md_validation_maker.make(select.output)
        rank = self.ranking_maker.make(select.output, validate.output)
        jobs = [screen, evaluate, vote, select, validate, rank]
        for item in jobs:
            with_category(item, PYTHON_CATEGORY)
        flow = Flow(jobs, output=rank.output, name=self.name)
        flow.metadata.update(
            {
                "sse_flows_parameter_hash": self.parameter_hash(),
                "sse_flows": True,
                "sse_flows_stages": self.stage_names(),
            }
        )
        return flow
