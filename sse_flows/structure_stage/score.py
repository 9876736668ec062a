"""``structure_score``: the structure stage's log-odds shift for an acquisition function.

    structure_score = SCORE_COEFFICIENT * clip((x - SCORE_CENTER) / SCORE_SCALE, -3, 3)

with ``x`` the descriptor :data:`SCORE_DESCRIPTOR` of a material, to be *added* to the
model's log-odds ``logit(p_superionic)``. The coefficient, centre and scale are the
logistic-regression coefficient (per standard deviation) and the mean and standard
deviation of that descriptor on the OBELiX train CIF rows, fitted beside the model's
composition-grouped out-of-fold log-odds (``benchmarks/structure_stage.py``). A material
without the descriptor (no structure, or a failed stage) scores 0.

**The score is 0 for every material**: no descriptor adds information beyond the open
model's composition prediction. On the OBELiX train CIF rows only ``volume_per_anion_A3``
passed the rule (grouped-CV AUC 0.785 -> 0.797, coefficient +0.41 per sd, 90 % interval
0.18-0.66), and on the test CIF rows it lowered the model's AUC from 0.881 to 0.805; every
other descriptor lowered the train grouped-CV AUC, and bvlain's barriers (test CIFs only)
lower the test AUC even with their coefficient fitted on those rows (docs/models.md,
"Structure stage: cheap descriptors and what they are worth"). An acquisition function
may add the score unconditionally: it is a no-op until a descriptor earns a place, and
the formula above is what it will compute then.
"""

from __future__ import annotations

import math
from typing import Any

#: The descriptor the score reads (None: the score is 0 for every material).
SCORE_DESCRIPTOR: str | None = None
#: Log-odds per standard deviation of the descriptor.
SCORE_COEFFICIENT = 0.0
#: Mean of the descriptor on the OBELiX train CIF rows.
SCORE_CENTER = 0.0
#: Standard deviation of the descriptor on the OBELiX train CIF rows.
SCORE_SCALE = 1.0
#: The standardized descriptor is clipped to +-this many standard deviations.
SCORE_CLIP_SD = 3.0


def structure_score(descriptors: Any) -> float:
    """The log-odds shift of one material (0 when the descriptor is missing).

    Parameters
    ----------
    descriptors : StructureDescriptorsDoc, dict or None
        The structure stage's document of the material, or its descriptor dict.

    Returns
    -------
    float
        ``SCORE_COEFFICIENT * clip((x - SCORE_CENTER) / SCORE_SCALE, -3, 3)``; 0.0 when
        :data:`SCORE_DESCRIPTOR` is None, the document carries an error, or ``x`` is missing.
    """
    if SCORE_DESCRIPTOR is None or descriptors is None:
        return 0.0
    if hasattr(descriptors, "model_dump"):
        descriptors = descriptors.model_dump()
    if descriptors.get("error"):
        return 0.0
    value = descriptors.get(SCORE_DESCRIPTOR)
    if value is None or not math.isfinite(float(value)):
        return 0.0
    z = (float(value) - SCORE_CENTER) / SCORE_SCALE
    return SCORE_COEFFICIENT * max(-SCORE_CLIP_SD, min(SCORE_CLIP_SD, z))
