"""Split protocols: the paper's random splits, grouped splits and the nested search folds.

* ``random``: 100 stratified 80/20 splits, ``train_test_split(random_state=seed)`` for
  seed 0..99 (the paper's protocol).
* ``cluster``: stratified group 5-fold over composition clusters, repeated with shuffled
  group order (each fold ~80/20); near-duplicate doped variants of one compound never sit
  on both sides.
* ``family``: leave one structure family out (NASICON, Garnet, ...).

The hyperparameter search of every outer split sees only that split's training rows:
:func:`inner_folds` builds the search folds from the training indices alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split


@dataclass(frozen=True)
class Split:
    """One outer train/test split.

    Attributes
    ----------
    scheme
        ``"random"``, ``"cluster"`` or ``"family"``.
    name
        ``"seed 7"``, ``"repeat 1 fold 3"`` or the held-out family.
    seed
        Random state of the split (also seeds the models and the inner search folds).
    train
        Sorted row indices used for fitting (and, inside them, for the search).
    test
        Sorted row indices used only for scoring.
    """

    scheme: str
    name: str
    seed: int
    train: np.ndarray
    test: np.ndarray


def random_splits(
    labels: np.ndarray, n_splits: int = 100, test_size: float = 0.2, first_seed: int = 0
) -> list[Split]:
    """The paper's protocol: stratified ``train_test_split`` with ``random_state`` = seed."""
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    splits = []
    for seed in range(first_seed, first_seed + n_splits):
        train, test = train_test_split(
            rows, test_size=test_size, stratify=labels, random_state=seed
        )
        splits.append(Split("random", f"seed {seed}", seed, np.sort(train), np.sort(test)))
    return splits


def cluster_splits(
    labels: np.ndarray, groups: np.ndarray, n_folds: int = 5, n_repeats: int = 4
) -> list[Split]:
    """Stratified group k-fold over composition clusters, ``n_repeats`` shuffled repeats."""
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    splits = []
    for repeat in range(n_repeats):
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=repeat)
        for fold, (train, test) in enumerate(cv.split(rows, labels, groups)):
            seed = repeat * n_folds + fold
            name = f"repeat {repeat} fold {fold}"
            splits.append(Split("cluster", name, seed, np.sort(train), np.sort(test)))
    return splits


def family_splits(families: np.ndarray) -> list[Split]:
    """Leave-one-family-out: one split per structure family."""
    families = np.asarray(families)
    rows = np.arange(len(families))
    splits = []
    for seed, family in enumerate(sorted(set(families.tolist()))):
        test = rows[families == family]
        train = rows[families != family]
        splits.append(Split("family", str(family), seed, train, test))
    return splits


def inner_folds(
    split: Split,
    labels: np.ndarray,
    groups: np.ndarray | None = None,
    n_folds: int = 3,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds of the hyperparameter search inside ``split.train`` (global row indices).

    Stratified k-fold seeded with the split's seed; grouped (stratified group k-fold) when
    ``groups`` is given, so that a grouped outer split also gets a grouped search. Only
    rows of ``split.train`` appear in the result.
    """
    labels = np.asarray(labels)
    train = split.train
    if groups is not None and len(np.unique(np.asarray(groups)[train])) < n_folds:
        groups = None  # too few groups left for a grouped search: fall back to stratified
    if groups is None:
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=split.seed)
        parts = cv.split(train, labels[train])
    else:
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=split.seed)
        parts = cv.split(train, labels[train], np.asarray(groups)[train])
    return [(train[fit], train[val]) for fit, val in parts]


def composition_clusters(formulas: list[str], distance_threshold: float = 0.2) -> np.ndarray:
    """Cluster compositions whose atomic fractions are close (doped variants of one host).

    Average-linkage agglomerative clustering of the atomic-fraction vectors with the L1
    (Manhattan) distance; two compositions at L1 distance 0.2 differ by 10 % of their
    atoms. On the 328-row Kang table the default threshold gives 52 clusters.

    Returns
    -------
    numpy.ndarray
        Integer cluster id per formula.
    """
    from pymatgen.core import Composition
    from sklearn.cluster import AgglomerativeClustering

    if len(formulas) < 2:
        return np.zeros(len(formulas), dtype=int)
    compositions = [Composition(f) for f in formulas]
    elements = sorted({el.symbol for comp in compositions for el in comp.elements})
    fractions = np.array(
        [[comp.get_atomic_fraction(el) for el in elements] for comp in compositions]
    )
    model = AgglomerativeClustering(
        n_clusters=None,
        distance_threshold=distance_threshold,
        metric="manhattan",
        linkage="average",
    )
    return model.fit(fractions).labels_.astype(int)
