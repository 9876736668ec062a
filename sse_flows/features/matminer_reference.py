"""The reference path: matminer's own featurizers, one composition at a time.

Used by the equality tests and the throughput benchmark; the pipeline uses the vectorized
:class:`~sse_flows.features.magpie.MagpieFeaturizer`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd


@lru_cache(maxsize=1)
def matminer_magpie_featurizer() -> Any:
    """matminer's ``MultipleFeaturizer`` for the 145 Magpie features (single process).

    Returns
    -------
    matminer.featurizers.base.MultipleFeaturizer
        ``Stoichiometry() + ElementProperty.from_preset("magpie") +
        ValenceOrbital(props=["frac"]) + IonProperty(fast=True)`` with ``n_jobs=1``.
    """
    from matminer.featurizers.base import MultipleFeaturizer
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    featurizer = MultipleFeaturizer(
        [
            Stoichiometry(),
            ElementProperty.from_preset("magpie"),
            ValenceOrbital(props=["frac"]),
            IonProperty(fast=True),
        ]
    )
    featurizer.set_n_jobs(1)
    return featurizer


def featurize_with_matminer(formulas: Sequence[str]) -> pd.DataFrame:
    """The 145 Magpie features of ``formulas`` computed by matminer itself.

    Parameters
    ----------
    formulas
        Valid formula strings (an invalid one raises whatever pymatgen/matminer raise).

    Returns
    -------
    pandas.DataFrame
        float64 frame indexed by input position, columns = matminer's feature labels;
        ``compound possible`` (a bool in matminer) as 1.0/0.0.
    """
    from pymatgen.core import Composition

    featurizer = matminer_magpie_featurizer()
    compositions = [Composition(formula) for formula in formulas]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [featurizer.featurize(composition) for composition in compositions]
    values = np.array(rows, dtype=float).reshape(len(rows), -1)
    return pd.DataFrame(values, index=pd.RangeIndex(len(rows)), columns=featurizer.feature_labels())
