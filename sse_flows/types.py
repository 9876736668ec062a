"""Field types shared by the stage documents (one declaration for fields that mean the same
thing in every document that has them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from sse_flows.provenance import Provenance


def _as_dict(value: Any) -> Any:
    """jobflow decodes stored pymatgen dicts back into objects; keep documents as dicts."""
    return value.as_dict() if hasattr(value, "as_dict") else value


#: a pymatgen ``Structure.as_dict()``; also accepts a Structure (as jobflow hands it back)
StructureDict = Annotated[dict[str, Any], BeforeValidator(_as_dict)]

#: a material's Materials Project id, when it has one (default it to None)
MaterialId = Annotated[
    str | None,
    Field(
        description="Material id, when known: a Materials Project id (e.g. 'mp-1234') or "
        "the id the user gave."
    ),
]

#: a material's reduced formula, pymatgen style (required)
ReducedFormula = Annotated[str, Field(description="Reduced formula.")]

#: the block every stored document carries: inputs, parameters and code/data versions
DocumentProvenance = Annotated[
    Provenance,
    Field(
        default_factory=Provenance,
        description="Inputs, parameters and the code and data versions that made the document.",
    ),
]

# screening facts, copied into the documents of later stages
BandGap = Annotated[float | None, Field(description="PBE band gap (eV); None when unknown.")]
OxidationLimit = Annotated[
    float | None,
    Field(
        description="Oxidation limit of the stability window (V vs Li/Li+); None when the "
        "phase is off the hull or not known."
    ),
]
ReductionLimit = Annotated[
    float | None,
    Field(
        description="Reduction limit of the stability window (V vs Li/Li+); None when the "
        "phase is off the hull or not known."
    ),
]
StructureOrigin = Annotated[
    str | None,
    Field(
        description="Where the offline structure library finds the material's structure, "
        "'<tier>:<name>' (tiers: user, package, mp_structures, pymatgen; see "
        "sse_flows.sources.structures); None when it has none or was not asked."
    ),
]

# model facts
SuperionicProbability = Annotated[
    float | None,
    Field(
        description="Mean predicted probability of sigma_RT >= 1e-4 S/cm over all models "
        "(None: not featurizable)."
    ),
]
InDomain = Annotated[
    bool | None,
    Field(
        description="Inside the model's applicability domain (the training data's feature "
        "space); None when not known."
    ),
]

# MD facts (the Arrhenius fit of the diffusion analysis)
ActivationEnergy = Annotated[
    float | None,
    Field(
        description="Activation energy (eV) from the weighted Arrhenius fit; None with fewer "
        "than 2 fit temperatures."
    ),
]
ActivationEnergyError = Annotated[
    float | None, Field(description="Standard deviation of ea_eV over the posterior draws (eV).")
]
ConductivityRT = Annotated[
    float | None,
    Field(
        description="Li conductivity at 300 K (S/cm), Nernst-Einstein as pymatgen's "
        "get_extrapolated_conductivity; None when no confident value exists."
    ),
]
ConductivityRTLow = Annotated[
    float | None,
    Field(description="Lower end of the interval of sigma_RT (S/cm); None for a bound only."),
]
ConductivityRTHigh = Annotated[
    float | None,
    Field(description="Upper end of the interval of sigma_RT, or its upper bound (S/cm)."),
]

# the progress of one MD temperature, in the production record and in the final run
Temperature = Annotated[float, Field(description="Thermostat temperature (K).")]
EquilibrationSteps = Annotated[
    int, Field(description="Equilibration steps run (discarded before production).")
]
ProductionSteps = Annotated[int, Field(description="Production steps run.")]
Equilibrated = Annotated[
    bool | None,
    Field(
        description="True when the mean kinetic temperature of the last half of the "
        "equilibration was within the protocol's tolerance of the target; None when the "
        "engine does not report it (VASP's own equilibration)."
    ),
]
