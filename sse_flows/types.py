"""Field types shared by the stage documents (one declaration for fields that mean the same
thing in every document that has them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _as_dict(value: Any) -> Any:
    """jobflow decodes stored pymatgen dicts back into objects; keep documents as dicts."""
    return value.as_dict() if hasattr(value, "as_dict") else value


#: a pymatgen ``Structure.as_dict()``; also accepts a Structure (as jobflow hands it back)
StructureDict = Annotated[dict[str, Any], BeforeValidator(_as_dict)]

#: a material's Materials Project id, when it has one (default it to None)
MaterialId = Annotated[str | None, Field(description="Materials Project id, when known.")]

#: a material's reduced formula, pymatgen style (required)
ReducedFormula = Annotated[str, Field(description="Reduced formula.")]
