"""Split protocols: the paper's random splits, grouped splits and the nested search folds.

* ``random``: 100 stratified 80/20 splits, ``train_test_split(random_state=seed)`` for
  seed 0..99 (the paper's protocol).
* ``cluster``: stratified group 5-fold over composition clusters, repeated with shuffled
  group order (each fold ~80/20); near-duplicate doped variants of one compound never sit
  on both sides.
* ``family``: leave one structure family out (NASICON, Garnet, ...).
* ``source`` and ``paper`` (:func:`cross_source_splits`): leave one source table out
  (Kang 2023, Xu 2020, OBELiX train), then GroupKFold over the papers (first DOI) of one
  source; a row that belongs to the held-out source or paper is never in a training fold.

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
        ``"random"``, ``"cluster"``, ``"family"``, ``"source"`` or ``"paper"``.
    name
        ``"seed 7"``, ``"repeat 1 fold 3"``, the held-out family, ``"Kang2023"`` (the
        held-out source) or ``"OBELiX-train papers, fold 2"``.
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


def paper_group(source: str) -> str:
    """The first DOI of a ``source`` cell (``;`` or ``|`` separated), lower case.

    ``"10.1039/C4CS00020J;10.1016/x|10.1021/y"`` -> ``"10.1039/c4cs00020j"``; an empty cell
    gives ``""``.
    """
    for part in str(source).replace("|", ";").split(";"):
        if part.strip():
            return part.strip().lower()
    return ""


def source_sets(datasets) -> list[frozenset[str]]:
    """The sources of each row: ``"Kang2023;OBELiX-train"`` -> ``{"Kang2023", "OBELiX-train"}``."""
    return [frozenset(p.strip() for p in str(d).split(";") if p.strip()) for d in datasets]


def cross_source_splits(
    datasets,
    papers,
    sources: tuple[str, ...] | None = None,
    within: str | None = "OBELiX-train",
    n_paper_folds: int = 5,
) -> list[Split]:
    """Leave one source out, then leave groups of papers out within one source.

    Parameters
    ----------
    datasets
        Per row, the source tables it comes from, ``;``-joined (``training_v2.csv``'s
        ``datasets`` column: a composition measured in two tables names both).
    papers
        Per row, its paper group (:func:`paper_group` of the ``source`` column).
    sources
        The sources to hold out in turn (default: every source named in ``datasets``,
        sorted).
    within
        The source whose rows are also split by paper (``None``: no paper folds).
    n_paper_folds
        GroupKFold folds over the papers of ``within``.

    Returns
    -------
    list of Split
        ``scheme="source"``, ``name`` = the held-out source: test = every row that names
        it (also when it names another source too), train = every other row. Then
        ``scheme="paper"``: test = the ``within`` rows of one fold of papers, train = every
        row (of any source) whose paper is not in that fold. Seeds count from 0.
    """
    from sklearn.model_selection import GroupKFold

    row_sources = source_sets(datasets)
    papers = np.asarray([str(p) for p in papers])
    if len(papers) != len(row_sources):
        raise ValueError(
            f"cross_source_splits: {len(row_sources)} dataset cells but {len(papers)} papers"
        )
    rows = np.arange(len(row_sources))
    names = sorted(set().union(*row_sources)) if sources is None else list(sources)
    splits = []
    for name in names:
        held = np.array([name in s for s in row_sources], dtype=bool)
        if not held.any() or held.all():
            raise ValueError(f"source {name!r}: no row to hold out or none left to train on")
        splits.append(Split("source", name, len(splits), rows[~held], rows[held]))
    if within is None:
        return splits
    member = rows[[within in s for s in row_sources]]
    if len(np.unique(papers[member])) < n_paper_folds:
        raise ValueError(
            f"{within!r} has {len(np.unique(papers[member]))} papers, fewer than "
            f"n_paper_folds={n_paper_folds}; lower n_paper_folds"
        )
    cv = GroupKFold(n_splits=n_paper_folds)
    for fold, (_fit, test_part) in enumerate(cv.split(member, groups=papers[member])):
        test = member[test_part]
        held_papers = set(papers[test].tolist())
        train = rows[[p not in held_papers for p in papers]]
        name = f"{within} papers, fold {fold}"
        splits.append(Split("paper", name, len(splits), np.sort(train), np.sort(test)))
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
