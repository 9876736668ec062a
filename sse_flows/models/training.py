"""The training set of the models: Magpie features, labels and the groups of the splits.

The table comes from :func:`sse_flows.data.tables.load_training_table` (the authors'
328-row database by default, or a user CSV) and the 145 Magpie features from
:func:`sse_flows.features.featurize_formulas`; this module only joins them and derives the
composition clusters used by the grouped splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sse_flows.models.splits import composition_clusters


@dataclass
class TrainingSet:
    """Features, labels and grouping information of the training table.

    Attributes
    ----------
    features
        The Magpie features, one row per material, columns in the featurizer's order.
    labels
        1 when sigma >= 1e-4 S/cm (superionic), else 0.
    formulas
        The formulas as written in the table.
    families
        Structure family of each row (NASICON, Garnet, ...): the leave-one-family-out groups.
    contains_li
        Whether the composition contains Li.
    clusters
        Composition-cluster id of each row (near-duplicate doped variants share one).
    data_hash
        SHA-256 (first 16 hex digits) of formulas + labels: identifies the training data
        in provenance blocks and ensemble caches.
    source
        Where the table came from (path or ``"kang2023 default table"``).
    """

    features: pd.DataFrame
    labels: np.ndarray
    formulas: list[str]
    families: np.ndarray
    contains_li: np.ndarray
    clusters: np.ndarray
    data_hash: str
    source: str
    extra: dict = field(default_factory=dict)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 (the usual name of a feature matrix)
        """Feature matrix as a float array."""
        return self.features.to_numpy(dtype=float)

    @property
    def feature_names(self) -> list[str]:
        """Column names of the features."""
        return list(self.features.columns)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> TrainingSet:
        """The rows where ``mask`` is true (e.g. ``training_set.contains_li``)."""
        mask = np.asarray(mask, dtype=bool)
        formulas = [f for f, keep in zip(self.formulas, mask, strict=True) if keep]
        return TrainingSet(
            features=self.features.loc[mask].reset_index(drop=True),
            labels=self.labels[mask],
            formulas=formulas,
            families=self.families[mask],
            contains_li=self.contains_li[mask],
            clusters=self.clusters[mask],
            data_hash=hash_training_data(formulas, self.labels[mask]),
            source=f"{self.source} (subset)",
        )


def hash_training_data(formulas: list[str], labels: np.ndarray) -> str:
    """Short SHA-256 of the formula/label pairs (order matters)."""
    blob = "\n".join(f"{f}\t{int(y)}" for f, y in zip(formulas, labels, strict=True))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def featurize_or_raise(formulas: list[str]) -> pd.DataFrame:
    """Magpie features of ``formulas``; raises ``ValueError`` naming every bad formula."""
    from sse_flows.features import featurize_formulas

    features, errors = featurize_formulas(list(formulas), on_error="skip")
    if errors:
        listed = "; ".join(f"row {pos}: {formula!r} ({msg})" for pos, formula, msg in errors)
        raise ValueError(f"training formulas that cannot be featurized: {listed}")
    return features.reset_index(drop=True)


def featurize_rows(formulas: list[str]) -> tuple[pd.DataFrame, list[int], dict[int, str]]:
    """Featurize a pool, keeping track of the rows that failed.

    Returns
    -------
    features
        One row per formula that could be featurized, in input order.
    positions
        Input positions of those rows.
    errors
        ``{input position: message}`` for the formulas that could not be featurized.
    """
    from sse_flows.features import featurize_formulas

    # the callers keep each message with its row (the vote's ``error``): no second report
    features, error_list = featurize_formulas(list(formulas), on_error="skip", log_skipped=False)
    errors = {int(pos): str(msg) for pos, _formula, msg in error_list}
    positions = [i for i in range(len(formulas)) if i not in errors]
    if len(features) == len(formulas) and errors:  # featurizer kept placeholder rows
        features = features.iloc[positions]
    if len(features) != len(positions):
        raise RuntimeError(
            f"featurizer returned {len(features)} rows for {len(positions)} valid formulas"
        )
    return features.reset_index(drop=True), positions, errors


def load_training_set(
    training_path: str | Path | None = None, cluster_threshold: float = 0.2
) -> TrainingSet:
    """Load, featurize and group the training table.

    Parameters
    ----------
    training_path
        A user CSV (validated by :func:`sse_flows.data.tables.load_training_table`); ``None``
        for the default table (Kang et al. 2023, 328 rows).
    cluster_threshold
        Distance threshold of the composition clusters (see
        :func:`sse_flows.models.splits.composition_clusters`).
    """
    from sse_flows.data.tables import load_training_table

    table = load_training_table(training_path) if training_path else load_training_table()
    table = table.reset_index(drop=True)
    formulas = [str(f) for f in table["formula"]]
    features = featurize_or_raise(formulas)
    labels = table["label"].to_numpy(dtype=int)
    cluster_formulas = (
        table["reduced_formula"].astype(str).tolist() if "reduced_formula" in table else formulas
    )
    families = (
        table["family"].fillna("").astype(str).replace("", "unknown").to_numpy()
        if "family" in table
        else np.array(["unknown"] * len(table))
    )
    if "contains_li" in table:
        contains_li = table["contains_li"].to_numpy(dtype=bool)
    else:
        from pymatgen.core import Composition

        contains_li = np.array(["Li" in Composition(f) for f in formulas])
    return TrainingSet(
        features=features,
        labels=labels,
        formulas=formulas,
        families=families,
        contains_li=contains_li,
        clusters=composition_clusters(cluster_formulas, distance_threshold=cluster_threshold),
        data_hash=hash_training_data(formulas, labels),
        source=str(training_path) if training_path else "kang2023 default table",
    )
