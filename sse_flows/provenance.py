"""Provenance block attached to every stored document."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from sse_flows import __version__


def parameter_hash(parameters: dict[str, Any]) -> str:
    """Stable SHA-256 of JSON-serialisable parameters (keys sorted)."""
    blob = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Provenance(BaseModel):
    """Where a document came from: inputs, parameters and code/data versions."""

    code_version: str = Field(__version__, description="sse-flows version that made the document.")
    data_version: str | None = Field(
        None, description="Version of the source data (e.g. 'MP 2019-04-02 snapshot')."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the stage that made the document."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Identifiers of the inputs (files, upstream job uuids)."
    )
    parameter_hash: str | None = Field(
        None, description="SHA-256 of the parameters, used to detect duplicate submissions."
    )
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(),
        description="UTC time the document was made (ISO 8601).",
    )

    @classmethod
    def make(
        cls, parameters: dict[str, Any] | None = None, **kwargs: Any
    ) -> Provenance:
        """Provenance with the parameter hash filled in."""
        parameters = parameters or {}
        return cls(parameters=parameters, parameter_hash=parameter_hash(parameters), **kwargs)
