"""Composition features: the 145 Magpie features (vectorized, equal to matminer's).

Public API::

    from sse_flows.features import MagpieFeaturizer, featurize_formulas, FeaturizationError

    frame, errors = featurize_formulas(["Li3PS4", "Li7La3Zr2O12"], on_error="skip")
"""

from sse_flows.features.formula_parsing import FeaturizationError, featurization_amounts
from sse_flows.features.magpie import (
    MAGPIE_FEATURE_LABELS,
    MagpieFeaturizer,
    featurize_formulas,
)
from sse_flows.features.matminer_reference import featurize_with_matminer
from sse_flows.features.structural import STRUCTURAL_FEATURE_LABELS, structural_features

__all__ = [
    "MAGPIE_FEATURE_LABELS",
    "STRUCTURAL_FEATURE_LABELS",
    "FeaturizationError",
    "MagpieFeaturizer",
    "featurize_formulas",
    "featurize_with_matminer",
    "featurization_amounts",
    "structural_features",
]
