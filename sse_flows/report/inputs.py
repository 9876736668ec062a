"""Everything the report shows, gathered from the stages' output documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from sse_flows.analysis.schemas import DiffusionDoc
from sse_flows.models.schemas import ModelEvaluationDoc, VoteDoc
from sse_flows.ranking.schemas import RankingDoc
from sse_flows.screening.schemas import ScreeningDoc

__all__ = ["ReportInputError", "ReportInputs"]

DocT = TypeVar("DocT", bound=BaseModel)


class ReportInputError(ValueError):
    """A stored document cannot be read as the stage document the report expects."""


@dataclass
class ReportInputs:
    """The documents of one discovery run; any of them may be missing (stage not run).

    Attributes
    ----------
    screening
        Output of the screening funnel.
    evaluation
        Nine-algorithm evaluation (accuracies, confusion matrices, importances).
    votes
        Ensemble votes over the screened pool and the resulting candidates.
    ranking
        The final candidate table (ML numbers, MD status, sigma_RT, verdict).
    diffusion
        Diffusion analysis per material: label (material id or formula) -> document.
    workflow
        Free-form description of the workflow: ``id``, ``name``, ``state``, ``created_on``
        and ``stages`` (stage name -> state, or a list of ``{"name", "state"}`` dicts).
    """

    screening: ScreeningDoc | None = None
    evaluation: ModelEvaluationDoc | None = None
    votes: VoteDoc | None = None
    ranking: RankingDoc | None = None
    diffusion: dict[str, DiffusionDoc] = field(default_factory=dict)
    workflow: dict[str, Any] | None = None

    @classmethod
    def from_documents(
        cls,
        screening: Mapping[str, Any] | ScreeningDoc | None = None,
        evaluation: Mapping[str, Any] | ModelEvaluationDoc | None = None,
        votes: Mapping[str, Any] | VoteDoc | None = None,
        ranking: Mapping[str, Any] | RankingDoc | None = None,
        diffusion: Mapping[str, Any] | Iterable[Any] | None = None,
        workflow: Mapping[str, Any] | None = None,
    ) -> ReportInputs:
        """Build the inputs from documents as stored in the JobStore.

        Each argument may be the document itself, its dict (``model_dump`` or what
        ``JobStore.query(..., load=True)`` returns, ``@module``/``@class`` keys included),
        or a whole job record whose ``output`` holds the document.

        Parameters
        ----------
        screening, evaluation, votes, ranking
            One document each, or ``None`` when the stage has not run.
        diffusion
            Label -> document, or a list of documents (labelled by material id, else
            formula, else position).
        workflow
            Free-form workflow description (see :class:`ReportInputs`).

        Raises
        ------
        ReportInputError
            A document does not validate, or still holds an unresolved reference to the
            additional ``data`` store (query the JobStore with ``load=True``).
        """
        diffusion_docs: dict[str, DiffusionDoc] = {}
        if diffusion is not None:
            items: Iterable[tuple[Any, Any]]
            if isinstance(diffusion, Mapping):
                items = diffusion.items()
            else:
                items = ((None, doc) for doc in diffusion)
            for position, (label, raw) in enumerate(items):
                doc = _validate(DiffusionDoc, raw, "diffusion")
                if doc is None:
                    continue
                key = (
                    str(label)
                    if label is not None
                    else (doc.material_id or doc.formula or f"material {position + 1}")
                )
                diffusion_docs[key] = doc
        return cls(
            screening=_validate(ScreeningDoc, screening, "screening"),
            evaluation=_validate(ModelEvaluationDoc, evaluation, "evaluation"),
            votes=_validate(VoteDoc, votes, "votes"),
            ranking=_validate(RankingDoc, ranking, "ranking"),
            diffusion=diffusion_docs,
            workflow=dict(workflow) if workflow is not None else None,
        )

    @property
    def data_version(self) -> str | None:
        """Version of the materials data the run used (from the first document that says)."""
        if self.screening is not None and self.screening.data_version:
            return self.screening.data_version
        for doc in (self.screening, self.ranking, self.votes):
            if doc is not None and doc.provenance.data_version:
                return doc.provenance.data_version
        return None


def _validate(model: type[DocT], raw: Any, name: str) -> DocT | None:
    """``model`` from a document, its dict or a job record holding it in ``output``."""
    if raw is None or isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        raise ReportInputError(
            f"{name}: expected a {model.__name__} or its dict, got {type(raw).__name__}"
        )
    if (
        "output" in raw
        and "output" not in model.model_fields
        and isinstance(raw["output"], Mapping)
    ):
        raw = raw["output"]
    reference = _find_blob_reference(raw)
    if reference:
        raise ReportInputError(
            f"{name}: field '{reference}' is still a reference to the JobStore's data store; "
            "query the JobStore with load=True so large fields are resolved"
        )
    try:
        return model.model_validate(_strip_serialization_keys(raw))
    except ValueError as exc:
        raise ReportInputError(f"{name}: not a valid {model.__name__}: {exc}") from exc


def _strip_serialization_keys(value: Any) -> Any:
    """Drop monty's ``@module``/``@class``/``@version`` keys at every level."""
    if isinstance(value, Mapping):
        return {
            k: _strip_serialization_keys(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("@"))
        }
    if isinstance(value, list):
        return [_strip_serialization_keys(v) for v in value]
    return value


def _find_blob_reference(value: Any, path: str = "") -> str | None:
    """Dotted path of the first unresolved jobflow data-store reference in ``value``."""
    if isinstance(value, Mapping):
        if "blob_uuid" in value:
            return path or "<document>"
        for key, sub in value.items():
            found = _find_blob_reference(sub, f"{path}.{key}" if path else str(key))
            if found:
                return found
    return None
