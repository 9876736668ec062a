"""Field types shared by the stage documents."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _as_dict(value: Any) -> Any:
    """jobflow decodes stored pymatgen dicts back into objects; keep documents as dicts."""
    return value.as_dict() if hasattr(value, "as_dict") else value


#: a pymatgen ``Structure.as_dict()``; also accepts a Structure (as jobflow hands it back)
StructureDict = Annotated[dict[str, Any], BeforeValidator(_as_dict)]
